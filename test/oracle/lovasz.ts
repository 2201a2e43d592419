// A plain float64 oracle for the binary Lovasz family, written from SPEC §4:
// comparison sort (stable, by index on ties), cumulative sums, relu.

/** J_i = 1 − (G − cumsum(gt)_i)/(G + cumsum(1−gt)_i); g_0 = J_0, g_i = J_i − J_{i−1}. */
export function lovaszGrad(gt: ArrayLike<number>): number[] {
  const G = Array.from(gt).reduce((a, b) => a + b, 0);
  const g: number[] = [];
  let inter = 0;
  let union = 0;
  let prev = 0;
  for (let i = 0; i < gt.length; i++) {
    inter += gt[i];
    union += 1 - gt[i];
    const J = 1 - (G - inter) / (G + union);
    g.push(i === 0 ? J : J - prev);
    prev = J;
  }
  return g;
}

/** One image's hinge loss and d loss / d x (0 at dropped pixels). */
export function hingeFlat(t: ArrayLike<number>, x: ArrayLike<number>, keep: (i: number) => boolean): { loss: number; grad: number[] } {
  const grad = new Array<number>(x.length).fill(0);
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if (keep(i)) idx.push(i);
  if (idx.length === 0) return { loss: 0, grad };
  const err = (i: number) => 1 - x[i] * (2 * t[i] - 1);
  idx.sort((a, b) => err(b) - err(a) || a - b);
  const g = lovaszGrad(idx.map((i) => t[i]));
  let loss = 0;
  idx.forEach((i, r) => {
    const e = err(i);
    if (e > 0) {
      loss += e * g[r];
      grad[i] = -(2 * t[i] - 1) * g[r];
    }
  });
  return { loss, grad };
}

export interface HingeOpts {
  perImage?: boolean;
  ignoreIndex?: number | null;
  symmetric?: boolean;
}

/** Per-segment losses and the gradient of their mean. */
export function lovaszHinge(
  t: ArrayLike<number>,
  x: ArrayLike<number>,
  N: number,
  o: HingeOpts = {},
): { losses: number[]; grad: number[] } {
  const perImage = o.perImage ?? true;
  const nSeg = perImage ? N : 1;
  const len = x.length / nSeg;
  const losses: number[] = [];
  const grad: number[] = [];
  for (let j = 0; j < nSeg; j++) {
    const ts = Array.from(t).slice(j * len, (j + 1) * len);
    const xs = Array.from(x).slice(j * len, (j + 1) * len);
    const keep = (i: number) => o.ignoreIndex == null || ts[i] !== o.ignoreIndex;
    const a = hingeFlat(ts, xs, keep);
    if (o.symmetric) {
      const b = hingeFlat(
        ts.map((v, i) => (keep(i) ? 1 - v : v)),
        xs.map((v) => -v),
        keep,
      );
      losses.push((a.loss + b.loss) / 2);
      for (let i = 0; i < len; i++) grad.push((a.grad[i] - b.grad[i]) / 2 / nSeg);
    } else {
      losses.push(a.loss);
      for (let i = 0; i < len; i++) grad.push(a.grad[i] / nSeg);
    }
  }
  return { losses, grad };
}

// ---------------------------------------------------------------- Lovasz-Softmax

export interface SoftmaxOpts {
  layout?: "NCHW" | "NHWC";
  fromLogits?: boolean;
  classes?: "present" | "all" | number[];
  perImage?: boolean;
  ignoreIndex?: number | null;
}

/**
 * The reference algorithm in float64: per segment, flatten the valid pixels;
 * per class fg = [label = c], e = |fg − p_c|, comparison sort (descending,
 * ties: foreground first, then pixel order), loss_c = Σ e·lovaszGrad(fg);
 * a segment's loss is the mean over the classes used (0 if none). Returns the
 * class terms per segment (NaN for a skipped class), the loss (mean over
 * segments) and its gradient w.r.t. the prediction (through the softmax with
 * fromLogits).
 */
export function lovaszSoftmax(
  labels: ArrayLike<number>,
  pred: ArrayLike<number>,
  N: number,
  C: number,
  o: SoftmaxOpts = {},
): { terms: number[][]; loss: number; grad: number[] } {
  const S = pred.length / (N * C);
  const nhwc = o.layout === "NHWC";
  const at = (n: number, c: number, s: number) => (nhwc ? (n * S + s) * C + c : (n * C + c) * S + s);
  // probabilities in float64
  const p = new Array<number>(pred.length);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      if (!o.fromLogits) {
        for (let c = 0; c < C; c++) p[at(n, c, s)] = pred[at(n, c, s)];
        continue;
      }
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, pred[at(n, c, s)]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(pred[at(n, c, s)] - m);
      for (let c = 0; c < C; c++) p[at(n, c, s)] = Math.exp(pred[at(n, c, s)] - m) / z;
    }
  }
  const perImage = o.perImage ?? false;
  const classes = o.classes ?? "present";
  const list = classes === "present" || classes === "all" ? Array.from({ length: C }, (_, c) => c) : classes;
  const segs = perImage ? Array.from({ length: N }, (_, n) => [n]) : [Array.from({ length: N }, (_, n) => n)];
  const dLdp = new Array<number>(pred.length).fill(0);
  const terms: number[][] = [];
  let loss = 0;
  for (const images of segs) {
    const px: [number, number][] = [];
    for (const n of images) for (let s = 0; s < S; s++) if (o.ignoreIndex == null || labels[n * S + s] !== o.ignoreIndex) px.push([n, s]);
    const row: number[] = [];
    const grads: number[][] = [];
    for (const c of list) {
      const fg = px.map(([n, s]) => (labels[n * S + s] === c ? 1 : 0));
      if (classes === "present" && !fg.some((v) => v === 1)) {
        row.push(Number.NaN);
        grads.push([]);
        continue;
      }
      const err = px.map(([n, s], i) => Math.abs(fg[i] - p[at(n, c, s)]));
      const order = px.map((_, i) => i).sort((a, b) => err[b] - err[a] || fg[b] - fg[a] || a - b);
      const g = lovaszGrad(order.map((i) => fg[i]));
      let term = 0;
      const gi = new Array<number>(px.length).fill(0);
      order.forEach((i, r) => {
        term += err[i] * g[r];
        if (err[i] > 0) gi[i] = fg[i] ? -g[r] : g[r];
      });
      row.push(term);
      grads.push(gi);
    }
    const used = row.filter((v) => !Number.isNaN(v));
    const segLoss = used.length === 0 ? 0 : used.reduce((a, b) => a + b, 0) / used.length;
    loss += segLoss / segs.length;
    terms.push(row);
    list.forEach((c, j) => {
      if (Number.isNaN(row[j])) return;
      px.forEach(([n, s], i) => {
        dLdp[at(n, c, s)] += grads[j][i] / used.length / segs.length;
      });
    });
  }
  if (!o.fromLogits) return { terms, loss, grad: dLdp };
  // through the softmax: dL/dx_c = p_c·(dL/dp_c − Σ_k p_k·dL/dp_k)
  const grad = new Array<number>(pred.length).fill(0);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += p[at(n, c, s)] * dLdp[at(n, c, s)];
      for (let c = 0; c < C; c++) grad[at(n, c, s)] = p[at(n, c, s)] * (dLdp[at(n, c, s)] - dot);
    }
  }
  return { terms, loss, grad };
}
