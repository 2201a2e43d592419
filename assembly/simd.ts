// Inline helpers shared by the kernels: horizontal sums into float64, and the
// blocked accumulation scheme that keeps f32x4 sums within SPEC §3.

/** Vectors accumulated in f32 lanes before the partial sums are flushed to f64.
 *  Each lane then sums at most BLOCK/2 values (two accumulators), which bounds
 *  the f32 rounding error well below 1e-5 relative. */
export const BLOCK: i32 = 64;

/** Sum of the four f32 lanes of v, in float64. */
// @ts-ignore: decorator
@inline export function hsum64(v: v128): f64 {
  return (
    <f64>f32x4.extract_lane(v, 0) +
    <f64>f32x4.extract_lane(v, 1) +
    (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3))
  );
}

/** Lane-wise minimum of v, NaN if any lane is NaN. */
// @ts-ignore: decorator
@inline export function hmin(v: v128): f32 {
  return min(min(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), min(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Lane-wise maximum of v, NaN if any lane is NaN. */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Adds x to the f64 slot at ptr. */
// @ts-ignore: decorator
@inline export function addF64(ptr: usize, x: f64): void {
  store<f64>(ptr, load<f64>(ptr) + x);
}

/** Folds a value range into the running [min, max] pair stored at ptr (two
 *  f32); NaN propagates, so the caller sees it. */
// @ts-ignore: decorator
@inline export function foldRange(ptr: usize, lo: f32, hi: f32): void {
  store<f32>(ptr, min(load<f32>(ptr), lo));
  store<f32>(ptr, max(load<f32>(ptr, 4), hi), 4);
}
