// A plain float64 oracle for multi-class cross-entropy and focal loss, written
// from SPEC §4 (crossEntropy, focal), §4c and docs/multiclass-losses.md: one
// pixel at a time, every class, no tricks. Gradients are analytic here and are
// themselves checked against central differences of `value` in the tests.

export type Layout = "NCHW" | "NHWC";

export interface McInput {
  N: number;
  C: number;
  S: number;
  layout: Layout;
  /** Probabilities or logits, in `layout`. */
  pred: ArrayLike<number>;
  /** Integer labels [N·S] (null for a dense target). */
  labels: ArrayLike<number> | null;
  /** Dense target in `layout` (null for labels). */
  dense: ArrayLike<number> | null;
}

export interface OracleCe {
  fromLogits?: boolean;
  classWeights?: number[] | null;
  labelSmoothing?: number;
  ignoreIndex?: number | null;
  reduction?: "mean" | "sum" | "none";
  renormalize?: boolean;
  countIgnored?: boolean;
}

export interface OracleFocal {
  fromLogits?: boolean;
  activation?: "softmax" | "sigmoid";
  /** Per class: softmax α_c; sigmoid α⁺_c (α⁻ = 1 − α⁺). null: no α. */
  alpha?: number[] | null;
  gamma?: number;
  ignoreIndex?: number | null;
  reduction?: "mean" | "sum" | "none";
  renormalize?: boolean;
  meanOver?: "pixels" | "elements";
}

const EPS = Math.fround(1e-7);
const HI = Math.fround(1 - EPS);

export function index(layout: Layout, C: number, S: number, n: number, c: number, s: number): number {
  return layout === "NCHW" ? (n * C + c) * S + s : (n * S + s) * C + c;
}

interface Pixel {
  x: number[]; // the prediction's values of the pixel
  t: number[] | null; // target row (null: ignored)
}

function pixel(inp: McInput, n: number, s: number, ignoreIndex: number | null): Pixel {
  const { C, S, layout } = inp;
  const x: number[] = [];
  for (let c = 0; c < C; c++) x.push(inp.pred[index(layout, C, S, n, c, s)]);
  if (inp.labels) {
    const y = inp.labels[n * S + s];
    if (ignoreIndex !== null && y === ignoreIndex) return { x, t: null };
    return { x, t: x.map((_, c) => (c === y ? 1 : 0)) };
  }
  const t: number[] = [];
  for (let c = 0; c < C; c++) t.push((inp.dense as ArrayLike<number>)[index(layout, C, S, n, c, s)]);
  return { x, t };
}

function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function logSoftmax(x: number[]): number[] {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
}

const clip = (v: number) => Math.min(Math.max(v, EPS), HI);

interface Result {
  value: number | Float64Array;
  grad: Float64Array;
}

/** Cross-entropy value and gradient (w.r.t. pred) under the given options. */
export function oracleCrossEntropy(inp: McInput, o: OracleCe = {}): Result {
  const { N, C, S, layout } = inp;
  const sm = o.labelSmoothing ?? 0;
  const w = o.classWeights ?? null;
  const ign = o.ignoreIndex ?? null;
  const terms = new Float64Array(N * S);
  const dterms = new Float64Array(N * C * S); // ∂ℓ_pixel/∂pred
  let den = 0;
  let kept = 0;
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const { x, t } = pixel(inp, n, s, ign);
      if (!t) continue;
      kept++;
      const wc = (c: number) => (w ? w[c] : 1);
      const ts = t.map((v) => v * (1 - sm) + sm / C);
      den += w ? t.reduce((a, v, c) => a + wc(c) * v, 0) : 1;
      let ell = 0;
      const d = new Array<number>(C).fill(0);
      if (o.fromLogits) {
        const lp = logSoftmax(x);
        const p = softmax(x);
        let W = 0;
        for (let c = 0; c < C; c++) {
          ell -= wc(c) * ts[c] * lp[c];
          W += wc(c) * ts[c];
        }
        for (let c = 0; c < C; c++) d[c] = p[c] * W - wc(c) * ts[c];
      } else {
        const sum = o.renormalize ? x.reduce((a, b) => a + b, 0) : 1;
        const q = x.map((v) => v / sum);
        const dq = new Array<number>(C).fill(0);
        for (let c = 0; c < C; c++) {
          ell -= wc(c) * ts[c] * Math.log(clip(q[c]));
          if (q[c] >= EPS && q[c] <= HI) dq[c] = (-wc(c) * ts[c]) / q[c];
        }
        if (o.renormalize) {
          const H = dq.reduce((a, v, c) => a + v * q[c], 0);
          for (let c = 0; c < C; c++) d[c] = (dq[c] - H) / sum;
        } else for (let c = 0; c < C; c++) d[c] = dq[c];
      }
      terms[n * S + s] = ell;
      for (let c = 0; c < C; c++) dterms[index(layout, C, S, n, c, s)] = d[c];
    }
  if (o.reduction === "none") return { value: terms, grad: dterms };
  const sum = terms.reduce((a, b) => a + b, 0);
  let scale = 1;
  if (o.reduction !== "sum") {
    const div = w ? den : o.countIgnored ? N * S : kept;
    scale = div > 0 ? 1 / div : 0;
  }
  return { value: sum * scale, grad: dterms.map((v) => v * scale) };
}

/** Focal value and gradient: softmax form per pixel, or sigmoid one-vs-rest per element. */
export function oracleFocal(inp: McInput, o: OracleFocal = {}): Result {
  const { N, C, S, layout } = inp;
  const gamma = o.gamma ?? 2;
  const ign = o.ignoreIndex ?? null;
  const sigmoid = o.activation === "sigmoid";
  const a = o.alpha ?? null;
  const terms = new Float64Array(sigmoid ? N * C * S : N * S);
  const dterms = new Float64Array(N * C * S);
  let kept = 0;
  // b^γ and its derivative γ·b^(γ−1), with 0^0 = 1 and the derivative 0 at b = 0
  const pw = (b: number) => (b === 0 ? (gamma === 0 ? 1 : 0) : b ** gamma);
  const dpw = (b: number) => (b === 0 || gamma === 0 ? 0 : gamma * b ** (gamma - 1));
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const { x, t } = pixel(inp, n, s, ign);
      if (!t) continue;
      kept++;
      if (sigmoid) {
        for (let c = 0; c < C; c++) {
          const tc = t[c];
          const p = o.fromLogits ? 1 / (1 + Math.exp(-x[c])) : x[c];
          // bce: exact from logits; clipped probabilities otherwise
          let bce: number;
          let dbce: number; // w.r.t. the input (logit or p)
          if (o.fromLogits) {
            bce = Math.max(x[c], 0) - x[c] * tc + Math.log1p(Math.exp(-Math.abs(x[c])));
            dbce = p - tc;
          } else {
            const pc = clip(p);
            bce = -(tc * Math.log(pc) + (1 - tc) * Math.log(1 - pc));
            dbce = p >= EPS && p <= HI ? (pc - tc) / (pc * (1 - pc)) : 0;
          }
          const pt = p * tc + (1 - p) * (1 - tc);
          const u = Math.max(1 - pt, 0);
          const m = pw(u);
          const dmdp = -dpw(u) * (2 * tc - 1);
          const dpdx = o.fromLogits ? p * (1 - p) : 1;
          const at = a ? a[c] * tc + (1 - a[c]) * (1 - tc) : 1;
          const k = index(layout, C, S, n, c, s);
          terms[k] = at * bce * m;
          dterms[k] = at * (dbce * m + bce * dmdp * dpdx);
        }
        continue;
      }
      let ell = 0;
      const d = new Array<number>(C).fill(0);
      if (o.fromLogits) {
        const lp = logSoftmax(x);
        const p = softmax(x);
        const h = new Array<number>(C).fill(0); // p_c·∂ℓ/∂p_c
        for (let c = 0; c < C; c++) {
          const ac = a ? a[c] : 1;
          const b = 1 - p[c];
          ell += -ac * t[c] * pw(b) * lp[c];
          h[c] = -ac * t[c] * (pw(b) - dpw(b) * p[c] * lp[c]);
        }
        const H = h.reduce((u, v) => u + v, 0);
        for (let c = 0; c < C; c++) d[c] = h[c] - p[c] * H;
      } else {
        const sum = o.renormalize ? x.reduce((u, v) => u + v, 0) : 1;
        const q = x.map((v) => v / sum);
        const dq = new Array<number>(C).fill(0);
        for (let c = 0; c < C; c++) {
          const ac = a ? a[c] : 1;
          const qc = clip(q[c]);
          const b = 1 - qc;
          ell += -ac * t[c] * pw(b) * Math.log(qc);
          if (q[c] >= EPS && q[c] <= HI) dq[c] = -ac * t[c] * (-dpw(b) * Math.log(qc) + pw(b) / qc);
        }
        if (o.renormalize) {
          const H = dq.reduce((u, v, c) => u + v * q[c], 0);
          for (let c = 0; c < C; c++) d[c] = (dq[c] - H) / sum;
        } else for (let c = 0; c < C; c++) d[c] = dq[c];
      }
      terms[n * S + s] = ell;
      for (let c = 0; c < C; c++) dterms[index(layout, C, S, n, c, s)] = d[c];
    }
  if (o.reduction === "none") return { value: terms, grad: dterms };
  const sum = terms.reduce((u, v) => u + v, 0);
  let scale = 1;
  if (o.reduction !== "sum") {
    const div = sigmoid || o.meanOver === "elements" ? kept * C : kept;
    scale = div > 0 ? 1 / div : 0;
  }
  return { value: sum * scale, grad: dterms.map((v) => v * scale) };
}
