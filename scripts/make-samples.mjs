// Generates the bundled sample sets under samples/ (what `segloss eval` with
// no folders scores): ground-truth masks of smooth blobs and predictions of
// varied quality, as 8-bit PNG, 16-bit PNG, palette PNG and .npy. Deterministic:
// the same script gives the same files. Run: node scripts/make-samples.mjs
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { encode } from "fast-png";
import { writeNpy } from "./npy.mjs";

/** Image side: 256, except the multi-class .npy set (128: four float32 channels are large). */
let S = 256;
const root = new URL("../samples/", import.meta.url);

export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smooth noise in [-1, 1]: a coarse random grid, bilinearly upsampled (compresses well as PNG). */
function smoothNoise(r, cell) {
  const g = Math.ceil(S / cell) + 1;
  const grid = Float32Array.from({ length: g * g }, () => r() * 2 - 1);
  const out = new Float32Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const gx = x / cell,
        gy = y / cell;
      const x0 = Math.floor(gx),
        y0 = Math.floor(gy);
      const fx = gx - x0,
        fy = gy - y0;
      const at = (i, j) => grid[j * g + i];
      out[y * S + x] =
        (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  return out;
}

/** Blobs: rotated ellipses with wobbly outlines, painted with `label` (later blobs on top). */
function paintBlobs(r, mask, count, label, size = [10, 40]) {
  const wobble = smoothNoise(r, 24);
  for (let b = 0; b < count; b++) {
    const cx = 20 + r() * (S - 40),
      cy = 20 + r() * (S - 40);
    const rx = size[0] + r() * (size[1] - size[0]),
      ry = size[0] + r() * (size[1] - size[0]),
      th = r() * Math.PI;
    const c = Math.cos(th),
      s = Math.sin(th);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const u = ((x - cx) * c + (y - cy) * s) / rx,
          v = (-(x - cx) * s + (y - cy) * c) / ry;
        if (u * u + v * v <= 1 + 0.35 * wobble[y * S + x]) mask[y * S + x] = label;
      }
  }
  return mask;
}

/** Box blur of radius k (running sums, rows then columns). */
function blur(a, k) {
  if (k <= 0) return Float32Array.from(a);
  let src = Float32Array.from(a);
  let dst = new Float32Array(a.length);
  for (const [rowStep, colStep] of [
    [S, 1],
    [1, S],
  ]) {
    for (let line = 0; line < S; line++) {
      for (let i = 0; i < S; i++) {
        let sum = 0;
        const lo = Math.max(0, i - k),
          hi = Math.min(S - 1, i + k);
        for (let j = lo; j <= hi; j++) sum += src[line * rowStep + j * colStep];
        dst[line * rowStep + i * colStep] = sum / (hi - lo + 1);
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

function shift(a, dx, dy) {
  const out = new Float32Array(a.length);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const sx = x - dx,
        sy = y - dy;
      if (sx >= 0 && sy >= 0 && sx < S && sy < S) out[y * S + x] = a[sy * S + sx];
    }
  return out;
}

/** A probability map for a 0/1 mask: shifted, blurred, confidence `sharp`, smooth noise, spurious blobs. */
function predictBinary(r, mask, q) {
  let m = shift(Float32Array.from(mask), q.shift, Math.round(q.shift / 2));
  if (q.spurious) m = Float32Array.from(paintBlobs(r, Float32Array.from(m), q.spurious, 1, [6, 18]));
  if (q.drop) m.fill(0, 0, (S * S) / 2);
  const soft = blur(m, q.blur);
  const noise = smoothNoise(r, 16);
  return soft.map((v, i) => Math.min(1, Math.max(0, 0.5 + q.sharp * (v - 0.5) + q.noise * noise[i])));
}

const BINARY = [
  { name: "good", shift: 1, blur: 2, sharp: 0.95, noise: 0.05 },
  { name: "fair", shift: 4, blur: 4, sharp: 0.8, noise: 0.15 },
  { name: "poor", shift: 10, blur: 7, sharp: 0.6, noise: 0.3 },
  { name: "spurious", shift: 2, blur: 3, sharp: 0.9, noise: 0.1, spurious: 2 },
  { name: "half-missed", shift: 1, blur: 2, sharp: 0.9, noise: 0.1, drop: true },
];

function binaryCase(seed, k) {
  const r = rng(seed);
  const q = BINARY[k % BINARY.length];
  const blobs = k % 11 === 7 ? 0 : 1 + Math.floor(r() * 5);
  const target = paintBlobs(r, new Uint8Array(S * S), blobs, 1);
  return { name: `${q.name}-${String(k).padStart(2, "0")}`, target, pred: predictBinary(r, target, q) };
}

function folder(dir) {
  const url = new URL(`${dir}/`, root);
  rmSync(url, { recursive: true, force: true });
  for (const sub of ["target", "pred"]) mkdirSync(new URL(sub, url), { recursive: true });
  return url;
}

const png = (file, data, depth, palette) => writeFileSync(file, encode({ width: S, height: S, data, depth, channels: 1, palette }));
const to8 = (p) => Uint8Array.from(p, (v) => Math.round(v * 255));
const to16 = (p) => Uint16Array.from(p, (v) => Math.round(v * 65535));

// binary: 8-bit PNG masks (0/255) and probability maps
{
  const dir = folder("binary");
  for (let k = 0; k < 16; k++) {
    const c = binaryCase(100 + k, k);
    png(
      new URL(`target/${c.name}.png`, dir),
      c.target.map((v) => v * 255),
      8,
    );
    png(new URL(`pred/${c.name}.png`, dir), to8(c.pred), 8);
  }
}
// binary-16bit: 16-bit PNG masks (0/65535) and probability maps
{
  const dir = folder("binary-16bit");
  for (let k = 0; k < 4; k++) {
    const c = binaryCase(200 + k, k);
    png(
      new URL(`target/${c.name}.png`, dir),
      Uint16Array.from(c.target, (v) => v * 65535),
      16,
    );
    png(new URL(`pred/${c.name}.png`, dir), to16(c.pred), 16);
  }
}
// binary-npy: uint8 0/1 masks and float32 probabilities
{
  const dir = folder("binary-npy");
  for (let k = 0; k < 2; k++) {
    const c = binaryCase(300 + k, k);
    writeNpy(new URL(`target/${c.name}.npy`, dir), c.target, [S, S]);
    writeNpy(new URL(`pred/${c.name}.npy`, dir), Float32Array.from(c.pred), [S, S]);
  }
}

// multi-class: 4 classes (0 background, 1–3 objects), VOC-style palette
const C = 4;
const PALETTE = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
  [128, 128, 0],
];

function multiclassCase(seed, k) {
  const r = rng(seed);
  const target = new Uint8Array(S * S);
  for (let c = 1; c < C; c++) paintBlobs(r, target, 1 + Math.floor(r() * 3), c, [12, 36]);
  const q = BINARY[k % BINARY.length];
  // per class a blurred, shifted one-hot channel with noise; softmax with a quality-dependent temperature
  const logits = [];
  for (let c = 0; c < C; c++) {
    const onehot = Float32Array.from(target, (v) => (v === c ? 1 : 0));
    const soft = blur(shift(onehot, q.shift, Math.round(q.shift / 2)), q.blur);
    const noise = smoothNoise(r, 16);
    logits.push(soft.map((v, i) => 6 * q.sharp * v + 2.5 * q.noise * noise[i]));
  }
  const probs = new Float32Array(C * S * S);
  const labels = new Uint8Array(S * S);
  for (let i = 0; i < S * S; i++) {
    let max = -Infinity,
      arg = 0,
      z = 0;
    for (let c = 0; c < C; c++) if (logits[c][i] > max) [max, arg] = [logits[c][i], c];
    for (let c = 0; c < C; c++) z += Math.exp(logits[c][i] - max);
    for (let c = 0; c < C; c++) probs[c * S * S + i] = Math.exp(logits[c][i] - max) / z;
    labels[i] = arg;
  }
  return { name: `${q.name}-${String(k).padStart(2, "0")}`, target, labels, probs };
}

// multiclass: palette PNG label maps against predicted label maps (palette PNG)
{
  const dir = folder("multiclass");
  for (let k = 0; k < 10; k++) {
    const c = multiclassCase(400 + k, k);
    png(new URL(`target/${c.name}.png`, dir), c.target, 8, PALETTE);
    png(new URL(`pred/${c.name}.png`, dir), c.labels, 8, PALETTE);
  }
}
// multiclass-npy: grey PNG label maps against class probabilities [C,H,W]
{
  const dir = folder("multiclass-npy");
  S = 128;
  for (let k = 0; k < 3; k++) {
    const c = multiclassCase(500 + k, k);
    png(new URL(`target/${c.name}.png`, dir), c.target, 8);
    writeNpy(new URL(`pred/${c.name}.npy`, dir), c.probs, [C, S, S]);
  }
}
console.log("wrote samples/{binary,binary-16bit,binary-npy,multiclass,multiclass-npy}");
