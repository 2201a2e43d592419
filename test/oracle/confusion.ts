// A plain float64 oracle for confusion matrices (SPEC §4 confusionMatrix),
// written from the formula: rows = target class, columns = predicted class.

/** Predicted class per pixel from C scores: argmax, lowest index on ties. */
export function argmaxLabels(scores: ArrayLike<number>, N: number, C: number, L: number, layout: string): number[] {
  const out = new Array<number>(N * L);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < L; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let c = 0; c < C; c++) {
        const v = layout === "NHWC" ? scores[(n * L + i) * C + c] : scores[(n * C + c) * L + i];
        if (c === 0 || v > best) {
          best = v;
          bi = c;
        }
      }
      out[n * L + i] = bi;
    }
  }
  return out;
}

/** Binary class per pixel: 1 where p > threshold. */
export function thresholdLabels(p: ArrayLike<number>, threshold: number): number[] {
  return Array.from(p, (v) => (v > threshold ? 1 : 0));
}

/** C×C counts (one per image when perImage) from target and predicted labels. */
export function confusionCounts(
  target: ArrayLike<number>,
  predLabels: ArrayLike<number>,
  N: number,
  C: number,
  ignoreIndex: number | null,
  perImage: boolean,
): number[] | number[][] {
  const L = target.length / N;
  const mats: number[][] = [];
  let m = new Array<number>(C * C).fill(0);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < L; i++) {
      const t = Number(target[n * L + i]);
      if (ignoreIndex !== null && ignoreIndex !== undefined && t === ignoreIndex) continue;
      m[t * C + Number(predLabels[n * L + i])] += 1;
    }
    if (perImage) {
      mats.push(m);
      m = new Array<number>(C * C).fill(0);
    }
  }
  return perImage ? mats : m;
}

/** The per-class metrics and their means, from counts. */
export function metricsOf(counts: ArrayLike<number>, C: number) {
  const tp: number[] = [];
  const row: number[] = [];
  const col: number[] = [];
  for (let c = 0; c < C; c++) {
    tp.push(counts[c * C + c]);
    let r = 0;
    let k = 0;
    for (let j = 0; j < C; j++) {
      r += counts[c * C + j];
      k += counts[j * C + c];
    }
    row.push(r);
    col.push(k);
  }
  const div = (a: number, b: number) => (b === 0 ? NaN : a / b);
  const iou = tp.map((v, c) => div(v, row[c] + col[c] - v));
  const dice = tp.map((v, c) => div(2 * v, row[c] + col[c]));
  const precision = tp.map((v, c) => div(v, col[c]));
  const recall = tp.map((v, c) => div(v, row[c]));
  const nanMean = (a: number[]) => {
    const kept = a.filter((v) => !Number.isNaN(v));
    return kept.length ? kept.reduce((s, v) => s + v, 0) / kept.length : NaN;
  };
  const total = row.reduce((s, v) => s + v, 0);
  const trace = tp.reduce((s, v) => s + v, 0);
  let fw = 0;
  for (let c = 0; c < C; c++) if (row[c] > 0) fw += (row[c] / total) * iou[c];
  return {
    iou,
    dice,
    precision,
    recall,
    meanIoU: nanMean(iou),
    meanDice: nanMean(dice),
    accuracy: div(trace, total),
    frequencyWeightedIoU: total === 0 ? NaN : fw,
  };
}
