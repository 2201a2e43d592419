/**
 * Float64 reference ("oracle") for the boundary-weighted losses.
 *
 * Written from SPEC.md §4 (rows boundaryWeights, weightedBce, weightedDice,
 * weightedBceDice), ANCHORS.md B7 and docs/weighted-losses.md with plain
 * float64 loops and no code shared with src/ or assembly/. The pooling is the
 * naive O(H·W·kh·kw) window mean, so it checks the running-sum kernels; the
 * gradients are analytic and test/weighted.test.ts checks them against
 * central differences of these values.
 *
 * Conventions: t, p, w are ArrayLike<number> of N·H·W elements, image-major and
 * row-major; p are probabilities, or logits x with `fromLogits`.
 */

export type MapMode = "exp" | "band";

export interface MapOpts {
  kernel?: number | [number, number];
  mode?: MapMode;
  normalize?: boolean;
}

/** TF avg_pool, stride 1, 'SAME': window rows i−⌊(kh−1)/2⌋ … +kh−1 clipped to the image, mean over the cells inside. */
export function avgPoolSame(t: ArrayLike<number>, N: number, H: number, W: number, kh: number, kw: number): Float64Array {
  const a = new Float64Array(N * H * W);
  const top = Math.floor((kh - 1) / 2);
  const left = Math.floor((kw - 1) / 2);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let sum = 0;
        let count = 0;
        for (let r = i - top; r < i - top + kh; r++) {
          if (r < 0 || r >= H) continue;
          for (let c = j - left; c < j - left + kw; c++) {
            if (c < 0 || c >= W) continue;
            sum += t[(n * H + r) * W + c];
            count++;
          }
        }
        a[(n * H + i) * W + j] = sum / count;
      }
    }
  }
  return a;
}

/** The seed's weight map: exp 5·e^(−5|a−0.5|), or band 1 + 2·[0.005 < a < 0.995] on float32 averages; then w·(count/Σw). */
export function boundaryWeights(t: ArrayLike<number>, N: number, H: number, W: number, opts: MapOpts = {}): Float64Array {
  const mode = opts.mode ?? "exp";
  const k = opts.kernel ?? (mode === "band" ? 11 : 50);
  const [kh, kw] = typeof k === "number" ? [k, k] : k;
  const a = avgPoolSame(t, N, H, W, kh, kw);
  const w = new Float64Array(a.length);
  const lo = Math.fround(0.005);
  const hi = Math.fround(0.995);
  for (let i = 0; i < a.length; i++) {
    if (mode === "band") {
      const a32 = Math.fround(a[i]);
      w[i] = 1 + 2 * (a32 > lo && a32 < hi ? 1 : 0);
    } else {
      w[i] = 5 * Math.exp(-5 * Math.abs(a[i] - 0.5));
    }
  }
  if (opts.normalize === false) return w;
  let sum = 0;
  for (const v of w) sum += v;
  const scale = w.length / sum;
  for (let i = 0; i < w.length; i++) w[i] *= scale;
  return w;
}

export interface LossOpts {
  fromLogits?: boolean;
  reduction?: "mean" | "sum" | "none";
  /** weightedBce: 'positive' (TF pos_weight) or 'all' */
  style?: "positive" | "all";
  smooth?: number;
  /** weightedDice: W = w^power */
  power?: number;
}

export interface Result {
  /** the loss (or per-element terms for 'none') */
  value: number | Float64Array;
  /** d(value)/d(pred) of a scalar value, else null */
  grad: Float64Array | null;
}

const EPS = Math.fround(1e-7);
const ONE_MINUS_EPS = Math.fround(1 - EPS);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Weighted BCE, the Carvana / TF form: x = ln(p'/(1−p')), p' = clip(p, ε, 1−ε);
 * ℓ = (1−t)·x + (1 + (w−1)·t)·(ln(1+e^(−|x|)) + max(−x, 0)) ('positive'), or
 * ℓ = w·((1−t)·x + ln(1+e^(−|x|)) + max(−x, 0)) ('all'); 'mean' = Σℓ / Σw.
 * Logits are used as x directly.
 */
export function weightedBce(t: ArrayLike<number>, p: ArrayLike<number>, w: ArrayLike<number>, opts: LossOpts = {}): Result {
  const n = p.length;
  const terms = new Float64Array(n);
  const dl = new Float64Array(n); // dℓ/dpred
  let sumW = 0;
  for (let i = 0; i < n; i++) {
    let x: number;
    let dxdp: number;
    if (opts.fromLogits) {
      x = p[i];
      dxdp = 1;
    } else {
      const pc = Math.min(Math.max(p[i], EPS), ONE_MINUS_EPS);
      x = Math.log(pc / (1 - pc));
      dxdp = p[i] >= EPS && p[i] <= ONE_MINUS_EPS ? 1 / (pc * (1 - pc)) : 0;
    }
    const sp = Math.log(1 + Math.exp(-Math.abs(x))) + Math.max(-x, 0); // softplus(−x)
    const dsp = -sigmoid(-x);
    if (opts.style === "all") {
      terms[i] = w[i] * ((1 - t[i]) * x + sp);
      dl[i] = w[i] * (1 - t[i] + dsp) * dxdp;
    } else {
      const c = 1 + (w[i] - 1) * t[i];
      terms[i] = (1 - t[i]) * x + c * sp;
      dl[i] = (1 - t[i] + c * dsp) * dxdp;
    }
    sumW += w[i];
  }
  if (opts.reduction === "none") return { value: terms, grad: null };
  let sumL = 0;
  for (const v of terms) sumL += v;
  const k = opts.reduction === "sum" ? 1 : 1 / sumW;
  return { value: sumL * k, grad: dl.map((d) => d * k) };
}

/** 1 − (2·ΣW·t·p + s)/(ΣW·t + ΣW·p + s) over everything, W = w^power (power 0: plain Dice). */
export function weightedDice(t: ArrayLike<number>, p: ArrayLike<number>, w: ArrayLike<number> | null, opts: LossOpts = {}): Result {
  const n = p.length;
  const s = opts.smooth ?? 1;
  const power = opts.power ?? 1;
  const prob = new Float64Array(n);
  const wq = new Float64Array(n);
  let I = 0;
  let T = 0;
  let P = 0;
  for (let i = 0; i < n; i++) {
    prob[i] = opts.fromLogits ? sigmoid(p[i]) : p[i];
    wq[i] = w === null ? 1 : w[i] ** power;
    I += wq[i] * t[i] * prob[i];
    T += wq[i] * t[i];
    P += wq[i] * prob[i];
  }
  const num = 2 * I + s;
  const den = T + P + s;
  const loss = 1 - num / den;
  if (opts.reduction === "none") return { value: Float64Array.of(loss), grad: null };
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dDdp = (2 * wq[i] * t[i] * den - num * wq[i]) / (den * den);
    const dpdx = opts.fromLogits ? prob[i] * (1 - prob[i]) : 1;
    grad[i] = -dDdp * dpdx;
  }
  return { value: loss, grad };
}

export interface BceDiceOpts extends MapOpts {
  fromLogits?: boolean;
  reduction?: "mean" | "sum";
  style?: "positive" | "all";
  smooth?: number;
  /** 0: plain Dice (default); 1, 2: weighted by w or w² */
  dicePower?: number;
  /** a precomputed map instead of boundaryWeights(t) */
  weight?: ArrayLike<number>;
}

/** weightedBce(t, p, boundaryWeights(t)) + the global Dice loss (plain by default). */
export function weightedBceDice(
  t: ArrayLike<number>,
  p: ArrayLike<number>,
  N: number,
  H: number,
  W: number,
  opts: BceDiceOpts = {},
): Result {
  const w = opts.weight ?? boundaryWeights(t, N, H, W, opts);
  const bce = weightedBce(t, p, w, { fromLogits: opts.fromLogits, reduction: opts.reduction, style: opts.style });
  const q = opts.dicePower ?? 0;
  const dice = weightedDice(t, p, q === 0 ? null : w, { fromLogits: opts.fromLogits, smooth: opts.smooth, power: q });
  const bg = bce.grad as Float64Array;
  const dg = dice.grad as Float64Array;
  return { value: (bce.value as number) + (dice.value as number), grad: bg.map((g, i) => g + dg[i]) };
}
