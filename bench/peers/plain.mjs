// Plain-JavaScript peers: what a careful user writes by hand. Straight loops over
// Float32Arrays, float64 accumulators, Math.log / Math.pow, no tricks.
// Formulas: SPEC.md §4 and docs/binary-losses.md (defaults of the 'seed' preset).
//
// Every function takes (target, pred, shape) with shape = [N, H, W] and
// returns a number. bceLogits takes the logits in place of pred.

const EPS = Math.fround(1e-7); // Keras's epsilon as float32
const ONE_MINUS_EPS = Math.fround(1 - EPS); // 0.99999988
const SMOOTH = 1;

function imageLength(shape, size) {
  const n = shape[0];
  return [n, size / n];
}

export function bce(t, p) {
  const size = p.length;
  let acc = 0;
  for (let i = 0; i < size; i++) {
    let q = p[i];
    if (q < EPS) q = EPS;
    else if (q > ONE_MINUS_EPS) q = ONE_MINUS_EPS;
    const y = t[i];
    acc -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
  }
  return acc / size;
}

/** Logits form: max(x, 0) − x·t + ln(1 + e^(−|x|)). */
export function bceLogits(t, x) {
  const size = x.length;
  let acc = 0;
  for (let i = 0; i < size; i++) {
    const v = x[i];
    acc += Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return acc / size;
}

/** Per image: I = Σtp, St = Σt, Sp = Σp. Returns Float64Array [I0, St0, Sp0, I1, …]. */
function regionSums(t, p, shape) {
  const [n, len] = imageLength(shape, p.length);
  const sums = new Float64Array(3 * n);
  for (let img = 0; img < n; img++) {
    let inter = 0;
    let st = 0;
    let sp = 0;
    const end = (img + 1) * len;
    for (let i = img * len; i < end; i++) {
      const a = t[i];
      const b = p[i];
      inter += a * b;
      st += a;
      sp += b;
    }
    sums[3 * img] = inter;
    sums[3 * img + 1] = st;
    sums[3 * img + 2] = sp;
  }
  return sums;
}

function meanOfTerms(sums, term) {
  const n = sums.length / 3;
  let acc = 0;
  for (let img = 0; img < n; img++) acc += term(sums[3 * img], sums[3 * img + 1], sums[3 * img + 2]);
  return acc / n;
}

/** Dice loss, per image, smooth 1, mean of 1 − D. */
export function dice(t, p, shape) {
  return meanOfTerms(regionSums(t, p, shape), (i, st, sp) => 1 - (2 * i + SMOOTH) / (st + sp + SMOOTH));
}

/** Jaccard loss, per image, smooth 1. */
export function jaccard(t, p, shape) {
  return meanOfTerms(regionSums(t, p, shape), (i, st, sp) => 1 - (i + SMOOTH) / (st + sp - i + SMOOTH));
}

/** Tversky loss, per image, α (false positives) = β (false negatives) = 0.5, smooth 1. */
export function tversky(t, p, shape, alpha = 0.5, beta = 0.5) {
  return meanOfTerms(regionSums(t, p, shape), (i, st, sp) => 1 - (i + SMOOTH) / (i + alpha * (sp - i) + beta * (st - i) + SMOOTH));
}

/** The seed's focal loss: pt1/pt0 clipped to [1e-3, 0.999], γ = 0.75, α = 0.25, sum. */
export function focal(t, p, _shape, gamma = 0.75, alpha = 0.25) {
  const lo = 1e-3;
  const hi = 0.999;
  const size = p.length;
  let acc = 0;
  for (let i = 0; i < size; i++) {
    const y = t[i];
    const q = p[i];
    const pt1 = Math.min(Math.max(y === 1 ? q : 1, lo), hi);
    const pt0 = Math.min(Math.max(y === 0 ? q : 0, lo), hi);
    acc -= alpha * (1 - pt1) ** gamma * Math.log(pt1);
    acc -= (1 - alpha) * pt0 ** gamma * Math.log(1 - pt0);
  }
  return acc;
}

/** bce + Dice loss (per image). Two passes, as a user composing the two functions would. */
export function bceDice(t, p, shape) {
  return bce(t, p, shape) + dice(t, p, shape);
}

/** name → (target, input, shape) => number; `input` is `logits` for bceLogits, else `pred`. */
export const losses = { bce, bceLogits, dice, jaccard, tversky, focal, bceDice };
