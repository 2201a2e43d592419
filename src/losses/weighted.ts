// The seed's boundary-weighted losses: the sliding-average weight map
// (TF avg_pool 'SAME'), weighted BCE (Carvana / TF pos_weight form, or every
// pixel weighted), weighted Dice, and weightedBce + Dice with the map built
// inside. Kernels return sums (assembly/weighted.ts, assembly/pool.ts); the
// formulas, the batch normalisation and the gradient coefficients are here.
// docs/weighted-losses.md has the exact semantics.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks, KERAS_EPSILON, type Reduction } from "../options";
import { runPass, withF64 } from "../passes";
import { binaryGeometry, type NumericArray, type Tensor, type TensorLike, toTensor } from "../tensor";
import type { Runtime } from "../wasm";
import { gradBuffer, type LossAndGrad, perPixelData } from "./common";

/** assembly/pool.ts and assembly/weighted.ts */
interface WeightedKernels {
  poolScratchBytes(W: number, bw: number, aw: number): number;
  boundaryMap(
    t: number,
    out: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    flags: number,
    scratch: number,
    acc: number,
    stats: number,
  ): void;
  scaleF32(x: number, n: number, s: number): void;
  weightedSums(
    t: number,
    p: number,
    w: number,
    count: number,
    acc: number,
    stats: number,
    terms: number,
    flags: number,
    eps: number,
    hi: number,
  ): void;
  weightedGrad(
    g: number,
    t: number,
    p: number,
    w: number,
    count: number,
    flags: number,
    eps: number,
    hi: number,
    c: number,
    kA: number,
    cI: number,
    cP: number,
  ): void;
  pooledSums(
    t: number,
    p: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    pool: number,
    flags: number,
    scratch: number,
    acc: number,
    stats: number,
    eps: number,
    hi: number,
  ): void;
  pooledGrad(
    g: number,
    t: number,
    p: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    pool: number,
    flags: number,
    scratch: number,
    eps: number,
    hi: number,
    c: number,
    kA: number,
    cI: number,
    cP: number,
  ): void;
}

// assembly/pool.ts
const POOL_F64 = 1;
const POOL_BAND = 2;
const POOL_OUT = 4;
// assembly/weighted.ts
const W_LOGITS = 1;
const W_ALL = 2;
const W_BCE = 4;
const W_DICE = [8, 16, 32]; // Dice sums weighted by w^0, w^1, w^2
const W_TERMS = 64;
const W_F64 = 128;
const SLOTS = 7; // Σw, Σ(1−t)L0, Σw·t·L1, Σw·(1−t)L0, ΣW·t·p, ΣW·t, ΣW·p (W = w^q)

/** The float32 clip of the probabilities (Keras's ε and its float32 complement). */
const EPS = KERAS_EPSILON;
const ONE_MINUS_EPS = Math.fround(1 - EPS);
/** f32 box sums stay exact integers below this (0/1 targets). */
const EXACT_F32 = 2 ** 24;
/** Whole images staged per kernel call are grouped up to about this many elements. */
const GROUP = 1 << 16;

// ---------------------------------------------------------------- public types

export type WeightMapMode = "exp" | "band";
export type WeightedBceStyle = "positive" | "all";

/** A window size: k (k×k) or [kh, kw]. */
export type PoolKernel = number | readonly [number, number];

export interface BoundaryWeightsOptions {
  /** Shape of a bare typed-array target. */
  shape?: readonly number[];
  /** Window (default 50 for 'exp', 11 for 'band'); any positive integer, also larger than the image. */
  kernel?: PoolKernel;
  /** 'exp' (default): w = 5·e^(−5|a − 0.5|); 'band': w = 1 + 2·[0.005 < a < 0.995]. */
  mode?: WeightMapMode;
  /** Scale the map so that its mean over the whole batch is 1 (default true). */
  normalize?: boolean;
  /** Receives the map (a Float32Array of the target's length; may live in WebAssembly memory). */
  out?: Float32Array;
}

/** The map: the target's shape, float32. */
export interface WeightMap {
  data: Float32Array;
  shape: number[];
}

export interface WeightedBceOptions {
  shape?: readonly number[];
  /** pred holds logits x, used as they are (no clip); the gradient is w.r.t. x. */
  fromLogits?: boolean;
  /** 'mean' (default): Σℓ / Σw; 'sum': Σℓ; 'none': ℓ per element. */
  reduction?: Reduction;
  /** 'positive' (default, TF pos_weight: w multiplies the t term) or 'all' (w multiplies ℓ). */
  style?: WeightedBceStyle;
}

export interface WeightedDiceOptions {
  shape?: readonly number[];
  fromLogits?: boolean;
  /** One term over the whole batch: 'mean' and 'sum' give it, 'none' a Float32Array of length 1. */
  reduction?: Reduction;
  /** s in (2·ΣW·t·p + s) / (ΣW·t + ΣW·p + s) (default 1). */
  smooth?: number;
  /** W = w (1, default) or w² (2, the Carvana code's weighted Dice). */
  power?: 1 | 2;
}

export interface WeightedBceDiceOptions {
  shape?: readonly number[];
  fromLogits?: boolean;
  /** 'mean' (default) or 'sum', of the BCE part (the Dice part is one batch term). */
  reduction?: "mean" | "sum";
  /** The map's window (default 50 for 'exp', 11 for 'band'). */
  kernel?: PoolKernel;
  mode?: WeightMapMode;
  /** Normalise the map over the batch (default true). */
  normalize?: boolean;
  /** A precomputed weight map (used as given) instead of boundaryWeights(target). */
  weight?: TensorLike;
  style?: WeightedBceStyle;
  smooth?: number;
  /** The Dice part: 0 (default) plain, 1 weighted by w, 2 by w². */
  dicePower?: 0 | 1 | 2;
}

// ---------------------------------------------------------------- options

const { bool, num, oneOf, tensor, float32, shape } = checks;

const kernelCheck: Check = (v, name) => {
  const positive = (x: unknown, at: string) => {
    if (typeof x !== "number") return fail("E_OPTION", at, "a positive integer", describe(x));
    if (!Number.isSafeInteger(x) || x < 1) return fail("E_OPTION_RANGE", at, "a positive integer", describe(x));
    return x;
  };
  if (Array.isArray(v)) {
    if (v.length !== 2) return fail("E_OPTION", name, "a positive integer or [kh, kw]", `an array of length ${v.length}`);
    return [positive(v[0], `${name}[0]`), positive(v[1], `${name}[1]`)];
  }
  const k = positive(v, name);
  return [k, k];
};

const integerIn =
  (...values: number[]): Check =>
  (v, name) =>
    typeof v === "number" && values.includes(v) ? v : fail("E_OPTION", name, `one of ${values.join(", ")}`, describe(v));

const positiveSmooth = num(0, Number.MAX_VALUE, "a finite number ≥ 0");

const MAP_OPTIONS: Record<string, Check> = { kernel: kernelCheck, mode: oneOf("exp", "band"), normalize: bool };
const BOUNDARY: Record<string, Check> = { shape, ...MAP_OPTIONS, out: float32 };
const BCE: Record<string, Check> = {
  shape,
  fromLogits: bool,
  reduction: oneOf("mean", "sum", "none"),
  style: oneOf("positive", "all"),
};
const DICE: Record<string, Check> = {
  shape,
  fromLogits: bool,
  reduction: oneOf("mean", "sum", "none"),
  smooth: positiveSmooth,
  power: integerIn(1, 2),
};
const BCE_DICE: Record<string, Check> = {
  shape,
  fromLogits: bool,
  reduction: oneOf("mean", "sum"),
  ...MAP_OPTIONS,
  weight: tensor,
  style: oneOf("positive", "all"),
  smooth: positiveSmooth,
  dicePower: integerIn(0, 1, 2),
};
const withOut = (table: Record<string, Check>) => ({ ...table, out: float32 });

function options(fn: string, raw: unknown, table: Record<string, Check>, grad: boolean): Record<string, unknown> {
  const o = checkOwnOptions(grad ? `${fn}Grad` : fn, raw, grad ? withOut(table) : table);
  if (grad && o.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  return o;
}

// ---------------------------------------------------------------- geometry

interface PoolGeom {
  N: number;
  H: number;
  W: number;
  /** Window rows before / after the output row and columns before / after, clamped to the image. */
  bh: number;
  ah: number;
  bw: number;
  aw: number;
  pool: number;
}

/** N images of H×W from a binary shape: [H,W], [N,H,W], [N,1,H,W] (checked first, so [N,1,H,1] is H×1) or [N,H,W,1]. */
function imagesOf(t: Tensor, argument: string): { N: number; H: number; W: number } {
  const s = t.shape;
  if (s.length === 2) return { N: 1, H: s[0], W: s[1] };
  if (s.length === 3) return { N: s[0], H: s[1], W: s[2] };
  if (s.length === 4 && s[1] === 1) return { N: s[0], H: s[2], W: s[3] };
  if (s.length === 4 && s[3] === 1) return { N: s[0], H: s[1], W: s[2] };
  return fail(
    "E_SHAPE",
    `${argument}.shape`,
    "binary 2-D images: [H,W], [N,H,W], [N,H,W,1] or [N,1,H,W] (pass opts.shape for a bare typed array)",
    `[${s.join(",")}]`,
  );
}

/** TF SAME with stride 1: ⌊(k−1)/2⌋ before, the rest after; both clamped to the image (same windows). */
function poolGeom(t: Tensor, o: Record<string, unknown>): PoolGeom {
  const { N, H, W } = imagesOf(t, "target");
  const band = o.mode === "band";
  const [kh, kw] = (o.kernel as [number, number] | undefined) ?? (band ? [11, 11] : [50, 50]);
  const before = (k: number) => Math.floor((k - 1) / 2);
  // every f32 sum of 0/1 values (column sums, their prefix sums, window counts) stays below W·min(kh, H)
  const exact = W * Math.min(kh, H) < EXACT_F32;
  return {
    N,
    H,
    W,
    bh: Math.min(before(kh), H),
    ah: Math.min(kh - 1 - before(kh), H),
    bw: Math.min(before(kw), W),
    aw: Math.min(kw - 1 - before(kw), W),
    pool: (band ? POOL_BAND : 0) | (exact ? 0 : POOL_F64),
  };
}

function predTensor(pred: unknown, shapeOpt: unknown): Tensor {
  const pt = toTensor(pred, "pred", shapeOpt as number[] | undefined);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  return pt;
}

// ---------------------------------------------------------------- validation

/** The pooled kernels read target rows ahead of the row they write: an output sharing the target's memory would corrupt them. */
function checkNoOverlap(out: Float32Array, target: NumericArray): void {
  const overlap =
    out.buffer === target.buffer &&
    out.byteOffset < target.byteOffset + target.byteLength &&
    target.byteOffset < out.byteOffset + out.byteLength;
  if (overlap) fail("E_OPTION", "opts.out", "a Float32Array that does not share memory with the target", "a view of the target's memory");
}

/** Range record the kernels fold into: [lo, hi] of t, p, w (f32 pairs), then the soft-target flag. */
function newStats(rt: Runtime): number {
  const at = rt.alloc(32, "stats");
  resetStats(rt, at);
  return at;
}

function resetStats(rt: Runtime, at: number): void {
  rt.f32.set([Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, 0, 0], at >>> 2);
}

function checkFinite(lo: number, hi: number, argument: string): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", argument, "finite numbers", "NaN");
  if (lo <= hi && (!Number.isFinite(lo) || !Number.isFinite(hi)))
    fail("E_NONFINITE", argument, "finite numbers", `values in [${lo}, ${hi}]`);
}

/** Throws for NaN/±Inf, targets outside [0, 1], probabilities outside [0, 1], negative weights. */
function checkStats(rt: Runtime, stats: number, logits: boolean, weightArg: string): { soft: boolean } {
  const [tLo, tHi, pLo, pHi, wLo, wHi, soft] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 8);
  checkFinite(pLo, pHi, "pred");
  if (!logits && pLo <= pHi && (pLo < 0 || pHi > 1)) {
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${pLo}, ${pHi}]`);
  }
  checkFinite(tLo, tHi, "target");
  if (tLo <= tHi && (tLo < 0 || tHi > 1)) fail("E_RANGE", "target", "values in [0, 1]", `values in [${tLo}, ${tHi}]`);
  checkFinite(wLo, wHi, weightArg);
  if (wLo <= wHi && wLo < 0) fail("E_RANGE", weightArg, "weights ≥ 0", `values in [${wLo}, ${wHi}]`);
  return { soft: soft !== 0 };
}

/** The target check for boundaryWeights (no prediction). */
function checkTarget(rt: Runtime, stats: number): { soft: boolean } {
  const [tLo, tHi, , , , , soft] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 8);
  checkFinite(tLo, tHi, "target");
  if (tLo < 0 || tHi > 1) fail("E_RANGE", "target", "values in [0, 1]", `values in [${tLo}, ${tHi}]`);
  return { soft: soft !== 0 };
}

// ---------------------------------------------------------------- pooled passes

type PoolCall = (t: number, p: number, out: number, nImg: number, r0: number, i0: number, i1: number, scratch: number) => void;

/**
 * Runs a pooled kernel over every image: in place when t, p and out live in
 * WebAssembly memory; otherwise staged in groups of whole images, or, when
 * one image does not fit, in bands of rows (t with the window's halo rows).
 */
function pooledRun(rt: Runtime, g: PoolGeom, t: NumericArray, p: NumericArray | null, out: Float32Array | null, call: PoolCall): void {
  const { N, H, W } = g;
  const L = H * W;
  const scratch = rt.alloc(rt.kernels<WeightedKernels>().poolScratchBytes(W, g.bw, g.aw), "scratch");
  try {
    const rT = rt.residentF32(t);
    const rP = p ? rt.residentF32(p) : 0;
    const rO = out ? rt.residentF32(out) : 0;
    const sT = rT < 0 ? 1 : 0;
    const sP = p && rP < 0 ? 1 : 0;
    const sO = out && rO < 0 ? 1 : 0;
    if (sT + sP + sO === 0) {
      call(rT, rP, rO, N, 0, 0, H, scratch);
      return;
    }
    const free = rt.largestFree() - 64;
    const perImage = (4 * L + PAGE) * (sT + sP + sO);
    if (perImage <= free) stageImages(rt, g, t, p, out, [rT, rP, rO], [sT, sP, sO], scratch, call, free);
    else stageBands(rt, g, t, p, out, [rT, rP, rO], [sT, sP, sO], scratch, call, free);
  } finally {
    rt.release(scratch);
  }
}

/** Bytes of a memory page for the placement of staged rows (see placeSlots). */
const PAGE = 4096;
/** Where each staged array starts relative to the scratch, modulo a page: t, p, out. */
const SLOT_SKEW = [1024, 1536, 3072];

/**
 * Staging slots in `block` (room for slice + PAGE bytes each), each started at
 * its own offset from the scratch modulo 4 KiB: a kernel storing to one row
 * while loading another a few elements ahead at the same low 12 address bits
 * waits for the store ("4K aliasing"); staged inputs would otherwise sit at
 * whatever offset the heap gives them.
 */
function placeSlots(block: number, sizes: number[], staged: number[], scratch: number): number[] {
  const slots: number[] = [];
  let at = block;
  for (let i = 0; i < 3; i++) {
    if (!staged[i]) {
      slots.push(-1);
      continue;
    }
    at += (((SLOT_SKEW[i] - (at - scratch)) % PAGE) + PAGE) % PAGE;
    slots.push(at);
    at += sizes[i];
  }
  return slots;
}

/** Copies [from, to) of `a` to the f32 slot at `at`. */
function stage(rt: Runtime, a: NumericArray, from: number, to: number, at: number): void {
  rt.f32.set(a.subarray(from, to), at >>> 2);
}

function stageImages(
  rt: Runtime,
  g: PoolGeom,
  t: NumericArray,
  p: NumericArray | null,
  out: Float32Array | null,
  resident: number[],
  staged: number[],
  scratch: number,
  call: PoolCall,
  free: number,
): void {
  const { N, H, W } = g;
  const L = H * W;
  const count = staged[0] + staged[1] + staged[2];
  const imgs = Math.max(1, Math.min(N, Math.floor((free - PAGE * count) / (4 * L * count)), Math.floor(GROUP / L)));
  const slice = (imgs * L * 4 + 15) & ~15;
  const block = rt.alloc((slice + PAGE) * count, "staging");
  try {
    const slots = placeSlots(block, [slice, slice, slice], staged, scratch);
    for (let m = 0; m < N; m += imgs) {
      const k = Math.min(imgs, N - m);
      const a = m * L;
      const b = (m + k) * L;
      if (staged[0]) stage(rt, t, a, b, slots[0]);
      if (p && staged[1]) stage(rt, p, a, b, slots[1]);
      const ptr = (i: number) => (staged[i] ? slots[i] : resident[i] + 4 * a);
      call(ptr(0), p ? ptr(1) : 0, out ? ptr(2) : 0, k, 0, 0, H, scratch);
      if (out && staged[2]) out.set(rt.f32.subarray(slots[2] >>> 2, (slots[2] >>> 2) + (b - a)), a);
    }
  } finally {
    rt.release(block);
  }
}

function stageBands(
  rt: Runtime,
  g: PoolGeom,
  t: NumericArray,
  p: NumericArray | null,
  out: Float32Array | null,
  resident: number[],
  staged: number[],
  scratch: number,
  call: PoolCall,
  free: number,
): void {
  const { N, H, W, bh, ah } = g;
  const L = H * W;
  const bytes = (B: number) => 4 * W * (staged[0] * Math.min(H, B + bh + ah) + (staged[1] + staged[2]) * B) + (PAGE + 16) * 3;
  let lo = 0;
  let hi = H;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (bytes(mid) <= free) lo = mid;
    else hi = mid - 1;
  }
  const B = lo;
  if (B < 1)
    fail("E_MEMORY", "target", `room for one row band (${bytes(1)} bytes) in WebAssembly memory`, `${Math.max(free, 0)} free bytes`);
  const tRows = Math.min(H, B + bh + ah);
  const sizes = [tRows * W * 4, B * W * 4, B * W * 4].map((x) => (x + 15) & ~15);
  const block = rt.alloc((sizes[0] + PAGE) * staged[0] + (sizes[1] + PAGE) * staged[1] + (sizes[2] + PAGE) * staged[2], "staging");
  try {
    const slots = placeSlots(block, sizes, staged, scratch);
    for (let m = 0; m < N; m++) {
      for (let i0 = 0; i0 < H; i0 += B) {
        const i1 = Math.min(H, i0 + B);
        const r0 = Math.max(0, i0 - bh);
        const rEnd = Math.min(H, i1 + ah);
        const base = m * L;
        let tPtr = resident[0] + 4 * (base + r0 * W);
        if (staged[0]) {
          stage(rt, t, base + r0 * W, base + rEnd * W, slots[0]);
          tPtr = slots[0];
        }
        const rowsAt = (i: number) => (staged[i] ? slots[i] : resident[i] + 4 * (base + i0 * W));
        if (p && staged[1]) stage(rt, p, base + i0 * W, base + i1 * W, slots[1]);
        call(tPtr, p ? rowsAt(1) : 0, out ? rowsAt(2) : 0, 1, r0, i0, i1, scratch);
        if (out && staged[2]) out.set(rt.f32.subarray(slots[2] >>> 2, (slots[2] >>> 2) + (i1 - i0) * W), base + i0 * W);
      }
    }
  } finally {
    rt.release(block);
  }
}

/**
 * Runs a pooled pass that folds the target's statistics, starting on the
 * exact float32 path and redoing it in float64 when the targets turn out soft.
 * Returns the pool flags used.
 */
function pooledWithRetry(
  rt: Runtime,
  g: PoolGeom,
  acc: number,
  stats: number,
  run: (pool: number) => void,
  check: () => { soft: boolean },
): number {
  run(g.pool);
  const { soft } = check();
  if ((g.pool & POOL_F64) === 0 && soft) {
    rt.f64.fill(0, acc >>> 3, (acc >>> 3) + SLOTS);
    resetStats(rt, stats);
    run(g.pool | POOL_F64);
    check();
    return g.pool | POOL_F64;
  }
  return g.pool;
}

// ---------------------------------------------------------------- boundaryWeights

export function boundaryWeights(rt: Runtime, target: unknown, opts: unknown): WeightMap {
  const o = checkOwnOptions("boundaryWeights", opts, BOUNDARY);
  const tt = toTensor(target, "target", o.shape as number[] | undefined);
  const g = poolGeom(tt, o);
  const n = tt.data.length;
  const out = gradBuffer(o.out, n);
  checkNoOverlap(out, tt.data);
  const k = rt.kernels<WeightedKernels>();
  withF64(rt, SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      // one pooled pass writes u (and sums it); the batch scale is a second, element-wise pass
      pooledWithRetry(
        rt,
        g,
        acc,
        stats,
        (pool) =>
          pooledRun(rt, g, tt.data, null, out, (t, _p, o2, nImg, r0, i0, i1, scratch) =>
            k.boundaryMap(t, o2, nImg, g.H, g.W, r0, i0, i1, g.bh, g.ah, g.bw, g.aw, pool | POOL_OUT, scratch, acc, stats),
          ),
        () => checkTarget(rt, stats),
      );
    } finally {
      rt.release(stats);
    }
    if (o.normalize === false) return;
    const c = n / rt.f64[acc >>> 3];
    runPass(rt, { inputs: [], nSeg: 1, segLen: n, out, outIsInput: true, run: (_p, x, count) => k.scaleF32(x, count, c) });
  });
  return { data: out, shape: tt.shape.slice() };
}

// ---------------------------------------------------------------- the losses

interface Prepared {
  t: NumericArray;
  p: Float32Array | Float64Array;
  /** The weight tensor, or null when the map is pooled from t. */
  w: NumericArray | null;
  weightArg: string;
  geom: PoolGeom | null;
  n: number;
  flags: number;
  logits: boolean;
}

/** The sums of one call and the normaliser c of the weights (w = c·u). */
interface Sums {
  s: Float64Array;
  c: number;
  pool: number;
  /** Some target is neither 0 nor 1: the gradient's terms may cancel, so it is taken in float64. */
  soft: boolean;
  terms: Float32Array | null;
}

function sums(rt: Runtime, prep: Prepared, normalize: boolean, terms: boolean): Sums {
  const k = rt.kernels<WeightedKernels>();
  const { t, p, w, geom, n } = prep;
  const termsOut = terms ? new Float32Array(n) : null;
  let pool = 0;
  let soft = false;
  const s = withF64(rt, SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      if (w) {
        const flags = prep.flags | (terms ? W_TERMS : 0);
        runPass(rt, {
          inputs: [t, p, w],
          nSeg: 1,
          segLen: n,
          out: termsOut ?? undefined,
          run: (ptrs, out, count) => k.weightedSums(ptrs[0], ptrs[1], ptrs[2], count, acc, stats, out, flags, EPS, ONE_MINUS_EPS),
        });
        soft = checkStats(rt, stats, prep.logits, prep.weightArg).soft;
      } else {
        const g = geom as PoolGeom;
        pool = pooledWithRetry(
          rt,
          g,
          acc,
          stats,
          (pl) =>
            pooledRun(rt, g, t, p, null, (tp, pp, _o, nImg, r0, i0, i1, scratch) =>
              k.pooledSums(
                tp,
                pp,
                nImg,
                g.H,
                g.W,
                r0,
                i0,
                i1,
                g.bh,
                g.ah,
                g.bw,
                g.aw,
                pl,
                prep.flags,
                scratch,
                acc,
                stats,
                EPS,
                ONE_MINUS_EPS,
              ),
            ),
          () => {
            const r = checkStats(rt, stats, prep.logits, prep.weightArg);
            soft = r.soft;
            return r;
          },
        );
      }
    } finally {
      rt.release(stats);
    }
    return rt.f64.slice(acc >>> 3, (acc >>> 3) + SLOTS);
  });
  const c = !w && normalize ? n / s[0] : 1;
  return { s, c, pool, soft, terms: termsOut };
}

/** BCE part: Σℓ and Σw from the sums (w = c·u). */
function bcePart(x: Sums, all: boolean): { sumL: number; sumW: number } {
  const { s, c } = x;
  return { sumL: all ? c * (s[3] + s[2]) : s[1] + c * s[2], sumW: c * s[0] };
}

/** Dice part: loss 1 − D and its derivatives w.r.t. the weighted sums I and P. */
function dicePart(x: Sums, q: number, smooth: number): { loss: number; cI: number; cP: number } {
  const cq = x.c ** q;
  const I = cq * x.s[4];
  const T = cq * x.s[5];
  const P = cq * x.s[6];
  const num = 2 * I + smooth;
  const den = T + P + smooth;
  return { loss: 1 - num / den, cI: -2 / den, cP: num / (den * den) };
}

function writeGrad(rt: Runtime, prep: Prepared, x: Sums, grad: Float32Array, kA: number, cI: number, cP: number): void {
  const k = rt.kernels<WeightedKernels>();
  const { t, p, w, geom, n } = prep;
  const flags = prep.flags | (x.soft ? W_F64 : 0);
  const c = x.c;
  if (w) {
    runPass(rt, {
      inputs: [t, p, w],
      nSeg: 1,
      segLen: n,
      out: grad,
      run: (ptrs, out, count) => k.weightedGrad(out, ptrs[0], ptrs[1], ptrs[2], count, flags, EPS, ONE_MINUS_EPS, c, kA, cI, cP),
    });
    return;
  }
  const g = geom as PoolGeom;
  checkNoOverlap(grad, t);
  pooledRun(rt, g, t, p, grad, (tp, pp, gp, nImg, r0, i0, i1, scratch) =>
    k.pooledGrad(gp, tp, pp, nImg, g.H, g.W, r0, i0, i1, g.bh, g.ah, g.bw, g.aw, x.pool, flags, scratch, EPS, ONE_MINUS_EPS, c, kA, cI, cP),
  );
}

function prepareGiven(
  target: unknown,
  pred: unknown,
  weight: unknown,
  weightArg: string,
  o: Record<string, unknown>,
  flags: number,
): Prepared {
  const pt = predTensor(pred, o.shape);
  const tt = toTensor(target, "target", o.shape as number[] | undefined);
  binaryGeometry(tt, pt);
  const n = pt.data.length;
  const w = perPixelData(weight, weightArg, n);
  const logits = o.fromLogits === true;
  return {
    t: tt.data,
    p: pt.data as Float32Array | Float64Array,
    w,
    weightArg,
    geom: null,
    n,
    flags: flags | (logits ? W_LOGITS : 0),
    logits,
  };
}

function weightedBce(
  rt: Runtime,
  target: unknown,
  pred: unknown,
  weight: unknown,
  opts: unknown,
  grad: boolean,
): number | Float32Array | LossAndGrad {
  const o = options("weightedBce", opts, BCE, grad);
  const all = o.style === "all";
  const prep = prepareGiven(target, pred, weight, "weight", o, W_BCE | (all ? W_ALL : 0));
  const reduction = (o.reduction as Reduction | undefined) ?? "mean";
  const x = sums(rt, prep, false, reduction === "none");
  if (reduction === "none") return x.terms as Float32Array;
  const { sumL, sumW } = bcePart(x, all);
  if (reduction === "mean" && !(sumW > 0)) fail("E_RANGE", "weight", "weights with a positive sum (the mean divides by Σw)", "Σw = 0");
  const kA = reduction === "mean" ? 1 / sumW : 1;
  const loss = sumL * kA;
  if (!grad) return loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, kA, 0, 0);
  return { loss, grad: g };
}

function weightedDice(
  rt: Runtime,
  target: unknown,
  pred: unknown,
  weight: unknown,
  opts: unknown,
  grad: boolean,
): number | Float32Array | LossAndGrad {
  const o = options("weightedDice", opts, DICE, grad);
  const q = (o.power as number | undefined) ?? 1;
  const prep = prepareGiven(target, pred, weight, "weight", o, W_DICE[q]);
  const x = sums(rt, prep, false, false);
  const d = dicePart(x, q, (o.smooth as number | undefined) ?? 1);
  if (o.reduction === "none") return Float32Array.of(d.loss);
  if (!grad) return d.loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, 0, d.cI, d.cP);
  return { loss: d.loss, grad: g };
}

function weightedBceDice(rt: Runtime, target: unknown, pred: unknown, opts: unknown, grad: boolean): number | LossAndGrad {
  const o = options("weightedBceDice", opts, BCE_DICE, grad);
  const all = o.style === "all";
  const q = (o.dicePower as number | undefined) ?? 0;
  const flags = W_BCE | (all ? W_ALL : 0) | W_DICE[q];
  let prep: Prepared;
  if (o.weight !== undefined) {
    for (const key of ["kernel", "mode", "normalize"]) {
      if (o[key] !== undefined) fail("E_OPTION", `opts.${key}`, "no map option together with a precomputed opts.weight", describe(o[key]));
    }
    prep = prepareGiven(target, pred, o.weight, "opts.weight", o, flags);
  } else {
    const pt = predTensor(pred, o.shape);
    const tt = toTensor(target, "target", o.shape as number[] | undefined);
    binaryGeometry(tt, pt);
    const logits = o.fromLogits === true;
    const geom = poolGeom(tt, o);
    prep = {
      t: tt.data,
      p: pt.data as Float32Array | Float64Array,
      w: null,
      weightArg: "target",
      geom,
      n: pt.data.length,
      flags: flags | (logits ? W_LOGITS : 0),
      logits,
    };
  }
  const x = sums(rt, prep, o.normalize !== false, false);
  const { sumL, sumW } = bcePart(x, all);
  const mean = o.reduction !== "sum";
  if (mean && !(sumW > 0)) fail("E_RANGE", "opts.weight", "weights with a positive sum (the mean divides by Σw)", "Σw = 0");
  const kA = mean ? 1 / sumW : 1;
  const d = dicePart(x, q, (o.smooth as number | undefined) ?? 1);
  const loss = sumL * kA + d.loss;
  if (!grad) return loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, kA, d.cI, d.cP);
  return { loss, grad: g };
}

// ---------------------------------------------------------------- the API

/** The boundary-weighted losses of a segloss instance (docs/weighted-losses.md). */
export interface WeightedApi {
  /** The seed's weight map of a binary target: TF 'SAME' average pool, then 5·e^(−5|a − 0.5|) (or the band map), batch-normalised. */
  boundaryWeights(target: TensorLike, opts?: BoundaryWeightsOptions): WeightMap;
  /** Weighted BCE: Σℓ / Σw with ℓ = (1−t)·x + (1 + (w−1)·t)·softplus(−x) (TF pos_weight), or w·bce with style 'all'. */
  weightedBce(target: TensorLike, pred: TensorLike, weight: TensorLike, opts?: WeightedBceOptions): number | Float32Array;
  weightedBceGrad(
    target: TensorLike,
    pred: TensorLike,
    weight: TensorLike,
    opts?: WeightedBceOptions & { out?: Float32Array },
  ): LossAndGrad;
  /** 1 − (2·Σw·t·p + s) / (Σw·t + Σw·p + s) over the whole batch (w² with power 2). */
  weightedDice(target: TensorLike, pred: TensorLike, weight: TensorLike, opts?: WeightedDiceOptions): number | Float32Array;
  weightedDiceGrad(
    target: TensorLike,
    pred: TensorLike,
    weight: TensorLike,
    opts?: WeightedDiceOptions & { out?: Float32Array },
  ): LossAndGrad;
  /** weightedBce(t, p, boundaryWeights(t)) + (1 − D), D the plain batch Dice (s = 1); the map is built inside. */
  weightedBceDice(target: TensorLike, pred: TensorLike, opts?: WeightedBceDiceOptions): number;
  weightedBceDiceGrad(target: TensorLike, pred: TensorLike, opts?: WeightedBceDiceOptions & { out?: Float32Array }): LossAndGrad;
}

export function weightedApi(rt: Runtime): WeightedApi {
  return {
    boundaryWeights: (t, o) => boundaryWeights(rt, t, o),
    weightedBce: (t, p, w, o) => weightedBce(rt, t, p, w, o, false) as number | Float32Array,
    weightedBceGrad: (t, p, w, o) => weightedBce(rt, t, p, w, o, true) as LossAndGrad,
    weightedDice: (t, p, w, o) => weightedDice(rt, t, p, w, o, false) as number | Float32Array,
    weightedDiceGrad: (t, p, w, o) => weightedDice(rt, t, p, w, o, true) as LossAndGrad,
    weightedBceDice: (t, p, o) => weightedBceDice(rt, t, p, o, false) as number,
    weightedBceDiceGrad: (t, p, o) => weightedBceDice(rt, t, p, o, true) as LossAndGrad,
  };
}
