/**
 * Float64 reference for the multi-class / multi-label region losses and the
 * generalized Dice, written from SPEC §4, §4b, §4c and docs/multiclass-losses.md
 * with plain loops over a [N][C][S] float64 copy of the inputs. No code shared
 * with src/ or assembly/. Gradients are central differences of these values in
 * float64 (so they check the library's analytic chain rule independently).
 *
 * The preset functions at the end (`smpAnchor`, `monaiAnchor`, `keras3Anchor`,
 * `monaiGeneralizedDice`) restate each anchor library's own algorithm (ANCHORS.md
 * B2–B4), not ours: one-hot, masks, the dims they sum over, their clamps and
 * their empty-class rules.
 */

export type Layout = "NCHW" | "NHWC";

/** One multi-class input: predictions and targets in `layout`, labels [N·S] or a dense target. */
export interface McCase {
  N: number;
  C: number;
  S: number;
  layout: Layout;
  pred: ArrayLike<number>;
  labels: ArrayLike<number> | null;
  dense: ArrayLike<number> | null;
}

export interface McOpts {
  mode: "multiclass" | "multilabel";
  fromLogits?: boolean;
  reduction?: "mean" | "sum" | "none";
  ignoreIndex?: number | null;
  perImage?: boolean;
  average?: "macro" | "micro";
  smooth?: number;
  smoothNumerator?: number;
  smoothDenominator?: number;
  squared?: boolean;
  log?: boolean;
  softLabel?: boolean;
  emptyTarget?: "smooth" | "zero" | "max" | "skip";
  epsilon?: number | null;
  epsilonMode?: "clamp" | "add";
  classes?: number[];
  includeBackground?: boolean;
  classWeights?: number[];
  alpha?: number;
  beta?: number;
  gamma?: number;
  gammaAt?: "term" | "mean";
}

export type McScore = "dice" | "jaccard" | "tversky" | "focalTversky" | "diceCoefficient";

/** Index of (n, c, s) in a `layout` array. */
export function at(layout: Layout, C: number, S: number, n: number, c: number, s: number): number {
  return layout === "NCHW" ? (n * C + c) * S + s : (n * S + s) * C + c;
}

/** Probabilities P[n][c][s], targets T[n][c][s] and the kept-pixel mask M[n][s]. */
function tensors(k: McCase, pred: ArrayLike<number>, mode: McOpts["mode"], fromLogits: boolean, ignoreIndex: number | null) {
  const { N, C, S, layout } = k;
  const P: number[][][] = [];
  const T: number[][][] = [];
  const M: boolean[][] = [];
  for (let n = 0; n < N; n++) {
    P.push([]);
    T.push([]);
    M.push([]);
    for (let c = 0; c < C; c++) {
      P[n].push(new Array(S).fill(0));
      T[n].push(new Array(S).fill(0));
    }
    for (let s = 0; s < S; s++) {
      const x = Array.from({ length: C }, (_, c) => pred[at(layout, C, S, n, c, s)]);
      let p = x;
      if (fromLogits && mode === "multilabel") p = x.map((v) => 1 / (1 + Math.exp(-v)));
      else if (fromLogits) {
        const m = Math.max(...x);
        const e = x.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        p = e.map((v) => v / z);
      }
      let keep = true;
      if (k.labels) {
        const l = k.labels[n * S + s];
        if (ignoreIndex !== null && l === ignoreIndex) keep = false;
        else for (let c = 0; c < C; c++) T[n][c][s] = l === c ? 1 : 0;
      } else if (k.dense) {
        for (let c = 0; c < C; c++) T[n][c][s] = k.dense[at(layout, C, S, n, c, s)];
      }
      M[n].push(keep);
      for (let c = 0; c < C; c++) P[n][c][s] = p[c];
    }
  }
  return { P, T, M };
}

interface Sums {
  tp: number;
  t: number;
  p: number;
  t2: number;
  p2: number;
  abs: number;
}
const zeroSums = (): Sums => ({ tp: 0, t: 0, p: 0, t2: 0, p2: 0, abs: 0 });
function addSums(a: Sums, b: Sums): void {
  a.tp += b.tp;
  a.t += b.t;
  a.p += b.p;
  a.t2 += b.t2;
  a.p2 += b.p2;
  a.abs += b.abs;
}

/** Σ over the kept pixels of image n, class c. */
function pixelSums(P: number[][][], T: number[][][], M: boolean[][], n: number, c: number): Sums {
  const s = zeroSums();
  for (let i = 0; i < M[n].length; i++) {
    if (!M[n][i]) continue;
    const t = T[n][c][i];
    const p = P[n][c][i];
    s.tp += t * p;
    s.t += t;
    s.p += p;
    s.t2 += t * t;
    s.p2 += p * p;
    s.abs += Math.abs(t - p);
  }
  return s;
}

function keptClassIds(o: McOpts, C: number): number[] {
  const ids = [...new Set(o.classes ?? Array.from({ length: C }, (_, c) => c))].sort((a, b) => a - b);
  return o.includeBackground === false ? ids.filter((c) => c !== 0) : ids;
}

/** Our score of one term (SPEC §4 / docs). */
function scoreOf(score: McScore, o: McOpts, s: Sums): number {
  const snr = o.smoothNumerator ?? o.smooth ?? 1;
  const sdr = o.smoothDenominator ?? o.smooth ?? 1;
  const I = o.softLabel ? (s.t + s.p - s.abs) / 2 : s.tp;
  const sq = o.squared && (score === "dice" || score === "jaccard" || score === "diceCoefficient");
  const T = sq ? s.t2 : s.t;
  const P = sq ? s.p2 : s.p;
  let num: number;
  let den: number;
  if (score === "dice" || score === "diceCoefficient") {
    num = 2 * I + snr;
    den = T + P + sdr;
  } else if (score === "jaccard") {
    num = I + snr;
    den = T + P - I + sdr;
  } else {
    const a = o.alpha ?? 0.5;
    const b = o.beta ?? 0.5;
    num = I + snr;
    den = I + a * (s.p - I) + b * (s.t - I) + sdr;
  }
  if (o.epsilon !== undefined && o.epsilon !== null) den = o.epsilonMode === "add" ? den + o.epsilon : Math.max(den, o.epsilon);
  return num / den;
}

/** The loss (or diceCoefficient) of one case under our semantics, `pred` in the case's layout. */
export function mcValue(score: McScore, k: McCase, o: McOpts, pred: ArrayLike<number> = k.pred): number | Float64Array {
  const { P, T, M } = tensors(k, pred, o.mode, !!o.fromLogits, o.ignoreIndex ?? null);
  const kept = keptClassIds(o, k.C);
  const perImage = o.perImage ?? true;
  const micro = o.average === "micro";
  const segs = perImage ? k.N : 1;
  // term sums [segment][term]
  const terms: Sums[][] = [];
  for (let g = 0; g < segs; g++) terms.push((micro ? [0] : kept).map(() => zeroSums()));
  for (let n = 0; n < k.N; n++) {
    for (const [j, c] of kept.entries()) addSums(terms[perImage ? n : 0][micro ? 0 : j], pixelSums(P, T, M, n, c));
  }
  const gamma = o.gamma ?? 0.75;
  const gammaAtMean = score === "focalTversky" && o.gammaAt === "mean";
  const values: number[] = [];
  const counted: boolean[] = [];
  const weights: number[] = [];
  const wKept = kept.map((c) => (o.classWeights && !micro ? o.classWeights[c] : 1));
  const wTotal = wKept.reduce((a, b) => a + b, 0);
  for (const row of terms) {
    row.forEach((s, j) => {
      const S = scoreOf(score, o, s);
      let v: number;
      let keep = true;
      const empty = s.t === 0 && (o.emptyTarget ?? "smooth") !== "smooth";
      if (score === "diceCoefficient") {
        v = empty ? (o.emptyTarget === "zero" ? 1 : o.emptyTarget === "max" ? 0 : Number.NaN) : S;
      } else if (empty) {
        v = o.emptyTarget === "zero" ? 0 : o.emptyTarget === "max" ? (o.log && score !== "focalTversky" ? -Math.log(1e-7) : 1) : Number.NaN;
      } else if (score === "focalTversky") v = gammaAtMean ? 1 - S : Math.max(0, 1 - S) ** gamma;
      else if (o.log) v = -Math.log(Math.max(S, 1e-7));
      else v = 1 - S;
      if (empty && o.emptyTarget === "skip") keep = false;
      values.push(v);
      counted.push(keep);
      weights.push((wKept[micro ? 0 : j] * wKept.length) / wTotal);
    });
  }
  if (o.reduction === "none") return Float64Array.from(values);
  let sum = 0;
  let wsum = 0;
  values.forEach((v, j) => {
    if (!counted[j]) return;
    sum += weights[j] * v;
    wsum += weights[j];
  });
  const red = o.reduction === "sum" ? sum : wsum > 0 ? sum / wsum : 0;
  return gammaAtMean ? Math.max(0, red) ** gamma : red;
}

/** d(value)/d(pred) by central differences in float64 (the value must be a scalar). */
export function centralGrad(f: (pred: Float64Array) => number, pred: ArrayLike<number>, logits: boolean): Float64Array {
  const x = Float64Array.from(pred);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const h = logits ? 1e-5 * Math.max(1, Math.abs(x[i])) : 1e-6;
    const v = x[i];
    x[i] = v + h;
    const up = f(x);
    x[i] = v - h;
    const down = f(x);
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// ---------------------------------------------------------------- generalized Dice

export interface GdOpts {
  mode?: "multiclass" | "multilabel" | "binary";
  fromLogits?: boolean;
  reduction?: "mean" | "sum" | "none";
  ignoreIndex?: number | null;
  perImage?: boolean;
  smooth?: number;
  smoothNumerator?: number;
  smoothDenominator?: number;
  softLabel?: boolean;
  classes?: number[];
  includeBackground?: boolean;
  weightType?: "square" | "simple" | "uniform";
}

/** Generalized Dice (SPEC §4) on a multi-class case. */
export function gdValue(k: McCase, o: GdOpts, pred: ArrayLike<number> = k.pred): number | Float64Array {
  const mode = o.mode === "multilabel" ? "multilabel" : "multiclass";
  const { P, T, M } = tensors(k, pred, mode, !!o.fromLogits, o.ignoreIndex ?? null);
  const kept = keptClassIds(o as McOpts, k.C);
  const perImage = o.perImage ?? true;
  const segs = perImage ? k.N : 1;
  const rows: Sums[][] = [];
  for (let g = 0; g < segs; g++) rows.push(kept.map(() => zeroSums()));
  for (let n = 0; n < k.N; n++) for (const [j, c] of kept.entries()) addSums(rows[perImage ? n : 0][j], pixelSums(P, T, M, n, c));
  return gdReduce(
    rows.map((row) => row.map((s) => ({ I: o.softLabel ? (s.t + s.p - s.abs) / 2 : s.tp, t: s.t, p: s.p }))),
    o,
  );
}

/** Binary generalized Dice: the two classes background (1 − t, 1 − p) = id 0 and foreground (t, p) = id 1. */
export function gdBinaryValue(t: ArrayLike<number>, pred: ArrayLike<number>, N: number, o: GdOpts): number | Float64Array {
  const L = t.length / N;
  const perImage = o.perImage ?? true;
  const kept = keptClassIds(o as McOpts, 2);
  const rows: { I: number; t: number; p: number }[][] = [];
  for (let g = 0; g < (perImage ? N : 1); g++) rows.push(kept.map(() => ({ I: 0, t: 0, p: 0 })));
  for (let i = 0; i < t.length; i++) {
    if (o.ignoreIndex !== undefined && o.ignoreIndex !== null && t[i] === o.ignoreIndex) continue;
    const p = o.fromLogits ? 1 / (1 + Math.exp(-pred[i])) : pred[i];
    const row = rows[perImage ? Math.floor(i / L) : 0];
    kept.forEach((c, j) => {
      const tc = c === 1 ? t[i] : 1 - t[i];
      const pc = c === 1 ? p : 1 - p;
      row[j].I += o.softLabel ? (tc + pc - Math.abs(tc - pc)) / 2 : tc * pc;
      row[j].t += tc;
      row[j].p += pc;
    });
  }
  return gdReduce(rows, o);
}

function gdReduce(rows: { I: number; t: number; p: number }[][], o: GdOpts): number | Float64Array {
  const snr = o.smoothNumerator ?? o.smooth ?? 1e-5;
  const sdr = o.smoothDenominator ?? o.smooth ?? 1e-5;
  const terms = rows.map((row) => {
    const raw = row.map((s) => (o.weightType === "uniform" ? 1 : o.weightType === "simple" ? 1 / s.t : 1 / (s.t * s.t)));
    const finite = raw.filter((w) => Number.isFinite(w));
    const fill = finite.length ? Math.max(...finite) : 0;
    const w = raw.map((x) => (Number.isFinite(x) ? x : fill));
    let num = snr;
    let den = sdr;
    row.forEach((s, j) => {
      num += 2 * w[j] * s.I;
      den += w[j] * (s.t + s.p);
    });
    return 1 - num / den;
  });
  if (o.reduction === "none") return Float64Array.from(terms);
  const sum = terms.reduce((a, b) => a + b, 0);
  return o.reduction === "sum" ? sum : sum / terms.length;
}

// ---------------------------------------------------------------- anchors (ANCHORS.md B2–B4)

/** The anchor's own view of the input: one-hot (or dense) y[n][c][s] and probabilities x[n][c][s], ignored pixels zeroed in both. */
function anchorTensors(k: McCase, mode: McOpts["mode"], fromLogits: boolean, ignoreIndex: number | null) {
  const { P, T, M } = tensors(k, k.pred, mode, fromLogits, ignoreIndex);
  for (let n = 0; n < k.N; n++)
    for (let c = 0; c < k.C; c++)
      for (let s = 0; s < k.S; s++)
        if (!M[n][s]) {
          P[n][c][s] = 0;
          T[n][c][s] = 0;
        }
  return { x: P, y: T };
}

export interface AnchorOpts {
  mode: "multiclass" | "multilabel";
  fromLogits?: boolean;
  ignoreIndex?: number | null;
  classes?: number[];
  includeBackground?: boolean;
  classWeights?: number[];
  log?: boolean;
  alpha?: number;
  beta?: number;
  gamma?: number;
}

/**
 * segmentation_models_pytorch ≥ 0.4 (Dice/Jaccard/Tversky losses): per class,
 * sums over batch and pixels (dims 0, 2); I = (|x| + |y| − ‖x − y‖₁)/2,
 * FP = |x| − I, FN = |y| − I; score = (I + s)/max(I + a·FP + b·FN + s, ε) with
 * s = 0, ε = 1e-7 ((a, b) = (½, ½) Dice, (1, 1) Jaccard, (α, β) Tversky);
 * loss 1 − score or −ln max(score, ε); classes with |y| = 0 get loss 0 (still
 * counted); `classes` selection; mean, or Σw·L/Σw; Tversky: mean^γ.
 */
export function smpAnchor(score: "dice" | "jaccard" | "tversky" | "focalTversky", k: McCase, o: AnchorOpts): number {
  const { x, y } = anchorTensors(k, o.mode, !!o.fromLogits, o.ignoreIndex ?? null);
  const eps = 1e-7;
  const losses: number[] = [];
  for (let c = 0; c < k.C; c++) {
    let sx = 0;
    let sy = 0;
    let l1 = 0;
    for (let n = 0; n < k.N; n++)
      for (let s = 0; s < k.S; s++) {
        sx += x[n][c][s];
        sy += y[n][c][s];
        l1 += Math.abs(x[n][c][s] - y[n][c][s]);
      }
    const I = (sx + sy - l1) / 2;
    const [a, b] = score === "dice" ? [0.5, 0.5] : score === "jaccard" ? [1, 1] : [o.alpha ?? 0.5, o.beta ?? 0.5];
    const sc = I / Math.max(I + a * (sx - I) + b * (sy - I), eps);
    let loss = o.log ? -Math.log(Math.max(sc, eps)) : 1 - sc;
    if (!(sy > 0)) loss = 0;
    losses.push(loss);
  }
  let ids = o.classes ?? Array.from({ length: k.C }, (_, c) => c);
  if (o.includeBackground === false) ids = ids.filter((c) => c !== 0);
  let value: number;
  if (o.classWeights) {
    const w = ids.map((c) => (o.classWeights as number[])[c]);
    value = ids.reduce((acc, c, j) => acc + w[j] * losses[c], 0) / w.reduce((a, b) => a + b, 0);
  } else value = ids.reduce((acc, c) => acc + losses[c], 0) / ids.length;
  return score === "focalTversky" ? value ** (o.gamma ?? 0.75) : value;
}

/**
 * MONAI DiceLoss / DiceLoss(jaccard=True) / TverskyLoss, batch=False: per
 * (image, class), product form, smooth_nr = smooth_dr = 1e-5;
 * Dice (2I + s)/(|x| + |y| + s); Jaccard (2I + s)/(2(|x| + |y| − I) + s);
 * Tversky (I + s)/(I + α·Σx(1−y) + β·Σ(1−x)y + s); include_background=False
 * drops channel 0; the mean over images × classes.
 */
export function monaiAnchor(score: "dice" | "jaccard" | "tversky", k: McCase, o: AnchorOpts): number {
  const { x, y } = anchorTensors(k, o.mode, !!o.fromLogits, o.ignoreIndex ?? null);
  const s = 1e-5;
  const f: number[] = [];
  for (let n = 0; n < k.N; n++)
    for (let c = o.includeBackground === false ? 1 : 0; c < k.C; c++) {
      let I = 0;
      let sx = 0;
      let sy = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < k.S; i++) {
        const xv = x[n][c][i];
        const yv = y[n][c][i];
        I += xv * yv;
        sx += xv;
        sy += yv;
        fp += xv * (1 - yv);
        fn += (1 - xv) * yv;
      }
      if (score === "dice") f.push(1 - (2 * I + s) / (sx + sy + s));
      else if (score === "jaccard") f.push(1 - (2 * I + s) / (2 * (sx + sy - I) + s));
      else f.push(1 - (I + s) / (I + (o.alpha ?? 0.5) * fp + (o.beta ?? 0.5) * fn + s));
    }
  return f.reduce((a, b) => a + b, 0) / f.length;
}

/**
 * Keras 3 `Dice` / `Tversky` with axis=None on one-hot targets: one sum over
 * every element (all images and classes); Dice 1 − 2Σyx/(Σy + Σx + 1e-7);
 * Tversky 1 − Σyx/(Σyx + α·Σ(1−y)x + β·Σy(1−x) + 1e-7).
 */
export function keras3Anchor(score: "dice" | "tversky", k: McCase, o: AnchorOpts): number {
  const { x, y } = anchorTensors(k, o.mode, !!o.fromLogits, null);
  let I = 0;
  let sx = 0;
  let sy = 0;
  let fp = 0;
  let fn = 0;
  for (let n = 0; n < k.N; n++)
    for (let c = 0; c < k.C; c++)
      for (let i = 0; i < k.S; i++) {
        const xv = x[n][c][i];
        const yv = y[n][c][i];
        I += yv * xv;
        sx += xv;
        sy += yv;
        fp += (1 - yv) * xv;
        fn += yv * (1 - xv);
      }
  if (score === "dice") return 1 - (2 * I) / (sy + sx + 1e-7);
  return 1 - I / (I + (o.alpha ?? 0.5) * fp + (o.beta ?? 0.5) * fn + 1e-7);
}

/**
 * MONAI GeneralizedDiceLoss (w_type 'square', batch=False): per image
 * w_c = 1/(Σy_c)²; infinite weights set to 0 and then to the image's largest
 * weight; 1 − (2Σ_c w_c·Σxy + 1e-5)/(Σ_c w_c·(Σy + Σx) + 1e-5); mean over images.
 */
export function monaiGeneralizedDice(k: McCase, o: AnchorOpts): number {
  const { x, y } = anchorTensors(k, o.mode, !!o.fromLogits, o.ignoreIndex ?? null);
  const f: number[] = [];
  for (let n = 0; n < k.N; n++) {
    const I: number[] = [];
    const g: number[] = [];
    const pr: number[] = [];
    for (let c = o.includeBackground === false ? 1 : 0; c < k.C; c++) {
      let a = 0;
      let b = 0;
      let d = 0;
      for (let i = 0; i < k.S; i++) {
        a += x[n][c][i] * y[n][c][i];
        b += y[n][c][i];
        d += x[n][c][i];
      }
      I.push(a);
      g.push(b);
      pr.push(d);
    }
    let w = g.map((v) => 1 / (v * v));
    const inf = w.map((v) => !Number.isFinite(v));
    w = w.map((v, j) => (inf[j] ? 0 : v));
    const mx = Math.max(...w);
    w = w.map((v, j) => v + (inf[j] ? mx : 0));
    const numer = 2 * I.reduce((acc, v, j) => acc + v * w[j], 0) + 1e-5;
    const denom = g.reduce((acc, v, j) => acc + (v + pr[j]) * w[j], 0) + 1e-5;
    f.push(1 - numer / denom);
  }
  return f.reduce((a, b) => a + b, 0) / f.length;
}
