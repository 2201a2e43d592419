// The kernels' public surface: numeric arguments only (pointers, lengths, scalars).
export { regionSums, regionGrad } from "./region";
export { bceSums, bceGrad, focalSums, focalGrad } from "./elementwise";

/** First byte after the static data: the host's heap starts here. */
export function heapBase(): usize {
  return __heap_base;
}
