// Multi-class cross-entropy and focal loss (SPEC §4 rows crossEntropy and
// focal, §4b presets, §4c): one kernel pass over class-major chunks gives
// Σ loss, the kept pixels and Σ_c w_c·t_c; TypeScript does the reduction and
// the gradient scale; a second pass writes the gradient. Softmax/sigmoid run
// once per pixel per pass inside the runner (src/losses/classPass.ts).
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks, GRAD_OPTIONS, KERAS_EPSILON, type MulticlassPreset } from "../options";
import { withF64 } from "../passes";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import { type Activation, type ClassChunk, runClassPass } from "./classPass";
import type { LossAndGrad } from "./common";
import { gradBuffer } from "./common";
import { type Layout, type MulticlassInputs, multiclassInputs } from "./multiclassInputs";

// flags of assembly/multiclassElementwise.ts
const LOGITS = 1;
const DENSE = 2;
const WEIGHT = 4;
const SMOOTH = 8;
const RENORM = 16;
const SIGMOID = 32;
const GAMMA2 = 64;
const SLOTS = 3; // MC_SLOTS: Σ loss, kept pixels, Σ w·t

/** assembly/multiclassElementwise.ts */
/** The softmax-form sums of cross-entropy and focal: one signature, the last argument is the label smoothing or γ. */
type SoftmaxSums = (
  p: number,
  pStride: number,
  x: number,
  xStride: number,
  lse: number,
  labels: number,
  t: number,
  tStride: number,
  len: number,
  C: number,
  w: number,
  acc: number,
  terms: number,
  flags: number,
  eps: number,
  hi: number,
  smoothingOrGamma: number,
) => void;

/** assembly/diceCE.ts diceCELogitSums: Dice and cross-entropy sums from logits, softmax inside; returns the |x| bits. */
export type LogitSums = (
  x: number,
  xStride: number,
  lab: number,
  len: number,
  C: number,
  dice: number,
  ce: number,
  flags: number,
  scratch: number,
) => number;

interface MulticlassElementwiseKernels {
  ceSums: SoftmaxSums;
  /** With CE_ONLY in `flags`: the plain cross-entropy's sums alone (`dice`, `scratch` unused). */
  diceCELogitSums: LogitSums;
  mcFocalSums: SoftmaxSums;
  ovrFocalSums(
    p: number,
    pStride: number,
    x: number,
    xStride: number,
    labels: number,
    t: number,
    tStride: number,
    len: number,
    C: number,
    w: number,
    acc: number,
    terms: number,
    termsStride: number,
    flags: number,
    eps: number,
    hi: number,
    gamma: number,
  ): void;
  ceGrad(
    g: number,
    gStride: number,
    p: number,
    pStride: number,
    labels: number,
    t: number,
    tStride: number,
    len: number,
    C: number,
    w: number,
    flags: number,
    eps: number,
    hi: number,
    sm: number,
    wsum: number,
    scale: number,
  ): void;
  mcFocalGrad(
    g: number,
    gStride: number,
    p: number,
    pStride: number,
    x: number,
    xStride: number,
    lse: number,
    labels: number,
    t: number,
    tStride: number,
    len: number,
    C: number,
    w: number,
    flags: number,
    eps: number,
    hi: number,
    gamma: number,
    scale: number,
  ): void;
  ovrFocalGrad(
    g: number,
    gStride: number,
    p: number,
    pStride: number,
    x: number,
    xStride: number,
    labels: number,
    t: number,
    tStride: number,
    len: number,
    C: number,
    w: number,
    flags: number,
    eps: number,
    hi: number,
    gamma: number,
    scale: number,
  ): void;
}

/** Options of `crossEntropy` (multi-class; `mode` may be given as 'multiclass'). */
export interface CrossEntropyOptions {
  mode?: "multiclass";
  /** Shape of a bare typed-array prediction. */
  shape?: readonly number[];
  /** 'NCHW' (default): [N, C, ...spatial]; 'NHWC': [N, ...spatial, C]. */
  layout?: Layout;
  /** 'mean' (default), 'sum', or 'none': per-pixel losses [N, ...spatial], 0 at ignored pixels. */
  reduction?: "mean" | "sum" | "none";
  /** Predictions are logits: log-softmax inside, gradients w.r.t. the logits. */
  fromLogits?: boolean;
  preset?: MulticlassPreset;
  /** Label value left out of every sum and of the mean's denominator (labels only; default null). */
  ignoreIndex?: number | null;
  /** Per-class weights (length C, ≥ 0); 'mean' then divides by Σ over kept pixels of Σ_c w_c·t_c. */
  classWeights?: ArrayLike<number> | null;
  /** σ in [0, 1]: t ← t·(1 − σ) + σ/C. */
  labelSmoothing?: number;
  /** Divide the probabilities by their sum over classes before the clip (Keras 3). */
  renormalize?: boolean;
  /** 'mean' without classWeights counts ignored pixels in the denominator (smp's SoftCrossEntropyLoss). */
  countIgnored?: boolean;
}

/** Options of the multi-class `focal` (`mode: 'multiclass'`, or 'multilabel' for per-channel sigmoid). */
export interface MulticlassFocalOptions {
  mode: "multiclass" | "multilabel";
  shape?: readonly number[];
  layout?: Layout;
  reduction?: "mean" | "sum" | "none";
  fromLogits?: boolean;
  preset?: MulticlassPreset;
  ignoreIndex?: number | null;
  /** 'softmax' (default): −Σ_c α_c·t_c·(1−p_c)^γ·ln p_c per pixel; 'sigmoid': one-vs-rest binary focal per channel. */
  activation?: "softmax" | "sigmoid";
  /**
   * Per-class α (length C), or one number: softmax — every class (the
   * 'monai' preset: 1 − α for class 0, α for the others); sigmoid — α for
   * positives and 1 − α for negatives (per class with an array). null: no α.
   */
  alpha?: number | ArrayLike<number> | null;
  gamma?: number;
  renormalize?: boolean;
  /** The mean's denominator: kept 'pixels' (softmax default) or 'elements' = pixels × C (sigmoid default, MONAI). */
  meanOver?: "pixels" | "elements";
}

const classList: Check = (v, name) => {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    return fail("E_OPTION", name, "an array of numbers, one per class", describe(v));
  }
  const a = Array.from(v as ArrayLike<unknown>);
  for (const x of a) {
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0) {
      return fail("E_OPTION_RANGE", name, "finite numbers ≥ 0, one per class", `an element ${describe(x)}`);
    }
  }
  return Float64Array.from(a as number[]);
};

const alphaCheck: Check = (v, name) => (typeof v === "number" ? checks.num(0, 1)(v, name) : checks.orNull(classList)(v, name));

const COMMON: Record<string, Check> = {
  shape: checks.shape,
  layout: checks.oneOf("NCHW", "NHWC"),
  reduction: checks.oneOf("mean", "sum", "none"),
  fromLogits: checks.bool,
  preset: checks.oneOf("seed", "smp", "monai", "keras3"),
  ignoreIndex: checks.orNull(checks.finite),
  renormalize: checks.bool,
};

const CE_TABLE: Record<string, Check> = {
  ...COMMON,
  mode: checks.oneOf("multiclass"),
  classWeights: checks.orNull(classList),
  labelSmoothing: checks.num(0, 1),
  countIgnored: checks.bool,
};

const FOCAL_TABLE: Record<string, Check> = {
  ...COMMON,
  mode: checks.oneOf("multiclass", "multilabel"),
  activation: checks.oneOf("softmax", "sigmoid"),
  alpha: alphaCheck,
  gamma: checks.num(0, 100, "a number in [0, 100]"),
  meanOver: checks.oneOf("pixels", "elements"),
};

/** What each preset pins (explicit options override). */
const CE_PRESETS: Record<MulticlassPreset, Record<string, unknown>> = {
  seed: {},
  // SoftCrossEntropyLoss: ignore_index −100, ignored pixels zeroed but counted in the mean
  smp: { ignoreIndex: -100, countIgnored: true },
  // torch.nn.CrossEntropyLoss (DiceCELoss's CE term): ignore_index −100, removed from the mean
  monai: { ignoreIndex: -100 },
  // CategoricalCrossentropy: probabilities renormalised to sum 1, then clipped
  keras3: { renormalize: true },
};

const FOCAL_PRESETS: Record<MulticlassPreset, Record<string, unknown>> = {
  seed: {},
  smp: { activation: "sigmoid", alpha: null, gamma: 2, meanOver: "elements" },
  monai: { activation: "softmax", alpha: null, gamma: 2, meanOver: "elements" },
  keras3: { activation: "softmax", alpha: 0.25, gamma: 2, renormalize: true },
};

interface Setup {
  inputs: MulticlassInputs;
  kind: "ce" | "softmax" | "sigmoid";
  flags: number;
  /** Per-class floats for the kernel (class weights or α; α⁺ then α⁻ for sigmoid), or null. */
  weights: Float32Array | null;
  ignoreIndex: number | null;
  reduction: "mean" | "sum" | "none";
  gamma: number;
  sm: number;
  countIgnored: boolean;
  meanOverElements: boolean;
}

function presetOf(o: Record<string, unknown>, table: Record<MulticlassPreset, Record<string, unknown>>): Record<string, unknown> {
  const preset = (o.preset as MulticlassPreset | undefined) ?? "seed";
  return { ...table[preset], ...o };
}

function classArray(v: Float64Array, name: string, C: number): Float64Array {
  if (v.length !== C) fail("E_OPTION_RANGE", name, `${C} values (one per class)`, `${v.length}`);
  return v;
}

function setupCe(fn: string, target: unknown, pred: unknown, raw: unknown, extra: Record<string, Check> = {}): Setup {
  const given = checkOwnOptions(fn, raw, { ...CE_TABLE, ...extra });
  const o = presetOf(given, CE_PRESETS);
  const inputs = multiclassInputs(target, pred, { shape: o.shape as number[] | undefined, layout: (o.layout as Layout) ?? "NCHW" });
  return ceSetupOf(given, o, inputs);
}

/** The cross-entropy setup from the checked options `given`, the same with the preset applied (`o`), and the inputs. */
function ceSetupOf(given: Record<string, unknown>, o: Record<string, unknown>, inputs: MulticlassInputs): Setup {
  const C = inputs.C;
  const fromLogits = o.fromLogits === true;
  const sm = (o.labelSmoothing as number | undefined) ?? 0;
  const cw = o.classWeights ? classArray(o.classWeights as Float64Array, "opts.classWeights", C) : null;
  const ignoreIndex = ignoreFor(given, o, inputs);
  let flags = fromLogits ? LOGITS : 0;
  if (inputs.dense) flags |= DENSE;
  if (cw) flags |= WEIGHT;
  if (sm > 0) flags |= SMOOTH;
  if (o.renormalize === true && !fromLogits) flags |= RENORM;
  return {
    inputs,
    kind: "ce",
    flags,
    weights: cw ? Float32Array.from(cw) : null,
    ignoreIndex,
    reduction: (o.reduction as Setup["reduction"]) ?? "mean",
    gamma: 0,
    sm,
    countIgnored: o.countIgnored === true,
    meanOverElements: false,
  };
}

/** ignoreIndex applies to label targets; an explicit one with a dense target is an error (a preset's is not). */
function ignoreFor(given: Record<string, unknown>, o: Record<string, unknown>, inputs: MulticlassInputs): number | null {
  const ign = (o.ignoreIndex as number | null | undefined) ?? null;
  if (inputs.dense) {
    if (given.ignoreIndex !== undefined && given.ignoreIndex !== null) {
      fail("E_OPTION", "opts.ignoreIndex", "integer-label targets (a one-hot/soft target has no ignore label)", "a dense target");
    }
    return null;
  }
  return ign;
}

function setupFocal(fn: string, target: unknown, pred: unknown, raw: unknown, extra: Record<string, Check> = {}): Setup {
  const given = checkOwnOptions(fn, raw, { ...FOCAL_TABLE, ...extra });
  const o = presetOf(given, FOCAL_PRESETS);
  const inputs = multiclassInputs(target, pred, { shape: o.shape as number[] | undefined, layout: (o.layout as Layout) ?? "NCHW" });
  const C = inputs.C;
  const fromLogits = o.fromLogits === true;
  const multilabel = o.mode === "multilabel";
  if (multilabel && o.activation === "softmax") {
    fail("E_OPTION", "opts.activation", "'sigmoid' (mode 'multilabel' is per channel)", "'softmax'");
  }
  const sigmoid = multilabel || o.activation === "sigmoid";
  const gamma = (o.gamma as number | undefined) ?? 2;
  const alpha = o.alpha === undefined ? null : (o.alpha as number | Float64Array | null);
  let weights: Float32Array | null = null;
  if (sigmoid) {
    if (alpha !== null) {
      const a = typeof alpha === "number" ? new Float64Array(C).fill(alpha) : classArray(alpha, "opts.alpha", C);
      if (typeof alpha !== "number" && a.some((v) => v > 1))
        fail("E_OPTION_RANGE", "opts.alpha", "values in [0, 1] (α for positives, 1 − α for negatives)", "a value above 1");
      weights = new Float32Array(2 * C);
      for (let c = 0; c < C; c++) {
        weights[c] = a[c];
        weights[C + c] = 1 - a[c];
      }
    }
  } else if (alpha !== null) {
    weights = new Float32Array(C);
    if (typeof alpha === "number") {
      weights.fill(alpha);
      if (o.preset === "monai") weights[0] = 1 - alpha;
    } else weights.set(classArray(alpha, "opts.alpha", C));
  }
  let flags = fromLogits ? LOGITS : 0;
  if (inputs.dense) flags |= DENSE;
  if (weights) flags |= WEIGHT;
  if (sigmoid) flags |= SIGMOID;
  if (gamma === 2) flags |= GAMMA2;
  if (o.renormalize === true && !fromLogits && !sigmoid) flags |= RENORM;
  // an explicit renormalize has no meaning per channel; the keras3 preset's is dropped when the user picks sigmoid
  if (given.renormalize === true && sigmoid) fail("E_OPTION", "opts.renormalize", "false with activation 'sigmoid'", "true");
  const meanOver = (o.meanOver as string | undefined) ?? (sigmoid ? "elements" : "pixels");
  return {
    inputs,
    kind: sigmoid ? "sigmoid" : "softmax",
    flags,
    weights,
    ignoreIndex: ignoreFor(given, o, inputs),
    reduction: (o.reduction as Setup["reduction"]) ?? "mean",
    gamma,
    sm: 0,
    countIgnored: false,
    meanOverElements: meanOver === "elements",
  };
}

function activationOf(s: Setup): Activation {
  if (!(s.flags & LOGITS)) return "none";
  return s.kind === "sigmoid" ? "sigmoid" : "softmax";
}

const EPS = KERAS_EPSILON;
const HI = Math.fround(1 - KERAS_EPSILON);

/** Per-class floats in WebAssembly memory for the duration of `use`. */
function withWeights<T>(rt: Runtime, s: Setup, use: (w: number) => T): T {
  if (!s.weights) return use(0);
  const w = rt.alloc(s.weights.length * 4, "class weights");
  try {
    rt.f32.set(s.weights, w >>> 2);
    return use(w);
  } finally {
    rt.release(w);
  }
}

/** assembly/diceCE.ts flags: CE_ONLY, and IGNORE (labels −1 where ignored). */
const CE_ONLY = 2;
const CE_IGNORE = 1;

/** The value pass: [Σ loss, kept pixels, Σ w·t], writing terms into `terms` when given. */
function sums(rt: Runtime, s: Setup, terms: Float32Array | null): [number, number, number] {
  const { inputs } = s;
  const { C, S } = inputs;
  const k = rt.kernels<MulticlassElementwiseKernels>();
  if (s.kind === "ce" && s.flags === LOGITS && inputs.labels && !terms) {
    // the plain form from logits: one kernel, softmax inside, −ln p_y = (m − x_y) + ln(1 + u) (docs "crossEntropy")
    const flags = CE_ONLY | (s.ignoreIndex === null ? 0 : CE_IGNORE);
    return withF64(rt, SLOTS, (acc) => {
      runClassPass(rt, inputs, {
        activation: "softmax",
        ignoreIndex: s.ignoreIndex,
        kernelChecksPred: true,
        run: (ch: ClassChunk) => k.diceCELogitSums(ch.x, ch.xStride, ch.labels, ch.len, C, 0, acc, flags, 0),
      });
      const f = rt.f64;
      return [f[acc >>> 3], f[(acc >>> 3) + 1], f[(acc >>> 3) + 2]] as [number, number, number];
    });
  }
  const perPixel = terms && s.kind !== "sigmoid";
  return withWeights(rt, s, (w) =>
    withF64(rt, SLOTS, (acc) => {
      const scratch = perPixel ? rt.alloc(Math.min(S, 1 << 15) * 4, "per-pixel terms") : 0;
      try {
        runClassPass(rt, inputs, {
          activation: activationOf(s),
          ignoreIndex: s.ignoreIndex,
          wantLse: s.kind !== "sigmoid",
          // sigmoid terms are per element: the runner copies them out in the prediction's layout
          grad: terms && s.kind === "sigmoid" ? terms : undefined,
          gradWrt: "x",
          run: (ch: ClassChunk) => {
            const lab = inputs.labels ? ch.labels : 0;
            if (s.kind === "sigmoid") {
              const out = terms ? ch.g : 0;
              k.ovrFocalSums(
                ch.p,
                ch.pStride,
                ch.x,
                ch.xStride,
                lab,
                ch.t,
                ch.tStride,
                ch.len,
                C,
                w,
                acc,
                out,
                ch.gStride,
                s.flags,
                EPS,
                HI,
                s.gamma,
              );
              return;
            }
            // CE and softmax focal share one signature; the last argument is the smoothing or γ
            const sums = s.kind === "ce" ? k.ceSums : k.mcFocalSums;
            sums(
              ch.p,
              ch.pStride,
              ch.x,
              ch.xStride,
              ch.lse,
              lab,
              ch.t,
              ch.tStride,
              ch.len,
              C,
              w,
              acc,
              scratch,
              s.flags,
              EPS,
              HI,
              s.kind === "ce" ? s.sm : s.gamma,
            );
            if (perPixel && terms) {
              const at = ch.n * S + ch.s0;
              terms.set(rt.f32.subarray(scratch >>> 2, (scratch >>> 2) + ch.len), at);
            }
          },
        });
      } finally {
        if (scratch) rt.release(scratch);
      }
      const f = rt.f64;
      return [f[acc >>> 3], f[(acc >>> 3) + 1], f[(acc >>> 3) + 2]] as [number, number, number];
    }),
  );
}

/** The reduced value and the gradient's scale. */
function reduce(s: Setup, sum: number, kept: number, weightSum: number): { value: number; scale: number } {
  if (s.reduction === "sum") return { value: sum, scale: 1 };
  const { N, S, C } = s.inputs;
  let den: number;
  if (s.kind === "ce") den = s.flags & WEIGHT ? weightSum : s.countIgnored ? N * S : kept;
  else den = s.meanOverElements ? kept * C : kept;
  return den > 0 ? { value: sum / den, scale: 1 / den } : { value: 0, scale: 0 };
}

function lossOf(rt: Runtime, s: Setup): number | Float32Array {
  const { N, C, S } = s.inputs;
  if (s.reduction === "none") {
    const terms = new Float32Array(s.kind === "sigmoid" ? N * C * S : N * S);
    sums(rt, s, terms);
    return terms;
  }
  const [sum, kept, ws] = sums(rt, s, null);
  return reduce(s, sum, kept, ws).value;
}

function gradOf(rt: Runtime, s: Setup, out: unknown): LossAndGrad {
  if (s.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  const [sum, kept, ws] = sums(rt, s, null); // validates every chunk before `out` is touched
  const { value, scale } = reduce(s, sum, kept, ws);
  const { inputs } = s;
  const grad = gradBuffer(out as Float32Array | undefined, inputs.pred.length);
  const k = rt.kernels<MulticlassElementwiseKernels>();
  const C = inputs.C;
  const wsum = s.weights && s.kind === "ce" ? s.weights.reduce((a, b) => a + b, 0) : C;
  withWeights(rt, s, (w) =>
    runClassPass(rt, inputs, {
      activation: activationOf(s),
      ignoreIndex: s.ignoreIndex,
      wantLse: s.kind === "softmax",
      grad,
      gradWrt: "x", // the kernels write ∂/∂logits directly (∂/∂p without an activation)
      run: (ch) => {
        const lab = inputs.labels ? ch.labels : 0;
        if (s.kind === "ce") {
          k.ceGrad(ch.g, ch.gStride, ch.p, ch.pStride, lab, ch.t, ch.tStride, ch.len, C, w, s.flags, EPS, HI, s.sm, wsum, scale);
        } else if (s.kind === "softmax") {
          k.mcFocalGrad(
            ch.g,
            ch.gStride,
            ch.p,
            ch.pStride,
            ch.x,
            ch.xStride,
            ch.lse,
            lab,
            ch.t,
            ch.tStride,
            ch.len,
            C,
            w,
            s.flags,
            EPS,
            HI,
            s.gamma,
            scale,
          );
        } else {
          k.ovrFocalGrad(
            ch.g,
            ch.gStride,
            ch.p,
            ch.pStride,
            ch.x,
            ch.xStride,
            lab,
            ch.t,
            ch.tStride,
            ch.len,
            C,
            w,
            s.flags,
            EPS,
            HI,
            s.gamma,
            scale,
          );
        }
      },
    }),
  );
  return { loss: value, grad };
}

/**
 * Cross-entropy as one part of a fused class pass (src/losses/diceCE.ts): the
 * caller stages each chunk once (softmax with fromLogits, log-sum-exp for the
 * sums) and runs `sums`, then `reduce`, then for a gradient `grad`. Same
 * options and numbers as `crossEntropy`.
 */
export interface CePart {
  /** The ignore label in effect (a preset's applies to label targets only). */
  ignoreIndex: number | null;
  /** Per-class floats the kernels read at `w` (the caller places them in WebAssembly memory), or null. */
  weights: Float32Array | null;
  /** Label targets, no class weights, smoothing or renormalisation: ℓ = −ln clip(p_y), or lse − x_y from logits (a fused kernel may compute it). */
  plain: boolean;
  /** Adds one chunk's [Σ loss, kept pixels, Σ w·t] into the 3 f64 at `acc`. */
  sums(w: number, acc: number, ch: ClassChunk): void;
  /** The reduced value and the gradient's scale from those three sums. */
  reduce(sum: number, kept: number, weightSum: number): { value: number; scale: number };
  /** Writes `scale` × the chunk's gradient (w.r.t. the logits with fromLogits, else p), class-major at `g` (stride ch.gStride). */
  grad(w: number, scale: number, ch: ClassChunk, g: number): void;
}

export function cePart(rt: Runtime, fn: string, raw: unknown, inputs: MulticlassInputs): CePart {
  const given = checkOwnOptions(fn, raw, CE_TABLE);
  const s = ceSetupOf(given, presetOf(given, CE_PRESETS), inputs);
  if (s.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum'", "'none'");
  const k = rt.kernels<MulticlassElementwiseKernels>();
  const C = inputs.C;
  const lab = (ch: ClassChunk) => (inputs.labels ? ch.labels : 0);
  const wsum = s.weights ? s.weights.reduce((a, b) => a + b, 0) : C;
  return {
    ignoreIndex: s.ignoreIndex,
    weights: s.weights,
    plain: (s.flags & ~LOGITS) === 0,
    sums: (w, acc, ch) =>
      k.ceSums(ch.p, ch.pStride, ch.x, ch.xStride, ch.lse, lab(ch), ch.t, ch.tStride, ch.len, C, w, acc, 0, s.flags, EPS, HI, s.sm),
    reduce: (sum, kept, weightSum) => reduce(s, sum, kept, weightSum),
    grad: (w, scale, ch, g) =>
      k.ceGrad(g, ch.gStride, ch.p, ch.pStride, lab(ch), ch.t, ch.tStride, ch.len, C, w, s.flags, EPS, HI, s.sm, wsum, scale),
  };
}

const GRAD_TABLE: Record<string, Check> = Object.fromEntries(GRAD_OPTIONS.map((k) => [k, checks.float32]));

function outOf(raw: unknown): unknown {
  return raw !== null && typeof raw === "object" && Object.hasOwn(raw, "out") ? (raw as { out: unknown }).out : undefined;
}

export function crossEntropy(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): number | Float32Array {
  return lossOf(rt, setupCe("crossEntropy", target, pred, opts));
}

export function crossEntropyGrad(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): LossAndGrad {
  return gradOf(rt, setupCe("crossEntropyGrad", target, pred, opts, GRAD_TABLE), outOf(opts));
}

/** focal with `mode: 'multiclass' | 'multilabel'` (src/losses/elementwise.ts dispatches here). */
export function multiclassFocal(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): number | Float32Array {
  return lossOf(rt, setupFocal("focal", target, pred, opts));
}

export function multiclassFocalGrad(rt: Runtime, target: unknown, pred: unknown, opts?: unknown): LossAndGrad {
  return gradOf(rt, setupFocal("focalGrad", target, pred, opts, GRAD_TABLE), outOf(opts));
}

/** Multi-class cross-entropy of a segloss instance (the multi-class focal is `focal` with `mode: 'multiclass'`). */
export interface MulticlassElementwiseApi {
  /**
   * Softmax cross-entropy (SPEC §4 `crossEntropy`): integer labels [N, ...spatial]
   * or a one-hot/soft target of the prediction's shape; probabilities (clipped
   * to [1e-7, 1 − 1e-7], no renormalisation) or logits with `fromLogits`.
   */
  crossEntropy(target: TensorLike, pred: TensorLike, opts?: CrossEntropyOptions): number | Float32Array;
  crossEntropyGrad(target: TensorLike, pred: TensorLike, opts?: CrossEntropyOptions & { out?: Float32Array }): LossAndGrad;
}

export function multiclassElementwiseApi(rt: Runtime): MulticlassElementwiseApi {
  return {
    crossEntropy: (t, p, o) => crossEntropy(rt, t, p, o),
    crossEntropyGrad: (t, p, o) => crossEntropyGrad(rt, t, p, o),
  };
}
