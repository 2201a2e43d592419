// Input preparation and the checks every binary loss shares: shapes, dtypes,
// and the value ranges the kernels fold into their passes.
import { describe, fail } from "../errors";
import type { Resolved } from "../options";
import { type BinaryGeometry, binaryGeometry, type NumericArray, toTensor } from "../tensor";
import type { Runtime } from "../wasm";

/** A loss value and its gradient w.r.t. the prediction (w.r.t. the logits with `fromLogits`). */
export interface LossAndGrad {
  loss: number;
  grad: Float32Array;
}

export interface BinaryInputs extends BinaryGeometry {
  t: NumericArray;
  p: Float32Array | Float64Array;
}

export function binaryInputs(target: unknown, pred: unknown, r: Resolved): BinaryInputs {
  const pt = toTensor(pred, "pred", r.shape);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  const tt = toTensor(target, "target", r.shape);
  const g = binaryGeometry(tt, pt);
  return { t: tt.data, p: pt.data as Float32Array | Float64Array, ...g };
}

/** Kernel flag for an ignore label, and the label as float32 (never matches when absent). */
export function ignoreArg(r: Resolved): { on: boolean; value: number } {
  return r.ignoreIndex === null ? { on: false, value: 0 } : { on: true, value: r.ignoreIndex };
}

/** Allocates the record a kernel folds into: [lo, hi] of t, p, weight, posWeight (8 float32), then a flag word. */
export function newStats(rt: Runtime): number {
  const at = rt.alloc(48, "stats");
  rt.f32.set([Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, 0], at >>> 2);
  return at;
}

/**
 * Throws for values the formulas do not accept, from the ranges a pass
 * collected (NaN propagates through min/max). Targets must lie in [0, 1]
 * (ignored labels excluded); probabilities in [0, 1]; logits be finite.
 */
export function checkStats(rt: Runtime, stats: number, r: Resolved): void {
  const [tLo, tHi, pLo, pHi, wLo, wHi, qLo, qHi] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 8);
  checkFinite(pLo, pHi, "pred");
  if (!r.fromLogits && (pLo < 0 || pHi > 1)) {
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${pLo}, ${pHi}]`);
  }
  checkFinite(tLo, tHi, "target");
  if (tLo <= tHi && (tLo < 0 || tHi > 1)) {
    const extra = r.ignoreIndex === null ? "" : ` or the ignoreIndex ${r.ignoreIndex}`;
    fail("E_RANGE", "target", `values in [0, 1]${extra}`, `values in [${tLo}, ${tHi}]`);
  }
  for (const [lo, hi, argument] of [
    [wLo, wHi, "opts.weight"],
    [qLo, qHi, "opts.posWeight"],
  ] as const) {
    checkFinite(lo, hi, argument);
    if (lo <= hi && lo < 0) fail("E_RANGE", argument, "values ≥ 0", `values in [${lo}, ${hi}]`);
  }
}

/** NaN or ±Infinity in a range a kernel folded (an empty range is [+Inf, −Inf] and passes). */
function checkFinite(lo: number, hi: number, argument: string): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", argument, "finite numbers", "NaN");
  if (lo <= hi && (!Number.isFinite(lo) || !Number.isFinite(hi)))
    fail("E_NONFINITE", argument, "finite numbers", `values in [${lo}, ${hi}]`);
}

/** A per-pixel option tensor (weight, posWeight), checked for size, finiteness and sign by the caller's pass. */
export function perPixelData(x: unknown, argument: string, n: number): NumericArray {
  const t = toTensor(x, argument);
  if (t.data.length !== n) fail("E_SHAPE", argument, `${n} elements (the prediction's)`, `${t.data.length}`);
  return t.data;
}

/** The mean or sum of the terms flagged in `kept` (emptyTarget 'skip' leaves terms out; NaN terms count and propagate). */
export function reduceTerms(terms: Float64Array, kept: Uint8Array, reduction: "mean" | "sum"): { value: number; kept: number } {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < terms.length; j++) {
    if (kept[j]) {
      sum += terms[j];
      count++;
    }
  }
  return { value: reduction === "sum" ? sum : count ? sum / count : 0, kept: count };
}

/** The gradient buffer: opts.out when given (checked for length), else a new array. */
export function gradBuffer(out: unknown, n: number): Float32Array {
  if (out === undefined) return new Float32Array(n);
  const o = out as Float32Array;
  if (o.length !== n) fail("E_SHAPE", "opts.out", `a Float32Array of ${n} elements (the prediction's)`, describe(o));
  return o;
}
