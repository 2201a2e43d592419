// Multi-class element-wise losses on class-major chunks (src/losses/classPass.ts
// stages them): cross-entropy and focal (softmax form, and sigmoid one-vs-rest).
// A sums pass adds Σ loss, the kept pixels and Σ_c w_c·t_c into float64 slots
// (and writes per-pixel or per-element terms for reduction 'none'); a gradient
// pass writes the chunk's gradient class-major.
//
// Class c of pixel i sits at base + 4·(c·stride + i). Labels are int32, −1 for
// ignored pixels. On logits the runner gives p = softmax(x) and lse, and
// −ln p_c is taken as log1p(q/p_c) when p_c > ½ (q = Σ of the other classes'
// probabilities, all ≤ ½, so no cancellation near p = 1), −ln p_c for moderate
// p_c, and lse − x_c where p_c has underflowed.

import { BLOCK, addF64, hsum64 } from "./simd";
import { PRODUCT_RUN, lnOfProduct, log1, log1p1, log1p4, logNormal4, pow1, pow4, productExponent, productMantissa, softplusNeg1, softplusNeg4 } from "./math";

const LOGITS: i32 = 1; // x holds logits, p = softmax(x) or sigmoid(x), lse valid (softmax)
const DENSE: i32 = 2; // dense target at t (else labels)
const WEIGHT: i32 = 4; // per-class weights (CE) or α (focal) at w
const SMOOTH: i32 = 8; // CE label smoothing σ
const RENORM: i32 = 16; // probabilities divided by their sum over classes (Keras 3)
const SIGMOID: i32 = 32; // focal: one-vs-rest sigmoid form
const GAMMA2: i32 = 64; // focal γ = 2: b^γ = b·b

/** f64 slots per call: Σ loss, kept pixels, Σ_c w_c·t_c over kept pixels. */
export const MC_SLOTS: i32 = 3;

// @ts-ignore: decorator
@inline function at(base: usize, stride: i32, c: i32, i: i32): usize {
  return base + ((<usize>c * <usize>stride + <usize>i) << 2);
}

// ------------------------------------------------------------ shared pieces

/** The four pixels' values of their own classes y (lanes ≥ 0). */
// @ts-ignore: decorator
@inline function gather4(base: usize, stride: i32, y: v128, i: i32): v128 {
  const b = base + (<usize>i << 2);
  const s = (<usize>stride) << 2;
  let r = f32x4.splat(load<f32>(b + <usize>i32x4.extract_lane(y, 0) * s));
  r = f32x4.replace_lane(r, 1, load<f32>(b + 4 + <usize>i32x4.extract_lane(y, 1) * s));
  r = f32x4.replace_lane(r, 2, load<f32>(b + 8 + <usize>i32x4.extract_lane(y, 2) * s));
  return f32x4.replace_lane(r, 3, load<f32>(b + 12 + <usize>i32x4.extract_lane(y, 3) * s));
}

/** w[y] for four class ids. */
// @ts-ignore: decorator
@inline function gatherW4(w: usize, y: v128): v128 {
  let r = f32x4.splat(load<f32>(w + ((<usize>i32x4.extract_lane(y, 0)) << 2)));
  r = f32x4.replace_lane(r, 1, load<f32>(w + ((<usize>i32x4.extract_lane(y, 1)) << 2)));
  r = f32x4.replace_lane(r, 2, load<f32>(w + ((<usize>i32x4.extract_lane(y, 2)) << 2)));
  return f32x4.replace_lane(r, 3, load<f32>(w + ((<usize>i32x4.extract_lane(y, 3)) << 2)));
}

/** Σ_c p_c over the classes with p_c ≤ ½: for the one class above ½ (if any) that is 1 − p_c without cancellation. */
// @ts-ignore: decorator
@inline function smallSum4(p: usize, pStride: i32, C: i32, i: i32): v128 {
  const half = f32x4.splat(0.5);
  let q = f32x4.splat(0);
  for (let c = 0; c < C; c++) {
    const v = v128.load(at(p, pStride, c, i));
    q = f32x4.add(q, v128.and(v, f32x4.le(v, half)));
  }
  return q;
}

// @ts-ignore: decorator
@inline function smallSum1(p: usize, pStride: i32, C: i32, i: i32): f32 {
  let q: f32 = 0;
  for (let c = 0; c < C; c++) {
    const v = load<f32>(at(p, pStride, c, i));
    if (v <= 0.5) q += v;
  }
  return q;
}

// @ts-ignore: decorator
@inline function sum4(p: usize, pStride: i32, C: i32, i: i32): v128 {
  let s = f32x4.splat(0);
  for (let c = 0; c < C; c++) s = f32x4.add(s, v128.load(at(p, pStride, c, i)));
  return s;
}

// @ts-ignore: decorator
@inline function sum1(p: usize, pStride: i32, C: i32, i: i32): f32 {
  let s: f32 = 0;
  for (let c = 0; c < C; c++) s += load<f32>(at(p, pStride, c, i));
  return s;
}

/** −ln p from softmax output p (q: smallSum, xv: the logit, l: lse). */
// @ts-ignore: decorator
@inline function nlpLogit4(pv: v128, q: v128, xv: v128, l: v128): v128 {
  const one = f32x4.splat(1);
  const big = f32x4.gt(pv, f32x4.splat(0.5));
  const tiny = f32x4.lt(pv, f32x4.splat(1e-30));
  const mid = f32x4.neg(logNormal4(v128.bitselect(one, pv, tiny)));
  const hiPart = log1p4(f32x4.div(q, v128.bitselect(pv, one, big)));
  return v128.bitselect(f32x4.sub(l, xv), v128.bitselect(hiPart, mid, big), tiny);
}

// @ts-ignore: decorator
@inline function nlpLogit1(pv: f32, q: f32, xv: f32, l: f32): f32 {
  if (pv < 1e-30) return l - xv;
  if (pv > 0.5) return log1p1(q / pv);
  return -log1(pv);
}

/** 1 − p from softmax output p (q as in nlpLogit4). */
// @ts-ignore: decorator
@inline function oneMinusLogit4(pv: v128, q: v128): v128 {
  return v128.bitselect(q, f32x4.sub(f32x4.splat(1), pv), f32x4.gt(pv, f32x4.splat(0.5)));
}

// @ts-ignore: decorator
@inline function oneMinusLogit1(pv: f32, q: f32): f32 {
  return pv > 0.5 ? q : <f32>1 - pv;
}

// @ts-ignore: decorator
@inline function clip4(v: v128, eps: f32, hi: f32): v128 {
  return f32x4.pmin(f32x4.pmax(v, f32x4.splat(eps)), f32x4.splat(hi));
}

// @ts-ignore: decorator
@inline function clip1(v: f32, eps: f32, hi: f32): f32 {
  return min(max(v, eps), hi);
}

// @ts-ignore: decorator
@inline function powB4(b: v128, gamma: f32, flags: i32): v128 {
  return flags & GAMMA2 ? f32x4.mul(b, b) : pow4(b, f32x4.splat(gamma));
}

// @ts-ignore: decorator
@inline function powB1(b: f32, gamma: f32, flags: i32): f32 {
  return flags & GAMMA2 ? b * b : pow1(b, gamma);
}

/**
 * One class's −ln p and 1 − p (into *bOut) for the softmax forms: logits use
 * the exact pieces above; probabilities are (renormalised by s and) clipped.
 */
// @ts-ignore: decorator
@inline function classTerm4(flags: i32, pv: v128, q: v128, xv: v128, l: v128, s: v128, eps: f32, hi: f32): v128 {
  if (flags & LOGITS) return nlpLogit4(pv, q, xv, l);
  const v = flags & RENORM ? f32x4.div(pv, s) : pv;
  return f32x4.neg(logNormal4(clip4(v, eps, hi)));
}

// @ts-ignore: decorator
@inline function classB4(flags: i32, pv: v128, q: v128, s: v128, eps: f32, hi: f32): v128 {
  if (flags & LOGITS) return oneMinusLogit4(pv, q);
  const v = flags & RENORM ? f32x4.div(pv, s) : pv;
  return f32x4.sub(f32x4.splat(1), clip4(v, eps, hi));
}

// @ts-ignore: decorator
@inline function classTerm1(flags: i32, pv: f32, q: f32, xv: f32, l: f32, s: f32, eps: f32, hi: f32): f32 {
  if (flags & LOGITS) return nlpLogit1(pv, q, xv, l);
  const v = flags & RENORM ? pv / s : pv;
  return -log1(clip1(v, eps, hi));
}

// @ts-ignore: decorator
@inline function classB1(flags: i32, pv: f32, q: f32, s: f32, eps: f32, hi: f32): f32 {
  if (flags & LOGITS) return oneMinusLogit1(pv, q);
  const v = flags & RENORM ? pv / s : pv;
  return <f32>1 - clip1(v, eps, hi);
}

// -------------------------------------------------------------- value pass

/**
 * kind 0: cross-entropy ℓ = Σ_c w_c·t'_c·(−ln p_c), t' = t(1−σ) + σ/C;
 * kind 1: softmax focal ℓ = Σ_c α_c·t_c·(1−p_c)^γ·(−ln p_c).
 * Per pixel; ignored pixels add nothing. Slots: Σℓ, kept, Σ w_y (Σ_c w_c t_c).
 */
// @ts-ignore: decorator
@inline function softmaxSumsBody(
  kind: i32, flags: i32, p: usize, pStride: i32, x: usize, xStride: i32, lse: usize, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, acc: usize, terms: usize, eps: f32, hi: f32, sm: f32, gamma: f32,
): void {
  const keepS: f32 = <f32>1 - sm;
  const addS: f32 = sm / <f32>C;
  let sL: f64 = 0, sN: f64 = 0, sD: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1), zero = f32x4.splat(0);
    // plain cross-entropy on probabilities with labels, no per-pixel terms: Σ ln clip(p_y) = ln Π clip(p_y),
    // a running product instead of a log per vector (math.ts, "Σ ln as ln Π"; clip(p_y) ≥ ε = 1e-7 > 2^−24)
    const product = kind == 0 && flags == 0 && terms == 0;
    const mant = i32x4.splat(0x007fffff);
    let prod = one, prodExp = i32x4.splat(0);
    let sinceRenorm = 0, renorms = 0;
    const nv = len >> 2;
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      let aL = zero, aN = zero, aD = zero;
      for (; v < end; v++) {
        const i4 = v << 2;
        if (product) {
          const lab = v128.load(labels + (<usize>i4 << 2));
          const keep = i32x4.ge_s(lab, i32x4.splat(0));
          const py = gather4(p, pStride, i32x4.max_s(lab, i32x4.splat(0)), i4);
          prod = f32x4.mul(prod, v128.bitselect(clip4(py, eps, hi), one, keep));
          if (++sinceRenorm == PRODUCT_RUN) {
            prodExp = i32x4.add(prodExp, productExponent(prod));
            prod = productMantissa(prod, mant, one);
            sinceRenorm = 0;
            renorms++;
          }
          const kept = v128.and(one, keep);
          aN = f32x4.add(aN, kept);
          aD = f32x4.add(aD, kept);
          continue;
        }
        const q = flags & LOGITS ? smallSum4(p, pStride, C, i4) : zero;
        const s = flags & RENORM ? sum4(p, pStride, C, i4) : one;
        const l = flags & LOGITS ? v128.load(lse + (<usize>i4 << 2)) : zero;
        let ell = zero, den = zero, keep = f32x4.eq(zero, zero);
        if (flags & DENSE) {
          for (let c = 0; c < C; c++) {
            const tv = v128.load(at(t, tStride, c, i4));
            const pv = v128.load(at(p, pStride, c, i4));
            const xv = flags & LOGITS ? v128.load(at(x, xStride, c, i4)) : zero;
            const wc = flags & WEIGHT ? f32x4.splat(load<f32>(w + (<usize>c << 2))) : one;
            const L = classTerm4(flags, pv, q, xv, l, s, eps, hi);
            if (kind == 0) {
              const ts = flags & SMOOTH ? f32x4.add(f32x4.mul(tv, f32x4.splat(keepS)), f32x4.splat(addS)) : tv;
              ell = f32x4.add(ell, f32x4.mul(f32x4.mul(wc, ts), L));
              if (flags & WEIGHT) den = f32x4.add(den, f32x4.mul(wc, tv));
            } else {
              const b = classB4(flags, pv, q, s, eps, hi);
              ell = f32x4.add(ell, f32x4.mul(f32x4.mul(f32x4.mul(wc, tv), powB4(b, gamma, flags)), L));
            }
          }
          if (!(flags & WEIGHT)) den = one;
        } else {
          const lab = v128.load(labels + (<usize>i4 << 2));
          keep = i32x4.ge_s(lab, i32x4.splat(0));
          const y = i32x4.max_s(lab, i32x4.splat(0));
          const py = gather4(p, pStride, y, i4);
          const xy = flags & LOGITS ? gather4(x, xStride, y, i4) : zero;
          const wy = flags & WEIGHT ? gatherW4(w, y) : one;
          const L = classTerm4(flags, py, q, xy, l, s, eps, hi);
          if (kind == 0) {
            ell = f32x4.mul(wy, L);
            if (flags & SMOOTH) {
              let all = zero;
              for (let c = 0; c < C; c++) {
                const pv = v128.load(at(p, pStride, c, i4));
                const xv = flags & LOGITS ? v128.load(at(x, xStride, c, i4)) : zero;
                let Lc = classTerm4(flags, pv, q, xv, l, s, eps, hi);
                if (flags & WEIGHT) Lc = f32x4.mul(Lc, f32x4.splat(load<f32>(w + (<usize>c << 2))));
                all = f32x4.add(all, Lc);
              }
              ell = f32x4.add(f32x4.mul(ell, f32x4.splat(keepS)), f32x4.mul(all, f32x4.splat(addS)));
            }
          } else {
            const b = classB4(flags, py, q, s, eps, hi);
            ell = f32x4.mul(f32x4.mul(wy, powB4(b, gamma, flags)), L);
          }
          ell = v128.and(ell, keep);
          den = v128.and(wy, keep);
        }
        if (terms) v128.store(terms + (<usize>i4 << 2), ell);
        aL = f32x4.add(aL, ell);
        aN = f32x4.add(aN, v128.and(one, keep));
        aD = f32x4.add(aD, den);
      }
      sL += hsum64(aL);
      sN += hsum64(aN);
      sD += hsum64(aD);
    }
    if (product) sL -= lnOfProduct(prod, prodExp, renorms);
    i = nv << 2;
  }
  for (; i < len; i++) {
    const q: f32 = flags & LOGITS ? smallSum1(p, pStride, C, i) : 0;
    const s: f32 = flags & RENORM ? sum1(p, pStride, C, i) : 1;
    const l: f32 = flags & LOGITS ? load<f32>(lse + (<usize>i << 2)) : 0;
    let ell: f32 = 0, den: f32 = 0, kept: f32 = 1;
    if (flags & DENSE) {
      den = 1;
      if (flags & WEIGHT) den = 0;
      for (let c = 0; c < C; c++) {
        const tv = load<f32>(at(t, tStride, c, i));
        const pv = load<f32>(at(p, pStride, c, i));
        const xv: f32 = flags & LOGITS ? load<f32>(at(x, xStride, c, i)) : 0;
        const wc: f32 = flags & WEIGHT ? load<f32>(w + (<usize>c << 2)) : 1;
        const L = classTerm1(flags, pv, q, xv, l, s, eps, hi);
        if (kind == 0) {
          const ts: f32 = flags & SMOOTH ? tv * keepS + addS : tv;
          ell += wc * ts * L;
          if (flags & WEIGHT) den += wc * tv;
        } else {
          ell += wc * tv * powB1(classB1(flags, pv, q, s, eps, hi), gamma, flags) * L;
        }
      }
    } else {
      const lab = load<i32>(labels + (<usize>i << 2));
      if (lab < 0) {
        kept = 0;
      } else {
        const py = load<f32>(at(p, pStride, lab, i));
        const xy: f32 = flags & LOGITS ? load<f32>(at(x, xStride, lab, i)) : 0;
        const wy: f32 = flags & WEIGHT ? load<f32>(w + (<usize>lab << 2)) : 1;
        const L = classTerm1(flags, py, q, xy, l, s, eps, hi);
        den = wy;
        if (kind == 0) {
          ell = wy * L;
          if (flags & SMOOTH) {
            let all: f32 = 0;
            for (let c = 0; c < C; c++) {
              const xv: f32 = flags & LOGITS ? load<f32>(at(x, xStride, c, i)) : 0;
              let Lc = classTerm1(flags, load<f32>(at(p, pStride, c, i)), q, xv, l, s, eps, hi);
              if (flags & WEIGHT) Lc *= load<f32>(w + (<usize>c << 2));
              all += Lc;
            }
            ell = ell * keepS + all * addS;
          }
        } else {
          ell = wy * powB1(classB1(flags, py, q, s, eps, hi), gamma, flags) * L;
        }
      }
    }
    if (terms) store<f32>(terms + (<usize>i << 2), ell);
    sL += ell;
    sN += kept;
    sD += den;
  }
  addF64(acc, sL);
  addF64(acc + 8, sN);
  addF64(acc + 16, sD);
}

/**
 * Cross-entropy sums of one chunk (see softmaxSumsBody). `w`: C class weights
 * (WEIGHT); `terms`: per-pixel losses or 0; `sm`: label smoothing σ.
 */
export function ceSums(
  p: usize, pStride: i32, x: usize, xStride: i32, lse: usize, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, acc: usize, terms: usize, flags: i32, eps: f32, hi: f32, sm: f32,
): void {
  // the plain forms get their own loops (flags folded away)
  if (flags == 0) softmaxSumsBody(0, 0, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, sm, 0);
  else if (flags == LOGITS) softmaxSumsBody(0, LOGITS, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, sm, 0);
  else softmaxSumsBody(0, flags, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, sm, 0);
}

/** Softmax focal sums of one chunk; `w`: C α values (WEIGHT; else α = 1). */
export function mcFocalSums(
  p: usize, pStride: i32, x: usize, xStride: i32, lse: usize, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, acc: usize, terms: usize, flags: i32, eps: f32, hi: f32, gamma: f32,
): void {
  if (flags == GAMMA2) softmaxSumsBody(1, GAMMA2, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, 0, gamma);
  else if (flags == (GAMMA2 | LOGITS)) softmaxSumsBody(1, GAMMA2 | LOGITS, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, 0, gamma);
  else softmaxSumsBody(1, flags, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, acc, terms, eps, hi, 0, gamma);
}

// ------------------------------------------------ sigmoid one-vs-rest focal

// Per element: ℓ = α_t·bce(t, p)·(1 − p_t)^γ with p_t = p·t + (1−p)(1−t),
// α_t = α⁺_c·t + α⁻_c·(1−t); bce from the logit when LOGITS, else on p clipped
// to [ε, 1−ε] (the float32 rounding of 1 − p' added back to the log).

// @ts-ignore: decorator
@inline function sigBce4(flags: i32, tv: v128, pv: v128, xv: v128, eps: f32, hi: f32): v128 {
  const one = f32x4.splat(1);
  if (flags & LOGITS) {
    const lin = v128.bitselect(f32x4.mul(f32x4.sub(one, tv), xv), f32x4.neg(f32x4.mul(tv, xv)), f32x4.ge(xv, f32x4.splat(0)));
    return f32x4.add(lin, softplusNeg4(xv));
  }
  const pc = clip4(pv, eps, hi);
  const u = f32x4.sub(one, pc);
  const eu = f32x4.sub(f32x4.sub(one, u), pc);
  return f32x4.neg(f32x4.add(f32x4.mul(tv, logNormal4(pc)), f32x4.mul(f32x4.sub(one, tv), f32x4.add(logNormal4(u), eu))));
}

// @ts-ignore: decorator
@inline function sigBce1(flags: i32, tv: f32, pv: f32, xv: f32, eps: f32, hi: f32): f32 {
  if (flags & LOGITS) return (xv >= 0 ? (<f32>1 - tv) * xv : -tv * xv) + softplusNeg1(xv);
  const pc = clip1(pv, eps, hi);
  const u = <f32>1 - pc;
  const eu = <f32>1 - u - pc;
  let r: f32 = 0;
  if (tv != 0) r += tv * log1(pc);
  if (tv != 1) r += (<f32>1 - tv) * (log1(u) + eu);
  return -r;
}

// @ts-ignore: decorator
@inline function sigmoidSumsBody(
  flags: i32, p: usize, pStride: i32, x: usize, xStride: i32, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, acc: usize, terms: usize, termsStride: i32, eps: f32, hi: f32, gamma: f32,
): void {
  let sL: f64 = 0, sN: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1), zero = f32x4.splat(0);
    const nv = len >> 2;
    let v = 0;
    while (v < nv) {
      // a block of at most BLOCK element vectors per f32 accumulator
      const end = min(v + max(1, BLOCK / C), nv);
      let aL = zero, aN = zero;
      for (; v < end; v++) {
        const i4 = v << 2;
        let keep = f32x4.eq(zero, zero);
        let lab = zero;
        if (!(flags & DENSE)) {
          lab = v128.load(labels + (<usize>i4 << 2));
          keep = i32x4.ge_s(lab, i32x4.splat(0));
        }
        for (let c = 0; c < C; c++) {
          const tv = flags & DENSE ? v128.load(at(t, tStride, c, i4)) : v128.and(one, i32x4.eq(lab, i32x4.splat(c)));
          const pv = v128.load(at(p, pStride, c, i4));
          const xv = flags & LOGITS ? v128.load(at(x, xStride, c, i4)) : pv;
          const bce = sigBce4(flags, tv, pv, xv, eps, hi);
          const pt = f32x4.add(f32x4.mul(pv, tv), f32x4.mul(f32x4.sub(one, pv), f32x4.sub(one, tv)));
          const m = powB4(f32x4.pmax(f32x4.sub(one, pt), zero), gamma, flags);
          let ell = f32x4.mul(bce, m);
          if (flags & WEIGHT) {
            const ap = f32x4.splat(load<f32>(w + (<usize>c << 2)));
            const an = f32x4.splat(load<f32>(w + ((<usize>(C + c)) << 2)));
            ell = f32x4.mul(ell, f32x4.add(f32x4.mul(ap, tv), f32x4.mul(an, f32x4.sub(one, tv))));
          }
          ell = v128.and(ell, keep);
          if (terms) v128.store(at(terms, termsStride, c, i4), ell);
          aL = f32x4.add(aL, ell);
        }
        aN = f32x4.add(aN, v128.and(one, keep));
      }
      sL += hsum64(aL);
      sN += hsum64(aN);
    }
    i = nv << 2;
  }
  for (; i < len; i++) {
    const lab: i32 = flags & DENSE ? 0 : load<i32>(labels + (<usize>i << 2));
    const kept = flags & DENSE ? true : lab >= 0;
    let ell: f32 = 0;
    for (let c = 0; c < C; c++) {
      let e: f32 = 0;
      if (kept) {
        const tv: f32 = flags & DENSE ? load<f32>(at(t, tStride, c, i)) : lab == c ? 1 : 0;
        const pv = load<f32>(at(p, pStride, c, i));
        const xv: f32 = flags & LOGITS ? load<f32>(at(x, xStride, c, i)) : pv;
        const pt = pv * tv + (<f32>1 - pv) * (<f32>1 - tv);
        e = sigBce1(flags, tv, pv, xv, eps, hi) * powB1(max(<f32>1 - pt, <f32>0), gamma, flags);
        if (flags & WEIGHT) e *= load<f32>(w + (<usize>c << 2)) * tv + load<f32>(w + ((<usize>(C + c)) << 2)) * (<f32>1 - tv);
      }
      if (terms) store<f32>(at(terms, termsStride, c, i), e);
      ell += e;
    }
    sL += ell;
    if (kept) sN += 1;
  }
  addF64(acc, sL);
  addF64(acc + 8, sN);
}

/** Sigmoid one-vs-rest focal sums of one chunk; `w`: α⁺ (C values) then α⁻ (C values) when WEIGHT; terms class-major. */
export function ovrFocalSums(
  p: usize, pStride: i32, x: usize, xStride: i32, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, acc: usize, terms: usize, termsStride: i32, flags: i32, eps: f32, hi: f32, gamma: f32,
): void {
  if (flags == (SIGMOID | GAMMA2 | LOGITS)) sigmoidSumsBody(SIGMOID | GAMMA2 | LOGITS, p, pStride, x, xStride, labels, t, tStride, len, C, w, acc, terms, termsStride, eps, hi, gamma);
  else if (flags == (SIGMOID | GAMMA2)) sigmoidSumsBody(SIGMOID | GAMMA2, p, pStride, x, xStride, labels, t, tStride, len, C, w, acc, terms, termsStride, eps, hi, gamma);
  else sigmoidSumsBody(flags, p, pStride, x, xStride, labels, t, tStride, len, C, w, acc, terms, termsStride, eps, hi, gamma);
}

// ----------------------------------------------------------- gradient pass

/**
 * Writes scale·∂ℓ/∂(input) class-major at g for the softmax forms: on logits
 * w.r.t. the logits (CE: p_c·W − w_c·t'_c with W = Σ_c w_c·t'_c; focal:
 * h_c − p_c·Σh with h_c = p_c·∂ℓ/∂p_c), on probabilities w.r.t. p (zero
 * outside the clip; RENORM chains through p/Σp). Ignored pixels get 0.
 */
// @ts-ignore: decorator
@inline function softmaxGradBody(
  kind: i32, flags: i32, g: usize, gStride: i32, p: usize, pStride: i32, x: usize, xStride: i32, lse: usize, labels: usize,
  t: usize, tStride: i32, len: i32, C: i32, w: usize, eps: f32, hi: f32, sm: f32, gamma: f32, wsum: f32, scale: f32,
): void {
  const keepS: f32 = <f32>1 - sm;
  const addS: f32 = sm / <f32>C;
  // one loop per pixel when nothing needs a sum over classes first: CE on
  // logits with labels (W from the label), and the plain probability forms
  const single = (kind == 0 && (flags & LOGITS) != 0 && (flags & DENSE) == 0) || (flags & (LOGITS | RENORM)) == 0;
  const cEnd = single ? 0 : C; // classes of the second loop
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1), zero = f32x4.splat(0);
    const sc = f32x4.splat(scale), epsV = f32x4.splat(eps), hiV = f32x4.splat(hi), gV = f32x4.splat(gamma);
    for (; i + 4 <= len; i += 4) {
      let keep = f32x4.eq(zero, zero);
      let lab = zero;
      if (!(flags & DENSE)) {
        lab = v128.load(labels + (<usize>i << 2));
        keep = i32x4.ge_s(lab, i32x4.splat(0));
      }
      const q = flags & LOGITS ? smallSum4(p, pStride, C, i) : zero;
      const s = flags & RENORM ? sum4(p, pStride, C, i) : one;
      const l = flags & LOGITS ? v128.load(lse + (<usize>i << 2)) : zero;
      // CE on logits with labels: W = Σ_c w_c·t'_c is known up front, one loop suffices
      let W = one;
      if (single && kind == 0 && (flags & LOGITS) != 0) {
        const wy = flags & WEIGHT ? gatherW4(w, i32x4.max_s(lab, i32x4.splat(0))) : one;
        W = f32x4.add(f32x4.mul(wy, f32x4.splat(keepS)), f32x4.splat(addS * wsum));
      }
      // first loop: per-class coefficient (CE: w·t'; focal: h or ∂ℓ/∂q), stored in g; H = their sum (times q for RENORM)
      let H = zero;
      for (let c = 0; c < C; c++) {
        const tv = flags & DENSE ? v128.load(at(t, tStride, c, i)) : v128.and(one, i32x4.eq(lab, i32x4.splat(c)));
        const wc = flags & WEIGHT ? f32x4.splat(load<f32>(w + (<usize>c << 2))) : one;
        const pv = v128.load(at(p, pStride, c, i));
        let e: v128;
        if (kind == 0) {
          const ts = flags & SMOOTH ? f32x4.add(f32x4.mul(tv, f32x4.splat(keepS)), f32x4.splat(addS)) : tv;
          const wt = f32x4.mul(wc, ts);
          if (flags & LOGITS) {
            e = wt;
          } else {
            const v = flags & RENORM ? f32x4.div(pv, s) : pv;
            const inside = v128.and(f32x4.ge(v, epsV), f32x4.le(v, hiV));
            e = v128.and(f32x4.neg(f32x4.div(wt, v)), inside); // ∂ℓ/∂q
          }
        } else {
          const wt = f32x4.mul(wc, tv);
          const xv = flags & LOGITS ? v128.load(at(x, xStride, c, i)) : zero;
          const L = classTerm4(flags, pv, q, xv, l, s, eps, hi);
          const b = classB4(flags, pv, q, s, eps, hi);
          const m = powB4(b, gamma, flags);
          const bpos = f32x4.gt(b, zero);
          const mOverB = v128.and(f32x4.div(m, v128.bitselect(b, one, bpos)), bpos); // b^(γ−1), 0 at b = 0
          if (flags & LOGITS) {
            // h = p·∂ℓ/∂p = −α·t·(b^γ + γ·p·b^(γ−1)·L), finite even where p underflows
            e = f32x4.neg(f32x4.mul(wt, f32x4.add(m, f32x4.mul(f32x4.mul(gV, pv), f32x4.mul(mOverB, L)))));
          } else {
            const v = flags & RENORM ? f32x4.div(pv, s) : pv;
            const inside = v128.and(f32x4.ge(v, epsV), f32x4.le(v, hiV));
            const qc = clip4(v, eps, hi);
            const d = f32x4.add(f32x4.mul(gV, f32x4.mul(mOverB, L)), f32x4.div(m, qc));
            e = v128.and(f32x4.neg(f32x4.mul(wt, d)), inside);
          }
        }
        if (single) {
          if (kind == 0 && (flags & LOGITS) != 0) {
            const big = f32x4.gt(pv, f32x4.splat(0.5));
            e = v128.bitselect(f32x4.sub(f32x4.sub(W, e), f32x4.mul(q, W)), f32x4.sub(f32x4.mul(pv, W), e), big);
          }
          v128.store(at(g, gStride, c, i), v128.and(f32x4.mul(e, sc), keep));
          continue;
        }
        v128.store(at(g, gStride, c, i), e);
        if (flags & LOGITS) H = f32x4.add(H, e);
        else if (flags & RENORM) H = f32x4.add(H, f32x4.mul(e, f32x4.div(pv, s)));
      }
      // second loop: the final gradient
      for (let c = 0; c < cEnd; c++) {
        const a = at(g, gStride, c, i);
        let e = v128.load(a);
        if (flags & LOGITS) {
          const pv = v128.load(at(p, pStride, c, i));
          if (kind == 0) {
            // p·W − w·t', and (W − w·t') − q·W where p > ½ (p − 1 = −q without cancellation)
            const big = f32x4.gt(pv, f32x4.splat(0.5));
            e = v128.bitselect(f32x4.sub(f32x4.sub(H, e), f32x4.mul(q, H)), f32x4.sub(f32x4.mul(pv, H), e), big);
          } else {
            e = f32x4.sub(e, f32x4.mul(pv, H));
          }
        } else if (flags & RENORM) {
          e = f32x4.div(f32x4.sub(e, H), s);
        }
        v128.store(a, v128.and(f32x4.mul(e, sc), keep));
      }
    }
  }
  for (; i < len; i++) {
    const lab: i32 = flags & DENSE ? 0 : load<i32>(labels + (<usize>i << 2));
    if (!(flags & DENSE) && lab < 0) {
      for (let c = 0; c < C; c++) store<f32>(at(g, gStride, c, i), 0);
      continue;
    }
    const q: f32 = flags & LOGITS ? smallSum1(p, pStride, C, i) : 0;
    const s: f32 = flags & RENORM ? sum1(p, pStride, C, i) : 1;
    const l: f32 = flags & LOGITS ? load<f32>(lse + (<usize>i << 2)) : 0;
    let W: f32 = 1;
    if (single && kind == 0 && (flags & LOGITS) != 0) W = (flags & WEIGHT ? load<f32>(w + (<usize>lab << 2)) : <f32>1) * keepS + addS * wsum;
    let H: f32 = 0;
    for (let c = 0; c < C; c++) {
      const tv: f32 = flags & DENSE ? load<f32>(at(t, tStride, c, i)) : lab == c ? 1 : 0;
      const wc: f32 = flags & WEIGHT ? load<f32>(w + (<usize>c << 2)) : 1;
      const pv = load<f32>(at(p, pStride, c, i));
      let e: f32;
      if (kind == 0) {
        const wt = wc * (flags & SMOOTH ? tv * keepS + addS : tv);
        if (flags & LOGITS) {
          e = wt;
        } else {
          const v = flags & RENORM ? pv / s : pv;
          e = v >= eps && v <= hi ? -wt / v : 0;
        }
      } else {
        const wt = wc * tv;
        const xv: f32 = flags & LOGITS ? load<f32>(at(x, xStride, c, i)) : 0;
        const L = classTerm1(flags, pv, q, xv, l, s, eps, hi);
        const b = classB1(flags, pv, q, s, eps, hi);
        const m = powB1(b, gamma, flags);
        const mOverB: f32 = b > 0 ? m / b : 0;
        if (flags & LOGITS) {
          e = -wt * (m + gamma * pv * mOverB * L);
        } else {
          const v = flags & RENORM ? pv / s : pv;
          e = v >= eps && v <= hi ? -wt * (gamma * mOverB * L + m / clip1(v, eps, hi)) : 0;
        }
      }
      if (single) {
        if (kind == 0 && (flags & LOGITS) != 0) e = pv > 0.5 ? W - e - q * W : pv * W - e;
        store<f32>(at(g, gStride, c, i), e * scale);
        continue;
      }
      store<f32>(at(g, gStride, c, i), e);
      if (flags & LOGITS) H += e;
      else if (flags & RENORM) H += e * (pv / s);
    }
    for (let c = 0; c < cEnd; c++) {
      const a = at(g, gStride, c, i);
      let e = load<f32>(a);
      if (flags & LOGITS) {
        const pv = load<f32>(at(p, pStride, c, i));
        if (kind == 0) e = pv > 0.5 ? H - e - q * H : pv * H - e;
        else e = e - pv * H;
      } else if (flags & RENORM) {
        e = (e - H) / s;
      }
      store<f32>(a, e * scale);
    }
  }
}

/** Cross-entropy gradient of one chunk (w.r.t. logits with LOGITS, else w.r.t. p); `wsum` = Σ_c w_c (C without weights). */
export function ceGrad(
  g: usize, gStride: i32, p: usize, pStride: i32, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, flags: i32, eps: f32, hi: f32, sm: f32, wsum: f32, scale: f32,
): void {
  if (flags == 0) softmaxGradBody(0, 0, g, gStride, p, pStride, 0, 0, 0, labels, t, tStride, len, C, w, eps, hi, sm, 0, wsum, scale);
  else if (flags == LOGITS) softmaxGradBody(0, LOGITS, g, gStride, p, pStride, 0, 0, 0, labels, t, tStride, len, C, w, eps, hi, sm, 0, wsum, scale);
  else softmaxGradBody(0, flags, g, gStride, p, pStride, 0, 0, 0, labels, t, tStride, len, C, w, eps, hi, sm, 0, wsum, scale);
}

/** Softmax focal gradient of one chunk. */
export function mcFocalGrad(
  g: usize, gStride: i32, p: usize, pStride: i32, x: usize, xStride: i32, lse: usize, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, flags: i32, eps: f32, hi: f32, gamma: f32, scale: f32,
): void {
  if (flags == GAMMA2) softmaxGradBody(1, GAMMA2, g, gStride, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, eps, hi, 0, gamma, 0, scale);
  else if (flags == (GAMMA2 | LOGITS)) softmaxGradBody(1, GAMMA2 | LOGITS, g, gStride, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, eps, hi, 0, gamma, 0, scale);
  else softmaxGradBody(1, flags, g, gStride, p, pStride, x, xStride, lse, labels, t, tStride, len, C, w, eps, hi, 0, gamma, 0, scale);
}

/**
 * Sigmoid one-vs-rest focal gradient of one chunk, per element: α_t·(∂bce·m +
 * bce·∂m), ∂m/∂p = −γ·m/(1−p_t)·(2t−1); w.r.t. the logit (× p(1−p)) with LOGITS.
 */
export function ovrFocalGrad(
  g: usize, gStride: i32, p: usize, pStride: i32, x: usize, xStride: i32, labels: usize, t: usize, tStride: i32,
  len: i32, C: i32, w: usize, flags: i32, eps: f32, hi: f32, gamma: f32, scale: f32,
): void {
  for (let c = 0; c < C; c++) {
    const ap: f32 = flags & WEIGHT ? load<f32>(w + (<usize>c << 2)) : 1;
    const an: f32 = flags & WEIGHT ? load<f32>(w + ((<usize>(C + c)) << 2)) : 1;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const one = f32x4.splat(1), zero = f32x4.splat(0), two = f32x4.splat(2);
      const apV = f32x4.splat(ap), anV = f32x4.splat(an), gV = f32x4.splat(gamma), sc = f32x4.splat(scale);
      const epsV = f32x4.splat(eps), hiV = f32x4.splat(hi);
      for (; i + 4 <= len; i += 4) {
        let keep = f32x4.eq(zero, zero);
        let tv: v128;
        if (flags & DENSE) {
          tv = v128.load(at(t, tStride, c, i));
        } else {
          const lab = v128.load(labels + (<usize>i << 2));
          keep = i32x4.ge_s(lab, i32x4.splat(0));
          tv = v128.and(one, i32x4.eq(lab, i32x4.splat(c)));
        }
        const pv = v128.load(at(p, pStride, c, i));
        const xv = flags & LOGITS ? v128.load(at(x, xStride, c, i)) : pv;
        const bce = sigBce4(flags, tv, pv, xv, eps, hi);
        let dbce: v128;
        if (flags & LOGITS) {
          dbce = f32x4.sub(pv, tv);
        } else {
          const inside = v128.and(f32x4.ge(pv, epsV), f32x4.le(pv, hiV));
          const safe = clip4(pv, eps, hi);
          dbce = v128.and(f32x4.div(f32x4.sub(safe, tv), f32x4.mul(safe, f32x4.sub(one, safe))), inside);
        }
        const pt = f32x4.add(f32x4.mul(pv, tv), f32x4.mul(f32x4.sub(one, pv), f32x4.sub(one, tv)));
        const u = f32x4.pmax(f32x4.sub(one, pt), zero);
        const m = powB4(u, gamma, flags);
        const upos = f32x4.gt(u, zero);
        const dm = v128.and(f32x4.neg(f32x4.mul(f32x4.div(f32x4.mul(gV, m), v128.bitselect(u, one, upos)), f32x4.sub(f32x4.mul(two, tv), one))), upos);
        const dpdx = flags & LOGITS ? f32x4.mul(pv, f32x4.sub(one, pv)) : one;
        let r = f32x4.add(f32x4.mul(dbce, m), f32x4.mul(f32x4.mul(bce, dm), dpdx));
        if (flags & WEIGHT) r = f32x4.mul(r, f32x4.add(f32x4.mul(apV, tv), f32x4.mul(anV, f32x4.sub(one, tv))));
        v128.store(at(g, gStride, c, i), v128.and(f32x4.mul(r, sc), keep));
      }
    }
    for (; i < len; i++) {
      let tv: f32;
      if (flags & DENSE) {
        tv = load<f32>(at(t, tStride, c, i));
      } else {
        const lab = load<i32>(labels + (<usize>i << 2));
        if (lab < 0) {
          store<f32>(at(g, gStride, c, i), 0);
          continue;
        }
        tv = lab == c ? 1 : 0;
      }
      const pv = load<f32>(at(p, pStride, c, i));
      const xv: f32 = flags & LOGITS ? load<f32>(at(x, xStride, c, i)) : pv;
      const bce = sigBce1(flags, tv, pv, xv, eps, hi);
      let dbce: f32;
      if (flags & LOGITS) dbce = pv - tv;
      else dbce = pv >= eps && pv <= hi ? (pv - tv) / (pv * (<f32>1 - pv)) : 0;
      const u = max(<f32>1 - (pv * tv + (<f32>1 - pv) * (<f32>1 - tv)), <f32>0);
      const m = powB1(u, gamma, flags);
      const dm: f32 = u > 0 ? ((-gamma * m) / u) * (2 * tv - 1) : 0;
      const dpdx: f32 = flags & LOGITS ? pv * (<f32>1 - pv) : 1;
      let r = dbce * m + bce * dm * dpdx;
      if (flags & WEIGHT) r *= ap * tv + an * (<f32>1 - tv);
      store<f32>(at(g, gStride, c, i), r * scale);
    }
  }
}
