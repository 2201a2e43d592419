// Dice + cross-entropy (src/losses/diceCE.ts). Chunks are class-major: class
// c of pixel i at base + 4·(c·stride + i); labels int32, −1 where ignored.
//
// diceCELabelSums: the value pass of the plain form (probabilities, label
// targets, no class weights / smoothing / squared / soft Dice) in one kernel
// that also range-checks the chunk: per class plane Σp and the largest bit
// pattern (one streaming read); then per pixel the own-class probability p_y,
// gathered once for both parts — Dice's Σtp and Σt per class by scatter-add,
// and the cross-entropy's −ln clip(p_y), summed as −ln Π clip(p_y) (one
// multiply per vector instead of a log; math.ts, "Σ ln as ln Π").
//
// diceCELogitSums: the same value pass from logits, softmax inside: per
// vector of four pixels the exponentials are kept in a small scratch (C
// vectors, L1) and read back for Σp per class and for p_y, so the chunk's
// probabilities are never written out; the cross-entropy is
// −ln p_y = (m − x_y) + ln(1 + u), two terms ≥ 0 (see logitSums). With
// CE_ONLY it is crossEntropy's plain form from logits (no Dice sums).
//
// diceCEAddGrad: the gradient pass adds the Dice part (dL/dp in a scratch
// chunk h) into the cross-entropy's gradient g through one softmax backward,
// g_c += p_c·(h_c − Σ_k p_k·h_k), or as it is on probabilities.

import { BLOCK, addF64, hsum64 } from "./simd";
import { PRODUCT_RUN, lnOfProduct, log1, log1p1, log1p4, productExponent, productMantissa } from "./math";
import { expNonPos1, expNonPosK4, kexp } from "./activation";

/** f64 slots per class of the Dice accumulators (assembly/multiclassRegion.ts MC_SLOTS): Σtp, Σt, Σp, … */
const DICE_SLOTS: i32 = 7;
const IGNORE: i32 = 1;
/** diceCELogitSums: the cross-entropy sums alone (crossEntropy's plain form from logits; `dice` and `scratch` unused). */
const CE_ONLY: i32 = 2;

/**
 * Adds one chunk's sums: Dice (Σtp, Σt, Σp per class at dice + 8·7·c) and
 * cross-entropy (Σ −ln clip(p_y, eps, hi), kept pixels, kept pixels at ce).
 * IGNORE: pixels labelled −1 leave every sum. Returns the largest bit
 * pattern of p (above 0x3f800000: some value is not in [+0, 1]).
 */
export function diceCELabelSums(
  p: usize, pStride: i32, lab: usize, len: i32, C: i32, dice: usize, ce: usize, flags: i32, eps: f32, hi: f32,
): u32 {
  const bits = (flags & IGNORE) != 0 ? planeSums(p, pStride, lab, len, C, dice, true) : planeSums(p, pStride, lab, len, C, dice, false);
  pixelSums(p, pStride, lab, len, dice, ce, eps, hi);
  return bits;
}

/** Σp per class plane (kept pixels) into slot 2, and the largest bit pattern of every value. */
// @ts-ignore: decorator
@inline function planeSums(p: usize, pStride: i32, lab: usize, len: i32, C: i32, dice: usize, ignore: bool): u32 {
  const ps = (<usize>pStride) << 2;
  let bits: u32 = 0;
  for (let c = 0; c < C; c++) {
    const pc = p + <usize>c * ps;
    let sP: f64 = 0;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const np = len >> 3; // pairs of vectors: two add chains
      const zero = i32x4.splat(0);
      let vb = zero;
      let v = 0;
      while (v < np) {
        const end = min(v + (BLOCK >> 1), np);
        let a = f32x4.splat(0), b = f32x4.splat(0);
        for (; v < end; v++) {
          const off = (<usize>v) << 5;
          let pa = v128.load(pc + off), pb = v128.load(pc + off, 16);
          vb = i32x4.max_u(vb, i32x4.max_u(pa, pb)); // p ≥ +0 ⇔ bits ≤ 0x3f800000 for p ≤ 1; −0 and negatives have the sign bit
          if (ignore) {
            pa = v128.andnot(pa, i32x4.lt_s(v128.load(lab + off), zero));
            pb = v128.andnot(pb, i32x4.lt_s(v128.load(lab + off, 16), zero));
          }
          a = f32x4.add(a, pa);
          b = f32x4.add(b, pb);
        }
        sP += hsum64(f32x4.add(a, b));
      }
      bits = max(bits, max(max(i32x4.extract_lane(vb, 0) as u32, i32x4.extract_lane(vb, 1) as u32), max(i32x4.extract_lane(vb, 2) as u32, i32x4.extract_lane(vb, 3) as u32)));
      i = np << 3;
    }
    for (; i < len; i++) {
      const off = (<usize>i) << 2;
      const pv = load<f32>(pc + off);
      bits = max(bits, reinterpret<u32>(pv));
      if (ignore && load<i32>(lab + off) < 0) continue;
      sP += <f64>pv;
    }
    addF64(dice + <usize>(c * DICE_SLOTS) * 8 + 16, sP);
  }
  return bits;
}

/** Per pixel: p_y once; Dice Σtp and Σt per class (scatter-add in f64), and the cross-entropy sums. */
// @ts-ignore: decorator
@inline function pixelSums(p: usize, pStride: i32, lab: usize, len: i32, dice: usize, ce: usize, eps: f32, hi: f32): void {
  const ps = (<usize>pStride) << 2;
  const slot = <usize>DICE_SLOTS * 8;
  let sL: f64 = 0, sN: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = len >> 2;
    const zero = i32x4.splat(0);
    const one = f32x4.splat(1), lo = f32x4.splat(eps), top = f32x4.splat(hi), mant = i32x4.splat(0x007fffff);
    // Σ ln clip(p_y) = ln Π clip(p_y): a running product (math.ts; clip(p_y) ≥ ε = 1e-7 > 2^−24)
    let prod = one, prodExp = zero;
    let sinceRenorm = 0, renorms = 0;
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      let aN = f32x4.splat(0);
      for (; v < end; v++) {
        const off = (<usize>v) << 4;
        const l = v128.load(lab + off);
        const keep = i32x4.ge_s(l, zero);
        const y0 = i32x4.extract_lane(l, 0), y1 = i32x4.extract_lane(l, 1), y2 = i32x4.extract_lane(l, 2), y3 = i32x4.extract_lane(l, 3);
        const b = p + off;
        // an ignored pixel (−1) reads class 0 and adds nothing
        const p0 = load<f32>(b + <usize>max(y0, 0) * ps), p1 = load<f32>(b + 4 + <usize>max(y1, 0) * ps);
        const p2 = load<f32>(b + 8 + <usize>max(y2, 0) * ps), p3 = load<f32>(b + 12 + <usize>max(y3, 0) * ps);
        if (y0 >= 0) scatter(dice + <usize>y0 * slot, p0);
        if (y1 >= 0) scatter(dice + <usize>y1 * slot, p1);
        if (y2 >= 0) scatter(dice + <usize>y2 * slot, p2);
        if (y3 >= 0) scatter(dice + <usize>y3 * slot, p3);
        let py = f32x4.splat(p0);
        py = f32x4.replace_lane(py, 1, p1);
        py = f32x4.replace_lane(py, 2, p2);
        py = f32x4.replace_lane(py, 3, p3);
        prod = f32x4.mul(prod, v128.bitselect(f32x4.pmin(f32x4.pmax(py, lo), top), one, keep));
        if (++sinceRenorm == PRODUCT_RUN) {
          prodExp = i32x4.add(prodExp, productExponent(prod));
          prod = productMantissa(prod, mant, one);
          sinceRenorm = 0;
          renorms++;
        }
        aN = f32x4.add(aN, v128.and(one, keep));
      }
      sN += hsum64(aN);
    }
    sL = -lnOfProduct(prod, prodExp, renorms);
    i = nv << 2;
  }
  for (; i < len; i++) {
    const y = load<i32>(lab + ((<usize>i) << 2));
    if (y < 0) continue;
    const pv = load<f32>(p + ((<usize>i) << 2) + <usize>y * ps);
    scatter(dice + <usize>y * slot, pv);
    sL += <f64>-log1(min(max(pv, eps), hi));
    sN += 1;
  }
  addF64(ce, sL);
  addF64(ce + 8, sN);
  addF64(ce + 16, sN); // Σ w_y with every weight 1
}

/**
 * The plain form's sums from logits (as diceCELabelSums, the probabilities
 * being softmax(x) over the C classes of each pixel). `scratch`: 48·C bytes.
 * Returns the largest |x| bit pattern (above 0x7f7fffff: ±Inf or NaN).
 */
export function diceCELogitSums(
  x: usize, xStride: i32, lab: usize, len: i32, C: i32, dice: usize, ce: usize, flags: i32, scratch: usize,
): u32 {
  if ((flags & CE_ONLY) != 0) {
    return (flags & IGNORE) != 0
      ? logitSums(x, xStride, lab, len, C, 0, ce, 0, true, false)
      : logitSums(x, xStride, lab, len, C, 0, ce, 0, false, false);
  }
  return (flags & IGNORE) != 0
    ? logitSums(x, xStride, lab, len, C, dice, ce, scratch, true, true)
    : logitSums(x, xStride, lab, len, C, dice, ce, scratch, false, true);
}

/**
 * Per pixel: m = max_c x_c, e_c = e^(x_c − m), s = Σ e_c = 1 + u with
 * u = Σ_{x_c < m} e_c + (classes at the max − 1) summed without the 1, so a
 * confident pixel's small terms are not rounded against it; p_c = e_c / s.
 * Dice: Σp per class (kept pixels) in f32x4 accumulators at scratch + 16·C,
 * flushed to f64 every BLOCK/2 vectors; Σtp and Σt by scatter-add.
 * Cross-entropy: −ln p_y = (m − x_y) + ln(1 + u). Without `withDice` only
 * the cross-entropy: no exponential is kept or read back.
 */
// @ts-ignore: decorator
@inline function logitSums(
  x: usize, xStride: i32, lab: usize, len: i32, C: i32, dice: usize, ce: usize, scratch: usize, ignore: bool, withDice: bool,
): u32 {
  const xs = (<usize>xStride) << 2;
  const slot = <usize>DICE_SLOTS * 8;
  let bits: u32 = 0;
  let sL: f64 = 0, sN: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // e_c of the current vector at cur + 16·c, of the previous one at prev + 16·c (two buffers taking turns), Σp per
    // class at A + 16·c: each vector's p_c = e_c·inv is added during the next vector's exp loop (its inv, zeroed on
    // ignored pixels, in pInv), independent work beside the exp's long chain of dependent steps
    let cur = scratch, prev = scratch + ((<usize>C) << 4);
    const A = scratch + ((<usize>C) << 5);
    const lo = kexp(0), l2e = kexp(1), mg = kexp(2), c1 = kexp(3), c2 = kexp(4);
    const e4 = kexp(5), e3 = kexp(6), e2 = kexp(7), e1 = kexp(8), e0 = kexp(9), one = kexp(10);
    const zero = f32x4.splat(0), izero = i32x4.splat(0), abs = i32x4.splat(0x7fffffff);
    const tiesBase = i32x4.splat(C - 1);
    if (withDice) {
      for (let c = 0; c < C; c++) {
        v128.store(prev + ((<usize>c) << 4), zero);
        v128.store(A + ((<usize>c) << 4), zero);
      }
    }
    let pInv = zero;
    const nv = len >> 2;
    let vb = izero;
    let v = 0;
    while (v < nv) {
      const end = min(v + (BLOCK >> 1), nv);
      let aL = zero, aN = zero;
      for (; v < end; v++) {
        const off = (<usize>v) << 4;
        const xi = x + off;
        let xa = xi;
        let m = v128.load(xa);
        vb = i32x4.max_u(vb, v128.and(m, abs));
        for (let c = 1; c < C; c++) {
          xa += xs;
          const xv = v128.load(xa);
          m = f32x4.pmax(m, xv);
          vb = i32x4.max_u(vb, v128.and(xv, abs));
        }
        let u = zero;
        let below = izero; // −(classes below the max)
        xa = xi;
        let ec = cur, ep = prev, ac = A;
        for (let c = 0; c < C; c++) {
          const d = f32x4.sub(v128.load(xa), m);
          const e = expNonPosK4(d, lo, l2e, mg, c1, c2, e4, e3, e2, e1, e0, one);
          const lt = f32x4.lt(d, zero);
          u = f32x4.add(u, v128.and(e, lt));
          below = i32x4.add(below, lt);
          if (withDice) {
            v128.store(ec, e);
            v128.store(ac, f32x4.add(v128.load(ac), f32x4.mul(v128.load(ep), pInv)));
          }
          xa += xs;
          ec += 16;
          ep += 16;
          ac += 16;
        }
        u = f32x4.add(u, f32x4.convert_i32x4_s(i32x4.add(tiesBase, below)));
        const inv = f32x4.div(one, f32x4.add(one, u));
        const l = v128.load(lab + off);
        const keep = i32x4.ge_s(l, izero);
        pInv = ignore ? v128.and(inv, keep) : inv;
        const E = cur;
        cur = prev;
        prev = E;
        // an ignored pixel (−1) reads class 0 and adds nothing
        const y0 = i32x4.extract_lane(l, 0), y1 = i32x4.extract_lane(l, 1), y2 = i32x4.extract_lane(l, 2), y3 = i32x4.extract_lane(l, 3);
        const c0 = <usize>max(y0, 0), c1y = <usize>max(y1, 0), c2y = <usize>max(y2, 0), c3 = <usize>max(y3, 0);
        let xy = f32x4.splat(load<f32>(xi + c0 * xs));
        xy = f32x4.replace_lane(xy, 1, load<f32>(xi + 4 + c1y * xs));
        xy = f32x4.replace_lane(xy, 2, load<f32>(xi + 8 + c2y * xs));
        xy = f32x4.replace_lane(xy, 3, load<f32>(xi + 12 + c3 * xs));
        if (withDice) {
          let ey = f32x4.splat(load<f32>(E + (c0 << 4)));
          ey = f32x4.replace_lane(ey, 1, load<f32>(E + (c1y << 4) + 4));
          ey = f32x4.replace_lane(ey, 2, load<f32>(E + (c2y << 4) + 8));
          ey = f32x4.replace_lane(ey, 3, load<f32>(E + (c3 << 4) + 12));
          const py = f32x4.mul(ey, inv);
          if (y0 >= 0) scatter(dice + <usize>y0 * slot, f32x4.extract_lane(py, 0));
          if (y1 >= 0) scatter(dice + <usize>y1 * slot, f32x4.extract_lane(py, 1));
          if (y2 >= 0) scatter(dice + <usize>y2 * slot, f32x4.extract_lane(py, 2));
          if (y3 >= 0) scatter(dice + <usize>y3 * slot, f32x4.extract_lane(py, 3));
        }
        aL = f32x4.add(aL, v128.and(f32x4.add(f32x4.sub(m, xy), log1p4(u)), keep));
        aN = f32x4.add(aN, v128.and(one, keep));
      }
      sL += hsum64(aL);
      sN += hsum64(aN);
      if (withDice && v == nv) {
        // the last vector's p_c
        for (let c = 0; c < C; c++) {
          const a = A + ((<usize>c) << 4);
          v128.store(a, f32x4.add(v128.load(a), f32x4.mul(v128.load(prev + ((<usize>c) << 4)), pInv)));
        }
      }
      if (withDice) {
        for (let c = 0; c < C; c++) {
          const a = A + ((<usize>c) << 4);
          addF64(dice + <usize>c * slot + 16, hsum64(v128.load(a)));
          v128.store(a, zero);
        }
      }
    }
    bits = max(max(i32x4.extract_lane(vb, 0) as u32, i32x4.extract_lane(vb, 1) as u32), max(i32x4.extract_lane(vb, 2) as u32, i32x4.extract_lane(vb, 3) as u32));
    i = nv << 2;
  }
  // the same steps one pixel at a time (the tail, and the scalar build); e_c at scratch + 16·c
  const E = scratch;
  for (; i < len; i++) {
    const xi = x + ((<usize>i) << 2);
    let m = load<f32>(xi);
    bits = max(bits, reinterpret<u32>(m) & 0x7fffffff);
    for (let c = 1; c < C; c++) {
      const xv = load<f32>(xi + <usize>c * xs);
      m = max(m, xv);
      bits = max(bits, reinterpret<u32>(xv) & 0x7fffffff);
    }
    let u: f32 = 0;
    let ties = -1;
    for (let c = 0; c < C; c++) {
      const d = load<f32>(xi + <usize>c * xs) - m;
      const e = expNonPos1(d);
      if (withDice) store<f32>(E + ((<usize>c) << 4), e);
      if (d < 0) u += e;
      else ties++;
    }
    u += <f32>ties;
    const inv: f32 = 1 / (1 + u);
    const y = load<i32>(lab + ((<usize>i) << 2));
    if (ignore && y < 0) continue;
    if (withDice) {
      for (let c = 0; c < C; c++) addF64(dice + <usize>c * slot + 16, <f64>(load<f32>(E + ((<usize>c) << 4)) * inv));
      scatter(dice + <usize>y * slot, load<f32>(E + ((<usize>y) << 4)) * inv);
    }
    sL += <f64>(m - load<f32>(xi + <usize>y * xs) + log1p1(u));
    sN += 1;
  }
  addF64(ce, sL);
  addF64(ce + 8, sN);
  addF64(ce + 16, sN); // Σ w_y with every weight 1
  return bits;
}

/** Σtp += p and Σt += 1 for one pixel of class y (its slots at a). */
// @ts-ignore: decorator
@inline function scatter(a: usize, pv: f32): void {
  store<f64>(a, load<f64>(a) + <f64>pv);
  store<f64>(a, load<f64>(a, 8) + 1, 8);
}

/**
 * g += softmax backward of h (softmax ≠ 0), or g += h. `len` pixels, C
 * classes; p, h and g each with its own class stride.
 */
export function diceCEAddGrad(
  p: usize, pStride: i32, h: usize, hStride: i32, g: usize, gStride: i32, len: i32, C: i32, softmax: i32,
): void {
  if (softmax) addSoftmaxBackward(p, pStride, h, hStride, g, gStride, len, C);
  else addPlanes(h, hStride, g, gStride, len, C);
}

function addSoftmaxBackward(p: usize, pStride: i32, h: usize, hStride: i32, g: usize, gStride: i32, len: i32, C: i32): void {
  const ps = (<usize>pStride) << 2, hs = (<usize>hStride) << 2, gs = (<usize>gStride) << 2;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= len; i += 4) {
      const o = (<usize>i) << 2;
      let pa = p + o, ha = h + o, ga = g + o;
      let d = f32x4.splat(0);
      for (let c = 0; c < C; c++) {
        d = f32x4.add(d, f32x4.mul(v128.load(pa), v128.load(ha)));
        pa += ps;
        ha += hs;
      }
      pa = p + o;
      ha = h + o;
      for (let c = 0; c < C; c++) {
        v128.store(ga, f32x4.add(v128.load(ga), f32x4.mul(v128.load(pa), f32x4.sub(v128.load(ha), d))));
        pa += ps;
        ha += hs;
        ga += gs;
      }
    }
  }
  for (; i < len; i++) {
    const o = (<usize>i) << 2;
    let d: f32 = 0;
    for (let c = 0; c < C; c++) d += load<f32>(p + o + <usize>c * ps) * load<f32>(h + o + <usize>c * hs);
    for (let c = 0; c < C; c++) {
      const a = g + o + <usize>c * gs;
      store<f32>(a, load<f32>(a) + load<f32>(p + o + <usize>c * ps) * (load<f32>(h + o + <usize>c * hs) - d));
    }
  }
}

function addPlanes(h: usize, hStride: i32, g: usize, gStride: i32, len: i32, C: i32): void {
  for (let c = 0; c < C; c++) {
    const hc = h + (((<usize>c) * <usize>hStride) << 2);
    const gc = g + (((<usize>c) * <usize>gStride) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= len; i += 4) {
        const o = (<usize>i) << 2;
        v128.store(gc + o, f32x4.add(v128.load(gc + o), v128.load(hc + o)));
      }
    }
    for (; i < len; i++) {
      const o = (<usize>i) << 2;
      store<f32>(gc + o, load<f32>(gc + o) + load<f32>(hc + o));
    }
  }
}
