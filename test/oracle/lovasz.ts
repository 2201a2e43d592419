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
