// The kernels' public surface: numeric arguments only (pointers, lengths, scalars).
export { regionSums, regionGrad } from "./region";
export { softmaxForward, softmaxBackward, sigmoidForward, sigmoidBackward } from "./activation";
export { stageLabels, toClassMajor, toPixelMajor, rangeClassMajor, maxBitsClassMajor } from "./multiclass";
export { mcRegionSums, mcRegionGrad } from "./multiclassRegion";
export { ceSums, ceGrad, mcFocalSums, mcFocalGrad, ovrFocalSums, ovrFocalGrad } from "./multiclassElementwise";
export { diceCELabelSums, diceCELogitSums, diceCEAddGrad } from "./diceCE";
export { bceSums, bceGrad, focalSums, focalGrad } from "./elementwise";
export { cmpPackF32, cmpPackF64, cmpPackU8, cmpCountRuns, cmpLabel, cmpPairBytes, cmpPairs, cmpPaint } from "./components";
export { poolScratchBytes, boundaryMap, scaleF32 } from "./pool";
export { weightedSums, weightedGrad, pooledSums, pooledGrad } from "./weighted";
export { thresholdScratchBytes, thresholdCounts } from "./threshold";
export { confusionLabels, confusionLabelsU8, confusionBinary, confusionArgmax, confusionFlush, confusionFlushU8, confusionU8BinBytes } from "./confusion";
export { radixScratchBytes, radixSortKeyed } from "./sort";
export { lovaszPrepare, lovaszPrepareKeys, lovaszHingeLoss, lovaszHingeSorted, lovaszGradF32 } from "./lovasz";
export { lovaszSoftmaxKeys, lovaszSoftmaxKeysDense, lovaszSoftmaxLoss, lovaszSoftmaxGradClass, lovaszSoftmaxCheckDense } from "./lovaszSoftmax";

/** First byte after the static data: the host's heap starts here. */
export function heapBase(): usize {
  return __heap_base;
}
