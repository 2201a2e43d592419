// Dataset-level numbers from counts summed over every image: the confusion
// matrix's per-class scores, the seed's meanIoU of the whole dataset, and the
// object-level totals per IoU threshold.
import { ConfusionMatrix } from "../index";

export type Summary = Record<string, number | number[] | null>;

export function confusionSummary(counts: number[] | undefined): Summary {
  if (!counts) return {};
  const m = ConfusionMatrix.fromJSON({ numClasses: Math.round(Math.sqrt(counts.length)), counts });
  return {
    iou: [...m.iou()],
    dice: [...m.dice()],
    precision: [...m.precision()],
    recall: [...m.recall()],
    pixels: rowSums(m),
    meanIoU: m.meanIoU(),
    meanDice: m.meanDice(),
    accuracy: m.accuracy(),
    frequencyWeightedIoU: m.frequencyWeightedIoU(),
  };
}

function rowSums(m: ConfusionMatrix): number[] {
  const C = m.numClasses;
  return Array.from({ length: C }, (_, t) => m.counts.subarray(t * C, (t + 1) * C).reduce((a, b) => a + b, 0));
}

/** The seed's meanIoU of the whole dataset: per threshold the mean over classes {0,1} with a non-empty union, then the mean over thresholds. */
export function thresholdedIoU(c: Record<string, number[]>): number | null {
  const { tp, fp, fn, tn } = c;
  if (!tp) return null;
  let sum = 0;
  for (let k = 0; k < tp.length; k++) {
    const parts = [
      [tp[k], tp[k] + fp[k] + fn[k]],
      [tn[k], tn[k] + fp[k] + fn[k]],
    ].filter(([, den]) => den > 0);
    sum += parts.length ? parts.reduce((a, [num, den]) => a + num / den, 0) / parts.length : 0;
  }
  return sum / tp.length;
}

/** The DSB-2018 IoU thresholds objectMetrics uses by default. */
export const OBJECT_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

export function objectSummary(c: Record<string, number[]>): Summary {
  const { tp, fp, fn } = c;
  if (!tp) return {};
  const fbeta = (b2: number) => tp.map((t, k) => (t + fp[k] + fn[k] === 0 ? 1 : ((1 + b2) * t) / ((1 + b2) * t + b2 * fn[k] + fp[k])));
  return {
    thresholds: OBJECT_THRESHOLDS,
    tp,
    fp,
    fn,
    precision: tp.map((t, k) => (t + fp[k] + fn[k] === 0 ? 1 : t / (t + fp[k] + fn[k]))),
    f1: fbeta(1),
    f2: fbeta(4),
  };
}
