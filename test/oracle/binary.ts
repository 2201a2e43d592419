/**
 * Float64 reference ("oracle") for segloss's binary losses.
 *
 * Written straight from SPEC.md §3–§4c and docs/binary-losses.md, with plain
 * float64 loops: no SIMD, no tricks, and no code shared with src/ or assembly/.
 * The library's kernels are tested against these numbers, and
 * test/oracle-selfcheck.test.ts tests this file itself (anchor numbers, hand-worked
 * examples, and every analytic gradient against central finite differences).
 *
 * Conventions
 * - t, p: ArrayLike<number> of N·L elements, image-major (image n owns [n·L, (n+1)·L)).
 * - p are probabilities, or logits x when `fromLogits` (then p = σ(x) and the
 *   gradient is w.r.t. x).
 * - `value` is a number for 'mean'/'sum' and a Float64Array for 'none'
 *   (per element for bce/focal, per term for the region losses, NaN for a
 *   skipped term). `grad` is d(value)/d(pred) of the scalar value, or null for 'none'.
 *
 * Choices where docs/binary-losses.md is silent (see also the report that came
 * with this file):
 * - `epsilon` for bce is rounded to float32 like the default (ε = fround(e),
 *   upper clip fround(1 − ε)), so `{ epsilon: 1e-7 }` equals the default exactly.
 *   The region losses use `epsilon` as given (float64).
 * - 'mean' over zero kept elements (everything ignored) is 0 with a zero gradient,
 *   like the region losses' "no term left → 0".
 * - Seed-form focal: `labelSmoothing`, `posWeight`, `epsilon` are not used (only the
 *   standard form has a bce inside); `alpha: null` drops both α and (1 − α).
 *   `weight` multiplies the focal element loss in both forms.
 * - `squared` only exists for Dice and Jaccard (the doc says so); Tversky and
 *   focal Tversky ignore it. focal Tversky ignores `log`.
 * - Presets pin the options listed in the doc's table; each explicit option
 *   overrides only itself (keras3 + `variant: 'seed'` keeps γ = 2, alpha null, 'mean').
 * - Combined losses resolve the preset per part (bce column for bce, region column
 *   for Dice, focal column for focal), so keras3's Dice ε never leaks into the bce.
 *   Explicit options go to both parts. Without an explicit `reduction` each part
 *   uses its own default (focalDice: seed focal 'sum' + Dice 'mean').
 *   bceLogDice and focalDice use `log: true` unless `log` is given explicitly.
 */

export type Reduction = "mean" | "sum" | "none";
export type EmptyTarget = "smooth" | "zero" | "max" | "skip";
export type Preset = "seed" | "keras3" | "tfkeras2";

export interface BinaryOpts {
  /** predictions are logits; sigmoid inside, gradient w.r.t. the logits */
  fromLogits?: boolean;
  reduction?: Reduction;
  /** bce: multiplies the t term; scalar or per-pixel (N·L) */
  posWeight?: number | ArrayLike<number>;
  /** bce/focal: per-pixel multiplier of the element loss (N·L) */
  weight?: ArrayLike<number>;
  /** bce: t ← t(1−σ) + σ/2 */
  labelSmoothing?: number;
  /** target value whose elements are dropped everywhere */
  ignoreIndex?: number;
  /** bce: clip ε (default fround(1e-7)); region: denominator ε (default none) */
  epsilon?: number;
  /** bce: 'add' = tf.keras 2 double ε; region: 'clamp' max(den, e) | 'add' den + e */
  epsilonMode?: "clamp" | "add";
  /** region losses: one term per image (default true) or one for the batch */
  perImage?: boolean;
  /** same as perImage ('perImage' ⇔ true, 'batch' ⇔ false); perImage wins if both */
  aggregate?: "perImage" | "batch";
  smooth?: number;
  smoothNumerator?: number;
  smoothDenominator?: number;
  /** Dice/Jaccard: denominator Σt² + Σp² */
  squared?: boolean;
  /** region loss term −ln(max(score, 1e-7)) instead of 1 − score */
  log?: boolean;
  /** L1 form of the intersection: I = (Σt + Σp − Σ|t − p|)/2 */
  softLabel?: boolean;
  emptyTarget?: EmptyTarget;
  /** tversky: FP weight (0.5); focal: α (0.25), null drops α */
  alpha?: number | null;
  /** tversky: FN weight (0.5) */
  beta?: number;
  /** focal: γ (seed 0.75, standard 2); focalTversky: γ (0.75) */
  gamma?: number;
  /** focal form */
  variant?: "seed" | "standard";
  /** focalDice: weight of the focal part (10) */
  focalWeight?: number;
  preset?: Preset;
}

export interface OracleResult {
  value: number | Float64Array;
  grad: Float64Array | null;
}

/** Keras's ε as float32. */
export const KERAS_EPSILON = Math.fround(1e-7); // 1.0000000116860974e-7
/** The seed focal clip bounds. */
export const FOCAL_LO = 1e-3;
export const FOCAL_HI = 0.999;
/** −ln clamps the score at this value. */
export const LOG_CLAMP = 1e-7;

// ---------------------------------------------------------------------------
// small helpers

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Checks the sizes and returns L, the number of elements per image. */
function imageLength(t: ArrayLike<number>, p: ArrayLike<number>, N: number): number {
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`oracle: N must be a positive integer, got ${N}`);
  if (t.length !== p.length) throw new RangeError(`oracle: target has ${t.length} elements, pred ${p.length}`);
  if (p.length === 0 || p.length % N !== 0) {
    throw new RangeError(`oracle: pred length ${p.length} is not a positive multiple of N = ${N}`);
  }
  return p.length / N;
}

/** A scalar or per-pixel option as a function of the element index. */
function perPixel(v: number | ArrayLike<number> | undefined, n: number, name: string, dflt: number): (i: number) => number {
  if (v === undefined) return () => dflt;
  if (typeof v === "number") return () => v;
  if (v.length !== n) throw new RangeError(`oracle: ${name} has ${v.length} elements, expected ${n}`);
  return (i) => v[i];
}

function isIgnored(t: number, ignoreIndex: number | undefined): boolean {
  return ignoreIndex !== undefined && t === ignoreIndex;
}

/** Reduces element losses (already 0 at ignored elements) and their derivatives. */
function reduceElements(loss: Float64Array, dloss: Float64Array, kept: number, reduction: Reduction): OracleResult {
  if (reduction === "none") return { value: loss, grad: null };
  let sum = 0;
  for (let i = 0; i < loss.length; i++) sum += loss[i];
  const grad = new Float64Array(loss.length);
  if (reduction === "sum") {
    for (let i = 0; i < loss.length; i++) grad[i] = dloss[i];
    return { value: sum, grad };
  }
  if (kept === 0) return { value: 0, grad };
  for (let i = 0; i < loss.length; i++) grad[i] = dloss[i] / kept;
  return { value: sum / kept, grad };
}

function checkReduction(r: string): Reduction {
  if (r !== "mean" && r !== "sum" && r !== "none") throw new RangeError(`oracle: unknown reduction ${r}`);
  return r;
}

// ---------------------------------------------------------------------------
// bce

interface BceSettings {
  fromLogits: boolean;
  lo: number; // clip lower bound ε
  hi: number; // clip upper bound fround(1 − ε)
  addEps: boolean; // tf.keras 2 double ε
  labelSmoothing: number;
}

function bceSettings(opts: BinaryOpts): BceSettings {
  const preset = opts.preset ?? "seed";
  const mode = opts.epsilonMode ?? (preset === "tfkeras2" ? "add" : "clamp");
  const lo = Math.fround(opts.epsilon ?? 1e-7);
  return {
    fromLogits: opts.fromLogits ?? false,
    lo,
    hi: Math.fround(1 - lo),
    addEps: mode === "add",
    labelSmoothing: opts.labelSmoothing ?? 0,
  };
}

/**
 * One bce element (t already smoothed), without the per-pixel weight.
 * Returns [ℓ, dℓ/d(input)] with input = p, or x when fromLogits.
 */
function bceElement(t: number, input: number, wPos: number, s: BceSettings): [number, number] {
  if (s.fromLogits) {
    const x = input;
    // ℓ = (1−t)·x + (1 + (w₊−1)·t)·softplus(−x),  softplus(−x) = ln(1+e^(−|x|)) + max(−x, 0)
    const c = 1 + (wPos - 1) * t;
    const softplusNeg = Math.log1p(Math.exp(-Math.abs(x))) + Math.max(-x, 0);
    const loss = (1 - t) * x + c * softplusNeg;
    // d softplus(−x)/dx = −σ(−x)
    const d = 1 - t - c * sigmoid(-x);
    return [loss, d];
  }
  const p = input;
  const pc = Math.min(Math.max(p, s.lo), s.hi);
  const inside = p >= s.lo && p <= s.hi ? 1 : 0; // TF clip_by_value gradient
  const e = s.addEps ? s.lo : 0;
  const loss = -(wPos * t * Math.log(pc + e) + (1 - t) * Math.log(1 - pc + e));
  const d = inside * (-(wPos * t) / (pc + e) + (1 - t) / (1 - pc + e));
  return [loss, d];
}

/** Binary cross-entropy (Keras clip on probabilities, or the stable logits form). */
export function bce(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  imageLength(t, p, N);
  const n = p.length;
  const s = bceSettings(opts);
  const reduction = checkReduction(opts.reduction ?? "mean");
  const posW = perPixel(opts.posWeight, n, "posWeight", 1);
  const w = perPixel(opts.weight, n, "weight", 1);
  const loss = new Float64Array(n);
  const dloss = new Float64Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (isIgnored(t[i], opts.ignoreIndex)) continue;
    kept++;
    const ti = t[i] * (1 - s.labelSmoothing) + s.labelSmoothing / 2;
    const [l, d] = bceElement(ti, p[i], posW(i), s);
    loss[i] = w(i) * l;
    dloss[i] = w(i) * d;
  }
  return reduceElements(loss, dloss, kept, reduction);
}

// ---------------------------------------------------------------------------
// focal

/** −α(1−pt1)^γ ln pt1 − (1−α) pt0^γ ln(1−pt0), with the seed's clipped placeholders. */
function focalSeedElement(t: number, input: number, fromLogits: boolean, aPos: number, aNeg: number, gamma: number): [number, number] {
  const p = fromLogits ? sigmoid(input) : input;
  const dpdIn = fromLogits ? p * (1 - p) : 1;
  const clip = (v: number) => Math.min(Math.max(v, FOCAL_LO), FOCAL_HI);
  const inside = p >= FOCAL_LO && p <= FOCAL_HI ? 1 : 0;
  const raw1 = t === 1 ? p : 1;
  const raw0 = t === 0 ? p : 0;
  const pt1 = clip(raw1);
  const pt0 = clip(raw0);
  const loss = -aPos * (1 - pt1) ** gamma * Math.log(pt1) - aNeg * pt0 ** gamma * Math.log(1 - pt0);
  let d = 0;
  if (t === 1 && inside) {
    // d/dp [−α(1−p)^γ ln p] = αγ(1−p)^(γ−1) ln p − α(1−p)^γ / p
    const dPow = gamma === 0 ? 0 : gamma * (1 - pt1) ** (gamma - 1);
    d += aPos * dPow * Math.log(pt1) - (aPos * (1 - pt1) ** gamma) / pt1;
  }
  if (t === 0 && inside) {
    // d/dp [−(1−α) p^γ ln(1−p)] = −(1−α)[γ p^(γ−1) ln(1−p) − p^γ/(1−p)]
    const dPow = gamma === 0 ? 0 : gamma * pt0 ** (gamma - 1);
    d += -aNeg * (dPow * Math.log(1 - pt0) - pt0 ** gamma / (1 - pt0));
  }
  return [loss, d * dpdIn];
}

/** ℓ = bce(t, p)·(1−p_t)^γ·α_t (torchvision / Keras BinaryFocalCrossentropy). */
function focalStandardElement(
  t: number,
  input: number,
  wPos: number,
  s: BceSettings,
  alpha: number | null,
  gamma: number,
): [number, number] {
  const [b, db] = bceElement(t, input, wPos, s);
  const p = s.fromLogits ? sigmoid(input) : input;
  const dpdIn = s.fromLogits ? p * (1 - p) : 1;
  const pt = p * t + (1 - p) * (1 - t);
  const m = (1 - pt) ** gamma;
  // dm/dp = −γ(1−p_t)^(γ−1)·(2t − 1)
  const dm = gamma === 0 ? 0 : -gamma * (1 - pt) ** (gamma - 1) * (2 * t - 1);
  const at = alpha === null ? 1 : alpha * t + (1 - alpha) * (1 - t);
  const loss = b * m * at;
  const d = at * (db * m + b * dm * dpdIn);
  return [loss, d];
}

interface FocalSettings {
  variant: "seed" | "standard";
  gamma: number;
  alpha: number | null;
  reduction: Reduction;
}

function focalSettings(opts: BinaryOpts): FocalSettings {
  const k3 = (opts.preset ?? "seed") === "keras3";
  const variant = opts.variant ?? (k3 ? "standard" : "seed");
  if (variant !== "seed" && variant !== "standard") throw new RangeError(`oracle: unknown focal variant ${variant}`);
  const standardish = k3 || variant === "standard";
  return {
    variant,
    gamma: opts.gamma ?? (standardish ? 2 : 0.75),
    alpha: opts.alpha !== undefined ? opts.alpha : k3 ? null : 0.25,
    reduction: checkReduction(opts.reduction ?? (standardish ? "mean" : "sum")),
  };
}

/** Binary focal loss: the seed form (default) or the standard (Lin et al.) form. */
export function focal(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  imageLength(t, p, N);
  const n = p.length;
  const f = focalSettings(opts);
  const s = bceSettings(opts);
  const posW = perPixel(opts.posWeight, n, "posWeight", 1);
  const w = perPixel(opts.weight, n, "weight", 1);
  const loss = new Float64Array(n);
  const dloss = new Float64Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (isIgnored(t[i], opts.ignoreIndex)) continue;
    kept++;
    let l: number;
    let d: number;
    if (f.variant === "seed") {
      const aPos = f.alpha === null ? 1 : f.alpha;
      const aNeg = f.alpha === null ? 1 : 1 - f.alpha;
      [l, d] = focalSeedElement(t[i], p[i], s.fromLogits, aPos, aNeg, f.gamma);
    } else {
      const ti = t[i] * (1 - s.labelSmoothing) + s.labelSmoothing / 2;
      [l, d] = focalStandardElement(ti, p[i], posW(i), s, f.alpha, f.gamma);
    }
    loss[i] = w(i) * l;
    dloss[i] = w(i) * d;
  }
  return reduceElements(loss, dloss, kept, f.reduction);
}

// ---------------------------------------------------------------------------
// region losses: dice, jaccard, tversky, focalTversky

type RegionKind = "dice" | "jaccard" | "tversky" | "focalTversky";

interface RegionSettings {
  kind: RegionKind;
  fromLogits: boolean;
  perImage: boolean;
  snr: number;
  sdr: number;
  epsilon: number | undefined;
  epsAdd: boolean;
  squared: boolean;
  log: boolean;
  soft: boolean;
  empty: EmptyTarget;
  ignoreIndex: number | undefined;
  alpha: number;
  beta: number;
  gamma: number;
  reduction: Reduction;
}

function regionSettings(kind: RegionKind, opts: BinaryOpts): RegionSettings {
  const k3 = (opts.preset ?? "seed") === "keras3";
  let perImage = !k3;
  if (opts.aggregate !== undefined) perImage = opts.aggregate === "perImage";
  if (opts.perImage !== undefined) perImage = opts.perImage;
  const s = opts.smooth ?? (k3 ? 0 : 1);
  const empty = opts.emptyTarget ?? "smooth";
  if (!["smooth", "zero", "max", "skip"].includes(empty)) throw new RangeError(`oracle: unknown emptyTarget ${empty}`);
  const tv = kind === "tversky" || kind === "focalTversky";
  return {
    kind,
    fromLogits: opts.fromLogits ?? false,
    perImage,
    snr: opts.smoothNumerator ?? s,
    sdr: opts.smoothDenominator ?? s,
    epsilon: opts.epsilon ?? (k3 ? 1e-7 : undefined),
    epsAdd: (opts.epsilonMode ?? (k3 ? "add" : "clamp")) === "add",
    squared: !tv && (opts.squared ?? false),
    log: kind !== "focalTversky" && (opts.log ?? false),
    soft: opts.softLabel ?? false,
    empty,
    ignoreIndex: opts.ignoreIndex,
    alpha: tv && typeof opts.alpha === "number" ? opts.alpha : 0.5,
    beta: tv && opts.beta !== undefined ? opts.beta : 0.5,
    gamma: kind === "focalTversky" && opts.gamma !== undefined ? opts.gamma : 0.75,
    reduction: checkReduction(opts.reduction ?? "mean"),
  };
}

/**
 * Evaluates the region loss (or, with `coefficient`, the score 1 − loss term with
 * log off) per term, reduces, and differentiates.
 */
function region(t: ArrayLike<number>, input: ArrayLike<number>, N: number, cfg: RegionSettings, coefficient: boolean): OracleResult {
  const L = imageLength(t, input, N);
  const n = input.length;
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) p[i] = cfg.fromLogits ? sigmoid(input[i]) : input[i];

  const nTerms = cfg.perImage ? N : 1;
  const termLen = cfg.perImage ? L : n;
  const terms = new Float64Array(nTerms);
  const keptTerm = new Uint8Array(nTerms);
  // per term: dTerm/dI and dTerm/dB (B = Sp, or Sp2 when squared)
  const dTdI = new Float64Array(nTerms);
  const dTdB = new Float64Array(nTerms);

  for (let k = 0; k < nTerms; k++) {
    const start = k * termLen;
    const end = start + termLen;
    let St = 0;
    let Sp = 0;
    let St2 = 0;
    let Sp2 = 0;
    let Itp = 0;
    let Sabs = 0;
    for (let i = start; i < end; i++) {
      if (isIgnored(t[i], cfg.ignoreIndex)) continue;
      St += t[i];
      Sp += p[i];
      St2 += t[i] * t[i];
      Sp2 += p[i] * p[i];
      Itp += t[i] * p[i];
      Sabs += Math.abs(t[i] - p[i]);
    }
    const I = cfg.soft ? (St + Sp - Sabs) / 2 : Itp;
    const A = cfg.squared ? St2 : St;
    const B = cfg.squared ? Sp2 : Sp;

    // score S = num/den as a function of (I, A, B)
    let num: number;
    let dnumdI: number;
    let den: number;
    let ddendI: number;
    let ddendB: number;
    if (cfg.kind === "dice") {
      num = 2 * I + cfg.snr;
      dnumdI = 2;
      den = A + B + cfg.sdr;
      ddendI = 0;
      ddendB = 1;
    } else if (cfg.kind === "jaccard") {
      num = I + cfg.snr;
      dnumdI = 1;
      den = A + B - I + cfg.sdr;
      ddendI = -1;
      ddendB = 1;
    } else {
      // Tversky: den = I + α·FP + β·FN + s, FP = Sp − I, FN = St − I
      num = I + cfg.snr;
      dnumdI = 1;
      den = I + cfg.alpha * (B - I) + cfg.beta * (A - I) + cfg.sdr;
      ddendI = 1 - cfg.alpha - cfg.beta;
      ddendB = cfg.alpha;
    }
    if (cfg.epsilon !== undefined) {
      if (cfg.epsAdd) {
        den = den + cfg.epsilon;
      } else if (den < cfg.epsilon) {
        den = cfg.epsilon; // clamped: the denominator is constant here
        ddendI = 0;
        ddendB = 0;
      }
    }
    const S = num / den;
    const dSdI = (dnumdI * den - num * ddendI) / (den * den);
    const dSdB = (-num * ddendB) / (den * den);

    const isEmpty = St === 0;
    if (isEmpty && cfg.empty !== "smooth") {
      if (cfg.empty === "skip") {
        terms[k] = NaN;
        continue;
      }
      keptTerm[k] = 1;
      const lossIsMax = cfg.empty === "max";
      if (coefficient) terms[k] = lossIsMax ? 0 : 1;
      else if (!lossIsMax) terms[k] = 0;
      else terms[k] = cfg.log ? -Math.log(LOG_CLAMP) : 1; // focalTversky: 1^γ = 1
      continue; // constant term: zero gradient
    }
    keptTerm[k] = 1;

    // term = f(S)
    let term: number;
    let dfdS: number;
    if (coefficient) {
      term = S;
      dfdS = 1;
    } else if (cfg.kind === "focalTversky") {
      // at T = 1 (the minimum) the derivative of (1 − T)^γ is taken as 0, also for γ < 1
      const b = Math.max(0, 1 - S);
      term = b ** cfg.gamma;
      dfdS = cfg.gamma === 0 || b === 0 ? 0 : -cfg.gamma * b ** (cfg.gamma - 1);
    } else if (cfg.log) {
      if (S > LOG_CLAMP) {
        term = -Math.log(S);
        dfdS = -1 / S;
      } else {
        term = -Math.log(LOG_CLAMP);
        dfdS = 0;
      }
    } else {
      term = 1 - S;
      dfdS = -1;
    }
    terms[k] = term;
    dTdI[k] = dfdS * dSdI;
    dTdB[k] = dfdS * dSdB;
  }

  if (cfg.reduction === "none") return { value: terms, grad: null };

  let count = 0;
  let sum = 0;
  for (let k = 0; k < nTerms; k++) {
    if (!keptTerm[k]) continue;
    count++;
    sum += terms[k];
  }
  const grad = new Float64Array(n);
  if (count === 0) return { value: 0, grad };
  const scale = cfg.reduction === "mean" ? 1 / count : 1;
  const value = cfg.reduction === "mean" ? sum / count : sum;

  for (let k = 0; k < nTerms; k++) {
    if (!keptTerm[k]) continue;
    const start = k * termLen;
    for (let i = start; i < start + termLen; i++) {
      if (isIgnored(t[i], cfg.ignoreIndex)) continue;
      // ∂I/∂p_i: t_i (product) or (1 − sign(p_i − t_i))/2 (L1 form, sign(0) = 0)
      const dIdp = cfg.soft ? (1 - Math.sign(p[i] - t[i])) / 2 : t[i];
      // ∂B/∂p_i: 1, or 2p_i when squared
      const dBdp = cfg.squared ? 2 * p[i] : 1;
      let g = scale * (dTdI[k] * dIdp + dTdB[k] * dBdp);
      if (cfg.fromLogits) g *= p[i] * (1 - p[i]);
      grad[i] = g;
    }
  }
  return { value, grad };
}

/** Dice loss: 1 − D (or −ln D with `log`), D = (2I + s_nr)/(St + Sp + s_dr). */
export function dice(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  return region(t, p, N, regionSettings("dice", opts), false);
}

/** Mean Dice score over the kept terms (1 − loss term with log off; 'zero' → 1, 'max' → 0). */
export function diceCoefficient(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  return region(t, p, N, regionSettings("dice", opts), true);
}

/** Jaccard loss: 1 − J, J = (I + s_nr)/(St + Sp − I + s_dr). */
export function jaccard(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  return region(t, p, N, regionSettings("jaccard", opts), false);
}

/** Tversky loss: 1 − T, T = (I + s_nr)/(I + α·FP + β·FN + s_dr). */
export function tversky(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  return region(t, p, N, regionSettings("tversky", opts), false);
}

/** Focal Tversky loss: (1 − T)^γ per term, then the mean. */
export function focalTversky(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  return region(t, p, N, regionSettings("focalTversky", opts), false);
}

// ---------------------------------------------------------------------------
// combined losses

function noNone(opts: BinaryOpts, name: string): void {
  if (opts.reduction === "none") throw new RangeError(`oracle: ${name} does not accept reduction 'none' (call the parts)`);
}

function addScaled(a: OracleResult, wa: number, b: OracleResult): OracleResult {
  const ga = a.grad as Float64Array;
  const gb = b.grad as Float64Array;
  const grad = new Float64Array(ga.length);
  for (let i = 0; i < ga.length; i++) grad[i] = wa * ga[i] + gb[i];
  return { value: wa * (a.value as number) + (b.value as number), grad };
}

/** bce + Dice loss. */
export function bceDice(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  noNone(opts, "bceDice");
  return addScaled(bce(t, p, N, opts), 1, dice(t, p, N, opts));
}

/** bce + Dice loss with log: the seed's bce_logdice, bce − ln D. */
export function bceLogDice(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  noNone(opts, "bceLogDice");
  return addScaled(bce(t, p, N, opts), 1, dice(t, p, N, { ...opts, log: opts.log ?? true }));
}

/** focalWeight·focal + Dice loss with log (the seed's mixed loss). */
export function focalDice(t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts: BinaryOpts = {}): OracleResult {
  noNone(opts, "focalDice");
  const fw = opts.focalWeight ?? 10;
  return addScaled(focal(t, p, N, opts), fw, dice(t, p, N, { ...opts, log: opts.log ?? true }));
}
