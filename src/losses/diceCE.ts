// Dice + cross-entropy in one call (MONAI's DiceCELoss; SPEC §4, ANCHORS B6;
// docs/multiclass-losses.md "Dice + cross-entropy"):
//   diceCE = lambdaDice · dice(target, pred, diceOpts) + lambdaCe · crossEntropy(target, pred, ceOpts)
// with the multi-class `dice` and `crossEntropy` of this package. One class
// pass stages each chunk once (range checks once, softmax once per pixel with
// fromLogits) and runs both sums kernels on it while it is in cache; the
// gradient pass writes both gradients into one chunk buffer with one softmax
// backward.
import { fail } from "../errors";
import { type Check, checkOwnOptions, checks, KERAS_EPSILON, type MulticlassPreset, REGION_OWN } from "../options";
import { withF64 } from "../passes";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import { type ClassChunk, runClassPass } from "./classPass";
import { gradBuffer, type LossAndGrad } from "./common";
import { type CePart, cePart, type LogitSums } from "./multiclassElementwise";
import { type Layout, type MulticlassInputs, multiclassInputs } from "./multiclassInputs";
import { type MulticlassRegionOptions, type RegionPart, regionPart } from "./multiclassRegion";

/** assembly/diceCE.ts */
interface DiceCEKernels {
  diceCELabelSums(
    p: number,
    pStride: number,
    lab: number,
    len: number,
    C: number,
    dice: number,
    ce: number,
    flags: number,
    eps: number,
    hi: number,
  ): number;
  diceCELogitSums: LogitSums;
  diceCEAddGrad(
    p: number,
    pStride: number,
    h: number,
    hStride: number,
    g: number,
    gStride: number,
    len: number,
    C: number,
    softmax: number,
  ): void;
}

/**
 * Options of `diceCE`: flat, as MONAI's DiceCELoss and our `bceDice`. The
 * shared options apply to both parts; the Dice-only and CE-only ones to
 * their part. `classWeights` weighs both parts (MONAI ≥ 1.2 passes `weight`
 * to both); `diceClassWeights` / `ceClassWeights` override it for one part
 * (null: none for that part).
 */
export interface DiceCEOptions
  extends Pick<
    MulticlassRegionOptions,
    | "perImage"
    | "aggregate"
    | "average"
    | "smooth"
    | "smoothNumerator"
    | "smoothDenominator"
    | "squared"
    | "log"
    | "softLabel"
    | "emptyTarget"
    | "epsilon"
    | "epsilonMode"
  > {
  /** Only 'multiclass' (softmax over C with fromLogits). */
  mode?: "multiclass";
  layout?: Layout;
  shape?: readonly number[];
  /** 'mean' (default) or 'sum', applied to each part ('none' is an error: the parts' terms differ in shape). */
  reduction?: "mean" | "sum";
  fromLogits?: boolean;
  /** Both parts take the preset ('monai': MONAI's DiceLoss and torch CrossEntropyLoss defaults). */
  preset?: MulticlassPreset;
  /** Label left out of both parts (label targets). */
  ignoreIndex?: number | null;
  /** Per class id (length C), for both parts unless overridden. */
  classWeights?: ArrayLike<number> | null;
  /** λ_dice ≥ 0 (default 1). */
  lambdaDice?: number;
  /** λ_ce ≥ 0 (default 1). */
  lambdaCe?: number;
  /** Class ids of the Dice terms (the cross-entropy always sums over every class). */
  classes?: readonly number[];
  /** false drops class 0 from the Dice part only (MONAI#6855). */
  includeBackground?: boolean;
  diceClassWeights?: ArrayLike<number> | null;
  // the cross-entropy part (as `crossEntropy`)
  labelSmoothing?: number;
  renormalize?: boolean;
  countIgnored?: boolean;
  ceClassWeights?: ArrayLike<number> | null;
}

const DICE_ONLY = [...REGION_OWN, "average", "classes", "includeBackground"];
const CE_ONLY = ["labelSmoothing", "renormalize", "countIgnored"];
const SHARED = ["layout", "shape", "reduction", "fromLogits", "preset"];

// the parts check their own options; this table knows every name
const later: Check = (v) => v;
const lambda = checks.num(0, Number.MAX_VALUE, "a finite number ≥ 0");
const TABLE: Record<string, Check> = {
  mode: checks.oneOf("multiclass"),
  layout: checks.oneOf("NCHW", "NHWC"),
  shape: checks.shape,
  reduction: checks.oneOf("mean", "sum", "none"),
  fromLogits: checks.bool,
  preset: checks.oneOf("seed", "smp", "monai", "keras3"),
  ignoreIndex: later,
  classWeights: later,
  diceClassWeights: later,
  ceClassWeights: later,
  lambdaDice: lambda,
  lambdaCe: lambda,
  ...Object.fromEntries([...DICE_ONLY, ...CE_ONLY].map((k) => [k, later])),
};
const GRAD_TABLE: Record<string, Check> = { ...TABLE, out: checks.float32 };

/** Copies the named own fields that are present. */
function pick(o: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of names) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** A part's class weights: its own override (null: none), else the shared ones. */
function weightsFor(o: Record<string, unknown>, own: string): Record<string, unknown> {
  const w = own in o ? o[own] : o.classWeights;
  return w === undefined || w === null ? {} : { classWeights: w };
}

interface Setup {
  inp: MulticlassInputs;
  dice: RegionPart;
  ce: CePart;
  lambdaDice: number;
  lambdaCe: number;
  fromLogits: boolean;
  out: unknown;
}

function setup(rt: Runtime, fn: string, target: unknown, pred: unknown, raw: unknown, withGrad: boolean): Setup {
  const o = checkOwnOptions(fn, raw, withGrad ? GRAD_TABLE : TABLE);
  if (o.reduction === "none") {
    fail(
      "E_OPTION",
      "opts.reduction",
      "'mean' or 'sum' (diceCE adds per-term and per-pixel losses: call dice and crossEntropy for 'none')",
      "'none'",
    );
  }
  const inp = multiclassInputs(target, pred, {
    shape: o.shape as number[] | undefined,
    layout: (o.layout as Layout | undefined) ?? "NCHW",
  });
  const shared = pick(o, SHARED);
  // the cross-entropy resolves the ignore label (a preset's applies to label targets only); the Dice part takes the same
  const ce = cePart(rt, fn, { ...shared, ...pick(o, ["ignoreIndex", ...CE_ONLY]), ...weightsFor(o, "ceClassWeights") }, inp);
  const ignore = ce.ignoreIndex === null ? {} : { ignoreIndex: ce.ignoreIndex };
  const dice = regionPart(
    rt,
    fn,
    "dice",
    { mode: "multiclass", ...shared, ...ignore, ...pick(o, DICE_ONLY), ...weightsFor(o, "diceClassWeights") },
    inp,
  );
  return {
    inp,
    dice,
    ce,
    lambdaDice: (o.lambdaDice as number | undefined) ?? 1,
    lambdaCe: (o.lambdaCe as number | undefined) ?? 1,
    fromLogits: o.fromLogits === true,
    out: o.out,
  };
}

/** Per-class floats in WebAssembly memory for the duration of `use` (0 when there are none). */
function withFloats<T>(rt: Runtime, values: Float32Array | null, use: (w: number) => T): T {
  if (!values) return use(0);
  const w = rt.alloc(values.length * 4, "class weights");
  try {
    rt.f32.set(values, w >>> 2);
    return use(w);
  } finally {
    rt.release(w);
  }
}

interface Value {
  loss: number;
  diceCoefs: Float64Array;
  ceScale: number;
}

const FUSED_IGNORE = 1; // assembly/diceCE.ts IGNORE
const EPS = KERAS_EPSILON;
const HI = Math.fround(1 - KERAS_EPSILON);

/** The value pass: both sums kernels on every staged chunk (or the fused one); validates every chunk. */
function value(rt: Runtime, s: Setup): Value {
  const { dice, ce } = s;
  const C = s.inp.C;
  const slots = dice.slots + 3;
  // labels and the plain parts: one kernel (softmax inside from logits), which also range-checks the chunk
  const fused = dice.labelSums && ce.plain;
  const k = rt.kernels<DiceCEKernels>();
  const flags = ce.ignoreIndex === null ? 0 : FUSED_IGNORE;
  // from logits: 48·C bytes of per-vector scratch (two vectors' exponentials, Σp accumulators)
  const scratch = fused && s.fromLogits ? rt.alloc(C * 48, "diceCE scratch") : 0;
  const fusedSums = (acc: number, ceAcc: number, ch: ClassChunk): number => {
    const at = acc + ((ch.n * dice.slots) / s.inp.N) * 8;
    return s.fromLogits
      ? k.diceCELogitSums(ch.x, ch.xStride, ch.labels, ch.len, C, at, ceAcc, flags, scratch)
      : k.diceCELabelSums(ch.p, ch.pStride, ch.labels, ch.len, C, at, ceAcc, flags, EPS, HI);
  };
  let sums: Float64Array[];
  try {
    sums = withFloats(rt, ce.weights, (w) =>
      withF64(rt, slots, (acc) => {
        const ceAcc = acc + dice.slots * 8;
        runClassPass(rt, s.inp, {
          activation: s.fromLogits ? "softmax" : "none",
          ignoreIndex: ce.ignoreIndex,
          wantLse: s.fromLogits && !fused,
          kernelChecksPred: fused,
          run: (ch: ClassChunk) => {
            if (fused) return fusedSums(acc, ceAcc, ch);
            dice.sums(acc, ch);
            ce.sums(w, ceAcc, ch);
          },
        });
        const f = rt.f64;
        return [f.slice(acc >>> 3, (acc >>> 3) + dice.slots), f.slice(ceAcc >>> 3, (ceAcc >>> 3) + 3)];
      }),
    );
  } finally {
    if (scratch) rt.release(scratch);
  }
  const [diceSums, ceSums] = sums;
  const d = dice.finish(diceSums, s.lambdaDice);
  const c = ce.reduce(ceSums[0], ceSums[1], ceSums[2]);
  return { loss: s.lambdaDice * d.value + s.lambdaCe * c.value, diceCoefs: d.coefs, ceScale: s.lambdaCe * c.scale };
}

/** The gradient pass: CE's gradient into the chunk buffer, Dice's dL/dp into a scratch chunk, one (softmax backward +) add. */
function gradPass(rt: Runtime, s: Setup, v: Value, grad: Float32Array): void {
  const { dice, ce, inp } = s;
  const k = rt.kernels<DiceCEKernels>();
  const withDice = v.diceCoefs.some((c) => c !== 0);
  withFloats(rt, ce.weights, (w) =>
    withF64(rt, v.diceCoefs.length, (coef) => {
      rt.f64.set(v.diceCoefs, coef >>> 3);
      let h = 0; // the Dice chunk, sized by the runner's first chunk (every chunk has the same stride)
      try {
        runClassPass(rt, inp, {
          activation: s.fromLogits ? "softmax" : "none",
          ignoreIndex: ce.ignoreIndex,
          grad,
          gradWrt: "x",
          validated: true, // by the value pass
          run: (ch) => {
            ce.grad(w, v.ceScale, ch, ch.g);
            if (!withDice) return;
            if (!h) h = rt.alloc(inp.C * ch.gStride * 4, "Dice gradient chunk");
            dice.grad(coef, ch, h);
            k.diceCEAddGrad(ch.p, ch.pStride, h, ch.gStride, ch.g, ch.gStride, ch.len, inp.C, s.fromLogits ? 1 : 0);
          },
        });
      } finally {
        if (h) rt.release(h);
      }
    }),
  );
}

export function diceCE(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): number {
  return value(rt, setup(rt, "diceCE", target, pred, opts, false)).loss;
}

export function diceCEGrad(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): LossAndGrad {
  const s = setup(rt, "diceCEGrad", target, pred, opts, true);
  const v = value(rt, s); // validates every chunk before `out` is touched
  const grad = gradBuffer(s.out, s.inp.pred.length);
  gradPass(rt, s, v, grad);
  return { loss: v.loss, grad };
}

/** Dice + cross-entropy of a segloss instance. */
export interface DiceCEApi {
  /**
   * MONAI's DiceCELoss in one pass: lambdaDice · (multi-class Dice loss) +
   * lambdaCe · (softmax cross-entropy), integer labels or one-hot/soft
   * targets, probabilities or logits (`fromLogits`), NCHW or NHWC.
   */
  diceCE(target: TensorLike, pred: TensorLike, opts?: DiceCEOptions): number;
  diceCEGrad(target: TensorLike, pred: TensorLike, opts?: DiceCEOptions & { out?: Float32Array }): LossAndGrad;
}

export function diceCEApi(rt: Runtime): DiceCEApi {
  return {
    diceCE: (t, p, o) => diceCE(rt, t, p, o),
    diceCEGrad: (t, p, o) => diceCEGrad(rt, t, p, o),
  };
}
