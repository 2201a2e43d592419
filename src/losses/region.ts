// Dice, Jaccard, Tversky, focal Tversky (binary): the kernel returns the sums
// per term in one pass; the scores, their derivatives w.r.t. the sums, the
// empty-target rule and the reduction are scalar arithmetic here.
import { fail } from "../errors";
import {
  checkOptions,
  type FocalTverskyOptions,
  GRAD_OPTIONS,
  type GradOptions,
  isMulticlassCall,
  type RegionOptions,
  type Resolved,
  resolve,
  type TverskyOptions,
} from "../options";
import { runPass, withF64 } from "../passes";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import type { LossAndGrad } from "./common";
import { type BinaryInputs, binaryInputs, checkStats, gradBuffer, ignoreArg, newStats, reduceTerms } from "./common";
import {
  type MulticlassFocalTverskyOptions,
  type MulticlassRegionOptions,
  type MulticlassTverskyOptions,
  multiclassDiceCoefficient,
  multiclassRegionLoss,
  multiclassRegionLossGrad,
} from "./multiclassRegion";

export type Score = "dice" | "jaccard" | "tversky" | "focalTversky";

/** assembly/region.ts */
export interface RegionKernels {
  regionSums(t: number, p: number, count: number, segLen: number, acc: number, stats: number, flags: number, ign: number): void;
  regionGrad(
    g: number,
    t: number,
    p: number,
    count: number,
    segLen: number,
    coef: number,
    flags: number,
    ign: number,
    accumulate: number,
  ): void;
}

export const SLOTS = 7; // REGION_SLOTS in assembly/region.ts
const FLAG_LOGITS = 1;
const FLAG_SQUARED = 2;
const FLAG_SOFT = 4;
const FLAG_IGNORE = 8;
/** −ln of the smallest score `log: true` takes (SPEC §4c). */
const LOG_FLOOR = 1e-7;

export function flagsOf(r: Resolved, score: Score): number {
  const squared = r.squared && (score === "dice" || score === "jaccard");
  return (
    (r.fromLogits ? FLAG_LOGITS : 0) |
    (squared ? FLAG_SQUARED : 0) |
    (r.softLabel ? FLAG_SOFT : 0) |
    (r.ignoreIndex !== null ? FLAG_IGNORE : 0)
  );
}

/** One term's score and its partial derivatives w.r.t. I and the prediction sum (Σp, or Σp² when squared). */
export function scoreOf(score: Score, r: Resolved, s: Float64Array, o: number): { S: number; dI: number; dP: number; St: number } {
  const [tp, St, Sp, St2, Sp2, Sabs] = [s[o], s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5]];
  const I = r.softLabel ? (St + Sp - Sabs) / 2 : tp;
  const squared = r.squared && (score === "dice" || score === "jaccard");
  const T = squared ? St2 : St;
  const P = squared ? Sp2 : Sp;
  let num: number;
  let dNumI: number;
  let den: number;
  let dDenI: number;
  let dDenP: number;
  if (score === "dice") {
    num = 2 * I + r.smoothNumerator;
    dNumI = 2;
    den = T + P + r.smoothDenominator;
    dDenI = 0;
    dDenP = 1;
  } else if (score === "jaccard") {
    num = I + r.smoothNumerator;
    dNumI = 1;
    den = T + P - I + r.smoothDenominator;
    dDenI = -1;
    dDenP = 1;
  } else {
    const a = r.alpha ?? 0.5;
    const b = r.beta;
    num = I + r.smoothNumerator;
    dNumI = 1;
    den = (1 - a - b) * I + a * Sp + b * St + r.smoothDenominator;
    dDenI = 1 - a - b;
    dDenP = a;
  }
  if (r.epsilon !== null) {
    if (r.epsilonMode === "add") den += r.epsilon;
    else if (den < r.epsilon) {
      den = r.epsilon;
      dDenI = 0;
      dDenP = 0;
    }
  }
  const S = num / den;
  return { S, dI: (dNumI * den - num * dDenI) / (den * den), dP: (-num * dDenP) / (den * den), St };
}

export interface RegionResult {
  /** Loss terms (NaN where skipped), which of them count, and the scores behind them. */
  terms: Float64Array;
  kept: Uint8Array;
  scores: Float64Array;
  /** ∂term/∂score for each term (0 for constant terms). */
  slope: Float64Array;
  sums: Float64Array;
  inputs: BinaryInputs;
  nSeg: number;
  segLen: number;
}

/** The sums pass and the per-term losses. */
export function regionTerms(rt: Runtime, score: Score, target: unknown, pred: unknown, r: Resolved): RegionResult {
  const inputs = binaryInputs(target, pred, r);
  const { N, L } = inputs;
  const nSeg = r.perImage ? N : 1;
  const segLen = r.perImage ? L : N * L;
  const ign = ignoreArg(r);
  const flags = flagsOf(r, score);
  const sums = withF64(rt, nSeg * SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      runPass(rt, {
        inputs: [inputs.t, inputs.p],
        nSeg,
        segLen,
        run: (ptrs, _out, count, len, first) =>
          rt.kernels<RegionKernels>().regionSums(ptrs[0], ptrs[1], count, len, acc + first * SLOTS * 8, stats, flags, ign.value),
      });
      checkStats(rt, stats, r);
    } finally {
      rt.release(stats);
    }
    return rt.f64.slice(acc >>> 3, (acc >>> 3) + nSeg * SLOTS);
  });

  return { ...lossTerms(score, r, sums, nSeg), sums, inputs, nSeg, segLen };
}

/** Each term's loss, whether it counts, its score and ∂term/∂score, from SLOTS sums per term (shared with the multi-class losses). */
export function lossTerms(
  score: Score,
  r: Resolved,
  sums: Float64Array,
  nSeg: number,
): { terms: Float64Array; kept: Uint8Array; scores: Float64Array; slope: Float64Array } {
  const terms = new Float64Array(nSeg);
  const kept = new Uint8Array(nSeg).fill(1);
  const scores = new Float64Array(nSeg);
  const slope = new Float64Array(nSeg);
  const maxLoss = score === "focalTversky" ? 1 : r.log ? -Math.log(LOG_FLOOR) : 1;
  for (let j = 0; j < nSeg; j++) {
    const { S, St } = scoreOf(score, r, sums, j * SLOTS);
    scores[j] = S;
    if (St === 0 && r.emptyTarget !== "smooth") {
      terms[j] = r.emptyTarget === "zero" ? 0 : r.emptyTarget === "max" ? maxLoss : Number.NaN;
      scores[j] = r.emptyTarget === "zero" ? 1 : r.emptyTarget === "max" ? 0 : Number.NaN;
      if (r.emptyTarget === "skip") kept[j] = 0;
      continue;
    }
    if (score === "focalTversky") {
      const u = Math.max(0, 1 - S);
      terms[j] = u ** r.gamma;
      slope[j] = u > 0 ? -r.gamma * u ** (r.gamma - 1) : 0;
    } else if (r.log) {
      terms[j] = -Math.log(Math.max(S, LOG_FLOOR));
      slope[j] = S > LOG_FLOOR ? -1 / S : 0;
    } else {
      terms[j] = 1 - S;
      slope[j] = -1;
    }
    // 0/0 (smooth 0, nothing in either sum): the loss is NaN, and so is its gradient
    if (Number.isNaN(S)) slope[j] = Number.NaN;
  }
  return { terms, kept, scores, slope };
}

/** Adds (or writes) the gradient of Σ_j weight_j·term_j into `grad`. */
export function regionGradInto(
  rt: Runtime,
  score: Score,
  res: RegionResult,
  r: Resolved,
  termWeight: (j: number) => number,
  grad: Float32Array,
  accumulate: boolean,
): void {
  const { nSeg, segLen, inputs } = res;
  const ign = ignoreArg(r);
  const flags = flagsOf(r, score);
  withF64(rt, nSeg * 2, (coef) => {
    for (let j = 0; j < nSeg; j++) {
      const { dI, dP } = scoreOf(score, r, res.sums, j * SLOTS);
      const c = res.kept[j] ? res.slope[j] * termWeight(j) : 0;
      // a constant term (skipped, or fixed by emptyTarget) contributes 0 even where its score is 0/0
      rt.f64[(coef >>> 3) + 2 * j] = c === 0 ? 0 : c * dI;
      rt.f64[(coef >>> 3) + 2 * j + 1] = c === 0 ? 0 : c * dP;
    }
    runPass(rt, {
      inputs: [inputs.t, inputs.p],
      nSeg,
      segLen,
      out: grad,
      outIsInput: accumulate,
      run: (ptrs, out, count, len, first) =>
        rt.kernels<RegionKernels>().regionGrad(out, ptrs[0], ptrs[1], count, len, coef + first * 16, flags, ign.value, accumulate ? 1 : 0),
    });
  });
}

export function regionLoss(rt: Runtime, score: Score, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  if (isMulticlassCall(opts)) return multiclassRegionLoss(rt, score, target, pred, opts);
  const r = resolve(score, checkOptions(score, opts, [score]));
  const res = regionTerms(rt, score, target, pred, r);
  if (r.reduction === "none") return Float32Array.from(res.terms);
  return reduceTerms(res.terms, res.kept, r.reduction).value;
}

export function regionLossGrad(
  rt: Runtime,
  score: Score,
  target: unknown,
  pred: unknown,
  opts: unknown,
): { loss: number; grad: Float32Array } {
  if (isMulticlassCall(opts)) return multiclassRegionLossGrad(rt, score, target, pred, opts);
  const checked = checkOptions(`${score}Grad`, opts, [score], GRAD_OPTIONS);
  const r = resolve(score, checked);
  if (r.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  const res = regionTerms(rt, score, target, pred, r);
  const { value, kept } = reduceTerms(res.terms, res.kept, r.reduction);
  const grad = gradBuffer(checked.out, res.inputs.p.length);
  const w = r.reduction === "mean" ? (kept ? 1 / kept : 0) : 1;
  regionGradInto(rt, score, res, r, () => w, grad, false);
  return { loss: value, grad };
}

/** Mean over kept terms of the score (1 − loss term without log). */
export function diceCoefficient(rt: Runtime, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  if (isMulticlassCall(opts)) return multiclassDiceCoefficient(rt, target, pred, opts);
  const r = resolve("dice", checkOptions("diceCoefficient", opts, ["dice"]));
  const res = regionTerms(rt, "dice", target, pred, { ...r, log: false });
  if (r.reduction === "none") return Float32Array.from(res.scores);
  return reduceTerms(res.scores, res.kept, r.reduction).value;
}

/** The region losses of a segloss instance: one term per image (or per batch with `perImage: false`);
 * `mode: 'multiclass' | 'multilabel'` gives one term per image and class (src/losses/multiclassRegion.ts). */
export interface RegionApi {
  dice(target: TensorLike, pred: TensorLike, opts?: RegionOptions | MulticlassRegionOptions): number | Float32Array;
  diceGrad(target: TensorLike, pred: TensorLike, opts?: (RegionOptions | MulticlassRegionOptions) & GradOptions): LossAndGrad;
  /** The mean Dice score D (not a loss). */
  diceCoefficient(target: TensorLike, pred: TensorLike, opts?: RegionOptions | MulticlassRegionOptions): number | Float32Array;
  jaccard(target: TensorLike, pred: TensorLike, opts?: RegionOptions | MulticlassRegionOptions): number | Float32Array;
  jaccardGrad(target: TensorLike, pred: TensorLike, opts?: (RegionOptions | MulticlassRegionOptions) & GradOptions): LossAndGrad;
  tversky(target: TensorLike, pred: TensorLike, opts?: TverskyOptions | MulticlassTverskyOptions): number | Float32Array;
  tverskyGrad(target: TensorLike, pred: TensorLike, opts?: (TverskyOptions | MulticlassTverskyOptions) & GradOptions): LossAndGrad;
  focalTversky(target: TensorLike, pred: TensorLike, opts?: FocalTverskyOptions | MulticlassFocalTverskyOptions): number | Float32Array;
  focalTverskyGrad(
    target: TensorLike,
    pred: TensorLike,
    opts?: (FocalTverskyOptions | MulticlassFocalTverskyOptions) & GradOptions,
  ): LossAndGrad;
}

export function regionApi(rt: Runtime): RegionApi {
  return {
    dice: (t, p, o) => regionLoss(rt, "dice", t, p, o),
    diceGrad: (t, p, o) => regionLossGrad(rt, "dice", t, p, o),
    diceCoefficient: (t, p, o) => diceCoefficient(rt, t, p, o),
    jaccard: (t, p, o) => regionLoss(rt, "jaccard", t, p, o),
    jaccardGrad: (t, p, o) => regionLossGrad(rt, "jaccard", t, p, o),
    tversky: (t, p, o) => regionLoss(rt, "tversky", t, p, o),
    tverskyGrad: (t, p, o) => regionLossGrad(rt, "tversky", t, p, o),
    focalTversky: (t, p, o) => regionLoss(rt, "focalTversky", t, p, o),
    focalTverskyGrad: (t, p, o) => regionLossGrad(rt, "focalTversky", t, p, o),
  };
}
