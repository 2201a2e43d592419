// Generates the bundled sample set once (committed under samples/): binary
// ground-truth masks of smooth blobs and predictions of varied quality.
// Deterministic: the same seed gives the same files.
import { mkdirSync } from "node:fs";
import { writeNpy } from "./npy.mjs";

const SIZE = 128;
const dir = new URL("../samples/binary/", import.meta.url);
mkdirSync(dir, { recursive: true });

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A mask of a few rotated ellipses. */
function blobs(r, count) {
  const m = new Uint8Array(SIZE * SIZE);
  for (let b = 0; b < count; b++) {
    const cx = r() * SIZE,
      cy = r() * SIZE,
      rx = 6 + r() * 24,
      ry = 6 + r() * 24,
      th = r() * Math.PI;
    const c = Math.cos(th),
      s = Math.sin(th);
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const u = ((x - cx) * c + (y - cy) * s) / rx,
          v = (-(x - cx) * s + (y - cy) * c) / ry;
        if (u * u + v * v <= 1) m[y * SIZE + x] = 1;
      }
  }
  return m;
}

/** Box blur with a running sum, radius k, rows then columns. */
function blur(a, k) {
  const out = Float32Array.from(a);
  const tmp = new Float32Array(a.length);
  for (const [src, dst, rowStep, colStep] of [
    [out, tmp, SIZE, 1],
    [tmp, out, 1, SIZE],
  ]) {
    for (let line = 0; line < SIZE; line++) {
      for (let i = 0; i < SIZE; i++) {
        let s = 0,
          n = 0;
        for (let j = Math.max(0, i - k); j <= Math.min(SIZE - 1, i + k); j++, n++) s += src[line * rowStep + j * colStep];
        dst[line * rowStep + i * colStep] = s / n;
      }
    }
  }
  return out;
}

// quality: how much the prediction is shifted, blurred and noisy
const cases = [
  { name: "good-1", blobs: 3, shift: 1, blur: 1, noise: 0.05 },
  { name: "good-2", blobs: 5, shift: 0, blur: 2, noise: 0.08 },
  { name: "fair-1", blobs: 2, shift: 4, blur: 3, noise: 0.15 },
  { name: "fair-2", blobs: 4, shift: 3, blur: 4, noise: 0.2 },
  { name: "poor-1", blobs: 3, shift: 10, blur: 6, noise: 0.3 },
  { name: "missed", blobs: 2, shift: 30, blur: 2, noise: 0.1 },
  { name: "empty-target", blobs: 0, shift: 0, blur: 1, noise: 0.05, spurious: 1 },
  { name: "empty-both", blobs: 0, shift: 0, blur: 1, noise: 0.02 },
];

cases.forEach((c, i) => {
  const r = rng(1000 + i);
  const target = blobs(r, c.blobs);
  const shifted = new Uint8Array(target.length);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const sx = x - c.shift,
        sy = y - Math.round(c.shift / 2);
      if (sx >= 0 && sy >= 0 && sx < SIZE && sy < SIZE) shifted[y * SIZE + x] = target[sy * SIZE + sx];
    }
  if (c.spurious) shifted.set(blobs(r, c.spurious));
  const soft = blur(shifted, c.blur);
  const pred = new Float32Array(target.length);
  for (let k = 0; k < pred.length; k++) pred[k] = Math.min(1, Math.max(0, 0.05 + 0.9 * soft[k] + (r() - 0.5) * 2 * c.noise));
  writeNpy(new URL(`${c.name}.target.npy`, dir), target, [SIZE, SIZE]);
  writeNpy(new URL(`${c.name}.pred.npy`, dir), pred, [SIZE, SIZE]);
});
console.log(`wrote ${cases.length} sample pairs to samples/binary/`);
