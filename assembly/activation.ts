// Softmax over classes and per-channel sigmoid for multi-class chunks, and
// their backward passes. A chunk is class-major: class c of pixel i sits at
// base + 4·(c·stride + i), so the vector loops run over 4 pixels at a time and
// the class loop is the outer one (one exp per element, one log per pixel).
//
// The forward passes return the largest |logit| bit pattern, one integer max
// per vector: the caller checks it against the largest finite float and
// finds the offending range only when that check fails.

import { EXP_C1, EXP_C2, LOG2E, log1, log4, sigmoid1, sigmoid4 } from "./math";

// ------------------------------------------------ e^x for x ≤ 0 (softmax)
// softmax takes e^(x − max) with x − max ≤ 0, so its exp needs no overflow
// path and one scale step: with MAGIC_B = 1.5·2^23 + 127, kf = x·log2 e +
// MAGIC_B is an integer whose low bits are n + 127 (n = round(x·log2 e) ∈
// [−127, 0]), so kf's bits shifted left by 23 are 2^n as a float — and 0 for
// n = −127, which flushes results below about −87.68 (< 2^-126 absolute).
// The reduction is math.ts's exp (Cody–Waite in two steps); the polynomial
// is one degree shorter than the Cephes expf polynomial there (the one
// multiply-add less is ~8 % of a softmax from logits): e^r ≈ 1 + r + r²·P(r),
// P of degree 4, a minimax fit of relative error on |r| ≤ ln2/2 (3.1e-9 in
// exact arithmetic, below float32 rounding). ≤ 8.2e-8 relative for results
// ≥ 2^-126 over every float32 in [−87.33, 0] (8.12e-8 at −16.287), as with
// the Cephes polynomial; test/diceCE.test.ts checks every float32 in [−104, 0].
// The vector constants live in static memory: V8 rebuilds a v128.const
// inside a loop with three instructions at every use; softmaxForward loads
// them once, before its loops.
const XLO: f32 = -88.0; // clamp: n = round(−88·log2 e) = −127 gives 0
const MAGIC_B: f32 = 12583039.0; // 1.5·2^23 + 127
// P(r) = SP0 + SP1·r + … + SP4·r⁴
const SP0: f32 = 0.4999999403953552;
const SP1: f32 = 0.1666652113199234;
const SP2: f32 = 0.04166838899254799;
const SP3: f32 = 0.008368730545043945;
const SP4: f32 = 0.0013814570847898722;

const KEXP: usize = memory.data<f32>(
  [
    XLO, XLO, XLO, XLO,
    LOG2E, LOG2E, LOG2E, LOG2E,
    MAGIC_B, MAGIC_B, MAGIC_B, MAGIC_B,
    EXP_C1, EXP_C1, EXP_C1, EXP_C1,
    EXP_C2, EXP_C2, EXP_C2, EXP_C2,
    SP4, SP4, SP4, SP4,
    SP3, SP3, SP3, SP3,
    SP2, SP2, SP2, SP2,
    SP1, SP1, SP1, SP1,
    SP0, SP0, SP0, SP0,
    1, 1, 1, 1,
  ],
  16,
);
const KABS: usize = memory.data<i32>([0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff], 16);

/** The i-th constant of expNonPosK4 (0 lo … 10 one), for callers that load them once before their loops. */
// @ts-ignore: decorator
@inline export function kexp(i: i32): v128 {
  return v128.load(KEXP + ((<usize>i) << 4));
}

/** e^x for x ≤ 0 with the constants passed in (loaded once by the caller). */
// @ts-ignore: decorator
@inline export function expNonPosK4(
  x: v128, lo: v128, l2e: v128, mg: v128, c1: v128, c2: v128,
  e4: v128, e3: v128, e2: v128, e1: v128, e0: v128, one: v128,
): v128 {
  const xc = f32x4.pmax(x, lo);
  const kf = f32x4.add(f32x4.mul(xc, l2e), mg);
  const nf = f32x4.sub(kf, mg);
  let r = f32x4.sub(xc, f32x4.mul(nf, c1));
  r = f32x4.sub(r, f32x4.mul(nf, c2));
  let p = f32x4.add(f32x4.mul(e4, r), e3);
  p = f32x4.add(f32x4.mul(p, r), e2);
  p = f32x4.add(f32x4.mul(p, r), e1);
  p = f32x4.add(f32x4.mul(p, r), e0);
  p = f32x4.mul(p, f32x4.mul(r, r));
  p = f32x4.add(f32x4.add(p, r), one);
  return f32x4.mul(p, i32x4.shl(kf, 23));
}

/** e^x for x ≤ 0: ≤ 8.2e-8 relative where e^x ≥ 2^-126; 0 below about −87.68. (Exported for the test probe.) */
// @ts-ignore: decorator
@inline export function expNonPos4(x: v128): v128 {
  return expNonPosK4(x, kexp(0), kexp(1), kexp(2), kexp(3), kexp(4), kexp(5), kexp(6), kexp(7), kexp(8), kexp(9), kexp(10));
}

/** The scalar twin of expNonPos4: the same float32 operations in the same order (bit-identical lanes). */
// @ts-ignore: decorator
@inline export function expNonPos1(x: f32): f32 {
  const xc = x < XLO ? XLO : x; // as pmax: NaN stays NaN
  const kf = xc * LOG2E + MAGIC_B;
  const nf = kf - MAGIC_B;
  let r = xc - nf * EXP_C1;
  r = r - nf * EXP_C2;
  let p = SP4 * r + SP3;
  p = p * r + SP2;
  p = p * r + SP1;
  p = p * r + SP0;
  p = p * (r * r);
  p = p + r + <f32>1.0;
  return p * reinterpret<f32>(reinterpret<i32>(kf) << 23);
}

// @ts-ignore: decorator
@inline function at(base: usize, stride: i32, c: i32, i: i32): usize {
  return base + ((<usize>c * <usize>stride + <usize>i) << 2);
}

/**
 * p = softmax(x) over the C classes of each of `len` pixels. When `lse` is
 * not 0, also writes each pixel's log-sum-exp (so ln p_c = x_c − lse exactly,
 * for cross-entropy). `p` may alias `x` only when the strides are equal.
 * Returns the largest |x| bit pattern: above 0x7f7fffff some logit is ±Inf or NaN.
 */
export function softmaxForward(x: usize, xStride: i32, p: usize, pStride: i32, len: i32, C: i32, lse: usize): u32 {
  let i = 0;
  let bits: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const abs = v128.load(KABS);
    const lo = kexp(0), l2e = kexp(1), mg = kexp(2), c1 = kexp(3), c2 = kexp(4);
    const e4 = kexp(5), e3 = kexp(6), e2 = kexp(7), e1 = kexp(8), e0 = kexp(9), one = kexp(10);
    // pointers step by one class plane (no multiply per access)
    const xs = (<usize>xStride) << 2, ps = (<usize>pStride) << 2;
    let vbits = i32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const xi = x + ((<usize>i) << 2), pi = p + ((<usize>i) << 2);
      let xa = xi;
      let m = v128.load(xa);
      vbits = i32x4.max_u(vbits, v128.and(m, abs));
      for (let c = 1; c < C; c++) {
        xa += xs;
        const v = v128.load(xa);
        m = f32x4.pmax(m, v);
        vbits = i32x4.max_u(vbits, v128.and(v, abs));
      }
      let s = f32x4.splat(0);
      xa = xi;
      let pa = pi;
      for (let c = 0; c < C; c++) {
        const e = expNonPosK4(f32x4.sub(v128.load(xa), m), lo, l2e, mg, c1, c2, e4, e3, e2, e1, e0, one);
        s = f32x4.add(s, e);
        v128.store(pa, e);
        xa += xs;
        pa += ps;
      }
      const inv = f32x4.div(one, s);
      pa = pi;
      for (let c = 0; c < C; c++) {
        v128.store(pa, f32x4.mul(v128.load(pa), inv));
        pa += ps;
      }
      if (lse) v128.store(lse + ((<usize>i) << 2), f32x4.add(m, log4(s)));
    }
    bits = max(max(i32x4.extract_lane(vbits, 0) as u32, i32x4.extract_lane(vbits, 1) as u32), max(i32x4.extract_lane(vbits, 2) as u32, i32x4.extract_lane(vbits, 3) as u32));
  }
  for (; i < len; i++) {
    let m = load<f32>(at(x, xStride, 0, i));
    for (let c = 0; c < C; c++) {
      const v = load<f32>(at(x, xStride, c, i));
      m = max(m, v);
      bits = max(bits, reinterpret<u32>(v) & 0x7fffffff);
    }
    let s: f32 = 0;
    for (let c = 0; c < C; c++) {
      const e = expNonPos1(load<f32>(at(x, xStride, c, i)) - m);
      s += e;
      store<f32>(at(p, pStride, c, i), e);
    }
    const inv: f32 = 1 / s;
    for (let c = 0; c < C; c++) {
      const a = at(p, pStride, c, i);
      store<f32>(a, load<f32>(a) * inv);
    }
    if (lse) store<f32>(lse + (<usize>i << 2), m + log1(s));
  }
  return bits;
}

/** In place: g_c ← p_c·(g_c − Σ_k p_k·g_k), the gradient w.r.t. the logits from the one w.r.t. softmax p. */
export function softmaxBackward(p: usize, pStride: i32, g: usize, gStride: i32, len: i32, C: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= len; i += 4) {
      let d = f32x4.splat(0);
      for (let c = 0; c < C; c++) d = f32x4.add(d, f32x4.mul(v128.load(at(p, pStride, c, i)), v128.load(at(g, gStride, c, i))));
      for (let c = 0; c < C; c++) {
        const a = at(g, gStride, c, i);
        v128.store(a, f32x4.mul(v128.load(at(p, pStride, c, i)), f32x4.sub(v128.load(a), d)));
      }
    }
  }
  for (; i < len; i++) {
    let d: f32 = 0;
    for (let c = 0; c < C; c++) d += load<f32>(at(p, pStride, c, i)) * load<f32>(at(g, gStride, c, i));
    for (let c = 0; c < C; c++) {
      const a = at(g, gStride, c, i);
      store<f32>(a, load<f32>(at(p, pStride, c, i)) * (load<f32>(a) - d));
    }
  }
}

/** p = sigmoid(x) for each of the C channels of `len` pixels; returns the largest |x| bit pattern (as softmaxForward). */
export function sigmoidForward(x: usize, xStride: i32, p: usize, pStride: i32, len: i32, C: i32): u32 {
  let bits: u32 = 0;
  for (let c = 0; c < C; c++) {
    const xc = at(x, xStride, c, 0);
    const pc = at(p, pStride, c, 0);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const abs = i32x4.splat(0x7fffffff);
      let vbits = i32x4.splat(0);
      for (; i + 4 <= len; i += 4) {
        const v = v128.load(xc + (<usize>i << 2));
        vbits = i32x4.max_u(vbits, v128.and(v, abs));
        v128.store(pc + (<usize>i << 2), sigmoid4(v));
      }
      bits = max(bits, max(max(i32x4.extract_lane(vbits, 0) as u32, i32x4.extract_lane(vbits, 1) as u32), max(i32x4.extract_lane(vbits, 2) as u32, i32x4.extract_lane(vbits, 3) as u32)));
    }
    for (; i < len; i++) {
      const v = load<f32>(xc + (<usize>i << 2));
      bits = max(bits, reinterpret<u32>(v) & 0x7fffffff);
      store<f32>(pc + (<usize>i << 2), sigmoid1(v));
    }
  }
  return bits;
}

/** In place: g ← g·p·(1 − p), the gradient w.r.t. the logits from the one w.r.t. sigmoid p. */
export function sigmoidBackward(p: usize, pStride: i32, g: usize, gStride: i32, len: i32, C: i32): void {
  for (let c = 0; c < C; c++) {
    const pc = at(p, pStride, c, 0);
    const gc = at(g, gStride, c, 0);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const one = f32x4.splat(1);
      for (; i + 4 <= len; i += 4) {
        const pv = v128.load(pc + (<usize>i << 2));
        const a = gc + (<usize>i << 2);
        v128.store(a, f32x4.mul(v128.load(a), f32x4.mul(pv, f32x4.sub(one, pv))));
      }
    }
    for (; i < len; i++) {
      const pv = load<f32>(pc + (<usize>i << 2));
      const a = gc + (<usize>i << 2);
      store<f32>(a, load<f32>(a) * (pv * (1 - pv)));
    }
  }
}
