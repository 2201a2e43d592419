// Range records the weighted kernels fold into, and the errors they lead to.
import { fail } from "../../errors";
import type { NumericArray } from "../../tensor";
import type { Runtime } from "../../wasm";

// ---------------------------------------------------------------- validation

/** The pooled kernels read target rows ahead of the row they write: an output sharing the target's memory would corrupt them. */
export function checkNoOverlap(out: Float32Array, target: NumericArray): void {
  const overlap =
    out.buffer === target.buffer &&
    out.byteOffset < target.byteOffset + target.byteLength &&
    target.byteOffset < out.byteOffset + out.byteLength;
  if (overlap) fail("E_OPTION", "opts.out", "a Float32Array that does not share memory with the target", "a view of the target's memory");
}

/** Range record the kernels fold into: [lo, hi] of t, p, w (f32 pairs), then the soft-target flag. */
export function newStats(rt: Runtime): number {
  const at = rt.alloc(32, "stats");
  resetStats(rt, at);
  return at;
}

export function resetStats(rt: Runtime, at: number): void {
  rt.f32.set([Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, 0, 0], at >>> 2);
}

function checkFinite(lo: number, hi: number, argument: string): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", argument, "finite numbers", "NaN");
  if (lo <= hi && (!Number.isFinite(lo) || !Number.isFinite(hi)))
    fail("E_NONFINITE", argument, "finite numbers", `values in [${lo}, ${hi}]`);
}

/** Throws for NaN/±Inf, targets outside [0, 1], probabilities outside [0, 1], negative weights. */
export function checkStats(rt: Runtime, stats: number, logits: boolean, weightArg: string): { soft: boolean } {
  const [tLo, tHi, pLo, pHi, wLo, wHi, soft] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 8);
  checkFinite(pLo, pHi, "pred");
  if (!logits && pLo <= pHi && (pLo < 0 || pHi > 1)) {
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${pLo}, ${pHi}]`);
  }
  checkFinite(tLo, tHi, "target");
  if (tLo <= tHi && (tLo < 0 || tHi > 1)) fail("E_RANGE", "target", "values in [0, 1]", `values in [${tLo}, ${tHi}]`);
  checkFinite(wLo, wHi, weightArg);
  if (wLo <= wHi && wLo < 0) fail("E_RANGE", weightArg, "weights ≥ 0", `values in [${wLo}, ${wHi}]`);
  return { soft: soft !== 0 };
}

/** The target check for boundaryWeights (no prediction). */
export function checkTarget(rt: Runtime, stats: number): { soft: boolean } {
  const [tLo, tHi, , , , , soft] = rt.f32.subarray(stats >>> 2, (stats >>> 2) + 8);
  checkFinite(tLo, tHi, "target");
  if (tLo < 0 || tHi > 1) fail("E_RANGE", "target", "values in [0, 1]", `values in [${tLo}, ${tHi}]`);
  return { soft: soft !== 0 };
}
