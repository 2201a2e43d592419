/**
 * Float64 reference ("oracle") for segloss's meanIoU, written from SPEC.md §4
 * (row meanIoU), §4c and docs/mean-iou.md with plain loops: one pass per
 * threshold, a 2×2 confusion matrix per image, no buckets, no float32 cuts,
 * and no code shared with src/ or assembly/.
 *
 * - A prediction p is read as float32 (Math.fround), then compared with τ in
 *   float64: p > τ (or p ≥ τ); with thresholdPrecision 'float32', τ is
 *   Math.fround(τ) first.
 * - Logits: σ(x) > τ decided exactly: σ(x) in float64 when it is clearly on
 *   one side, otherwise e^x·(1 − τ) against τ with exact rational Taylor
 *   partial sums and a remainder bound (BigInt fractions).
 * - Per confusion matrix: IoU_c = TP_c / (den_c + ε) for the classes with
 *   den_c > 0, mean = Σ / (classes present + ε); no class present →
 *   emptyScore. Batch: one matrix per threshold over all images; perImage:
 *   one per image and threshold, then the mean over images. The score is
 *   the mean over thresholds.
 */

export interface MeanIoUOracleOpts {
  thresholds?: ArrayLike<number>;
  compare?: ">" | ">=";
  thresholdPrecision?: "float64" | "float32";
  fromLogits?: boolean;
  ignoreIndex?: number | null;
  perImage?: boolean;
  emptyScore?: number;
  epsilon?: number;
  preset?: "seed" | "keras3" | "tfkeras2";
}

export interface MeanIoUOracle {
  score: number;
  perThreshold: Float64Array;
  perImage: Float64Array;
  perImageThreshold: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  tn: Float64Array;
}

export const DEFAULT_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

// ------------------------------------------------------------ exact σ(x) vs τ

/** x as an exact fraction num/den (den a power of two). */
function fraction(x: number): { num: bigint; den: bigint } {
  let den = 1n;
  while (!Number.isInteger(x)) {
    x *= 2;
    den *= 2n;
  }
  return { num: BigInt(x), den };
}

/**
 * sign(e^x − R) for x ≥ 0 and a positive fraction R = rn/rd: partial sums of
 * the series are lower bounds; once n + 1 ≥ 2x the tail after term n is at
 * most term n.
 */
function expVsFraction(x: number, rn: bigint, rd: bigint): number {
  const { num, den } = fraction(x);
  // sum and term as fractions over a common denominator that grows
  let sNum = 1n;
  let sDen = 1n;
  let tNum = 1n;
  let tDen = 1n;
  for (let n = 1; n < 100000; n++) {
    tNum *= num;
    tDen *= den * BigInt(n);
    sNum = sNum * tDen + tNum * sDen;
    sDen *= tDen;
    const g = gcd(sNum, sDen);
    sNum /= g;
    sDen /= g;
    // lower bound already above R?
    if (sNum * rd > rn * sDen) return 1;
    if (n + 1 >= 2 * x) {
      // every later term is at most half the one before: the tail is ≤ this term
      const upNum = sNum * tDen + tNum * sDen;
      const upDen = sDen * tDen;
      if (upNum * rd < rn * upDen) return -1;
    }
  }
  throw new Error("oracle: exp comparison did not converge");
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

/** sign(σ(x) − τ), exactly (σ(x) = τ only for x = 0, τ = ½). */
export function sigmoidVsTau(x: number, tau: number): number {
  if (tau <= 0) return 1;
  if (tau >= 1) return -1;
  const s = 1 / (1 + Math.exp(-x));
  if (Math.abs(s - tau) > 1e-12 * Math.max(s, tau)) return s > tau ? 1 : -1; // float64 σ is within 1e-15 relative
  // σ(x) > τ ⇔ e^x > τ/(1 − τ) = A/(2^m − A) for τ = A/2^m
  const a = fraction(tau);
  const rn = a.num;
  const rd = a.den - a.num;
  if (x === 0) return rn < rd ? 1 : rn > rd ? -1 : 0;
  if (x > 0) return expVsFraction(x, rn, rd);
  // e^x > R ⇔ e^{−x} < 1/R
  return -expVsFraction(-x, rd, rn);
}

// ------------------------------------------------------------ the metric

interface Resolved {
  thresholds: number[];
  compare: ">" | ">=";
  float32: boolean;
  fromLogits: boolean;
  ignoreIndex: number | null;
  perImage: boolean;
  emptyScore: number;
  epsilon: number;
}

function resolve(o: MeanIoUOracleOpts): Resolved {
  const r: Resolved = {
    thresholds: DEFAULT_THRESHOLDS,
    compare: ">",
    float32: false,
    fromLogits: false,
    ignoreIndex: null,
    perImage: false,
    emptyScore: 1,
    epsilon: 0,
  };
  if (o.preset === "keras3") Object.assign(r, { thresholds: [0.5], compare: ">=", emptyScore: 0, epsilon: 1e-7 });
  if (o.preset === "tfkeras2") Object.assign(r, { thresholds: [0.5], compare: ">=", emptyScore: 0 });
  if (o.thresholds !== undefined) r.thresholds = Array.from(o.thresholds);
  if (o.compare !== undefined) r.compare = o.compare;
  if (o.thresholdPrecision !== undefined) r.float32 = o.thresholdPrecision === "float32";
  if (o.fromLogits !== undefined) r.fromLogits = o.fromLogits;
  if (o.ignoreIndex !== undefined) r.ignoreIndex = o.ignoreIndex;
  if (o.perImage !== undefined) r.perImage = o.perImage;
  if (o.emptyScore !== undefined) r.emptyScore = o.emptyScore;
  if (o.epsilon !== undefined) r.epsilon = o.epsilon;
  return r;
}

function positive(p: number, tau: number, r: Resolved): boolean {
  const v = Math.fround(p);
  const t = r.float32 ? Math.fround(tau) : tau;
  if (r.fromLogits) {
    const s = sigmoidVsTau(v, t);
    return r.compare === ">" ? s > 0 : s >= 0;
  }
  return r.compare === ">" ? v > t : v >= t;
}

function matrixScore(tp: number, fp: number, fn: number, tn: number, r: Resolved): number {
  const d1 = tp + fp + fn;
  const d0 = tn + fn + fp;
  let sum = 0;
  let present = 0;
  if (d1 > 0) {
    sum += tp / (d1 + r.epsilon);
    present++;
  }
  if (d0 > 0) {
    sum += tn / (d0 + r.epsilon);
    present++;
  }
  return present === 0 ? r.emptyScore : sum / (present + r.epsilon);
}

/** t, p: N images of equal length, image-major. */
export function meanIoU(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: MeanIoUOracleOpts = {}): MeanIoUOracle {
  const r = resolve(opts);
  const T = r.thresholds.length;
  const L = p.length / N;
  const out: MeanIoUOracle = {
    score: 0,
    perThreshold: new Float64Array(T),
    perImage: new Float64Array(N),
    perImageThreshold: new Float64Array(N * T),
    tp: new Float64Array(T),
    fp: new Float64Array(T),
    fn: new Float64Array(T),
    tn: new Float64Array(T),
  };
  for (let i = 0; i < T; i++) {
    const tau = r.thresholds[i];
    for (let n = 0; n < N; n++) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      for (let e = n * L; e < (n + 1) * L; e++) {
        const y = Math.fround(t[e]);
        if (r.ignoreIndex !== null && y === Math.fround(r.ignoreIndex)) continue;
        if (y !== 0 && y !== 1) throw new Error(`oracle: target ${y} is not 0 or 1`);
        const pos = positive(p[e], tau, r);
        if (y === 1 && pos) tp++;
        else if (y === 1) fn++;
        else if (pos) fp++;
        else tn++;
      }
      out.tp[i] += tp;
      out.fp[i] += fp;
      out.fn[i] += fn;
      out.tn[i] += tn;
      out.perImageThreshold[n * T + i] = matrixScore(tp, fp, fn, tn, r);
    }
    if (r.perImage) {
      let s = 0;
      for (let n = 0; n < N; n++) s += out.perImageThreshold[n * T + i];
      out.perThreshold[i] = s / N;
    } else {
      out.perThreshold[i] = matrixScore(out.tp[i], out.fp[i], out.fn[i], out.tn[i], r);
    }
  }
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let i = 0; i < T; i++) s += out.perImageThreshold[n * T + i];
    out.perImage[n] = s / T;
  }
  let s = 0;
  for (let i = 0; i < T; i++) s += out.perThreshold[i];
  out.score = s / T;
  return out;
}
