// The kernels' public surface: numeric arguments only (pointers, lengths, scalars).
export { regionSums, regionGrad } from "./region";
export { bceSums, bceGrad, focalSums, focalGrad } from "./elementwise";
export { cmpPackF32, cmpPackF64, cmpPackU8, cmpCountRuns, cmpLabel, cmpPairBytes, cmpPairs, cmpPaint } from "./components";
export { poolScratchBytes, boundaryMap, scaleF32 } from "./pool";
export { weightedSums, weightedGrad, pooledSums, pooledGrad } from "./weighted";
export { thresholdScratchBytes, thresholdCounts } from "./threshold";

/** First byte after the static data: the host's heap starts here. */
export function heapBase(): usize {
  return __heap_base;
}
