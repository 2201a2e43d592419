/**
 * Plain-JS reference ("oracle") for segloss's objectMetrics.
 *
 * Written from SPEC.md §4 (objectMetrics) and docs/object-metrics.md with the
 * most naive methods there are, sharing no code with src/ or assembly/:
 * - binarise in float64: target t === 1; prediction p > threshold, or with
 *   fromLogits x > Math.log(threshold / (1 − threshold));
 * - label every image by flood fill from each unlabelled foreground pixel in
 *   raster order (so labels come in raster order of first pixel);
 * - count a dense intersection matrix (target objects × predicted objects)
 *   pixel by pixel, IoU = inter / (areaT + areaP − inter) in float64;
 * - per τ, the Kaggle DSB-2018 counting on the boolean match matrix IoU > τ
 *   (TP = target objects with exactly one match, FP = predicted objects with
 *   none, FN = target objects with none), which does not assume the matching
 *   is one-to-one.
 */

export interface OracleOptions {
  threshold?: number;
  fromLogits?: boolean;
  connectivity?: 4 | 8;
  thresholds?: ArrayLike<number>;
}

export interface OracleResult {
  thresholds: number[];
  tp: number[];
  fp: number[];
  fn: number[];
  precision: number[];
  f1: number[];
  f2: number[];
  score: number;
  perImage: number[];
  labels: { target: Int32Array; pred: Int32Array };
  /** Objects per image. */
  objects: { target: number[]; pred: number[] };
}

export const DSB_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** Flood-fill labels of one H × W 0/1 mask; returns the labels (1…K, raster order of first pixel) and K. */
export function floodLabels(mask: ArrayLike<number>, H: number, W: number, connectivity: 4 | 8): { labels: Int32Array; count: number } {
  const labels = new Int32Array(H * W);
  const steps: [number, number][] = [
    [-1, 0],
    [1, 0],
    [0, -1],
    [0, 1],
  ];
  if (connectivity === 8) steps.push([-1, -1], [-1, 1], [1, -1], [1, 1]);
  let count = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (mask[y * W + x] !== 1 || labels[y * W + x] !== 0) continue;
      count++;
      labels[y * W + x] = count;
      const stack: number[] = [y * W + x];
      while (stack.length > 0) {
        const i = stack.pop() as number;
        const cy = Math.floor(i / W);
        const cx = i - cy * W;
        for (const [dy, dx] of steps) {
          const ny = cy + dy;
          const nx = cx + dx;
          if (ny < 0 || ny >= H || nx < 0 || nx >= W) continue;
          const j = ny * W + nx;
          if (mask[j] === 1 && labels[j] === 0) {
            labels[j] = count;
            stack.push(j);
          }
        }
      }
    }
  }
  return { labels, count };
}

/** Dense IoU matrix (kt × kp, row-major) of two label maps of one image. */
export function iouMatrix(lt: Int32Array, kt: number, lp: Int32Array, kp: number): Float64Array {
  const inter = new Float64Array(kt * kp);
  const areaT = new Float64Array(kt + 1);
  const areaP = new Float64Array(kp + 1);
  for (let i = 0; i < lt.length; i++) {
    areaT[lt[i]]++;
    areaP[lp[i]]++;
    if (lt[i] > 0 && lp[i] > 0) inter[(lt[i] - 1) * kp + (lp[i] - 1)]++;
  }
  const iou = new Float64Array(kt * kp);
  for (let a = 0; a < kt; a++) {
    for (let b = 0; b < kp; b++) {
      const i = inter[a * kp + b];
      iou[a * kp + b] = i / (areaT[a + 1] + areaP[b + 1] - i);
    }
  }
  return iou;
}

const div = (num: number, den: number) => (den === 0 ? 1 : num / den);

export function objectMetrics(
  t: ArrayLike<number>,
  p: ArrayLike<number>,
  N: number,
  H: number,
  W: number,
  opts: OracleOptions = {},
): OracleResult {
  const threshold = opts.threshold ?? 0.5;
  const cut = opts.fromLogits ? Math.log(threshold / (1 - threshold)) : threshold;
  const conn = opts.connectivity ?? 8;
  const taus = Array.from(opts.thresholds ?? DSB_THRESHOLDS);
  const L = H * W;
  const T = taus.length;
  const res: OracleResult = {
    thresholds: taus,
    tp: new Array(T).fill(0),
    fp: new Array(T).fill(0),
    fn: new Array(T).fill(0),
    precision: [],
    f1: [],
    f2: [],
    score: 0,
    perImage: [],
    labels: { target: new Int32Array(N * L), pred: new Int32Array(N * L) },
    objects: { target: [], pred: [] },
  };
  for (let n = 0; n < N; n++) {
    const mt = new Uint8Array(L);
    const mp = new Uint8Array(L);
    for (let i = 0; i < L; i++) {
      mt[i] = t[n * L + i] === 1 ? 1 : 0;
      mp[i] = p[n * L + i] > cut ? 1 : 0;
    }
    const a = floodLabels(mt, H, W, conn);
    const b = floodLabels(mp, H, W, conn);
    res.labels.target.set(a.labels, n * L);
    res.labels.pred.set(b.labels, n * L);
    res.objects.target.push(a.count);
    res.objects.pred.push(b.count);
    const iou = iouMatrix(a.labels, a.count, b.labels, b.count);
    let sum = 0;
    for (let k = 0; k < T; k++) {
      let tp = 0;
      let fn = 0;
      let fp = 0;
      for (let i = 0; i < a.count; i++) {
        let m = 0;
        for (let j = 0; j < b.count; j++) if (iou[i * b.count + j] > taus[k]) m++;
        if (m === 1) tp++;
        if (m === 0) fn++;
      }
      for (let j = 0; j < b.count; j++) {
        let m = 0;
        for (let i = 0; i < a.count; i++) if (iou[i * b.count + j] > taus[k]) m++;
        if (m === 0) fp++;
      }
      res.tp[k] += tp;
      res.fp[k] += fp;
      res.fn[k] += fn;
      sum += div(tp, tp + fp + fn);
    }
    res.perImage.push(sum / T);
  }
  for (let k = 0; k < T; k++) {
    const [tp, fp, fn] = [res.tp[k], res.fp[k], res.fn[k]];
    res.precision.push(div(tp, tp + fp + fn));
    res.f1.push(div(2 * tp, 2 * tp + fn + fp));
    res.f2.push(div(5 * tp, 5 * tp + 4 * fn + fp));
  }
  res.score = res.perImage.reduce((s, v) => s + v, 0) / N;
  return res;
}
