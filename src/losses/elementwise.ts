// BCE and focal: one kernel pass gives Σ loss and the kept count (and the
// per-element terms for reduction 'none'); a second pass writes the gradient.
import { fail } from "../errors";
import {
  type BceOptions,
  checkOptions,
  type FocalOptions,
  GRAD_OPTIONS,
  type GradOptions,
  isMulticlassCall,
  type PartName,
  type Resolved,
  resolve,
} from "../options";
import { runPass, withF64 } from "../passes";
import type { NumericArray, TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import type { LossAndGrad } from "./common";
import { type BinaryInputs, binaryInputs, checkStats, gradBuffer, ignoreArg, newStats, perPixelData } from "./common";
import { type MulticlassFocalOptions, multiclassFocal, multiclassFocalGrad } from "./multiclassElementwise";

const FLAG_LOGITS = 1;
const FLAG_IGNORE = 8;
const FLAG_WEIGHT = 16;
const FLAG_POS_WEIGHT = 32;
const FLAG_ADD_EPS = 64;
const FLAG_STANDARD = 128;
const FLAG_NO_ALPHA = 256;
const FLAG_GAMMA_075 = 512;
const FLAG_GAMMA_2 = 1024;
const FLAG_HARD = 2048;
const SLOTS = 2; // ELEMENTWISE_SLOTS in assembly/elementwise.ts

/** assembly/elementwise.ts */
interface ElementwiseKernels {
  bceSums(
    t: number,
    p: number,
    w: number,
    pw: number,
    count: number,
    segLen: number,
    acc: number,
    stats: number,
    terms: number,
    flags: number,
    eps: number,
    hi: number,
    smoothing: number,
    ign: number,
    posWeight: number,
  ): void;
  focalSums(
    t: number,
    p: number,
    count: number,
    segLen: number,
    acc: number,
    stats: number,
    terms: number,
    flags: number,
    eps: number,
    hi: number,
    ign: number,
    alpha: number,
    gamma: number,
    c0: number,
    c1: number,
  ): void;
  bceGrad(
    g: number,
    t: number,
    p: number,
    w: number,
    pw: number,
    count: number,
    flags: number,
    eps: number,
    hi: number,
    smoothing: number,
    ign: number,
    posWeight: number,
    scale: number,
    accumulate: number,
  ): void;
  focalGrad(
    g: number,
    t: number,
    p: number,
    count: number,
    flags: number,
    eps: number,
    hi: number,
    ign: number,
    alpha: number,
    gamma: number,
    scale: number,
    accumulate: number,
  ): void;
}

type Kind = "bce" | "focal";

interface Prepared {
  inputs: BinaryInputs;
  weightT: NumericArray | null;
  posWeightT: NumericArray | null;
  flags: number;
  eps: number;
  hi: number;
  smoothing: number;
  ign: number;
  posWeight: number;
  alpha: number;
  gamma: number;
  c0: number;
  c1: number;
}

function prepare(kind: Kind, target: unknown, pred: unknown, r: Resolved): Prepared {
  const inputs = binaryInputs(target, pred, r);
  const n = inputs.p.length;
  const weightT = kind === "bce" && r.weight !== null ? perPixelData(r.weight, "opts.weight", n) : null;
  const posWeightT = kind === "bce" && typeof r.posWeight !== "number" ? perPixelData(r.posWeight, "opts.posWeight", n) : null;
  const ign = ignoreArg(r);
  const eps = r.epsilon ?? 0;
  const hi = Math.fround(1 - eps);
  const alpha = r.alpha ?? 1;
  let flags = (r.fromLogits ? FLAG_LOGITS : 0) | (ign.on ? FLAG_IGNORE : 0);
  if (weightT) flags |= FLAG_WEIGHT;
  if (posWeightT) flags |= FLAG_POS_WEIGHT;
  if (kind === "bce" && r.epsilonMode === "add") flags |= FLAG_ADD_EPS;
  if (kind === "focal") {
    flags |= (r.variant === "standard" ? FLAG_STANDARD : 0) | (r.alpha === null ? FLAG_NO_ALPHA : 0);
    flags |= r.gamma === 0.75 ? FLAG_GAMMA_075 : r.gamma === 2 ? FLAG_GAMMA_2 : 0;
  }
  // the seed focal's clipped placeholders: pt0 = clip(0) = 1e-3 where t ≠ 0, pt1 = clip(1) = 0.999 where t ≠ 1
  const c0 = -(r.alpha === null ? 1 : 1 - alpha) * 1e-3 ** r.gamma * Math.log(1 - 1e-3);
  const c1 = -alpha * (1 - 0.999) ** r.gamma * Math.log(0.999);
  const smoothing = kind === "bce" ? r.labelSmoothing : 0;
  const pw = typeof r.posWeight === "number" ? r.posWeight : 1;
  return { inputs, weightT, posWeightT, flags, eps, hi, smoothing, ign: ign.value, posWeight: pw, alpha, gamma: r.gamma, c0, c1 };
}

/** Σ loss, the kept count and (for 'none') the per-element terms. */
export function elementwiseTerms(
  rt: Runtime,
  kind: Kind,
  target: unknown,
  pred: unknown,
  r: Resolved,
): { sum: number; kept: number; terms: Float32Array | null; prep: Prepared } {
  const prep = prepare(kind, target, pred, r);
  const k = prep;
  const { inputs } = prep;
  const n = inputs.p.length;
  const terms = r.reduction === "none" ? new Float32Array(n) : null;
  // bce on probabilities first tries the branch-free hard-target loop (one log
  // per element); if it reports a soft target, the pass runs again in the general form
  let flags = kind === "bce" && !r.fromLogits && k.eps >= 1e-30 ? k.flags | FLAG_HARD : k.flags;
  const [sum, kept] = withF64(rt, SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      for (;;) {
        runPass(rt, {
          inputs: [inputs.t, inputs.p, k.weightT, k.posWeightT],
          nSeg: 1,
          segLen: n,
          out: terms ?? undefined,
          run: (ptrs, out, count, len) => {
            const kern = rt.kernels<ElementwiseKernels>();
            if (kind === "bce") {
              kern.bceSums(
                ptrs[0],
                ptrs[1],
                ptrs[2],
                ptrs[3],
                count,
                len,
                acc,
                stats,
                out,
                flags,
                k.eps,
                k.hi,
                k.smoothing,
                k.ign,
                k.posWeight,
              );
            } else {
              kern.focalSums(ptrs[0], ptrs[1], count, len, acc, stats, out, flags, k.eps, k.hi, k.ign, k.alpha, k.gamma, k.c0, k.c1);
            }
          },
        });
        if (!(flags & FLAG_HARD) || rt.f32[(stats >>> 2) + 8] === 0) break;
        flags &= ~FLAG_HARD;
        rt.f64.fill(0, acc >>> 3, (acc >>> 3) + SLOTS);
      }
      checkStats(rt, stats, r);
    } finally {
      rt.release(stats);
    }
    return [rt.f64[acc >>> 3], rt.f64[(acc >>> 3) + 1]];
  });
  return { sum, kept, terms, prep };
}

/** Adds (or writes) scale·∂(Σ w·ℓ)/∂pred into grad. */
export function elementwiseGradInto(rt: Runtime, kind: Kind, prep: Prepared, scale: number, grad: Float32Array, accumulate: boolean): void {
  const k = prep;
  const acc = accumulate ? 1 : 0;
  runPass(rt, {
    inputs: [k.inputs.t, k.inputs.p, k.weightT, k.posWeightT],
    nSeg: 1,
    segLen: k.inputs.p.length,
    out: grad,
    outIsInput: accumulate,
    run: (ptrs, out, count) =>
      kind === "bce"
        ? rt
            .kernels<ElementwiseKernels>()
            .bceGrad(out, ptrs[0], ptrs[1], ptrs[2], ptrs[3], count, k.flags, k.eps, k.hi, k.smoothing, k.ign, k.posWeight, scale, acc)
        : rt
            .kernels<ElementwiseKernels>()
            .focalGrad(out, ptrs[0], ptrs[1], count, k.flags, k.eps, k.hi, k.ign, k.alpha, k.gamma, scale, acc),
  });
}

export function reduceSum(sum: number, kept: number, reduction: "mean" | "sum"): { value: number; scale: number } {
  if (reduction === "sum") return { value: sum, scale: 1 };
  return kept > 0 ? { value: sum / kept, scale: 1 / kept } : { value: 0, scale: 0 };
}

export function elementwiseLoss(rt: Runtime, kind: Kind, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  const r = resolve(kind as PartName, checkOptions(kind, opts, [kind]));
  const { sum, kept, terms } = elementwiseTerms(rt, kind, target, pred, r);
  if (r.reduction === "none") return terms as Float32Array;
  return reduceSum(sum, kept, r.reduction).value;
}

export function elementwiseLossGrad(
  rt: Runtime,
  kind: Kind,
  target: unknown,
  pred: unknown,
  opts: unknown,
): { loss: number; grad: Float32Array } {
  const checked = checkOptions(`${kind}Grad`, opts, [kind], GRAD_OPTIONS);
  const r = resolve(kind as PartName, checked);
  if (r.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  const { sum, kept, prep } = elementwiseTerms(rt, kind, target, pred, r);
  const { value, scale } = reduceSum(sum, kept, r.reduction);
  const grad = gradBuffer(checked.out, prep.inputs.p.length);
  elementwiseGradInto(rt, kind, prep, scale, grad, false);
  return { loss: value, grad };
}

/** The element-wise losses of a segloss instance. */
export interface ElementwiseApi {
  /** Binary cross-entropy (SPEC §4 `bce`): per element with `reduction: 'none'`. */
  bce(target: TensorLike, pred: TensorLike, opts?: BceOptions): number | Float32Array;
  bceGrad(target: TensorLike, pred: TensorLike, opts?: BceOptions & GradOptions): LossAndGrad;
  /** The seed's focal loss (`'sum'`), or Lin et al.'s with `variant: 'standard'`. */
  focal(target: TensorLike, pred: TensorLike, opts?: FocalOptions | MulticlassFocalOptions): number | Float32Array;
  focalGrad(target: TensorLike, pred: TensorLike, opts?: (FocalOptions | MulticlassFocalOptions) & GradOptions): LossAndGrad;
}

export function elementwiseApi(rt: Runtime): ElementwiseApi {
  return {
    bce: (t, p, o) => elementwiseLoss(rt, "bce", t, p, o),
    bceGrad: (t, p, o) => elementwiseLossGrad(rt, "bce", t, p, o),
    focal: (t, p, o) => (isMulticlassCall(o) ? multiclassFocal(rt, t, p, o) : elementwiseLoss(rt, "focal", t, p, o)),
    focalGrad: (t, p, o) => (isMulticlassCall(o) ? multiclassFocalGrad(rt, t, p, o) : elementwiseLossGrad(rt, "focal", t, p, o)),
  };
}
