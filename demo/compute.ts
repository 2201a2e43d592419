// What the demo's worker computes, as plain functions of the inputs, so the
// browser tests can run the same code in Node and compare the printed digits.
import type { Segloss } from "../src/index";
import { rng, SIZE } from "./examples";

export interface Params {
  /** Box-blur radius in pixels (applied twice: a cheap Gaussian). */
  blur: number;
  /** Uniform noise amplitude added to the prediction. */
  noise: number;
  /** Threshold for the binarised metrics (object score, confusion matrix). */
  threshold: number;
  /** boundaryWeights window size k. */
  kernel: number;
}

export const DEFAULT_PARAMS: Params = { blur: 0, noise: 0, threshold: 0.5, kernel: 50 };

/** Thresholds of the meanIoU chart: 0.05, 0.10, …, 0.95. */
export const CURVE_THRESHOLDS = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/** Logits for the Lovász hinge: p clamped to [1e-6, 1 − 1e-6] so they stay finite. */
export const LOGIT_CLAMP = 1e-6;

const NOISE_SEED = 12345;

/** A running-sum box blur of each row (edges clamped), written transposed: two calls blur rows, then columns. */
function boxBlurRowsTransposed(src: Float64Array, dst: Float64Array, r: number): void {
  const n = SIZE;
  const w = 2 * r + 1;
  for (let y = 0; y < n; y++) {
    const row = y * n;
    let s = 0;
    for (let k = -r; k <= r; k++) s += src[row + Math.min(n - 1, Math.max(0, k))];
    for (let x = 0; x < n; x++) {
      dst[x * n + y] = s / w;
      s += src[row + Math.min(n - 1, x + r + 1)] - src[row + Math.max(0, x - r)];
    }
  }
}

let unitNoise: Float32Array | undefined;

/** The seeded noise field in [−1, 1), made once. */
function noiseField(): Float32Array {
  if (!unitNoise) {
    const r = rng(NOISE_SEED);
    unitNoise = new Float32Array(SIZE * SIZE);
    for (let i = 0; i < unitNoise.length; i++) unitNoise[i] = r() * 2 - 1;
  }
  return unitNoise;
}

function blurred(base: Float32Array, radius: number): Float64Array {
  const a = Float64Array.from(base);
  const b = new Float64Array(a.length);
  for (let pass = 0; pass < 2; pass++) {
    boxBlurRowsTransposed(a, b, radius);
    boxBlurRowsTransposed(b, a, radius);
  }
  return a;
}

/**
 * The prediction the losses see: blur (twice a box of radius `blur`), add
 * seeded noise, clamp to [0, 1]. Written into `out` when given (e.g. an array
 * in segloss's memory).
 */
export function preparePred(base: Float32Array, p: Params, out: Float32Array = new Float32Array(base.length)): Float32Array {
  const a: ArrayLike<number> = p.blur > 0 ? blurred(base, p.blur) : base;
  if (p.noise > 0) {
    const n = noiseField();
    for (let i = 0; i < out.length; i++) {
      const v = a[i] + n[i] * p.noise;
      out[i] = v < 0 ? 0 : Math.min(v, 1);
    }
  } else {
    for (let i = 0; i < out.length; i++) {
      const v = a[i];
      out[i] = v < 0 ? 0 : Math.min(v, 1);
    }
  }
  return out;
}

/** Logits of the prediction, written into `out` when given. */
export function logits(pred: Float32Array, out: Float32Array = new Float32Array(pred.length)): Float32Array {
  for (let i = 0; i < pred.length; i++) {
    const q = Math.min(1 - LOGIT_CLAMP, Math.max(LOGIT_CLAMP, pred[i]));
    out[i] = Math.log(q / (1 - q));
  }
  return out;
}
/** Heat maps the page draws, each H×W. */
export interface Maps {
  weights: Float32Array;
  bce: Float32Array;
  focal: Float32Array;
  diceGrad: Float32Array;
  lovaszGrad: Float32Array;
}

export interface Results {
  /** Label → value, in display order. */
  values: [string, number][];
  maps: Maps;
  /** meanIoU at CURVE_THRESHOLDS. */
  curve: Float64Array;
}

/** The boundary weight map of the target (it changes only with the target and k: the worker keeps it while painting). */
export function boundaryMap(seg: Segloss, target: Float32Array, p: Params): Float32Array {
  return seg.boundaryWeights(target, { shape: [1, SIZE, SIZE], kernel: p.kernel }).data;
}

/** One image, 256×256: every loss and metric of the demo (`x`: the logits of `pred`; `weights`: its boundary map). */
export function evaluate(
  seg: Segloss,
  target: Float32Array,
  pred: Float32Array,
  p: Params,
  x: Float32Array = logits(pred),
  weights: Float32Array = boundaryMap(seg, target, p),
): Results {
  const shape = [1, SIZE, SIZE];
  const dice = seg.diceGrad(target, pred, { shape });
  const lovasz = seg.lovaszHingeGrad(target, x, { shape });
  const details = seg.meanIoUDetails(target, pred, { shape, thresholds: CURVE_THRESHOLDS });
  const objects = seg.objectMetrics(target, pred, { shape, threshold: p.threshold });
  const cm = seg.confusionMatrix(target, pred, { shape, threshold: p.threshold });
  const values: [string, number][] = [
    ["bce", seg.bce(target, pred, { shape }) as number],
    ["focal (seed, sum)", seg.focal(target, pred, { shape }) as number],
    ["focal (standard)", seg.focal(target, pred, { shape, variant: "standard" }) as number],
    ["dice", dice.loss],
    ["diceCoefficient", seg.diceCoefficient(target, pred, { shape }) as number],
    ["jaccard", seg.jaccard(target, pred, { shape }) as number],
    ["tversky", seg.tversky(target, pred, { shape }) as number],
    ["focalTversky", seg.focalTversky(target, pred, { shape }) as number],
    ["bceDice", seg.bceDice(target, pred, { shape })],
    ["bceLogDice", seg.bceLogDice(target, pred, { shape })],
    ["focalDice", seg.focalDice(target, pred, { shape })],
    ["weightedBceDice", seg.weightedBceDice(target, pred, { shape, weight: weights })],
    ["lovaszHinge (logit p)", lovasz.loss],
    ["meanIoU (0.50…0.95)", seg.meanIoU(target, pred, { shape }) as number],
    [`objects score (p > ${p.threshold})`, objects.score],
    [`IoU (p > ${p.threshold})`, cm.iou()[1]],
    [`accuracy (p > ${p.threshold})`, cm.accuracy()],
  ];
  return {
    values,
    maps: {
      weights,
      bce: seg.bce(target, pred, { shape, reduction: "none" }) as Float32Array,
      focal: seg.focal(target, pred, { shape, reduction: "none" }) as Float32Array,
      diceGrad: dice.grad,
      lovaszGrad: lovasz.grad,
    },
    curve: details.perThreshold,
  };
}

/** How the page prints a value (the browser tests compare these strings with Node's). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === 0) return "0";
  return Math.abs(v) >= 1e-4 && Math.abs(v) < 1e6 ? v.toPrecision(6) : v.toExponential(5);
}
