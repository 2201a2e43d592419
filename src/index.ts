// segloss: segmentation losses and metrics in WebAssembly SIMD.
// `create()` loads one instance; every loss is a method of it.
import { combinedLoss } from "./losses/combined";
import { elementwiseLoss, elementwiseLossGrad } from "./losses/elementwise";
import { diceCoefficient, regionLoss, regionLossGrad } from "./losses/region";
import type {
  BceDiceOptions,
  BceOptions,
  FocalDiceOptions,
  FocalOptions,
  FocalTverskyOptions,
  GradOptions,
  RegionOptions,
  TverskyOptions,
} from "./options";
import type { TensorLike } from "./tensor";
import { instantiate, type LoadOptions, type Runtime } from "./wasm";

export { SegLossError, type SegLossErrorCode, SegLossRangeError, SegLossTypeError } from "./errors";
export type {
  BceDiceOptions,
  BceOptions,
  CommonOptions,
  EmptyTarget,
  EpsilonMode,
  FocalDiceOptions,
  FocalOptions,
  FocalTverskyOptions,
  GradOptions,
  Preset,
  Reduction,
  RegionOptions,
  TverskyOptions,
} from "./options";
export type { NumericArray, TensorLike } from "./tensor";
export type { LoadOptions } from "./wasm";

/** A loss value and its gradient w.r.t. the prediction (w.r.t. the logits with `fromLogits`). */
export interface LossAndGrad {
  loss: number;
  grad: Float32Array;
}

/** The typed arrays `alloc` can place in WebAssembly memory. */
export type AllocType =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor;

type Value = number | Float32Array;

/** One segloss instance: its own WebAssembly memory and every loss. */
export interface Segloss {
  /** Whether this instance runs the SIMD build. */
  readonly simd: boolean;
  /** Bytes of WebAssembly memory this instance owns (fixed: it never grows). */
  readonly memoryBytes: number;

  bce(target: TensorLike, pred: TensorLike, opts?: BceOptions): Value;
  bceGrad(target: TensorLike, pred: TensorLike, opts?: BceOptions & GradOptions): LossAndGrad;
  focal(target: TensorLike, pred: TensorLike, opts?: FocalOptions): Value;
  focalGrad(target: TensorLike, pred: TensorLike, opts?: FocalOptions & GradOptions): LossAndGrad;
  dice(target: TensorLike, pred: TensorLike, opts?: RegionOptions): Value;
  diceGrad(target: TensorLike, pred: TensorLike, opts?: RegionOptions & GradOptions): LossAndGrad;
  diceCoefficient(target: TensorLike, pred: TensorLike, opts?: RegionOptions): Value;
  jaccard(target: TensorLike, pred: TensorLike, opts?: RegionOptions): Value;
  jaccardGrad(target: TensorLike, pred: TensorLike, opts?: RegionOptions & GradOptions): LossAndGrad;
  tversky(target: TensorLike, pred: TensorLike, opts?: TverskyOptions): Value;
  tverskyGrad(target: TensorLike, pred: TensorLike, opts?: TverskyOptions & GradOptions): LossAndGrad;
  focalTversky(target: TensorLike, pred: TensorLike, opts?: FocalTverskyOptions): Value;
  focalTverskyGrad(target: TensorLike, pred: TensorLike, opts?: FocalTverskyOptions & GradOptions): LossAndGrad;
  bceDice(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions): number;
  bceDiceGrad(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions & GradOptions): LossAndGrad;
  bceLogDice(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions): number;
  bceLogDiceGrad(target: TensorLike, pred: TensorLike, opts?: BceDiceOptions & GradOptions): LossAndGrad;
  focalDice(target: TensorLike, pred: TensorLike, opts?: FocalDiceOptions): number;
  focalDiceGrad(target: TensorLike, pred: TensorLike, opts?: FocalDiceOptions & GradOptions): LossAndGrad;

  /**
   * A typed array that lives in this instance's WebAssembly memory: losses
   * read float32 inputs placed there without copying. The memory never grows,
   * so the view never detaches. Return it with `free`.
   */
  alloc<C extends AllocType>(type: C, length: number): InstanceType<C>;
  /** Returns a view from `alloc` to the instance's memory. */
  free(view: ArrayBufferView): void;
  /** Bytes of the largest block still free (for sizing zero-copy buffers). */
  largestFree(): number;
}

function bind(rt: Runtime): Segloss {
  const combined = (fn: "bceDice" | "bceLogDice" | "focalDice") => (t: TensorLike, p: TensorLike, o?: object) =>
    combinedLoss(rt, fn, t, p, o, false).loss;
  const combinedGrad = (fn: "bceDice" | "bceLogDice" | "focalDice") => (t: TensorLike, p: TensorLike, o?: object) =>
    combinedLoss(rt, fn, t, p, o, true) as LossAndGrad;
  return {
    simd: rt.simd,
    memoryBytes: rt.memory.buffer.byteLength,
    bce: (t, p, o) => elementwiseLoss(rt, "bce", t, p, o),
    bceGrad: (t, p, o) => elementwiseLossGrad(rt, "bce", t, p, o),
    focal: (t, p, o) => elementwiseLoss(rt, "focal", t, p, o),
    focalGrad: (t, p, o) => elementwiseLossGrad(rt, "focal", t, p, o),
    dice: (t, p, o) => regionLoss(rt, "dice", t, p, o),
    diceGrad: (t, p, o) => regionLossGrad(rt, "dice", t, p, o),
    diceCoefficient: (t, p, o) => diceCoefficient(rt, t, p, o),
    jaccard: (t, p, o) => regionLoss(rt, "jaccard", t, p, o),
    jaccardGrad: (t, p, o) => regionLossGrad(rt, "jaccard", t, p, o),
    tversky: (t, p, o) => regionLoss(rt, "tversky", t, p, o),
    tverskyGrad: (t, p, o) => regionLossGrad(rt, "tversky", t, p, o),
    focalTversky: (t, p, o) => regionLoss(rt, "focalTversky", t, p, o),
    focalTverskyGrad: (t, p, o) => regionLossGrad(rt, "focalTversky", t, p, o),
    bceDice: combined("bceDice"),
    bceDiceGrad: combinedGrad("bceDice"),
    bceLogDice: combined("bceLogDice"),
    bceLogDiceGrad: combinedGrad("bceLogDice"),
    focalDice: combined("focalDice"),
    focalDiceGrad: combinedGrad("focalDice"),
    alloc: (type, length) => rt.view(type as never, length),
    free: (view) => rt.freeView(view),
    largestFree: () => rt.largestFree(),
  };
}

/**
 * Loads segloss: `await create()` picks the SIMD build where the engine
 * supports it and the scalar build otherwise. `create({ simd: false })` forces
 * the scalar build; `create({ wasm })` takes your own bytes or module (strict
 * CSP); `create({ memoryBytes })` sizes the fixed memory (default 64 MiB;
 * larger inputs stream through it in chunks).
 */
export async function create(opts: LoadOptions = {}): Promise<Segloss> {
  return bind(await instantiate(opts));
}
