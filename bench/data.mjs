// Deterministic benchmark inputs for bench/run.mjs.
//
// makeData({ shape: [N, H, W], seed }) returns
//   target : Float32Array of 0/1 — smooth blobs (threshold of a sum of Gaussian bumps)
//   logits : Float32Array — a noisy, smooth score correlated with the target
//   pred   : Float32Array — sigmoid(logits) in float32, strictly inside (0, 1)
// plus a few statistics and a checksum, so two machines can confirm they
// benchmarked the same bytes. Everything comes from a seeded PRNG (mulberry32)
// and Math.exp / Math.log / Math.sqrt / Math.cos only.

export const DEFAULT_SHAPE = [8, 512, 512];
export const DEFAULT_SEED = 0x5e61055;

/** mulberry32: small, fast, good enough for test data; returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Adds K Gaussian bumps of amplitude `amp` to `field` (H×W, float64). */
function addBumps(field, h, w, rand, k, amp, rMin, rMax) {
  for (let b = 0; b < k; b++) {
    const cy = rand() * h;
    const cx = rand() * w;
    const r = rMin + rand() * (rMax - rMin);
    const a = amp * (0.8 + 0.4 * rand());
    const inv = 1 / (2 * r * r);
    const reach = Math.ceil(4 * r);
    const y0 = Math.max(0, Math.floor(cy - reach));
    const y1 = Math.min(h, Math.ceil(cy + reach));
    const x0 = Math.max(0, Math.floor(cx - reach));
    const x1 = Math.min(w, Math.ceil(cx + reach));
    for (let y = y0; y < y1; y++) {
      const dy = y - cy;
      const row = y * w;
      for (let x = x0; x < x1; x++) {
        const dx = x - cx;
        field[row + x] += a * Math.exp(-(dx * dx + dy * dy) * inv);
      }
    }
  }
}

/** FNV-1a over the 32-bit words of the arrays (bit-exact fingerprint). */
function fingerprint(...arrays) {
  let hsh = 0x811c9dc5;
  for (const arr of arrays) {
    const u = new Uint32Array(arr.buffer, arr.byteOffset, arr.length);
    for (let i = 0; i < u.length; i++) hsh = Math.imul(hsh ^ u[i], 0x01000193) >>> 0;
  }
  return hsh.toString(16).padStart(8, "0");
}

export function makeData({ shape = DEFAULT_SHAPE, seed = DEFAULT_SEED } = {}) {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`shape must be [N, H, W] of positive integers, got ${JSON.stringify(shape)}`);
  }
  const [n, h, w] = shape;
  const len = h * w;
  const size = n * len;
  const rand = mulberry32(seed);
  const target = new Float32Array(size);
  const logits = new Float32Array(size);
  const pred = new Float32Array(size);
  const truth = new Float64Array(len);
  const score = new Float64Array(len);
  const scale = Math.sqrt(len / (512 * 512)); // blob size follows the image size

  let spare = null; // Box–Muller keeps its second normal
  const gauss = () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u1 = 1 - rand(); // (0, 1]
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };

  for (let img = 0; img < n; img++) {
    truth.fill(0);
    // the ground truth: 6–11 blobs of radius 12–48 px (at 512×512)
    addBumps(truth, h, w, rand, 6 + Math.floor(rand() * 6), 1, 12 * scale, 48 * scale);
    // the model's view: the truth blurred in amplitude, some misses, some false positives
    score.set(truth);
    addBumps(score, h, w, rand, 3, -0.35, 10 * scale, 30 * scale); // partly missed regions
    addBumps(score, h, w, rand, 3, 0.55, 8 * scale, 24 * scale); // false positives
    const off = img * len;
    for (let i = 0; i < len; i++) {
      target[off + i] = truth[i] > 0.5 ? 1 : 0;
      let x = 7 * (score[i] - 0.5) + 1.1 * gauss();
      if (x > 14) x = 14;
      else if (x < -14) x = -14;
      const xf = Math.fround(x);
      logits[off + i] = xf;
      pred[off + i] = 1 / (1 + Math.exp(-xf)); // stored as float32, in (0, 1)
    }
  }

  let st = 0;
  let sp = 0;
  let agree = 0;
  for (let i = 0; i < size; i++) {
    st += target[i];
    sp += pred[i];
    if (pred[i] > 0.5 === (target[i] === 1)) agree++;
  }
  return {
    shape: [n, h, w],
    seed,
    size,
    target,
    pred,
    logits,
    stats: {
      foregroundFraction: st / size,
      meanPred: sp / size,
      accuracyAt05: agree / size,
      fingerprint: fingerprint(target, pred, logits),
    },
  };
}

/**
 * The binary file read by bench/native/losses.c:
 *   "SEGLBIN1" (8 bytes) | uint32 N | uint32 L (elements per image) |
 *   float32 target[N·L] | float32 pred[N·L] | float32 logits[N·L]   (little-endian)
 */
export function toBinary(data) {
  const [n, h, w] = data.shape;
  const header = Buffer.alloc(16);
  header.write("SEGLBIN1", 0, "latin1");
  header.writeUInt32LE(n, 8);
  header.writeUInt32LE(h * w, 12);
  const part = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian hosts are not supported");
  return Buffer.concat([header, part(data.target), part(data.pred), part(data.logits)]);
}
