// meanIoU: the seed's thresholded mean IoU. Every threshold τ becomes a
// float32 cut c with "p ≥ c" exactly equal to the test "p > τ" (or "p ≥ τ",
// or "σ(x) > τ" for logits) in real arithmetic; the kernel
// (assembly/threshold.ts) buckets each prediction once against the sorted
// cuts and counts per (image, bucket, target class) in integers; suffix sums
// here turn the buckets into every threshold's 2×2 confusion matrix, and the
// rest is O(images × thresholds) arithmetic. Semantics: docs/mean-iou.md.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks } from "../options";
import { runPass, withF64 } from "../passes";
import { binaryGeometry, type TensorLike, toTensor } from "../tensor";
import type { Runtime } from "../wasm";

/** assembly/threshold.ts */
interface ThresholdKernels {
  thresholdScratchBytes(K: number): number;
  thresholdCounts(
    t: number,
    p: number,
    count: number,
    segLen: number,
    acc: number,
    stats: number,
    cuts: number,
    K: number,
    scratch: number,
    flags: number,
    ign: number,
    base: number,
    scale: number,
    inner: number,
  ): void;
}

const FLAG_IGNORE = 1;
const FLAG_UNIFORM = 2;
const FLAG_LOGITS = 4;

export type MeanIoUPreset = "seed" | "keras3" | "tfkeras2";

export interface MeanIoUOptions {
  /** Shape of bare typed-array inputs: [N,H,W], [N,1,H,W], [N,H,W,1], [H,W] (or any rank, batch axis first). */
  shape?: readonly number[];
  /** Thresholds τ (any finite numbers, any order; default 0.50, 0.55, …, 0.95). */
  thresholds?: ArrayLike<number>;
  /** A pixel is predicted positive when p > τ (default) or p ≥ τ. */
  compare?: ">" | ">=";
  /** 'float64' (default): the float32 prediction is compared with τ exactly; 'float32': with τ rounded to float32 (as TensorFlow). */
  thresholdPrecision?: "float64" | "float32";
  /** Predictions are logits x: the test is σ(x) > τ, decided exactly. */
  fromLogits?: boolean;
  /** Target value whose pixels are left out. */
  ignoreIndex?: number | null;
  /** false (default): one confusion matrix per threshold over the whole batch; true: per image, then the mean over images. */
  perImage?: boolean;
  aggregate?: "perImage" | "batch";
  /** 'mean' (default): a number; 'none': the value at each threshold (Float64Array, in the order given). */
  reduction?: "mean" | "none";
  /** Score of a confusion matrix with no kept pixel (both classes left out); default 1. */
  emptyScore?: number;
  /** Keras 3's ε: IoU_c = TP_c / (den_c + ε), mean = Σ IoU_c / (classes present + ε); default 0. */
  epsilon?: number;
  preset?: MeanIoUPreset;
}

/** Everything `meanIoU` computes, from the same pass. */
export interface MeanIoUDetails {
  /** What `meanIoU` returns with reduction 'mean'. */
  score: number;
  /** The thresholds τ, in the order given. */
  thresholds: Float64Array;
  /** The value at each threshold (batch IoU, or the mean over images with perImage): reduction 'none'. */
  perThreshold: Float64Array;
  /** Each image's own score (its confusion matrices, mean over thresholds), whatever `perImage` says. */
  perImage: Float64Array;
  /** Each image's value at each threshold, row-major [N, K]. */
  perImageThreshold: Float64Array;
  /** Confusion counts per threshold over the whole batch (kept pixels; positive = class 1). */
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  tn: Float64Array;
}

/** The thresholded mean IoU of a segloss instance (binary masks). */
export interface MeanIoUApi {
  /** The mean over thresholds of the two-class mean IoU (SPEC §4 meanIoU); Float64Array per threshold with reduction 'none'. */
  meanIoU(target: TensorLike, pred: TensorLike, opts?: MeanIoUOptions): number | Float64Array;
  /** The same pass, every intermediate: per-threshold values, per-image scores, confusion counts. */
  meanIoUDetails(target: TensorLike, pred: TensorLike, opts?: MeanIoUOptions): MeanIoUDetails;
}

// ---------------------------------------------------------------- options

/** 0.50, 0.55, …, 0.95 as the nearest doubles of the decimals (0.5 + 0.05·i up to an ulp: the same cuts). */
const DEFAULT_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

const thresholdList = checks.numberList(-Number.MAX_VALUE, Number.MAX_VALUE, "finite thresholds");

const OPTIONS: Record<string, Check> = {
  shape: checks.shape,
  thresholds: thresholdList,
  compare: checks.oneOf(">", ">="),
  thresholdPrecision: checks.oneOf("float64", "float32"),
  fromLogits: checks.bool,
  ignoreIndex: checks.orNull(checks.finite),
  perImage: checks.bool,
  aggregate: checks.oneOf("perImage", "batch"),
  reduction: checks.oneOf("mean", "none"),
  emptyScore: checks.num(0, 1),
  epsilon: checks.num(0, 1),
  preset: checks.oneOf("seed", "keras3", "tfkeras2"),
};

interface Settings {
  shape?: readonly number[];
  thresholds: Float64Array;
  compare: ">" | ">=";
  float32: boolean;
  fromLogits: boolean;
  ignoreIndex: number | null;
  perImage: boolean;
  reduction: "mean" | "none";
  emptyScore: number;
  epsilon: number;
}

/** Defaults ← preset ← explicit options (SPEC §4b/§4c). */
function settings(fn: string, raw: unknown): Settings {
  const o = checkOwnOptions(fn, raw, OPTIONS);
  if (o.perImage !== undefined && o.aggregate !== undefined && o.perImage !== (o.aggregate === "perImage")) {
    fail("E_OPTION", "opts.aggregate", `a value agreeing with perImage: ${o.perImage}`, describe(o.aggregate));
  }
  const s: Settings = {
    thresholds: Float64Array.from(DEFAULT_THRESHOLDS),
    compare: ">",
    float32: false,
    fromLogits: false,
    ignoreIndex: null,
    perImage: false,
    reduction: "mean",
    emptyScore: 1,
    epsilon: 0,
  };
  // Keras BinaryIoU(threshold=0.5): p ≥ 0.5, one matrix over everything; nothing kept → 0
  if (o.preset === "keras3") Object.assign(s, { thresholds: Float64Array.of(0.5), compare: ">=", emptyScore: 0, epsilon: 1e-7 });
  if (o.preset === "tfkeras2") Object.assign(s, { thresholds: Float64Array.of(0.5), compare: ">=", emptyScore: 0 });
  if (o.shape !== undefined) s.shape = o.shape as readonly number[];
  if (o.thresholds !== undefined) s.thresholds = o.thresholds as Float64Array;
  if (o.compare !== undefined) s.compare = o.compare as ">" | ">=";
  if (o.thresholdPrecision !== undefined) s.float32 = o.thresholdPrecision === "float32";
  if (o.fromLogits !== undefined) s.fromLogits = o.fromLogits as boolean;
  if (o.ignoreIndex !== undefined) s.ignoreIndex = o.ignoreIndex as number | null;
  if (o.aggregate !== undefined) s.perImage = o.aggregate === "perImage";
  if (o.perImage !== undefined) s.perImage = o.perImage as boolean;
  if (o.reduction !== undefined) s.reduction = o.reduction as "mean" | "none";
  if (o.emptyScore !== undefined) s.emptyScore = o.emptyScore as number;
  if (o.epsilon !== undefined) s.epsilon = o.epsilon as number;
  return s;
}

// ---------------------------------------------------------------- float32 steps

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);

/** The next float32 above f (f a float32 value; +Inf and NaN stay). */
function nextUp(f: number): number {
  if (!(f < Number.POSITIVE_INFINITY)) return f;
  if (f === 0) return 2 ** -149;
  f32Box[0] = f;
  u32Box[0] += f > 0 ? 1 : -1;
  return f32Box[0];
}

/** The next float32 below f (f a float32 value). */
function nextDown(f: number): number {
  return -nextUp(-f);
}

/** The smallest float32 > x (x = τ: for float32 p, p ≥ it ⇔ p > τ exactly). */
function f32Above(x: number): number {
  const f = Math.fround(x);
  return f > x ? f : nextUp(f);
}

/** The smallest float32 ≥ x. */
function f32AtLeast(x: number): number {
  const f = Math.fround(x);
  return f >= x ? f : nextUp(f);
}

// ------------------------------------------------ σ(v) against τ, exactly

/** v = M·2^-s exactly, M a BigInt ≥ 0, s ≥ 0 (v ≥ 0 a float32 or float64 value). */
function dyadic(v: number): { M: bigint; s: number } {
  let s = 0;
  while (!Number.isInteger(v)) {
    v *= 2; // exact: a double has at most 1074 fractional bits
    s++;
  }
  return { M: BigInt(v), s };
}

const bitLength = (x: bigint) => x.toString(2).length;

/** sign(e^u − num/den) for a dyadic u > 0 (never 0: e^u is irrational), by interval arithmetic. */
function expSign(u: number, num: bigint, den: bigint): number {
  const { M, s } = dyadic(u);
  const j = Math.max(0, bitLength(M) - s + 1); // u / 2^j < ½
  for (let extra = 96; extra < 1 << 16; extra *= 2) {
    const P = s + j + extra;
    const one = 1n << BigInt(P);
    const Y = M << BigInt(P - s - j); // (u / 2^j)·2^P, exact
    // Taylor series with every term rounded down (lo) and up (hi); terms shrink by ½ or more
    let lo = one;
    let hi = one;
    let tLo = one;
    let tHi = one;
    for (let n = 1n; tHi > 1n; n++) {
      tLo = (tLo * Y) / (n << BigInt(P));
      const q = tHi * Y;
      const d = n << BigInt(P);
      tHi = q / d + (q % d ? 1n : 0n);
      lo += tLo;
      hi += tHi;
    }
    hi += 2n; // the tail after the last term (≤ that term)
    for (let k = 0; k < j; k++) {
      lo = (lo * lo) >> BigInt(P);
      const sq = hi * hi;
      hi = (sq >> BigInt(P)) + (sq & (one - 1n) ? 1n : 0n);
    }
    const target = num << BigInt(P);
    if (lo * den > target) return 1;
    if (hi * den < target) return -1;
  }
  throw new Error("segloss: expSign did not converge");
}

/**
 * logit(τ) in float64 for τ ∈ (0, 1), and a bound on its error: within a few
 * ulps relative (libm log/log1p are within 1 ulp; the bound allows 2^-48).
 * Near ½ the form log1p((2τ − 1)/(1 − τ)) avoids the cancellation of
 * ln τ − ln(1 − τ) (2τ − 1 is exact there).
 */
function logitEstimate(tau: number): { L: number; err: number } {
  if (tau >= 0.25 && tau <= 0.75) {
    const L = Math.log1p((2 * tau - 1) / (1 - tau));
    return { L, err: 2 ** -48 * Math.abs(L) + 2 ** -1070 };
  }
  const lt = Math.log(tau);
  const l1 = Math.log1p(-tau);
  const L = lt - l1; // no cancellation: one of the two is below ln ¾ in size
  return { L, err: 2 ** -48 * (Math.abs(lt) + Math.abs(l1) + Math.abs(L)) };
}

/** sign(σ(v) − τ) in real arithmetic, for a finite v and τ ∈ (0, 1). */
export function sigmoidSign(v: number, tau: number): number {
  const { L, err } = logitEstimate(tau);
  // far from logit(τ) the float64 value decides
  if (v > L + 2 * err) return 1;
  if (v < L - 2 * err) return -1;
  // τ = A/2^m exactly; σ(v) > τ ⇔ e^v·B > A with B = 2^m − A
  const { M: A, s: m } = dyadic(tau);
  const B = (1n << BigInt(m)) - A;
  if (v === 0) return A < B ? 1 : A > B ? -1 : 0;
  return v > 0 ? expSign(v, A, B) : -expSign(-v, B, A);
}

/**
 * The cut for one threshold: the smallest float32 c with "p ≥ c" ⇔ the test,
 * or −Infinity (every value passes) / +Infinity (none does).
 */
export function cutOf(tau: number, compare: ">" | ">=", float32: boolean, fromLogits: boolean): number {
  const t = float32 ? Math.fround(tau) : tau;
  if (!fromLogits) return compare === ">" ? f32Above(t) : f32AtLeast(t);
  // σ(x) ∈ (0, 1) for finite x
  if (t <= 0) return Number.NEGATIVE_INFINITY;
  if (t >= 1) return Number.POSITIVE_INFINITY;
  const passes = (v: number) => {
    const sg = sigmoidSign(v, t);
    return compare === ">" ? sg > 0 : sg >= 0;
  };
  // the estimate is far closer than a float32 step: these loops move c at most once or twice
  let c = f32Above(logitEstimate(t).L);
  while (!passes(c)) c = nextUp(c);
  while (c > -3.4028234663852886e38 && passes(nextDown(c))) c = nextDown(c);
  return c;
}

// ---------------------------------------------------------------- the plan

interface Plan {
  /** Distinct finite cuts the kernel buckets by, ascending (float32 values). */
  cuts: number[];
  /** Per threshold (in the order given): its cut's rank in `cuts`, or −1 (all positive), or −2 (none). */
  rank: Int32Array;
  flags: number;
  base: number;
  scale: number;
  inner: number;
}

const ALL = -1;
const NONE = -2;

function plan(s: Settings): Plan {
  const K0 = s.thresholds.length;
  const cutList = Array.from(s.thresholds, (tau) => cutOf(tau, s.compare, s.float32, s.fromLogits));
  // probabilities lie in [0, 1]: a cut ≤ 0 passes everything, one above 1 nothing
  const lo = s.fromLogits ? Number.NEGATIVE_INFINITY : 0;
  const hi = s.fromLogits ? Number.POSITIVE_INFINITY : 1;
  const cuts = [...new Set(cutList.filter((c) => c > lo && c <= hi && Number.isFinite(c)))].sort((a, b) => a - b);
  const rank = new Int32Array(K0);
  for (let i = 0; i < K0; i++) {
    const c = cutList[i];
    rank[i] = c <= lo ? ALL : c > hi || c === Number.POSITIVE_INFINITY ? NONE : cuts.indexOf(c);
  }
  const p: Plan = { cuts, rank, flags: 0, base: 0, scale: 0, inner: 0 };
  if (s.ignoreIndex !== null) p.flags |= FLAG_IGNORE;
  if (s.fromLogits) p.flags |= FLAG_LOGITS;
  uniformGrid(p);
  return p;
}

/**
 * Arithmetic bucketing for cuts near a grid: u = fl(fl(p − base)·scale) lies
 * within εa = 2^-23·(K + 1)·1.0001 of U(p) = (p − base)·scale where it
 * matters, and U(c_k) = k + e_k. A lane whose float32 u is farther than
 * εa + max|e_k| from every integer (plus a margin for the float32 test) is in
 * bucket floor(u) + 1 exactly; the kernel recounts the others by compares.
 */
function uniformGrid(p: Plan): void {
  const K = p.cuts.length;
  if (K < 2) return;
  const base = p.cuts[0];
  const scale = Math.fround((K - 1) / (p.cuts[K - 1] - base));
  if (!(scale > 0 && scale < 1e30)) return;
  let maxE = 0;
  for (let k = 0; k < K; k++) maxE = Math.max(maxE, Math.abs((p.cuts[k] - base) * scale - k));
  const slack = maxE + 2 ** -23 * (K + 1) * 1.0001 + 2 ** -20;
  if (!(slack < 0.05)) return; // else too many lanes would need the exact recount
  let inner = Math.fround(0.5 - slack);
  if (inner > 0.5 - slack) inner = nextDown(inner);
  Object.assign(p, { flags: p.flags | FLAG_UNIFORM, base, scale, inner });
}

// ---------------------------------------------------------------- the pass

interface Counts {
  N: number;
  /** Per image: kept pixels, pixels with t = 1, and TP/FP per threshold (order given). */
  kept: Float64Array;
  t1: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
}

function count(rt: Runtime, target: unknown, pred: unknown, s: Settings, pl: Plan): Counts {
  const pt = toTensor(pred, "pred", s.shape);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  const tt = toTensor(target, "target", s.shape);
  const { N, L } = binaryGeometry(tt, pt);
  const K = pl.cuts.length;
  const slots = 2 * K + 2;
  const scratchBytes = rt.kernels<ThresholdKernels>().thresholdScratchBytes(K);
  const raw = withF64(rt, N * slots, (acc) => {
    // stats (16 bytes), the cuts, then the kernel's scratch (16-byte aligned)
    const block = rt.alloc(16 + 4 * K + 16 + scratchBytes, "meanIoU scratch");
    try {
      const stats = block;
      const cuts = block + 16;
      const scratch = (cuts + 4 * K + 15) & ~15;
      rt.f32.set(pl.cuts, cuts >>> 2);
      const k = rt.kernels<ThresholdKernels>();
      let pos = 0;
      runPass(rt, {
        inputs: [tt.data, pt.data],
        nSeg: N,
        segLen: L,
        run: (ptrs, _out, n, len, first) => {
          const i32 = new Int32Array(rt.memory.buffer, stats, 4);
          i32[0] = -1;
          i32[2] = -1;
          k.thresholdCounts(
            ptrs[0],
            ptrs[1],
            n,
            len,
            acc + first * slots * 8,
            stats,
            cuts,
            K,
            scratch,
            pl.flags,
            s.ignoreIndex ?? 0,
            pl.base,
            pl.scale,
            pl.inner,
          );
          if (i32[0] >= 0 || i32[2] >= 0) badInput(rt, stats, pos, s);
          pos += n;
        },
      });
    } finally {
      rt.release(block);
    }
    return rt.f64.slice(acc >>> 3, (acc >>> 3) + N * slots);
  });
  return fromBuckets(raw, N, K, pl.rank);
}

/** Throws for the first invalid prediction or target the kernel reported. */
function badInput(rt: Runtime, stats: number, pos: number, s: Settings): never {
  const i32 = new Int32Array(rt.memory.buffer, stats, 4);
  const f32 = new Float32Array(rt.memory.buffer, stats, 4);
  if (i32[0] >= 0) {
    const v = f32[1];
    const at = `${describe(v)} at element ${pos + i32[0]}`;
    if (!Number.isFinite(v)) fail("E_NONFINITE", "pred", "finite numbers", at);
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", at);
  }
  const v = f32[3];
  const at = `${describe(v)} at element ${pos + i32[2]}`;
  if (!Number.isFinite(v)) fail("E_NONFINITE", "target", "finite numbers", at);
  const extra = s.ignoreIndex === null ? "" : ` or the ignoreIndex ${s.ignoreIndex}`;
  return fail("E_RANGE", "target", `a hard mask of 0 and 1${extra}`, at);
}

/** Suffix sums over the buckets: per image and threshold, the pixels predicted positive by class. */
function fromBuckets(raw: Float64Array, N: number, K: number, rank: Int32Array): Counts {
  const slots = 2 * K + 2;
  const T = rank.length;
  const c: Counts = { N, kept: new Float64Array(N), t1: new Float64Array(N), tp: new Float64Array(N * T), fp: new Float64Array(N * T) };
  const s0 = new Float64Array(K + 2);
  const s1 = new Float64Array(K + 2);
  for (let n = 0; n < N; n++) {
    const o = n * slots;
    c.kept[n] = raw[o];
    c.t1[n] = raw[o + 1];
    // s_c[b] = pixels of class c in buckets ≥ b (b = 1…K); cut r passes buckets ≥ r + 1
    s0[K + 1] = 0;
    s1[K + 1] = 0;
    for (let b = K; b >= 1; b--) {
      s0[b] = s0[b + 1] + raw[o + 2 * b];
      s1[b] = s1[b + 1] + raw[o + 2 * b + 1];
    }
    for (let i = 0; i < T; i++) {
      const r = rank[i];
      const j = n * T + i;
      if (r === ALL) {
        c.tp[j] = c.t1[n];
        c.fp[j] = c.kept[n] - c.t1[n];
      } else if (r >= 0) {
        c.tp[j] = s1[r + 1];
        c.fp[j] = s0[r + 1];
      }
    }
  }
  return c;
}

// ---------------------------------------------------------------- scores

/** The two-class mean IoU of one confusion matrix (classes with an empty union left out). */
function iouOf(kept: number, t1: number, tp: number, fp: number, s: Settings): number {
  const fn = t1 - tp;
  const tn = kept - t1 - fp;
  const den1 = tp + fp + fn;
  const den0 = tn + fn + fp;
  if (den1 === 0 && den0 === 0) return s.emptyScore;
  let sum = 0;
  let present = 0;
  if (den1 > 0) {
    sum += tp / (den1 + s.epsilon);
    present++;
  }
  if (den0 > 0) {
    sum += tn / (den0 + s.epsilon);
    present++;
  }
  return sum / (present + s.epsilon);
}

function details(c: Counts, s: Settings): MeanIoUDetails {
  const { N } = c;
  const T = s.thresholds.length;
  const out: MeanIoUDetails = {
    score: 0,
    thresholds: Float64Array.from(s.thresholds),
    perThreshold: new Float64Array(T),
    perImage: new Float64Array(N),
    perImageThreshold: new Float64Array(N * T),
    tp: new Float64Array(T),
    fp: new Float64Array(T),
    fn: new Float64Array(T),
    tn: new Float64Array(T),
  };
  let kept = 0;
  let t1 = 0;
  for (let n = 0; n < N; n++) {
    kept += c.kept[n];
    t1 += c.t1[n];
    let sum = 0;
    for (let i = 0; i < T; i++) {
      const j = n * T + i;
      const v = iouOf(c.kept[n], c.t1[n], c.tp[j], c.fp[j], s);
      out.perImageThreshold[j] = v;
      sum += v;
      out.tp[i] += c.tp[j];
      out.fp[i] += c.fp[j];
    }
    out.perImage[n] = sum / T;
  }
  for (let i = 0; i < T; i++) {
    out.fn[i] = t1 - out.tp[i];
    out.tn[i] = kept - t1 - out.fp[i];
    if (s.perImage) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += out.perImageThreshold[n * T + i];
      out.perThreshold[i] = sum / N;
    } else {
      out.perThreshold[i] = iouOf(kept, t1, out.tp[i], out.fp[i], s);
    }
  }
  if (s.perImage) out.score = mean(out.perImage);
  else out.score = mean(out.perThreshold);
  return out;
}

function mean(a: Float64Array): number {
  let sum = 0;
  for (const v of a) sum += v;
  return sum / a.length;
}

export function meanIoUDetails(rt: Runtime, target: unknown, pred: unknown, opts: unknown): MeanIoUDetails {
  const s = settings("meanIoUDetails", opts);
  return details(count(rt, target, pred, s, plan(s)), s);
}

export function meanIoU(rt: Runtime, target: unknown, pred: unknown, opts: unknown): number | Float64Array {
  const s = settings("meanIoU", opts);
  const d = details(count(rt, target, pred, s, plan(s)), s);
  return s.reduction === "none" ? d.perThreshold : d.score;
}

export function meanIoUApi(rt: Runtime): MeanIoUApi {
  return {
    meanIoU: (t, p, o) => meanIoU(rt, t, p, o),
    meanIoUDetails: (t, p, o) => meanIoUDetails(rt, t, p, o),
  };
}
