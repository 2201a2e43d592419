// Multi-class and multi-label Dice, Jaccard, Tversky, focal Tversky and the
// generalized Dice (SPEC §4, §4b, §4c; docs/multiclass-losses.md). One kernel
// pass gives float64 sums per (image, class); the scores, the class selection,
// the weights, the presets and the gradient coefficients are scalar work here
// (O(images·classes)); a second pass writes dL/dp, which the class pass turns
// into dL/dx through softmax/sigmoid with fromLogits.
import { describe, fail } from "../errors";
import {
  type Check,
  checkOwnOptions,
  checks,
  type MulticlassPreset,
  type Reduction,
  type RegionOptions,
  type Resolved,
  resolve,
} from "../options";
import { runPass, withF64 } from "../passes";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import { type ClassChunk, runClassPass } from "./classPass";
import { gradBuffer, type LossAndGrad } from "./common";
import { type Layout, type MulticlassInputs, multiclassInputs } from "./multiclassInputs";
import { flagsOf, lossTerms, type RegionKernels, regionTerms, type Score, SLOTS, scoreOf } from "./region";

/** assembly/multiclassRegion.ts, and the binary gradient kernel of assembly/region.ts (two-class generalized Dice). */
interface McRegionKernels extends Pick<RegionKernels, "regionGrad"> {
  mcRegionSums(
    p: number,
    pStride: number,
    t: number,
    tStride: number,
    lab: number,
    len: number,
    C: number,
    acc: number,
    flags: number,
  ): void;
  mcRegionGrad(
    g: number,
    gStride: number,
    p: number,
    pStride: number,
    t: number,
    tStride: number,
    lab: number,
    len: number,
    C: number,
    coef: number,
    flags: number,
  ): void;
}

const MC_LABELS = 1;
const MC_SQUARED = 2;
const MC_SOFT = 4;
const MC_IGNORE = 8;

/** Options of the multi-class and multi-label region losses. */
export interface MulticlassRegionOptions
  extends Pick<
    RegionOptions,
    | "perImage"
    | "aggregate"
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
  /** 'multiclass': softmax over C with fromLogits, targets labels or one-hot/soft; 'multilabel': independent channels (sigmoid), dense targets. */
  mode: "multiclass" | "multilabel";
  layout?: Layout;
  shape?: readonly number[];
  reduction?: Reduction;
  fromLogits?: boolean;
  preset?: MulticlassPreset;
  /** Label whose pixels are left out of every sum (integer label targets). */
  ignoreIndex?: number | null;
  /** 'macro' (default): one term per class, then the mean; 'micro': the kept classes' sums pooled into one term (Keras 3, axis=None). */
  average?: "macro" | "micro";
  /** Class ids kept (default: all). */
  classes?: readonly number[];
  /** false drops class 0 (default true). */
  includeBackground?: boolean;
  /** Per class id (length C): per image Σ w·L / Σ w over the kept classes. */
  classWeights?: ArrayLike<number>;
}

export interface MulticlassTverskyOptions extends Omit<MulticlassRegionOptions, "squared"> {
  alpha?: number;
  beta?: number;
}

export interface MulticlassFocalTverskyOptions extends Omit<MulticlassTverskyOptions, "log"> {
  gamma?: number;
  /** 'term' (default): (1 − T)^γ per term, then the mean; 'mean': (mean of 1 − T)^γ (smp). */
  gammaAt?: "term" | "mean";
}

export interface GeneralizedDiceOptions {
  /** 'multiclass' (default), 'multilabel', or 'binary' (the two classes foreground t, p and background 1 − t, 1 − p). */
  mode?: "multiclass" | "multilabel" | "binary";
  layout?: Layout;
  shape?: readonly number[];
  reduction?: Reduction;
  fromLogits?: boolean;
  preset?: "seed" | "monai";
  ignoreIndex?: number | null;
  perImage?: boolean;
  aggregate?: "perImage" | "batch";
  smooth?: number;
  smoothNumerator?: number;
  smoothDenominator?: number;
  softLabel?: boolean;
  classes?: readonly number[];
  includeBackground?: boolean;
  /** Class weight from the target volume V = Σt: 'square' 1/V² (default), 'simple' 1/V, 'uniform' 1. */
  weightType?: "square" | "simple" | "uniform";
}

/** The resolved multi-class record: the binary region fields plus the class options. */
interface McResolved extends Resolved {
  mode: "multiclass" | "multilabel" | "binary";
  layout: Layout;
  average: "macro" | "micro";
  classes: number[] | null;
  includeBackground: boolean;
  classWeights: Float64Array | null;
  gammaAt: "term" | "mean";
  weightType: "square" | "simple" | "uniform";
  /** The …Grad forms' gradient buffer (own property of the options, checked). */
  out?: Float32Array;
}

const classList: Check = (v, name) => {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView)))
    return fail("E_OPTION", name, "an array of class ids", describe(v));
  const a = Array.from(v as ArrayLike<unknown>);
  if (a.length === 0) return fail("E_OPTION_RANGE", name, "at least one class id", "an empty list");
  for (const x of a) {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0)
      return fail("E_OPTION", name, "integer class ids ≥ 0", `an element ${describe(x)}`);
  }
  return a as number[];
};

const weightList: Check = (v, name) => {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView)))
    return fail("E_OPTION", name, "an array of class weights", describe(v));
  const a = Array.from(v as ArrayLike<unknown>);
  for (const x of a) {
    if (typeof x !== "number" || !(x >= 0 && x < Number.POSITIVE_INFINITY))
      return fail("E_OPTION_RANGE", name, "finite class weights ≥ 0", `an element ${describe(x)}`);
  }
  return Float64Array.from(a as number[]);
};

const { bool, num, oneOf, orNull, finite, shape, float32 } = checks;
const nonNeg = num(0, Number.MAX_VALUE, "a finite number ≥ 0");

const BASE_TABLE: Record<string, Check> = {
  mode: oneOf("multiclass", "multilabel"),
  layout: oneOf("NCHW", "NHWC"),
  shape,
  reduction: oneOf("mean", "sum", "none"),
  fromLogits: bool,
  preset: oneOf("seed", "smp", "monai", "keras3"),
  ignoreIndex: orNull(finite),
  perImage: bool,
  aggregate: oneOf("perImage", "batch"),
  average: oneOf("macro", "micro"),
  smooth: nonNeg,
  smoothNumerator: nonNeg,
  smoothDenominator: nonNeg,
  softLabel: bool,
  emptyTarget: oneOf("smooth", "zero", "max", "skip"),
  epsilon: orNull(num(0, 1)),
  epsilonMode: oneOf("clamp", "add"),
  classes: classList,
  includeBackground: bool,
  classWeights: weightList,
};

function without(table: Record<string, Check>, ...names: string[]): Record<string, Check> {
  const out = { ...table };
  for (const n of names) delete out[n];
  return out;
}

const TABLES: Record<Score, Record<string, Check>> = {
  dice: { ...BASE_TABLE, squared: bool, log: bool },
  jaccard: { ...BASE_TABLE, squared: bool, log: bool },
  tversky: { ...BASE_TABLE, log: bool, alpha: num(0, 1), beta: num(0, 1) },
  focalTversky: {
    ...BASE_TABLE,
    alpha: num(0, 1),
    beta: num(0, 1),
    gamma: num(0, 100, "a number in [0, 100]"),
    gammaAt: oneOf("term", "mean"),
  },
};

const GD_TABLE: Record<string, Check> = {
  ...without(BASE_TABLE, "average", "emptyTarget", "epsilon", "epsilonMode", "classWeights"),
  mode: oneOf("multiclass", "multilabel", "binary"),
  preset: oneOf("seed", "monai"),
  weightType: oneOf("square", "simple", "uniform"),
};

const withOut = (t: Record<string, Check>) => ({ ...t, out: float32 });

/** What each preset pins (SPEC §4b, docs/multiclass-losses.md "Presets"). */
function presetFields(preset: string, score: Score | "generalizedDice"): Record<string, unknown> {
  switch (preset) {
    case "smp":
      // smp clamps (I + ½FP + ½FN + s) = (Σt + Σp)/2 + s at ε: our Dice denominator is twice that
      return {
        perImage: false,
        smooth: 0,
        epsilon: score === "dice" ? 2e-7 : 1e-7,
        epsilonMode: "clamp",
        emptyTarget: "zero",
        softLabel: true,
        gammaAt: "mean",
      };
    case "monai":
      // MONAI's Jaccard is (2I + s_nr)/(2U + s_dr): the same as ours with half the smooth terms
      return { perImage: true, smooth: score === "jaccard" ? 5e-6 : 1e-5, squared: false, softLabel: false, emptyTarget: "smooth" };
    case "keras3":
      return { perImage: false, average: "micro", smooth: 0, epsilon: 1e-7, epsilonMode: "add" };
    default:
      return score === "generalizedDice" ? { smooth: 1e-5 } : {};
  }
}

function resolveMc(fn: string, score: Score | "generalizedDice", raw: unknown, table: Record<string, Check>): McResolved {
  const checked = checkOwnOptions(fn, raw, table);
  if (checked.smooth !== undefined && (checked.smoothNumerator !== undefined || checked.smoothDenominator !== undefined)) {
    fail("E_OPTION", "opts.smooth", "either smooth or smoothNumerator/smoothDenominator", "both");
  }
  if (checked.perImage !== undefined && checked.aggregate !== undefined && checked.perImage !== (checked.aggregate === "perImage")) {
    fail("E_OPTION", "opts.aggregate", `a value agreeing with perImage: ${checked.perImage}`, describe(checked.aggregate));
  }
  const base = resolve(score === "generalizedDice" ? "dice" : score, {});
  const r: McResolved = {
    ...base,
    mode: "multiclass",
    layout: "NCHW",
    average: "macro",
    classes: null,
    includeBackground: true,
    classWeights: null,
    gammaAt: "term",
    weightType: "square",
  };
  const apply = (o: Record<string, unknown>) => {
    for (const key of Object.keys(o)) {
      const v = o[key];
      if (key === "smooth") {
        r.smoothNumerator = v as number;
        r.smoothDenominator = v as number;
      } else if (key === "aggregate") r.perImage = v === "perImage";
      else if (key !== "preset") (r as unknown as Record<string, unknown>)[key] = v;
    }
  };
  apply(presetFields((checked.preset as string | undefined) ?? "seed", score));
  apply(checked);
  return r;
}

/** The class ids that produce terms, ascending. */
function keptClasses(r: McResolved, C: number): number[] {
  if (r.classes) {
    for (const c of r.classes) if (c >= C) fail("E_OPTION_RANGE", "opts.classes", `class ids in [0, ${C - 1}]`, `${c}`);
  }
  if (r.classWeights && r.average === "micro") {
    fail("E_OPTION", "opts.classWeights", "no class weights with average: 'micro' (its classes are pooled into one term)", "class weights");
  }
  if (r.classWeights && r.classWeights.length !== C) {
    fail("E_OPTION", "opts.classWeights", `${C} weights (one per class id)`, `${r.classWeights.length}`);
  }
  const ids = [...new Set(r.classes ?? Array.from({ length: C }, (_, c) => c))].sort((a, b) => a - b);
  const kept = r.includeBackground ? ids : ids.filter((c) => c !== 0);
  if (kept.length === 0) fail("E_OPTION", "opts.classes", "at least one class kept (includeBackground: false drops class 0)", "none");
  return kept;
}

function checkInputs(r: McResolved, inp: MulticlassInputs): void {
  if (r.mode === "multilabel" && inp.labels) {
    fail(
      "E_SHAPE",
      "target",
      `a dense multi-label target of the prediction's shape [${inp.predShape.join(",")}] (mode 'multilabel' has independent channels, so integer labels cannot express it)`,
      "integer labels",
    );
  }
  if (inp.dense && r.ignoreIndex !== null) {
    fail("E_OPTION", "opts.ignoreIndex", "integer label targets (a dense target has no label to ignore)", describe(r.ignoreIndex));
  }
}

const activationOf = (r: McResolved) => (!r.fromLogits ? "none" : r.mode === "multilabel" ? "sigmoid" : "softmax");

function kernelFlags(r: McResolved, score: Score | "generalizedDice", inp: MulticlassInputs): number {
  const squared = r.squared && (score === "dice" || score === "jaccard");
  return (inp.labels ? MC_LABELS : 0) | (squared ? MC_SQUARED : 0) | (r.softLabel ? MC_SOFT : 0) | (r.ignoreIndex !== null ? MC_IGNORE : 0);
}

/** The sums pass: SLOTS f64 per (image, class), as the binary kernel's (label targets get Σt² = Σt and the exact Σ|t − p|). */
function classSums(rt: Runtime, inp: MulticlassInputs, r: McResolved, flags: number): Float64Array {
  const { N, C } = inp;
  const k = rt.kernels<McRegionKernels>();
  const sums = withF64(rt, N * C * SLOTS, (acc) => {
    runClassPass(rt, inp, {
      activation: activationOf(r),
      ignoreIndex: r.ignoreIndex,
      run: (ch) => k.mcRegionSums(ch.p, ch.pStride, ch.t, ch.tStride, ch.labels, ch.len, C, acc + ch.n * C * SLOTS * 8, flags),
    });
    return rt.f64.slice(acc >>> 3, (acc >>> 3) + N * C * SLOTS);
  });
  completeLabelSums(inp, sums);
  return sums;
}

/** Label targets: the kernel leaves Σt² and Σ|t − p| to us (t ∈ {0, 1}). */
function completeLabelSums(inp: MulticlassInputs, sums: Float64Array): void {
  if (!inp.labels) return;
  for (let o = 0; o < sums.length; o += SLOTS) {
    sums[o + 3] = sums[o + 1];
    sums[o + 5] = sums[o + 1] + sums[o + 2] - 2 * sums[o]; // Σ|t − p| for t ∈ {0, 1}
  }
}

/** Multi-class terms: the term sums, which (segment, class) each term stands for, and the per-term losses. */
interface McTerms {
  inp: MulticlassInputs;
  kept: number[];
  nSeg: number;
  /** Terms per segment: kept.length (macro) or 1 (micro). */
  perSeg: number;
  termSums: Float64Array;
  terms: Float64Array;
  counted: Uint8Array;
  scores: Float64Array;
  slope: Float64Array;
  /** Each term's weight in the reduction (class weights scaled to mean 1 over the kept classes; 1 for micro). */
  weight: Float64Array;
  flags: number;
}

function mcTerms(rt: Runtime, score: Score, target: unknown, pred: unknown, r: McResolved): McTerms {
  const inp = multiclassInputs(target, pred, { shape: r.shape, layout: r.layout });
  checkInputs(r, inp);
  const kept = keptClasses(r, inp.C);
  const flags = kernelFlags(r, score, inp);
  return termsOfSums(score, r, inp, kept, flags, classSums(rt, inp, r, flags));
}

/** The terms from the class sums (SLOTS per image and class, label sums completed). */
function termsOfSums(score: Score, r: McResolved, inp: MulticlassInputs, kept: number[], flags: number, sums: Float64Array): McTerms {
  const { N, C } = inp;
  const nSeg = r.perImage ? N : 1;
  const micro = r.average === "micro";
  const perSeg = micro ? 1 : kept.length;
  const termSums = new Float64Array(nSeg * perSeg * SLOTS);
  for (let n = 0; n < N; n++) {
    const seg = r.perImage ? n : 0;
    kept.forEach((c, k) => {
      const to = (seg * perSeg + (micro ? 0 : k)) * SLOTS;
      const from = (n * C + c) * SLOTS;
      for (let s = 0; s < 6; s++) termSums[to + s] += sums[from + s];
    });
  }
  // focalTversky with gammaAt 'mean' raises the reduced value to γ: its terms are the Tversky ones
  const termScore: Score = score === "focalTversky" && r.gammaAt === "mean" ? "tversky" : score;
  const res = lossTerms(termScore, r, termSums, nSeg * perSeg);
  const weight = new Float64Array(nSeg * perSeg).fill(1);
  if (r.classWeights && !micro) {
    const w = kept.map((c) => (r.classWeights as Float64Array)[c]);
    const total = w.reduce((a, b) => a + b, 0);
    if (!(total > 0)) fail("E_OPTION_RANGE", "opts.classWeights", "a positive sum over the kept classes", `${total}`);
    for (let j = 0; j < weight.length; j++) weight[j] = (w[j % perSeg] * perSeg) / total;
  }
  return { inp, kept, nSeg, perSeg, termSums, terms: res.terms, counted: res.kept, scores: res.scores, slope: res.slope, weight, flags };
}

/** Σ w·x over the counted terms, and Σ w (NaN terms count and propagate). */
function weightedSum(x: Float64Array, t: McTerms): { sum: number; wsum: number } {
  let sum = 0;
  let wsum = 0;
  for (let j = 0; j < x.length; j++) {
    if (!t.counted[j]) continue;
    sum += t.weight[j] * x[j];
    wsum += t.weight[j];
  }
  return { sum, wsum };
}

function reduceWith(x: Float64Array, t: McTerms, reduction: "mean" | "sum"): { value: number; dValue: number } {
  const { sum, wsum } = weightedSum(x, t);
  if (reduction === "sum") return { value: sum, dValue: 1 };
  return wsum > 0 ? { value: sum / wsum, dValue: 1 / wsum } : { value: 0, dValue: 0 };
}

/** The reduced loss, and d(loss)/d(term j) as a per-term factor `scale·weight_j`. */
function reduceLoss(score: Score, r: McResolved, t: McTerms, reduction: "mean" | "sum"): { value: number; scale: number } {
  const { value, dValue } = reduceWith(t.terms, t, reduction);
  if (score === "focalTversky" && r.gammaAt === "mean") {
    const m = Math.max(0, value);
    return { value: m ** r.gamma, scale: m > 0 ? r.gamma * m ** (r.gamma - 1) * dValue : 0 };
  }
  return { value, scale: dValue };
}

export function multiclassRegionLoss(rt: Runtime, score: Score, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  const r = resolveMc(score, score, opts, TABLES[score]);
  const t = mcTerms(rt, score, target, pred, r);
  if (r.reduction === "none") return Float32Array.from(t.terms);
  return reduceLoss(score, r, t, r.reduction).value;
}

export function multiclassDiceCoefficient(rt: Runtime, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  const r = resolveMc("diceCoefficient", "dice", opts, TABLES.dice);
  const t = mcTerms(rt, "dice", target, pred, { ...r, log: false });
  if (r.reduction === "none") return Float32Array.from(t.scores);
  return reduceWith(t.scores, t, r.reduction).value;
}

function noNone(r: { reduction: Reduction }): void {
  if (r.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
}

/** One chunk's gradient into g, from the (cI, cP) pairs at coef (per image and class with perImage, else per class). */
function chunkGrad(k: McRegionKernels, ch: ClassChunk, g: number, C: number, coef: number, perImage: boolean, flags: number): void {
  k.mcRegionGrad(g, ch.gStride, ch.p, ch.pStride, ch.t, ch.tStride, ch.labels, ch.len, C, coef + (perImage ? ch.n * C : 0) * 16, flags);
}

/** Writes the gradient: per (segment, class) coefficient pairs (cI, cP), then the kernel pass (validated inputs only). */
function mcGradPass(rt: Runtime, inp: MulticlassInputs, flags: number, r: McResolved, coefs: Float64Array, grad: Float32Array): void {
  const C = inp.C;
  const k = rt.kernels<McRegionKernels>();
  withF64(rt, coefs.length, (coef) => {
    rt.f64.set(coefs, coef >>> 3);
    runClassPass(rt, inp, {
      activation: activationOf(r),
      ignoreIndex: r.ignoreIndex,
      grad,
      run: (ch) => chunkGrad(k, ch, ch.g, C, coef, r.perImage, flags),
    });
  });
}

/** (cI, cP) per (segment, class) from the per-term factors c_j = ∂loss/∂term_j · ∂term_j/∂score. */
function classCoefs(score: Score, r: McResolved, t: McTerms, factor: (j: number) => number): Float64Array {
  const C = t.inp.C;
  const coefs = new Float64Array(t.nSeg * C * 2);
  for (let seg = 0; seg < t.nSeg; seg++) {
    for (let j = seg * t.perSeg; j < (seg + 1) * t.perSeg; j++) {
      const c = t.counted[j] ? factor(j) : 0;
      if (c === 0) continue; // a constant term contributes 0 even where its score is 0/0
      const termScore: Score = score === "focalTversky" && r.gammaAt === "mean" ? "tversky" : score;
      const { dI, dP } = scoreOf(termScore, r, t.termSums, j * SLOTS);
      const classes = t.perSeg === 1 && r.average === "micro" ? t.kept : [t.kept[j - seg * t.perSeg]];
      for (const cls of classes) {
        coefs[(seg * C + cls) * 2] = c * dI;
        coefs[(seg * C + cls) * 2 + 1] = c * dP;
      }
    }
  }
  return coefs;
}

export function multiclassRegionLossGrad(rt: Runtime, score: Score, target: unknown, pred: unknown, opts: unknown): LossAndGrad {
  const r = resolveMc(`${score}Grad`, score, opts, withOut(TABLES[score]));
  noNone(r);
  const t = mcTerms(rt, score, target, pred, r);
  const { value, scale } = reduceLoss(score, r, t, r.reduction as "mean" | "sum");
  const grad = gradBuffer(r.out, t.inp.pred.length);
  mcGradPass(
    rt,
    t.inp,
    t.flags,
    r,
    classCoefs(score, r, t, (j) => scale * t.weight[j] * t.slope[j]),
    grad,
  );
  return { loss: value, grad };
}

/**
 * A multi-class region loss as one part of a fused class pass
 * (src/losses/diceCE.ts): the caller stages each chunk once and runs `sums`
 * on it, then `finish`, then for a gradient `grad` on the chunks of its
 * gradient pass. Same options and numbers as the region loss itself.
 */
export interface RegionPart {
  /** f64 accumulators `sums` needs (zeroed by the caller): SLOTS per image and class (Σtp, Σt, Σp, …). */
  slots: number;
  /** Label targets and no `squared`: the kernel's sums are Σtp, Σt and Σp alone (a fused kernel may write them). */
  labelSums: boolean;
  /** Adds one chunk's class sums into the accumulators at `acc`. */
  sums(acc: number, ch: ClassChunk): void;
  /** The reduced loss from the accumulated sums, and the gradient coefficients (f64 pairs) of `weight` × the loss. */
  finish(sums: Float64Array, weight: number): { value: number; coefs: Float64Array };
  /** Writes dL/dp of one chunk, class-major at `g` (stride ch.gStride), from the coefficients placed at `coef`. */
  grad(coef: number, ch: ClassChunk, g: number): void;
}

export function regionPart(rt: Runtime, fn: string, score: Score, opts: unknown, inp: MulticlassInputs): RegionPart {
  const r = resolveMc(fn, score, opts, TABLES[score]);
  noNone(r);
  checkInputs(r, inp);
  const kept = keptClasses(r, inp.C);
  const flags = kernelFlags(r, score, inp);
  const k = rt.kernels<McRegionKernels>();
  const C = inp.C;
  return {
    slots: inp.N * C * SLOTS,
    labelSums: (flags & (MC_LABELS | MC_SQUARED)) === MC_LABELS,
    sums: (acc, ch) => k.mcRegionSums(ch.p, ch.pStride, ch.t, ch.tStride, ch.labels, ch.len, C, acc + ch.n * C * SLOTS * 8, flags),
    finish: (sums, weight) => {
      completeLabelSums(inp, sums);
      const t = termsOfSums(score, r, inp, kept, flags, sums);
      const { value, scale } = reduceLoss(score, r, t, r.reduction as "mean" | "sum");
      return { value, coefs: classCoefs(score, r, t, (j) => weight * scale * t.weight[j] * t.slope[j]) };
    },
    grad: (coef, ch, g) => chunkGrad(k, ch, g, C, coef, r.perImage, flags),
  };
}

// ---------------------------------------------------------------- generalized Dice

/** One generalized-Dice term from K classes' (I, St, Sp), and ∂GD/∂I_k, ∂GD/∂Sp_k. */
function gdTerm(r: McResolved, I: number[], St: number[], Sp: number[]): { gd: number; dI: number[]; dP: number[] } {
  const raw = St.map((v) => (r.weightType === "uniform" ? 1 : r.weightType === "simple" ? 1 / v : 1 / (v * v)));
  const finiteMax = raw.reduce((m, w) => (Number.isFinite(w) ? Math.max(m, w) : m), 0);
  const w = raw.map((x) => (Number.isFinite(x) ? x : finiteMax));
  let num = r.smoothNumerator;
  let den = r.smoothDenominator;
  for (let k = 0; k < I.length; k++) {
    num += 2 * w[k] * I[k];
    den += w[k] * (St[k] + Sp[k]);
  }
  return { gd: num / den, dI: w.map((x) => (2 * x) / den), dP: w.map((x) => (-num * x) / (den * den)) };
}

interface GdClassTerms {
  terms: Float64Array;
  /** Per term, per kept class: (∂GD/∂I, ∂GD/∂Sp). */
  d: Float64Array[];
  K: number;
}

/** Per segment, from class sums laid out [segment][class k] × (I, St, Sp). */
function gdTerms(r: McResolved, isp: Float64Array, nSeg: number, K: number): GdClassTerms {
  const terms = new Float64Array(nSeg);
  const d: Float64Array[] = [];
  for (let s = 0; s < nSeg; s++) {
    const at = (k: number, f: number) => isp[(s * K + k) * 3 + f];
    const ks = Array.from({ length: K }, (_, k) => k);
    const { gd, dI, dP } = gdTerm(
      r,
      ks.map((k) => at(k, 0)),
      ks.map((k) => at(k, 1)),
      ks.map((k) => at(k, 2)),
    );
    terms[s] = 1 - gd;
    const row = new Float64Array(K * 2);
    for (let k = 0; k < K; k++) {
      row[2 * k] = dI[k];
      row[2 * k + 1] = dP[k];
    }
    d.push(row);
  }
  return { terms, d, K };
}

function reduceFlat(terms: Float64Array, reduction: "mean" | "sum"): { value: number; scale: number } {
  const sum = terms.reduce((a, b) => a + b, 0);
  return reduction === "sum" ? { value: sum, scale: 1 } : { value: sum / terms.length, scale: 1 / terms.length };
}

const intersection = (r: McResolved, s: Float64Array, o: number) => (r.softLabel ? (s[o + 1] + s[o + 2] - s[o + 5]) / 2 : s[o]);

type GdResult = { value: number | Float32Array; grad: Float32Array | null };

function gdMulticlass(rt: Runtime, target: unknown, pred: unknown, r: McResolved, out: { given: unknown } | null): GdResult {
  const inp = multiclassInputs(target, pred, { shape: r.shape, layout: r.layout });
  checkInputs(r, inp);
  const kept = keptClasses(r, inp.C);
  const flags = kernelFlags(r, "generalizedDice", inp);
  const sums = classSums(rt, inp, r, flags);
  const { N, C } = inp;
  const nSeg = r.perImage ? N : 1;
  const K = kept.length;
  const isp = new Float64Array(nSeg * K * 3);
  for (let n = 0; n < N; n++) {
    const seg = r.perImage ? n : 0;
    kept.forEach((c, k) => {
      const o = (n * C + c) * SLOTS;
      isp[(seg * K + k) * 3] += intersection(r, sums, o);
      isp[(seg * K + k) * 3 + 1] += sums[o + 1];
      isp[(seg * K + k) * 3 + 2] += sums[o + 2];
    });
  }
  const g = gdTerms(r, isp, nSeg, K);
  if (r.reduction === "none") return { value: Float32Array.from(g.terms), grad: null };
  const { value, scale } = reduceFlat(g.terms, r.reduction);
  if (!out) return { value, grad: null };
  const grad = gradBuffer(out.given, inp.pred.length);
  const coefs = new Float64Array(nSeg * C * 2);
  for (let s = 0; s < nSeg; s++) {
    kept.forEach((c, k) => {
      coefs[(s * C + c) * 2] = -scale * g.d[s][2 * k];
      coefs[(s * C + c) * 2 + 1] = -scale * g.d[s][2 * k + 1];
    });
  }
  mcGradPass(rt, inp, flags, r, coefs, grad);
  return { value, grad };
}

/**
 * Binary inputs as the two classes of Sudre et al.: foreground (t, p) and
 * background (1 − t, 1 − p), whose sums follow from the binary kernel's.
 * Class ids: 0 background, 1 foreground.
 */
function gdBinary(rt: Runtime, target: unknown, pred: unknown, r: McResolved, out: { given: unknown } | null): GdResult {
  const kept = keptClasses(r, 2);
  const res = regionTerms(rt, "dice", target, pred, { ...r, squared: false, log: false, emptyTarget: "smooth" });
  const { nSeg, sums } = res;
  const K = kept.length;
  const isp = new Float64Array(nSeg * K * 3);
  for (let s = 0; s < nSeg; s++) {
    const o = s * SLOTS;
    const [I, St, Sp, count] = [intersection(r, sums, o), sums[o + 1], sums[o + 2], sums[o + 6]];
    const perClass = [
      [count - St - Sp + I, count - St, count - Sp],
      [I, St, Sp],
    ];
    for (const [k, c] of kept.entries()) isp.set(perClass[c], (s * K + k) * 3);
  }
  const g = gdTerms(r, isp, nSeg, K);
  if (r.reduction === "none") return { value: Float32Array.from(g.terms), grad: null };
  const { value, scale } = reduceFlat(g.terms, r.reduction);
  if (!out) return { value, grad: null };
  const grad = gradBuffer(out.given, res.inputs.p.length);
  // ∂I_bg/∂p = ∂I_fg/∂p − 1 and ∂Sp_bg/∂p = −1: one (cI, cP) pair for the binary kernel
  withF64(rt, nSeg * 2, (coef) => {
    for (let s = 0; s < nSeg; s++) {
      let cI = 0;
      let cP = 0;
      kept.forEach((c, k) => {
        const dI = -scale * g.d[s][2 * k];
        const dP = -scale * g.d[s][2 * k + 1];
        if (c === 1) {
          cI += dI;
          cP += dP;
        } else {
          cI += dI;
          cP -= dI + dP;
        }
      });
      rt.f64[(coef >>> 3) + 2 * s] = cI;
      rt.f64[(coef >>> 3) + 2 * s + 1] = cP;
    }
    const flags = flagsOf({ ...r, squared: false }, "dice");
    const ign = r.ignoreIndex ?? 0;
    runPass(rt, {
      inputs: [res.inputs.t, res.inputs.p],
      nSeg,
      segLen: res.segLen,
      out: grad,
      run: (ptrs, o, count, len, first) =>
        rt.kernels<McRegionKernels>().regionGrad(o, ptrs[0], ptrs[1], count, len, coef + first * 16, flags, ign, 0),
    });
  });
  return { value, grad };
}

/** The generalized Dice value, and with `out` (a gradient call: the opts.out value or undefined) its gradient. */
function generalizedDiceAny(rt: Runtime, fn: string, target: unknown, pred: unknown, opts: unknown, wantGrad: boolean) {
  const r = resolveMc(fn, "generalizedDice", opts, wantGrad ? withOut(GD_TABLE) : GD_TABLE);
  if (wantGrad) noNone(r);
  const out = wantGrad ? { given: r.out } : null;
  return r.mode === "binary" ? gdBinary(rt, target, pred, r, out) : gdMulticlass(rt, target, pred, r, out);
}

export function generalizedDice(rt: Runtime, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  return generalizedDiceAny(rt, "generalizedDice", target, pred, opts, false).value;
}

export function generalizedDiceGrad(rt: Runtime, target: unknown, pred: unknown, opts: unknown): LossAndGrad {
  const { value, grad } = generalizedDiceAny(rt, "generalizedDiceGrad", target, pred, opts, true);
  return { loss: value as number, grad: grad as Float32Array };
}

/** The generalized Dice loss of a segloss instance (the multi-class region losses are `dice`… with `mode`). */
export interface GeneralizedDiceApi {
  /** Sudre et al. as MONAI: per image 1 − (2Σ_c w_c·I_c + s_nr)/(Σ_c w_c·(Σt_c + Σp_c) + s_dr), w_c = 1/(Σt_c)². */
  generalizedDice(target: TensorLike, pred: TensorLike, opts?: GeneralizedDiceOptions): number | Float32Array;
  generalizedDiceGrad(target: TensorLike, pred: TensorLike, opts?: GeneralizedDiceOptions & { out?: Float32Array }): LossAndGrad;
}

export function generalizedDiceApi(rt: Runtime): GeneralizedDiceApi {
  return {
    generalizedDice: (t, p, o) => generalizedDice(rt, t, p, o),
    generalizedDiceGrad: (t, p, o) => generalizedDiceGrad(rt, t, p, o),
  };
}
