// Logits for the Lovász hinge, which takes logits only: the prediction itself
// with --from-logits, else ln(p/(1−p)) with p clipped to [1e-7, 1 − 1e-7].
import type { Prediction } from "./decode";
import { levelToProbability } from "./decode";

/** The logits of a binary prediction (scores); `fromLogits`: they already are. */
export function logits(pred: Prediction, fromLogits: boolean): Float32Array | Float64Array {
  if (pred.kind !== "scores") throw new TypeError("logits of a label map");
  const p = pred.data;
  if (fromLogits) return p;
  const levels = pred.levels;
  if (levels) return logitsOfLevels(levels.values, levels.maxValue);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0 && p[i] <= 1)) throw new PredictionRangeError(p[i]);
    out[i] = logit(p[i]);
  }
  return out;
}

/** Images hold at most 2^16 grey levels: one logit per level, then a table look-up per pixel. */
function logitsOfLevels(values: Uint8Array | Uint16Array, maxValue: number): Float32Array {
  const table = new Float32Array(maxValue + 1);
  for (let k = 0; k <= maxValue; k++) table[k] = logit(levelToProbability(k, maxValue));
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = table[values[i]];
  return out;
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
}

/** A probability outside [0, 1] met while converting to logits (named like a SegLossError: argument 'pred'). */
class PredictionRangeError extends RangeError {
  readonly argument = "pred";
  constructor(v: number) {
    super(`pred: expected probabilities in [0, 1] (pass --from-logits for logits), got ${v}`);
  }
}
