// Vector (f32x4) and scalar f32 transcendentals for the loss kernels.
//
// Every v128 function has a scalar twin (suffix 1 instead of 4) that performs
// the same float32 operations in the same order, so a tail element gets
// bit-for-bit the value its lane would have had. Range reduction is by bit
// manipulation (no tables, no gathers); the v128 functions need `--enable
// simd` only when actually called, so a scalar-only build compiles this file.
//
// Max relative errors against float64 Math.* ("exh." = every float32 input
// checked; others from the dense sweeps of test/math.test.ts). Results in the
// float32 subnormal range are within that bound·|r| + 2^-150 (absolute).
//
//   log4/log1          x > 0          8.2e-8  exh. (incl. subnormal x; exact 0 at 1)
//   log1p4/log1p1      x > −1         8.2e-8  exh. (use log1p(−p) for ln(1−p))
//   exp4/exp1          any x          8.2e-8  exh. (0 below −103.97, +Inf above 88.72)
//   pow4/pow1          x ≥ 0          9.0e-8  x∈[1e-3,1], y∈[0,3]; ≤ 3.6e-7 anywhere
//   sigmoid4/sigmoid1  any x          1.8e-7  exh.
//   softplusNeg4/…1    any x          1.3e-7  exh. (ln(1+e^−|x|))
//   softplus4/…1       any x          1.3e-7  (ln(1+e^x))
// float32 ulp ≈ 6e-8 to 1.2e-7 relative, so these are 1–2 ulp (sigmoid ≤ 3).

// ---------------------------------------------------------------- constants

// ln 2 split with a 12-bit head, so k·LN2_HI is exact for |k| < 4096.
const LN2_HI: f32 = 0.693145751953125; // 0x3f317200
const LN2_LO: f32 = 1.428606765330187e-6;
// musl logf minimax coefficients for 2·atanh(s)/s − 2 − … (s = f/(2+f)).
const LG1: f32 = 0.66666662693023682; // 0xaaaaaa.0p-24
const LG2: f32 = 0.40000972151756287; // 0xccce13.0p-25
const LG3: f32 = 0.28498786687850952; // 0x91e9ee.0p-25
const LG4: f32 = 0.24279078841209412; // 0xf89e26.0p-26
// Bits: adding SQRT_OFF to a float's bits moves the exponent boundary from
// 1.0 to √½ (0x3f3504f3), so the reduced mantissa lands in [√½, √2).
const SQRT_OFF: i32 = 0x004afb0d; // 0x3f800000 - 0x3f3504f3
const SQRT_HALF_BITS: i32 = 0x3f3504f3;
const MANT_MASK: i32 = 0x007fffff;
const FLT_MIN: f32 = 1.17549435e-38; // smallest normal, 2^-126
const TWO23: f32 = 8388608.0; // 2^23, scales subnormals to normal

// exp: n = round(x·log2 e) by the 1.5·2^23 trick, r = x − n·ln2 in two
// Cody–Waite steps (C1 has 9 bits: n·C1 is exact for |n| < 2^15).
export const LOG2E: f32 = 1.4426950408889634;
export const MAGIC: f32 = 12582912.0; // 1.5·2^23
export const MAGIC_BITS: i32 = 0x4b400000;
export const EXP_C1: f32 = 0.693359375;
export const EXP_C2: f32 = -2.12194440054690583e-4;
// Below EXP_LO the result is 0, above EXP_HI it is +Inf (after rounding).
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;
// Cephes expf polynomial: e^r ≈ 1 + r + r²·P(r), |r| ≤ ln2/2.
export const EP0: f32 = 1.9875691500e-4;
export const EP1: f32 = 1.3981999507e-3;
export const EP2: f32 = 8.3334519073e-3;
export const EP3: f32 = 4.1665795894e-2;
export const EP4: f32 = 1.6666665459e-1;
export const EP5: f32 = 5.0000001201e-1;
// Veltkamp split factor 2^12 + 1 (f32 → 12 + 12 bits).
const SPLIT: f32 = 4097.0;
// Bound for the low word of a double-float exponent (see __exp4hl).
const LO_CLAMP: f32 = 1e-4;

// ============================================================ v128 (f32x4)
// Valid only with `--enable simd`; guard call sites with ASC_FEATURE_SIMD.

/** ln(1+f)+k·ln2 from the reduced f ∈ [√½−1, √2−1] (also fine to 0.5); lo is
 *  added with the small terms (k·LN2_LO, plus any correction). Internal. */
// @ts-ignore: decorator
@inline export function __logcore4(f: v128, dk: v128, lo: v128): v128 {
  const s = f32x4.div(f, f32x4.add(f32x4.splat(2.0), f));
  const z = f32x4.mul(s, s);
  const w = f32x4.mul(z, z);
  const t1 = f32x4.mul(w, f32x4.add(f32x4.splat(LG2), f32x4.mul(w, f32x4.splat(LG4))));
  const t2 = f32x4.mul(z, f32x4.add(f32x4.splat(LG1), f32x4.mul(w, f32x4.splat(LG3))));
  const R = f32x4.add(t2, t1);
  const hfsq = f32x4.mul(f32x4.mul(f32x4.splat(0.5), f), f);
  let r = f32x4.add(f32x4.mul(s, f32x4.add(hfsq, R)), lo);
  r = f32x4.sub(r, hfsq);
  r = f32x4.add(r, f);
  return f32x4.add(r, f32x4.mul(dk, f32x4.splat(LN2_HI)));
}

/** e^(hi+lo) with hi clamped to [−104, 89] and the tiny low word lo
 *  (used only if useLo) clamped to ±1e-4, which changes no in-range result.
 *  Internal: exp4 (useLo = false) and pow4. */
// @ts-ignore: decorator
@inline export function __exp4hl(hi: v128, lo: v128, useLo: bool): v128 {
  // pmax/pmin with x first keep NaN (x < c is false for NaN).
  const x = f32x4.pmin(f32x4.pmax(hi, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const kf = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
  const nf = f32x4.sub(kf, f32x4.splat(MAGIC));
  const n = i32x4.sub(kf, i32x4.splat(MAGIC_BITS));
  let r = f32x4.sub(x, f32x4.mul(nf, f32x4.splat(EXP_C1)));
  r = f32x4.sub(r, f32x4.mul(nf, f32x4.splat(EXP_C2)));
  if (useLo) {
    const l = f32x4.pmin(f32x4.pmax(lo, f32x4.splat(-LO_CLAMP)), f32x4.splat(LO_CLAMP));
    r = f32x4.add(r, l);
  }
  let p = f32x4.add(f32x4.mul(f32x4.splat(EP0), r), f32x4.splat(EP1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EP2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EP3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EP4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EP5));
  p = f32x4.mul(p, f32x4.mul(r, r));
  p = f32x4.add(f32x4.add(p, r), f32x4.splat(1.0));
  // 2^n in two normal factors, so n ∈ [−150, 128] scales with one rounding.
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** e^x, any x: ≤ 8.2e-8 rel; 0 for x < −103.97, +Inf for x > 88.72, NaN → NaN. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  return __exp4hl(x, x, false);
}

/** Lanes that are not positive normal finite floats (0, subnormal, <0, Inf, NaN). */
// @ts-ignore: decorator
@inline function __notNormalPos4(x: v128): v128 {
  return i32x4.ge_u(i32x4.sub(x, i32x4.splat(0x00800000)), i32x4.splat(0x7f000000));
}

/** ln x, x > 0 (incl. subnormal): ≤ 8.2e-8 rel, exact 0 at 1, full relative
 *  accuracy near 1 (f = m − 1 is exact); ln 0 = −Inf, ln(<0) = NaN, ln Inf = Inf. */
// @ts-ignore: decorator
@inline export function log4(x: v128): v128 {
  const bad = __notNormalPos4(x);
  const anyBad = v128.any_true(bad);
  let xs = x;
  let kadj = i32x4.splat(0);
  if (anyBad) {
    const sub = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.lt(x, f32x4.splat(FLT_MIN)));
    xs = v128.bitselect(f32x4.mul(x, f32x4.splat(TWO23)), x, sub);
    kadj = v128.and(sub, i32x4.splat(-23));
  }
  const ix = i32x4.add(xs, i32x4.splat(SQRT_OFF));
  const k = i32x4.add(i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(0x7f)), kadj);
  const m = i32x4.add(v128.and(ix, i32x4.splat(MANT_MASK)), i32x4.splat(SQRT_HALF_BITS));
  const f = f32x4.sub(m, f32x4.splat(1.0));
  const dk = f32x4.convert_i32x4_s(k);
  let r = __logcore4(f, dk, f32x4.mul(dk, f32x4.splat(LN2_LO)));
  if (anyBad) {
    // 0 → −Inf; √ maps <0 and NaN to NaN, Inf to Inf.
    const fb = v128.bitselect(f32x4.splat(-Infinity), f32x4.sqrt(x), f32x4.eq(x, f32x4.splat(0)));
    const sub = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.lt(x, f32x4.splat(FLT_MIN)));
    r = v128.bitselect(fb, r, v128.andnot(bad, sub));
  }
  return r;
}

/** ln x for positive normal finite x only (no special-value branch): the same
 *  values as log4 there. For clipped inputs, e.g. probabilities in [1e-7, 1]. */
// @ts-ignore: decorator
@inline export function logNormal4(x: v128): v128 {
  const ix = i32x4.add(x, i32x4.splat(SQRT_OFF));
  const k = i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(0x7f));
  const m = i32x4.add(v128.and(ix, i32x4.splat(MANT_MASK)), i32x4.splat(SQRT_HALF_BITS));
  const f = f32x4.sub(m, f32x4.splat(1.0));
  const dk = f32x4.convert_i32x4_s(k);
  return __logcore4(f, dk, f32x4.mul(dk, f32x4.splat(LN2_LO)));
}

/** ln(1+x), x > −1: ≤ 8.2e-8 rel over the whole domain (musl log1pf scheme,
 *  exact rounding correction); ln(1−p) = log1p4(−p) stays accurate for small p;
 *  log1p(−1) = −Inf, x < −1 → NaN. */
// @ts-ignore: decorator
@inline export function log1p4(x: v128): v128 {
  const u = f32x4.add(f32x4.splat(1.0), x);
  const iu = i32x4.add(u, i32x4.splat(SQRT_OFF));
  const k = i32x4.sub(i32x4.shr_s(iu, 23), i32x4.splat(0x7f));
  const m = i32x4.add(v128.and(iu, i32x4.splat(MANT_MASK)), i32x4.splat(SQRT_HALF_BITS));
  // k == 0: f = x exactly, no correction. Otherwise c = (1+x − u)/u exactly
  // (Fast2Sum), dropped for k ≥ 25 where it is below half an ulp.
  const k0 = i32x4.eq(k, i32x4.splat(0));
  const kBig = i32x4.ge_s(k, i32x4.splat(25));
  const cNum = v128.bitselect(
    f32x4.sub(f32x4.splat(1.0), f32x4.sub(u, x)),
    f32x4.sub(x, f32x4.sub(u, f32x4.splat(1.0))),
    i32x4.ge_s(k, i32x4.splat(2)),
  );
  const c = v128.andnot(f32x4.div(cNum, u), v128.or(k0, kBig));
  const f = v128.bitselect(x, f32x4.sub(m, f32x4.splat(1.0)), k0);
  const dk = f32x4.convert_i32x4_s(k);
  let r = __logcore4(f, dk, f32x4.add(f32x4.mul(dk, f32x4.splat(LN2_LO)), c));
  // x = −1 → −Inf, x < −1 → NaN (u ≤ 0 gives garbage otherwise); Inf → Inf.
  // (u = 1+x is never subnormal.)
  const bad = __notNormalPos4(u);
  if (v128.any_true(bad)) {
    const fb = v128.bitselect(f32x4.splat(-Infinity), f32x4.sqrt(u), f32x4.eq(u, f32x4.splat(0)));
    r = v128.bitselect(fb, r, bad);
  }
  return r;
}

/** x^y = e^(y·ln x) for x ≥ 0, |y| ≤ 1e30: ≤ 9.0e-8 rel for x ∈ [1e-3, 1],
 *  y ∈ [0, 3]; ≤ 3.6e-7 anywhere (ln x and y·ln x are carried as float-float).
 *  0^y = 0 (y > 0), 1 (y = 0), Inf (y < 0); x^0 = 1; negative x → NaN. */
// @ts-ignore: decorator
@inline export function pow4(x: v128, y: v128): v128 {
  const bad = __notNormalPos4(x);
  const anyBad = v128.any_true(bad);
  let xs = x;
  let kadj = i32x4.splat(0);
  if (anyBad) {
    const sub = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.lt(x, f32x4.splat(FLT_MIN)));
    xs = v128.bitselect(f32x4.mul(x, f32x4.splat(TWO23)), x, sub);
    kadj = v128.and(sub, i32x4.splat(-23));
  }
  const ix = i32x4.add(xs, i32x4.splat(SQRT_OFF));
  const k = i32x4.add(i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(0x7f)), kadj);
  const m = i32x4.add(v128.and(ix, i32x4.splat(MANT_MASK)), i32x4.splat(SQRT_HALF_BITS));
  const f = f32x4.sub(m, f32x4.splat(1.0));
  const dk = f32x4.convert_i32x4_s(k);
  // ln x = t + f − hfsq + small, summed as hi + lo (Fast2Sum twice).
  const s = f32x4.div(f, f32x4.add(f32x4.splat(2.0), f));
  const z = f32x4.mul(s, s);
  const w = f32x4.mul(z, z);
  const t1 = f32x4.mul(w, f32x4.add(f32x4.splat(LG2), f32x4.mul(w, f32x4.splat(LG4))));
  const t2 = f32x4.mul(z, f32x4.add(f32x4.splat(LG1), f32x4.mul(w, f32x4.splat(LG3))));
  const R = f32x4.add(t2, t1);
  const hfsq = f32x4.mul(f32x4.mul(f32x4.splat(0.5), f), f);
  const t = f32x4.mul(dk, f32x4.splat(LN2_HI)); // exact
  const a = f32x4.add(t, f);
  const ea = f32x4.sub(f, f32x4.sub(a, t));
  const b = f32x4.sub(a, hfsq);
  const eb = f32x4.neg(f32x4.add(hfsq, f32x4.sub(b, a)));
  // hfsq's own rounding error, exactly: f·f = ff + eff (Dekker), hfsq = ½ff.
  const cf = f32x4.mul(f, f32x4.splat(SPLIT));
  const fh = f32x4.sub(cf, f32x4.sub(cf, f));
  const fl = f32x4.sub(f, fh);
  const ff = f32x4.mul(f, f);
  let eff = f32x4.sub(f32x4.mul(fh, fh), ff);
  eff = f32x4.add(eff, f32x4.mul(f32x4.add(fh, fh), fl));
  eff = f32x4.add(eff, f32x4.mul(fl, fl));
  let small = f32x4.add(f32x4.mul(s, f32x4.add(hfsq, R)), f32x4.mul(dk, f32x4.splat(LN2_LO)));
  small = f32x4.sub(small, f32x4.mul(f32x4.splat(0.5), eff));
  const lo0 = f32x4.add(f32x4.add(ea, eb), small);
  const H = f32x4.add(b, lo0);
  const L = f32x4.sub(lo0, f32x4.sub(H, b));
  // y·(H + L) as p + plo: Veltkamp/Dekker exact product y·H.
  const cy = f32x4.mul(y, f32x4.splat(SPLIT));
  const yh = f32x4.sub(cy, f32x4.sub(cy, y));
  const yl = f32x4.sub(y, yh);
  const cH = f32x4.mul(H, f32x4.splat(SPLIT));
  const Hh = f32x4.sub(cH, f32x4.sub(cH, H));
  const Hl = f32x4.sub(H, Hh);
  const p = f32x4.mul(y, H);
  let e = f32x4.sub(f32x4.mul(yh, Hh), p);
  e = f32x4.add(e, f32x4.mul(yh, Hl));
  e = f32x4.add(e, f32x4.mul(yl, Hh));
  e = f32x4.add(e, f32x4.mul(yl, Hl));
  const plo = f32x4.add(e, f32x4.mul(y, L));
  let r = __exp4hl(p, plo, true);
  if (anyBad) {
    // 0, Inf, <0, NaN: ln is −Inf/Inf/NaN/NaN; e^(y·ln x) by sign, y = 0 → 1.
    const sub = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.lt(x, f32x4.splat(FLT_MIN)));
    const lnx = v128.bitselect(f32x4.splat(-Infinity), f32x4.sqrt(x), f32x4.eq(x, f32x4.splat(0)));
    const yl2 = f32x4.mul(y, lnx);
    let fb = v128.andnot(yl2, f32x4.lt(yl2, f32x4.splat(0)));
    fb = v128.bitselect(f32x4.splat(1.0), fb, f32x4.eq(y, f32x4.splat(0)));
    r = v128.bitselect(fb, r, v128.andnot(bad, sub));
  }
  return r;
}

/** 1/(1+e^−x), any x (stable for ±large, no overflow): ≤ 1.8e-7 rel;
 *  for x ≪ 0 the result is e^x down to subnormals. 1−σ(x) = sigmoid4(−x). */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const e = exp4(v128.or(x, f32x4.splat(-0.0))); // e^−|x| ∈ (0, 1]
  const num = v128.bitselect(e, f32x4.splat(1.0), f32x4.lt(x, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(f32x4.splat(1.0), e));
}

/** ln(1+e^−|x|) ∈ [0, ln2], any x: ≤ 1.3e-7 rel (no cancellation for large
 *  |x|: returns ≈ e^−|x|, underflowing like exp4). */
// @ts-ignore: decorator
@inline export function softplusNeg4(x: v128): v128 {
  const e = exp4(v128.or(x, f32x4.splat(-0.0))); // e^−|x| ∈ [0, 1]
  // e < ½: f = e (k = 0); e ≥ ½: f = (e−1)/2 exactly (k = 1).
  const hi = f32x4.ge(e, f32x4.splat(0.5));
  const f = v128.bitselect(f32x4.mul(f32x4.sub(e, f32x4.splat(1.0)), f32x4.splat(0.5)), e, hi);
  const dk = v128.and(hi, f32x4.splat(1.0));
  return __logcore4(f, dk, f32x4.mul(dk, f32x4.splat(LN2_LO)));
}

/** ln(1+e^x) = max(x,0) + ln(1+e^−|x|), any x: ≤ 1.3e-7 rel. */
// @ts-ignore: decorator
@inline export function softplus4(x: v128): v128 {
  return f32x4.add(f32x4.pmax(x, f32x4.splat(0)), softplusNeg4(x));
}

// ============================================================ scalar twins
// Same operations in the same order as the v128 forms: bit-identical results.

// @ts-ignore: decorator
@inline export function __logcore1(f: f32, dk: f32, lo: f32): f32 {
  const s = f / (<f32>2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * LG4);
  const t2 = z * (LG1 + w * LG3);
  const R = t2 + t1;
  const hfsq = <f32>0.5 * f * f;
  let r = s * (hfsq + R) + lo;
  r = r - hfsq;
  r = r + f;
  return r + dk * LN2_HI;
}

// @ts-ignore: decorator
@inline export function __exp1hl(hi: f32, lo: f32, useLo: bool): f32 {
  let x = hi < EXP_LO ? EXP_LO : hi; // NaN stays NaN
  x = EXP_HI < x ? EXP_HI : x;
  const kf = x * LOG2E + MAGIC;
  const nf = kf - MAGIC;
  const n = reinterpret<i32>(kf) - MAGIC_BITS;
  let r = x - nf * EXP_C1;
  r = r - nf * EXP_C2;
  if (useLo) {
    let l = lo < -LO_CLAMP ? -LO_CLAMP : lo;
    l = LO_CLAMP < l ? LO_CLAMP : l;
    r = r + l;
  }
  let p = EP0 * r + EP1;
  p = p * r + EP2;
  p = p * r + EP3;
  p = p * r + EP4;
  p = p * r + EP5;
  p = p * (r * r);
  p = p + r + <f32>1.0;
  const n1 = n >> 1;
  const n2 = n - n1;
  return p * reinterpret<f32>((n1 + 127) << 23) * reinterpret<f32>((n2 + 127) << 23);
}

/** e^x, any x: ≤ 8.2e-8 rel; 0 for x < −103.97, +Inf for x > 88.72. */
// @ts-ignore: decorator
@inline export function exp1(x: f32): f32 {
  return __exp1hl(x, 0, false);
}

// @ts-ignore: decorator
@inline function __notNormalPos1(x: f32): bool {
  return <u32>(reinterpret<i32>(x) - 0x00800000) >= <u32>0x7f000000;
}

/** ln x, x > 0 (incl. subnormal): ≤ 8.2e-8 rel; ln 0 = −Inf, ln(<0) = NaN. */
// @ts-ignore: decorator
@inline export function log1(x: f32): f32 {
  let xs = x;
  let kadj = 0;
  if (__notNormalPos1(x)) {
    if (x > 0 && x < FLT_MIN) {
      xs = x * TWO23;
      kadj = -23;
    } else {
      return x == 0 ? -Infinity : sqrt<f32>(x);
    }
  }
  const ix = reinterpret<i32>(xs) + SQRT_OFF;
  const k = (ix >> 23) - 0x7f + kadj;
  const f = reinterpret<f32>((ix & MANT_MASK) + SQRT_HALF_BITS) - <f32>1.0;
  const dk = <f32>k;
  return __logcore1(f, dk, dk * LN2_LO);
}

/** ln(1+x), x > −1: ≤ 8.2e-8 rel; use log1p1(−p) for ln(1−p). */
// @ts-ignore: decorator
@inline export function log1p1(x: f32): f32 {
  const u = <f32>1.0 + x;
  if (__notNormalPos1(u)) {
    return u == 0 ? -Infinity : sqrt<f32>(u);
  }
  const iu = reinterpret<i32>(u) + SQRT_OFF;
  const k = (iu >> 23) - 0x7f;
  let f: f32, c: f32;
  if (k == 0) {
    f = x;
    c = 0;
  } else {
    f = reinterpret<f32>((iu & MANT_MASK) + SQRT_HALF_BITS) - <f32>1.0;
    c = k >= 2 ? <f32>1.0 - (u - x) : x - (u - <f32>1.0);
    c = k >= 25 ? <f32>0 : c / u;
  }
  const dk = <f32>k;
  return __logcore1(f, dk, dk * LN2_LO + c);
}

/** x^y = e^(y·ln x), x ≥ 0, |y| ≤ 1e30: ≤ 9.0e-8 rel focal range, ≤ 3.6e-7 anywhere. */
// @ts-ignore: decorator
@inline export function pow1(x: f32, y: f32): f32 {
  let xs = x;
  let kadj = 0;
  if (__notNormalPos1(x)) {
    if (x > 0 && x < FLT_MIN) {
      xs = x * TWO23;
      kadj = -23;
    } else {
      if (y == 0) return 1;
      const yl2 = y * (x == 0 ? -Infinity : sqrt<f32>(x));
      return yl2 < 0 ? <f32>0 : yl2;
    }
  }
  const ix = reinterpret<i32>(xs) + SQRT_OFF;
  const k = (ix >> 23) - 0x7f + kadj;
  const f = reinterpret<f32>((ix & MANT_MASK) + SQRT_HALF_BITS) - <f32>1.0;
  const dk = <f32>k;
  const s = f / (<f32>2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * LG4);
  const t2 = z * (LG1 + w * LG3);
  const R = t2 + t1;
  const hfsq = <f32>0.5 * f * f;
  const t = dk * LN2_HI;
  const a = t + f;
  const ea = f - (a - t);
  const b = a - hfsq;
  const eb = -(hfsq + (b - a));
  const cf = f * SPLIT;
  const fh = cf - (cf - f);
  const fl = f - fh;
  const ff = f * f;
  let eff = fh * fh - ff;
  eff = eff + (fh + fh) * fl;
  eff = eff + fl * fl;
  let small = s * (hfsq + R) + dk * LN2_LO;
  small = small - <f32>0.5 * eff;
  const lo0 = ea + eb + small;
  const H = b + lo0;
  const L = lo0 - (H - b);
  const cy = y * SPLIT;
  const yh = cy - (cy - y);
  const yl = y - yh;
  const cH = H * SPLIT;
  const Hh = cH - (cH - H);
  const Hl = H - Hh;
  const p = y * H;
  let e = yh * Hh - p;
  e = e + yh * Hl;
  e = e + yl * Hh;
  e = e + yl * Hl;
  const plo = e + y * L;
  return __exp1hl(p, plo, true);
}

/** 1/(1+e^−x), any x: ≤ 1.8e-7 rel. */
// @ts-ignore: decorator
@inline export function sigmoid1(x: f32): f32 {
  const e = exp1(-abs<f32>(x));
  const num = x < 0 ? e : <f32>1.0;
  return num / (<f32>1.0 + e);
}

/** ln(1+e^−|x|), any x: ≤ 1.3e-7 rel. */
// @ts-ignore: decorator
@inline export function softplusNeg1(x: f32): f32 {
  const e = exp1(-abs<f32>(x));
  const hi = e >= <f32>0.5;
  const f = hi ? (e - <f32>1.0) * <f32>0.5 : e;
  const dk: f32 = hi ? 1 : 0;
  return __logcore1(f, dk, dk * LN2_LO);
}

/** ln(1+e^x), any x: ≤ 1.3e-7 rel. */
// @ts-ignore: decorator
@inline export function softplus1(x: f32): f32 {
  return (x < 0 ? <f32>0 : x) + softplusNeg1(x);
}

// ---------------------------------------------------------------- Σ ln as ln Π

// A sum of logarithms of factors in [2^−24, 1] taken as the logarithm of a
// running f32x4 product: a multiply per vector instead of a log. The caller
// keeps the product in [1, 2) by moving its exponent out into an integer sum
// every PRODUCT_RUN factors (four factors ≥ 2^−24 keep a value in [1, 2)
// normal), and takes lnOfProduct once at the end. Each multiply rounds once
// (2^−24 relative, as one log does), so the sum stays within SPEC §3.
export const PRODUCT_RUN: i32 = 4;

/** The biased exponent field of each lane (the caller adds them up; lnOfProduct takes the bias off). */
// @ts-ignore: decorator
@inline export function productExponent(prod: v128): v128 {
  return i32x4.shr_u(prod, 23);
}

/** Each lane with its exponent field replaced by 1.0's: back to [1, 2). `mant`: 0x007fffff lanes, `one`: 1.0 lanes. */
// @ts-ignore: decorator
@inline export function productMantissa(prod: v128, mant: v128, one: v128): v128 {
  return v128.or(v128.and(prod, mant), one);
}

/** Σ over the lanes of ln(prod·2^(exp − 127·renorms)), in float64. */
// @ts-ignore: decorator
@inline export function lnOfProduct(prod: v128, exp: v128, renorms: i32): f64 {
  const e =
    <f64>i32x4.extract_lane(exp, 0) + <f64>i32x4.extract_lane(exp, 1) + <f64>i32x4.extract_lane(exp, 2) + <f64>i32x4.extract_lane(exp, 3);
  const m =
    Math.log(<f64>f32x4.extract_lane(prod, 0)) + Math.log(<f64>f32x4.extract_lane(prod, 1)) +
    Math.log(<f64>f32x4.extract_lane(prod, 2)) + Math.log(<f64>f32x4.extract_lane(prod, 3));
  return m + (e - <f64>(4 * 127) * <f64>renorms) * Math.LN2;
}
