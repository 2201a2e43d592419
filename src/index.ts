// segloss: segmentation losses and metrics in WebAssembly SIMD.
// `create()` loads one instance; each loss family adds its methods to it.
import { type CombinedApi, combinedApi } from "./losses/combined";
import { type DiceCEApi, diceCEApi } from "./losses/diceCE";
import { type ElementwiseApi, elementwiseApi } from "./losses/elementwise";
import { type LovaszApi, lovaszApi } from "./losses/lovasz";
import { type LovaszSoftmaxApi, lovaszSoftmaxApi } from "./losses/lovaszSoftmax";
import { type MulticlassElementwiseApi, multiclassElementwiseApi } from "./losses/multiclassElementwise";
import { type GeneralizedDiceApi, generalizedDiceApi } from "./losses/multiclassRegion";
import { type RegionApi, regionApi } from "./losses/region";
import { type WeightedApi, weightedApi } from "./losses/weighted";
import { type ConfusionApi, confusionApi } from "./metrics/confusion";
import { type MeanIoUApi, meanIoUApi } from "./metrics/meanIoU";
import { type ObjectMetricsApi, objectMetricsApi } from "./metrics/objectMetrics";
import { instantiate, type LoadOptions, type Runtime } from "./wasm";

export { SegLossError, type SegLossErrorCode, SegLossRangeError, SegLossTypeError } from "./errors";
export type { CombinedApi } from "./losses/combined";
export type { LossAndGrad } from "./losses/common";
export type { DiceCEApi, DiceCEOptions } from "./losses/diceCE";
export type { ElementwiseApi } from "./losses/elementwise";
export type { LovaszApi, LovaszGradOptions, LovaszHingeOptions, LovaszPreset } from "./losses/lovasz";
export type { LovaszClasses, LovaszSoftmaxApi, LovaszSoftmaxGradOptions, LovaszSoftmaxOptions } from "./losses/lovaszSoftmax";
export type {
  CrossEntropyOptions,
  MulticlassElementwiseApi,
  MulticlassFocalOptions,
} from "./losses/multiclassElementwise";
export type {
  GeneralizedDiceApi,
  GeneralizedDiceOptions,
  MulticlassFocalTverskyOptions,
  MulticlassRegionOptions,
  MulticlassTverskyOptions,
} from "./losses/multiclassRegion";
export type { RegionApi } from "./losses/region";
export type {
  BoundaryWeightsOptions,
  PoolKernel,
  WeightedApi,
  WeightedBceDiceOptions,
  WeightedBceOptions,
  WeightedBceStyle,
  WeightedDiceOptions,
  WeightMap,
  WeightMapMode,
} from "./losses/weighted";
export type { ConfusionApi, ConfusionLayout, ConfusionMatrixJSON, ConfusionMatrixOptions } from "./metrics/confusion";
export { ConfusionMatrix } from "./metrics/confusion";
export type { MeanIoUApi, MeanIoUDetails, MeanIoUOptions, MeanIoUPreset } from "./metrics/meanIoU";
export type { ObjectMetrics, ObjectMetricsApi, ObjectMetricsOptions } from "./metrics/objectMetrics";
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
  MulticlassPreset,
  Preset,
  Reduction,
  RegionOptions,
  TverskyOptions,
} from "./options";
export type { NumericArray, TensorLike } from "./tensor";
export type { LoadOptions } from "./wasm";

/** The typed arrays `alloc` can place in WebAssembly memory. */
export type AllocType =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor;

/** What every instance has besides its losses: build facts and zero-copy memory. */
export interface InstanceApi {
  /** Whether this instance runs the SIMD build. */
  readonly simd: boolean;
  /** Bytes of WebAssembly memory this instance owns (fixed: it never grows). */
  readonly memoryBytes: number;
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

/** One segloss instance: its own WebAssembly memory and every loss. */
export interface Segloss
  extends InstanceApi,
    ElementwiseApi,
    RegionApi,
    MulticlassElementwiseApi,
    CombinedApi,
    ObjectMetricsApi,
    WeightedApi,
    MeanIoUApi,
    LovaszApi,
    LovaszSoftmaxApi,
    ConfusionApi,
    GeneralizedDiceApi,
    DiceCEApi {}

function instanceApi(rt: Runtime): InstanceApi {
  return {
    simd: rt.simd,
    memoryBytes: rt.memory.buffer.byteLength,
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
  const rt = await instantiate(opts);
  return {
    ...instanceApi(rt),
    ...elementwiseApi(rt),
    ...regionApi(rt),
    ...multiclassElementwiseApi(rt),
    ...lovaszApi(rt),
    ...lovaszSoftmaxApi(rt),
    ...combinedApi(rt),
    ...weightedApi(rt),
    ...objectMetricsApi(rt),
    ...meanIoUApi(rt),
    ...confusionApi(rt),
    ...generalizedDiceApi(rt),
    ...diceCEApi(rt),
  };
}
