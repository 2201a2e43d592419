// objectMetrics: instance-level scores of binary masks (the Kaggle DSB-2018 /
// TGS metric). The kernels (assembly/components.ts) pack both masks to bits in
// the pass that validates them, label components over runs with a union-find,
// and count, per IoU threshold, the (target object, predicted object) pairs
// above it from sparse pair counts. This module checks options and shapes,
// stages the inputs, sizes the scratch memory, and does the O(images ×
// thresholds) arithmetic of the totals. Semantics: docs/object-metrics.md.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks } from "../options";
import { type NumericArray, type Tensor, type TensorLike, toTensor } from "../tensor";
import type { Runtime } from "../wasm";

/** assembly/components.ts */
interface ComponentKernels {
  cmpPackF32(src: number, W: number, rows: number, thr: number, bits: number, nw: number, stats: number, target: number): void;
  cmpPackF64(src: number, W: number, rows: number, thr: number, bits: number, nw: number, stats: number, target: number): void;
  cmpPackU8(src: number, W: number, rows: number, bits: number, nw: number, stats: number): void;
  cmpCountRuns(bits: number, nw: number, H: number): number;
  cmpLabel(bits: number, nw: number, H: number, W: number, conn8: number, rec: number): number;
  cmpPairBytes(cap: number): number;
  cmpPairs(recT: number, recP: number, H: number, table: number, cap: number, thr: number, nThr: number, tp: number): void;
  cmpPaint(rec: number, H: number, W: number, out: number): void;
}

export interface ObjectMetricsOptions {
  /** Shape of bare typed-array inputs: [N,H,W], [N,1,H,W], [N,H,W,1] or [H,W]. */
  shape?: readonly number[];
  /** A pixel is foreground when p > threshold (default 0.5). */
  threshold?: number;
  /** Predictions are logits: foreground when x > ln(threshold / (1 − threshold)) (x > 0 by default). */
  fromLogits?: boolean;
  /** 8 (default, as skimage) or 4. */
  connectivity?: 4 | 8;
  /** IoU thresholds τ (a pair matches when IoU > τ), each in [0.5, 1]; default 0.5, 0.55, …, 0.95. */
  thresholds?: ArrayLike<number>;
  /** Also return the component label maps. */
  labels?: boolean;
}

export interface ObjectMetrics {
  /** The IoU thresholds τ, in the order given. */
  thresholds: Float64Array;
  /** Per τ, summed over the images: matched pairs, unmatched predicted objects, unmatched true objects. */
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  /** Per τ: TP / (TP + FP + FN) of the totals (1 when all three are 0). */
  precision: Float64Array;
  /** Per τ: F-β of the totals, (1+β²)TP / ((1+β²)TP + β²FN + FP), β = 1 and 2 (1 when TP = FP = FN = 0). */
  f1: Float64Array;
  f2: Float64Array;
  /** Mean of perImage: the DSB-2018 / TGS score. */
  score: number;
  /** Per image: the mean over τ of TP / (TP + FP + FN) (1 for an image with no true and no predicted object). */
  perImage: Float64Array;
  /** With `labels: true`: label maps of the batch (N·H·W, labels 1…K per image in raster order of first pixel, 0 background). */
  labels?: { target: Int32Array; pred: Int32Array };
}

/** Instance-level metrics of a segloss instance. */
export interface ObjectMetricsApi {
  objectMetrics(target: TensorLike, pred: TensorLike, opts?: ObjectMetricsOptions): ObjectMetrics;
}

/** The DSB-2018 thresholds 0.50, 0.55, …, 0.95 as the nearest doubles of the decimals. */
const DEFAULT_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

const connectivity: Check = (v, name) => {
  if (typeof v !== "number") return fail("E_OPTION", name, "4 or 8", describe(v));
  return v === 4 || v === 8 ? v : fail("E_OPTION_RANGE", name, "4 or 8", describe(v));
};

// below 0.5 an object could match two others, and the one-to-one counting would be wrong
const iouThresholds = checks.numberList(0.5, 1, "thresholds in [0.5, 1]");

const OPTIONS: Record<string, Check> = {
  shape: checks.shape,
  threshold: checks.num(0, 1),
  fromLogits: checks.bool,
  connectivity,
  thresholds: iouThresholds,
  labels: checks.bool,
};

interface Geometry {
  N: number;
  H: number;
  W: number;
}

/** [H,W] (one image), [N,H,W], [N,1,H,W], [N,H,W,1]: anything else is not a batch of 2-D masks. */
function imageGeometry(t: Tensor, argument: string): Geometry {
  const s = t.shape;
  const expected = "a batch of 2-D masks: [H,W], [N,H,W], [N,1,H,W] or [N,H,W,1] (objectMetrics is 2-D only)";
  if (s.length === 2) return { N: 1, H: s[0], W: s[1] };
  if (s.length === 3) return { N: s[0], H: s[1], W: s[2] };
  if (s.length === 4 && s[1] === 1) return { N: s[0], H: s[2], W: s[3] };
  if (s.length === 4 && s[3] === 1) return { N: s[0], H: s[1], W: s[2] };
  const what =
    s.length === 1 ? "a flat vector (pass opts.shape)" : s.length === 4 ? "several channels or a volume" : `a rank-${s.length} volume`;
  return fail("E_SHAPE", argument, expected, `[${s.join(",")}] (${what})`);
}

/** Kernel input kinds: float32, float64, uint8 (targets). */
const KIND_F32 = 0;
const KIND_F64 = 1;
const KIND_U8 = 2;
const KIND_BYTES = [4, 8, 1];

function kindOf(a: NumericArray, isTarget: boolean): number {
  if (a instanceof Float64Array) return KIND_F64;
  if (isTarget && (a instanceof Uint8Array || a instanceof Uint8ClampedArray)) return KIND_U8;
  return KIND_F32; // other integer targets are converted (exactly for 0/1 and every |v| < 2^24)
}

/** Byte offset of an input that already lives in this memory as its kind, else -1. */
function resident(rt: Runtime, a: NumericArray, kind: number): number {
  if (a.buffer !== rt.memory.buffer) return -1;
  const ok = kind === KIND_F64 ? a instanceof Float64Array : kind === KIND_U8 ? a instanceof Uint8Array : a instanceof Float32Array;
  return ok ? a.byteOffset : -1;
}

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);
/** The largest float32 ≤ x: for float32 v, v > floorF32(x) exactly when v > x in float64. */
function floorF32(x: number): number {
  const f = Math.fround(x);
  if (!(f > x)) return f;
  if (f === 0) return -(2 ** -149);
  f32Box[0] = f;
  u32Box[0] += f > 0 ? -1 : 1;
  return f32Box[0];
}

const pow2AtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 16)));
const align = (n: number) => (n + 15) & ~15;
/** Elements per staged chunk and input: slices this size stay in the L2 cache. */
const CHUNK = 1 << 15;
/** Bytes of packed bits per group of images. */
const BITS_BUDGET = 4 << 20;
/** Bytes of the run record (7 i32 fields, padded). */
const REC = 32;

/** Throws for inputs the metric does not accept, from the ranges the packing pass folded. */
function checkStats(s: Float64Array, fromLogits: boolean): void {
  const [tLo, tHi, tNan, tBad, pLo, pHi, pNan] = s;
  if (pNan || (pLo <= pHi && !(Number.isFinite(pLo) && Number.isFinite(pHi)))) {
    fail("E_NONFINITE", "pred", "finite numbers", pNan ? "NaN" : `values in [${pLo}, ${pHi}]`);
  }
  if (!fromLogits && (pLo < 0 || pHi > 1)) {
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${pLo}, ${pHi}]`);
  }
  if (tNan || (tLo <= tHi && !(Number.isFinite(tLo) && Number.isFinite(tHi)))) {
    fail("E_NONFINITE", "target", "finite numbers", tNan ? "NaN" : `values in [${tLo}, ${tHi}]`);
  }
  if (tBad) fail("E_RANGE", "target", "a hard mask of 0 and 1", `values other than 0 and 1 (range [${tLo}, ${tHi}])`);
}

/** Per-image counts: objects in the target and the prediction, and matched pairs per threshold. */
interface ImageCounts {
  kt: number;
  kp: number;
  tp: Int32Array;
}

export function objectMetrics(rt: Runtime, target: unknown, pred: unknown, opts: unknown): ObjectMetrics {
  const o = checkOwnOptions("objectMetrics", opts, OPTIONS);
  const shape = o.shape as readonly number[] | undefined;
  const threshold = (o.threshold as number | undefined) ?? 0.5;
  const fromLogits = (o.fromLogits as boolean | undefined) ?? false;
  const conn8 = ((o.connectivity as number | undefined) ?? 8) === 8 ? 1 : 0;
  const thresholds = (o.thresholds as Float64Array | undefined) ?? Float64Array.from(DEFAULT_THRESHOLDS);
  const wantLabels = (o.labels as boolean | undefined) ?? false;

  const pt = toTensor(pred, "pred", shape);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  const tt = toTensor(target, "target", shape);
  const g = imageGeometry(pt, "pred");
  const gt = imageGeometry(tt, "target");
  if (gt.N !== g.N || gt.H !== g.H || gt.W !== g.W) {
    fail("E_SHAPE", "target", `N × H × W = ${g.N} × ${g.H} × ${g.W} (the prediction's)`, `${gt.N} × ${gt.H} × ${gt.W}`);
  }
  // the foreground test, in float64: p > threshold, or x > logit(threshold) (exactly x > 0 at 0.5)
  const cut = fromLogits ? Math.log(threshold / (1 - threshold)) : threshold;

  const counts = run(rt, tt.data, pt.data, g, cut, fromLogits, conn8, thresholds, wantLabels);
  return summarise(thresholds, counts.images, counts.labels);
}

/** One call's inputs, kernel arguments and wasm blocks. */
interface Pass {
  rt: Runtime;
  k: ComponentKernels;
  i32: Int32Array;
  N: number;
  H: number;
  W: number;
  /** 64-bit words per bit row, and bytes of one image's bit rows. */
  nw: number;
  bitsPerImage: number;
  conn8: number;
  nThr: number;
  /** stats: 2 × [min, max, NaN, non-binary] f64 (target, then pred); thr: the IoU thresholds (f64). */
  stats: number;
  thr: number;
  /** Every block this call holds (released in `finally`), and the reusable per-image scratch. */
  held: number[];
  scratch: number;
  scratchBytes: number;
}

function take(ps: Pass, bytes: number, what: string): number {
  const at = ps.rt.alloc(bytes, what);
  ps.held.push(at);
  return at;
}

/** The kernel passes: packing (with validation) per group of images, then labelling and pair counting per image. */
function run(
  rt: Runtime,
  t: NumericArray,
  p: NumericArray,
  g: Geometry,
  cut: number,
  fromLogits: boolean,
  conn8: number,
  thresholds: Float64Array,
  wantLabels: boolean,
): { images: ImageCounts[]; labels?: { target: Int32Array; pred: Int32Array } } {
  const { N, H, W } = g;
  const L = H * W;
  const nw = Math.ceil(W / 64);
  const ps: Pass = {
    rt,
    k: rt.kernels<ComponentKernels>(),
    i32: new Int32Array(rt.memory.buffer),
    N,
    H,
    W,
    nw,
    bitsPerImage: H * nw * 8,
    conn8,
    nThr: thresholds.length,
    stats: 0,
    thr: 0,
    held: [],
    scratch: 0,
    scratchBytes: 0,
  };
  const kt = kindOf(t, true);
  const kp = kindOf(p, false);
  const tAt = resident(rt, t, kt);
  const pAt = resident(rt, p, kp);
  const thr32 = floorF32(cut);
  const rowsPerChunk = Math.max(1, Math.min(N * H, Math.floor(CHUNK / W)));
  const tStageBytes = tAt < 0 ? align(rowsPerChunk * W * KIND_BYTES[kt]) : 0;
  const pStageBytes = pAt < 0 ? align(rowsPerChunk * W * KIND_BYTES[kp]) : 0;

  const images: ImageCounts[] = [];
  const labels = wantLabels ? { target: new Int32Array(N * L), pred: new Int32Array(N * L) } : undefined;
  try {
    ps.stats = take(ps, 64 + ps.nThr * 8, "objectMetrics accumulators");
    ps.thr = ps.stats + 64;
    rt.f64.set([Infinity, -Infinity, 0, 0, Infinity, -Infinity, 0, 0], ps.stats >>> 3);
    rt.f64.set(thresholds, ps.thr >>> 3);
    const stage = tStageBytes + pStageBytes > 0 ? take(ps, tStageBytes + pStageBytes, "staging") : 0;
    const paint = wantLabels ? take(ps, L * 4, "objectMetrics label map") : 0;
    // images packed per group: their bits take at most a third of what is left (and 4 MiB), the rest is for the runs
    const budget = Math.min(BITS_BUDGET, Math.floor(rt.largestFree() / 3));
    const group = Math.max(1, Math.min(N, Math.floor(budget / (2 * ps.bitsPerImage))));
    const bits = take(ps, 2 * group * ps.bitsPerImage, "objectMetrics bit masks");
    const u8 = new Uint8Array(rt.memory.buffer);

    for (let g0 = 0; g0 < N; g0 += group) {
      const gN = Math.min(group, N - g0);
      const bitsT = bits;
      const bitsP = bits + gN * ps.bitsPerImage;
      // pack the group's rows in chunks: the rows of consecutive images are consecutive
      const rows = gN * H;
      for (let r = 0; r < rows; r += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, rows - r);
        const e0 = (g0 * H + r) * W;
        const e1 = e0 + n * W;
        const tPtr = tAt >= 0 ? tAt + e0 * KIND_BYTES[kt] : stageInto(rt, u8, t, kt, stage, e0, e1);
        const pPtr = pAt >= 0 ? pAt + e0 * KIND_BYTES[kp] : stageInto(rt, u8, p, kp, stage + tStageBytes, e0, e1);
        const bitOff = r * nw * 8;
        pack(ps.k, kt, tPtr, W, n, 0, bitsT + bitOff, nw, ps.stats, 1);
        pack(ps.k, kp, pPtr, W, n, kp === KIND_F64 ? cut : thr32, bitsP + bitOff, nw, ps.stats + 32, 0);
      }
      checkStats(rt.f64.subarray(ps.stats >>> 3, (ps.stats >>> 3) + 8), fromLogits);

      for (let j = 0; j < gN; j++) {
        const img = scoreImage(ps, bitsT + j * ps.bitsPerImage, bitsP + j * ps.bitsPerImage);
        images.push(img.counts);
        if (labels) {
          for (const [rec, kk, out] of [
            [img.recT, img.counts.kt, labels.target],
            [img.recP, img.counts.kp, labels.pred],
          ] as const) {
            if (kk === 0) continue; // the map is already all background
            ps.k.cmpPaint(rec, H, W, paint);
            out.set(ps.i32.subarray(paint >>> 2, (paint >>> 2) + L), (g0 + j) * L);
          }
        }
      }
    }
  } finally {
    for (const at of ps.held) rt.release(at);
  }
  return { images, labels };
}

/** Sizes the scratch for one image from its run counts, labels both masks and counts the matches per threshold. */
function scoreImage(ps: Pass, bT: number, bP: number): { counts: ImageCounts; recT: number; recP: number } {
  const { k, H, nThr } = ps;
  const nT = k.cmpCountRuns(bT, ps.nw, H);
  const nP = k.cmpCountRuns(bP, ps.nw, H);
  // overlaps per row ≤ runs of both rows, so 2·(nT + nP) slots keep the table at most half full
  const cap = nT > 0 && nP > 0 ? pow2AtLeast(2 * (nT + nP)) : 0;
  const runBytes = (n: number) => align(3 * n * 4) + align((H + 1) * 4) + align((n + 1) * 4);
  const need = 2 * REC + runBytes(nT) + runBytes(nP) + align(nThr * 4) + (cap ? k.cmpPairBytes(cap) : 0);
  if (need > ps.scratchBytes) {
    if (ps.scratch) {
      ps.rt.release(ps.scratch);
      ps.held.splice(ps.held.indexOf(ps.scratch), 1);
      ps.scratch = 0;
      ps.scratchBytes = 0;
    }
    ps.scratch = take(ps, need, "objectMetrics runs");
    ps.scratchBytes = need;
  }
  // two run records, then per mask: start, end, lab (runs), rowStart (H + 1), area (labels 0…K)
  const recT = ps.scratch;
  const recP = ps.scratch + REC;
  let at = ps.scratch + 2 * REC;
  for (const [rec, n] of [
    [recT, nT],
    [recP, nP],
  ]) {
    const rowStart = at + align(3 * n * 4);
    const area = rowStart + align((H + 1) * 4);
    ps.i32.set([at, at + n * 4, at + 2 * n * 4, rowStart, area, 0, 0, 0], rec >>> 2);
    at = area + align((n + 1) * 4);
  }
  const tp = at;
  const table = tp + align(nThr * 4);
  const kt = k.cmpLabel(bT, ps.nw, H, ps.W, ps.conn8, recT);
  const kp = k.cmpLabel(bP, ps.nw, H, ps.W, ps.conn8, recP);
  const matches = new Int32Array(nThr);
  if (cap > 0) {
    k.cmpPairs(recT, recP, H, table, cap, ps.thr, nThr, tp);
    matches.set(ps.i32.subarray(tp >>> 2, (tp >>> 2) + nThr));
  }
  return { counts: { kt, kp, tp: matches }, recT, recP };
}

/** The packing kernel of an input kind (thr: float64 for KIND_F64, else the float32 floor of the threshold). */
function pack(
  k: ComponentKernels,
  kind: number,
  src: number,
  W: number,
  rows: number,
  thr: number,
  bits: number,
  nw: number,
  stats: number,
  target: number,
) {
  if (kind === KIND_F32) k.cmpPackF32(src, W, rows, thr, bits, nw, stats, target);
  else if (kind === KIND_F64) k.cmpPackF64(src, W, rows, thr, bits, nw, stats, target);
  else k.cmpPackU8(src, W, rows, bits, nw, stats);
}

/** Copies elements [e0, e1) of `a` into the staging slice at `ptr` as the kernel's kind; returns ptr. */
function stageInto(rt: Runtime, u8: Uint8Array, a: NumericArray, kind: number, ptr: number, e0: number, e1: number): number {
  const part = a.subarray(e0, e1);
  if (kind === KIND_F64) rt.f64.set(part, ptr >>> 3);
  else if (kind === KIND_U8) u8.set(part, ptr);
  else rt.f32.set(part, ptr >>> 2);
  return ptr;
}

/** Totals per threshold, F-scores, and the per-image scores (O(images × thresholds)). */
function summarise(
  thresholds: Float64Array,
  images: ImageCounts[],
  labels: { target: Int32Array; pred: Int32Array } | undefined,
): ObjectMetrics {
  const T = thresholds.length;
  const tp = new Float64Array(T);
  const fp = new Float64Array(T);
  const fn = new Float64Array(T);
  const perImage = new Float64Array(images.length);
  let scoreSum = 0;
  images.forEach((im, n) => {
    let s = 0;
    for (let j = 0; j < T; j++) {
      const m = im.tp[j];
      tp[j] += m;
      fp[j] += im.kp - m;
      fn[j] += im.kt - m;
      s += im.kt + im.kp === 0 ? 1 : m / (im.kt + im.kp - m);
    }
    perImage[n] = s / T;
    scoreSum += perImage[n];
  });
  const ratio = (num: number, den: number) => (den === 0 ? 1 : num / den);
  const precision = new Float64Array(T);
  const f1 = new Float64Array(T);
  const f2 = new Float64Array(T);
  for (let j = 0; j < T; j++) {
    precision[j] = ratio(tp[j], tp[j] + fp[j] + fn[j]);
    f1[j] = ratio(2 * tp[j], 2 * tp[j] + fn[j] + fp[j]);
    f2[j] = ratio(5 * tp[j], 5 * tp[j] + 4 * fn[j] + fp[j]);
  }
  const out: ObjectMetrics = {
    thresholds: Float64Array.from(thresholds),
    tp,
    fp,
    fn,
    precision,
    f1,
    f2,
    score: scoreSum / images.length,
    perImage,
  };
  if (labels) out.labels = labels;
  return out;
}

export function objectMetricsApi(rt: Runtime): ObjectMetricsApi {
  return {
    objectMetrics: (t, p, o) => objectMetrics(rt, t, p, o),
  };
}
