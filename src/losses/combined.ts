// The seed's sums of losses: bce + Dice, bce − ln Dice, focalWeight·focal − ln Dice.
// Each part runs its own fused pass; the gradients add into one buffer.
import { fail } from "../errors";
import { type BceDiceOptions, checkOptions, type FocalDiceOptions, GRAD_OPTIONS, type GradOptions, resolve } from "../options";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import { gradBuffer, type LossAndGrad, reduceTerms } from "./common";
import { elementwiseGradInto, elementwiseTerms, reduceSum } from "./elementwise";
import { regionGradInto, regionTerms } from "./region";

export type Combined = "bceDice" | "bceLogDice" | "focalDice";

export function combinedLoss(
  rt: Runtime,
  fn: Combined,
  target: unknown,
  pred: unknown,
  opts: unknown,
  withGrad: boolean,
): { loss: number; grad: Float32Array | null } {
  const first = fn === "focalDice" ? "focal" : "bce";
  const extra = [...(fn === "focalDice" ? ["focalWeight"] : []), ...(withGrad ? GRAD_OPTIONS : [])];
  const checked = checkOptions(withGrad ? `${fn}Grad` : fn, opts, [first, "dice"], extra);
  if (checked.reduction === "none") {
    fail("E_OPTION", "opts.reduction", `'mean' or 'sum' (${fn} adds terms of different shapes: call its parts for 'none')`, "'none'");
  }
  const rA = resolve(first, checked);
  const rD = resolve("dice", checked);
  if (fn !== "bceDice" && checked.log === undefined) rD.log = true;
  const weightA = fn === "focalDice" ? ((checked.focalWeight as number | undefined) ?? 10) : 1;

  const a = elementwiseTerms(rt, first, target, pred, rA);
  const partA = reduceSum(a.sum, a.kept, rA.reduction as "mean" | "sum");
  const d = regionTerms(rt, "dice", target, pred, rD);
  const partD = reduceTerms(d.terms, d.kept, rD.reduction as "mean" | "sum");
  const loss = weightA * partA.value + partD.value;
  if (!withGrad) return { loss, grad: null };

  const grad = gradBuffer(checked.out, a.prep.inputs.p.length);
  elementwiseGradInto(rt, first, a.prep, weightA * partA.scale, grad, false);
  const w = rD.reduction === "mean" ? (partD.kept ? 1 / partD.kept : 0) : 1;
  regionGradInto(rt, "dice", d, rD, () => w, grad, true);
  return { loss, grad };
}

/** The seed's sums of losses. */
export interface CombinedApi {
  /** bce + Dice loss. */
  bceDice(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions): number;
  bceDiceGrad(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions & GradOptions): LossAndGrad;
  /** bce − ln Dice. */
  bceLogDice(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions): number;
  bceLogDiceGrad(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions & GradOptions): LossAndGrad;
  /** focalWeight·focal − ln Dice. */
  focalDice(target: TensorLike, pred: TensorLike, opts?: FocalDiceOptions): number;
  focalDiceGrad(target: TensorLike, pred: TensorLike, opts?: FocalDiceOptions & GradOptions): LossAndGrad;
}

export function combinedApi(rt: Runtime): CombinedApi {
  const value = (fn: Combined) => (t: TensorLike, p: TensorLike, o?: object) => combinedLoss(rt, fn, t, p, o, false).loss;
  const grad = (fn: Combined) => (t: TensorLike, p: TensorLike, o?: object) => combinedLoss(rt, fn, t, p, o, true) as LossAndGrad;
  return {
    bceDice: value("bceDice"),
    bceDiceGrad: grad("bceDice"),
    bceLogDice: value("bceLogDice"),
    bceLogDiceGrad: grad("bceLogDice"),
    focalDice: value("focalDice"),
    focalDiceGrad: grad("focalDice"),
  };
}
