// Input preparation and the checks every binary loss shares: shapes, dtypes,
// and the value ranges the kernels fold into their passes.
import { describe, fail } from "../errors";
import type { Resolved } from "../options";
import { type BinaryGeometry, binaryGeometry, type NumericArray, toTensor } from "../tensor";
import type { Runtime } from "../wasm";

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

/** Allocates the range record a kernel folds into: [lo, hi] of t, p, weight, posWeight (8 float32). */
export function newStats(rt: Runtime): number {
  const at = rt.alloc(32, "stats");
  rt.f32.set([Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity], at >>> 2);
  return at;
}

/**
 * Throws for values the formulas do not accept, from the ranges a pass
 * collected (NaN propagates through min/max). Targets must lie in [0, 1]
 * (ignored labels excluded); probabilities in [0, 1]; logits be finite.
 */
export function checkStats(rt: Runtime, stats: number, r: Resolved): void {
  const [tLo, tHi, pLo, pHi] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 4);
  if (Number.isNaN(pLo) || Number.isNaN(pHi)) fail("E_NONFINITE", "pred", "finite numbers", "NaN");
  if (r.fromLogits) {
    if (!Number.isFinite(pLo) || !Number.isFinite(pHi)) fail("E_NONFINITE", "pred", "finite logits", "±Infinity");
  } else if (pLo < 0 || pHi > 1) {
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${pLo}, ${pHi}]`);
  }
  if (Number.isNaN(tLo) || Number.isNaN(tHi)) fail("E_NONFINITE", "target", "finite numbers", "NaN");
  if (tLo <= tHi && (tLo < 0 || tHi > 1)) {
    const extra = r.ignoreIndex === null ? "" : ` or the ignoreIndex ${r.ignoreIndex}`;
    fail("E_RANGE", "target", `values in [0, 1]${extra}`, `values in [${tLo}, ${tHi}]`);
  }
  const [wLo, wHi, qLo, qHi] = rt.f32.subarray((stats >>> 2) + 4, (stats >>> 2) + 8);
  checkWeightRange(wLo, wHi, "opts.weight");
  checkWeightRange(qLo, qHi, "opts.posWeight");
}

function checkWeightRange(lo: number, hi: number, argument: string): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", argument, "finite numbers", "NaN");
  if (lo <= hi && (lo < 0 || !Number.isFinite(hi))) fail("E_RANGE", argument, "finite values ≥ 0", `values in [${lo}, ${hi}]`);
}

/** A per-pixel option tensor (weight, posWeight), checked for size, finiteness and sign by the caller's pass. */
export function perPixelData(x: unknown, argument: string, n: number): NumericArray {
  const t = toTensor(x, argument);
  if (t.data.length !== n) fail("E_SHAPE", argument, `${n} elements (the prediction's)`, `${t.data.length}`);
  return t.data;
}

/** The mean or sum of kept terms (NaN marks a term left out). */
export function reduceTerms(terms: Float64Array, reduction: "mean" | "sum"): { value: number; kept: number } {
  let sum = 0;
  let kept = 0;
  for (const x of terms) {
    if (!Number.isNaN(x)) {
      sum += x;
      kept++;
    }
  }
  return { value: reduction === "sum" ? sum : kept ? sum / kept : 0, kept };
}

/** The gradient buffer: opts.out when given (checked for length), else a new array. */
export function gradBuffer(out: unknown, n: number): Float32Array {
  if (out === undefined) return new Float32Array(n);
  const o = out as Float32Array;
  if (o.length !== n) fail("E_SHAPE", "opts.out", `a Float32Array of ${n} elements (the prediction's)`, describe(o));
  return o;
}
