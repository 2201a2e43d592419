// The weighted family's public option types, option tables and geometry:
// what a call asked for, and the images and pooling windows it works on.
import { describe, fail } from "../../errors";
import { type Check, checkOwnOptions, checks, type Reduction } from "../../options";
import { type Tensor, type TensorLike, toTensor } from "../../tensor";
import { EXACT_F32, POOL_BAND, POOL_F64 } from "./kernels";

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
export const BOUNDARY: Record<string, Check> = { shape, ...MAP_OPTIONS, out: float32 };
export const BCE: Record<string, Check> = {
  shape,
  fromLogits: bool,
  reduction: oneOf("mean", "sum", "none"),
  style: oneOf("positive", "all"),
};
export const DICE: Record<string, Check> = {
  shape,
  fromLogits: bool,
  reduction: oneOf("mean", "sum", "none"),
  smooth: positiveSmooth,
  power: integerIn(1, 2),
};
export const BCE_DICE: Record<string, Check> = {
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

export function options(fn: string, raw: unknown, table: Record<string, Check>, grad: boolean): Record<string, unknown> {
  const o = checkOwnOptions(grad ? `${fn}Grad` : fn, raw, grad ? withOut(table) : table);
  if (grad && o.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  return o;
}

// ---------------------------------------------------------------- geometry

export interface PoolGeom {
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
export function imagesOf(t: Tensor, argument: string): { N: number; H: number; W: number } {
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
export function poolGeom(t: Tensor, o: Record<string, unknown>): PoolGeom {
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

export function predTensor(pred: unknown, shapeOpt: unknown): Tensor {
  const pt = toTensor(pred, "pred", shapeOpt as number[] | undefined);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  return pt;
}
