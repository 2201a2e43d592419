// Region losses (Dice, Jaccard, Tversky and their kin): one fused pass that
// collects every sum a score needs per segment (an image, or the batch), with
// the input range folded in; and the element-wise gradient pass.
import { BLOCK, addF64, foldRange, hmax, hmin, hsum64 } from "./simd";
import { sigmoid1, sigmoid4 } from "./math";

/** f64 slots per segment written by regionSums. */
export const REGION_SLOTS: i32 = 7;
// slot order: Σtp, Σt, Σp, Σt², Σp², Σ|t−p|, kept count

export const FLAG_LOGITS: i32 = 1;
export const FLAG_SQUARED: i32 = 2;
export const FLAG_SOFT: i32 = 4;
export const FLAG_IGNORE: i32 = 8;

// @ts-ignore: decorator
@inline function regionSegment(
  t: usize, p: usize, n: i32, acc: usize, stats: usize,
  logits: bool, squared: bool, soft: bool, ignore: bool, ign: f32,
): void {
  let sTP: f64 = 0, sT: f64 = 0, sP: f64 = 0, sT2: f64 = 0, sP2: f64 = 0, sAbs: f64 = 0, sN: f64 = 0;
  let tLo: f32 = Infinity, tHi: f32 = -Infinity, pLo: f32 = Infinity, pHi: f32 = -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const one = f32x4.splat(1);
    const ignV = f32x4.splat(ign);
    let tMin = f32x4.splat(Infinity), tMax = f32x4.splat(-Infinity);
    let pMin = tMin, pMax = tMax;
    let nanP = f32x4.splat(0);
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      const zero = f32x4.splat(0);
      let aTP = zero, aT = zero, aP = zero, aT2 = zero, aP2 = zero, aAbs = zero, aN = zero;
      for (; v < end; v++) {
        const off = (<usize>v) << 4;
        let tv = v128.load(t + off);
        const xv = v128.load(p + off);
        pMin = f32x4.pmin(pMin, xv);
        pMax = f32x4.pmax(pMax, xv);
        nanP = v128.or(nanP, f32x4.ne(xv, xv));
        let pv = logits ? sigmoid4(xv) : xv;
        if (ignore) {
          const keep = f32x4.ne(tv, ignV);
          tv = v128.and(tv, keep);
          pv = v128.and(pv, keep);
          aN = f32x4.add(aN, v128.and(one, keep));
        }
        tMin = f32x4.pmin(tMin, tv);
        tMax = f32x4.pmax(tMax, tv);
        aTP = f32x4.add(aTP, f32x4.mul(tv, pv));
        aT = f32x4.add(aT, tv);
        aP = f32x4.add(aP, pv);
        if (squared) {
          aT2 = f32x4.add(aT2, f32x4.mul(tv, tv));
          aP2 = f32x4.add(aP2, f32x4.mul(pv, pv));
        }
        if (soft) aAbs = f32x4.add(aAbs, f32x4.abs(f32x4.sub(tv, pv)));
      }
      sTP += hsum64(aTP);
      sT += hsum64(aT);
      sP += hsum64(aP);
      if (squared) {
        sT2 += hsum64(aT2);
        sP2 += hsum64(aP2);
      }
      if (soft) sAbs += hsum64(aAbs);
      if (ignore) sN += hsum64(aN);
    }
    tLo = hmin(tMin); tHi = hmax(tMax); pLo = hmin(pMin); pHi = hmax(pMax);
    if (v128.any_true(nanP)) pLo = NaN;
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    let tv = load<f32>(t + off);
    const xv = load<f32>(p + off);
    pLo = min(pLo, xv);
    pHi = max(pHi, xv);
    let pv = logits ? sigmoid1(xv) : xv;
    if (ignore) {
      if (tv == ign) continue;
      sN += 1;
    }
    tLo = min(tLo, tv);
    tHi = max(tHi, tv);
    const td = <f64>tv, pd = <f64>pv;
    sTP += td * pd;
    sT += td;
    sP += pd;
    if (squared) {
      sT2 += td * td;
      sP2 += pd * pd;
    }
    if (soft) sAbs += Math.abs(td - pd);
  }
  if (!ignore) sN = <f64>n;
  if (isNaN(sT) && isFinite(tLo) && isFinite(tHi)) tLo = NaN;
  addF64(acc, sTP);
  addF64(acc + 8, sT);
  addF64(acc + 16, sP);
  addF64(acc + 24, sT2);
  addF64(acc + 32, sP2);
  addF64(acc + 40, sAbs);
  addF64(acc + 48, sN);
  foldRange(stats, tLo, tHi);
  foldRange(stats + 8, pLo, pHi);
}

/** The common case (hard or soft t, probabilities, no options): Σtp, Σt, Σp
 *  and the ranges, two vectors per step so the add chains overlap. NaN is
 *  caught by the sums (pmin/pmax skip it). */
// @ts-ignore: decorator
@inline function regionPlainSegment(t: usize, p: usize, n: i32, acc: usize, stats: usize): void {
  let sTP: f64 = 0, sT: f64 = 0, sP: f64 = 0;
  let tLo: f32 = Infinity, tHi: f32 = -Infinity, pLo: f32 = Infinity, pHi: f32 = -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const np = n >> 3; // pairs of vectors
    let tMin = f32x4.splat(Infinity), tMax = f32x4.splat(-Infinity);
    let pMin = tMin, pMax = tMax;
    let v = 0;
    while (v < np) {
      const end = min(v + (BLOCK >> 1), np);
      const zero = f32x4.splat(0);
      let aTP = zero, aT = zero, aP = zero, bTP = zero, bT = zero, bP = zero;
      for (; v < end; v++) {
        const off = (<usize>v) << 5;
        const ta = v128.load(t + off), tb = v128.load(t + off, 16);
        const pa = v128.load(p + off), pb = v128.load(p + off, 16);
        tMin = f32x4.pmin(tMin, f32x4.pmin(ta, tb));
        tMax = f32x4.pmax(tMax, f32x4.pmax(ta, tb));
        pMin = f32x4.pmin(pMin, f32x4.pmin(pa, pb));
        pMax = f32x4.pmax(pMax, f32x4.pmax(pa, pb));
        aTP = f32x4.add(aTP, f32x4.mul(ta, pa));
        bTP = f32x4.add(bTP, f32x4.mul(tb, pb));
        aT = f32x4.add(aT, ta);
        bT = f32x4.add(bT, tb);
        aP = f32x4.add(aP, pa);
        bP = f32x4.add(bP, pb);
      }
      sTP += hsum64(f32x4.add(aTP, bTP));
      sT += hsum64(f32x4.add(aT, bT));
      sP += hsum64(f32x4.add(aP, bP));
    }
    tLo = hmin(tMin); tHi = hmax(tMax); pLo = hmin(pMin); pHi = hmax(pMax);
    i = np << 3;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off), pv = load<f32>(p + off);
    tLo = min(tLo, tv); tHi = max(tHi, tv); pLo = min(pLo, pv); pHi = max(pHi, pv);
    sTP += <f64>tv * <f64>pv;
    sT += <f64>tv;
    sP += <f64>pv;
  }
  // NaN is skipped by pmin/pmax but not by the sums (unless ±Inf made the NaN)
  if (isNaN(sT) && isFinite(tLo) && isFinite(tHi)) tLo = NaN;
  if (isNaN(sP) && isFinite(pLo) && isFinite(pHi)) pLo = NaN;
  addF64(acc, sTP);
  addF64(acc + 8, sT);
  addF64(acc + 16, sP);
  addF64(acc + 48, <f64>n);
  foldRange(stats, tLo, tHi);
  foldRange(stats + 8, pLo, pHi);
}

/**
 * Adds the region sums of `count` elements, cut into segments of `segLen`
 * elements, into `acc` (REGION_SLOTS f64 per segment). t, p: f32. stats: f32
 * [minT, maxT, minP, maxP] folded with this call's ranges (ignored targets
 * excluded; raw predictions, before any sigmoid).
 */
export function regionSums(
  t: usize, p: usize, count: i32, segLen: i32, acc: usize, stats: usize, flags: i32, ign: f32,
): void {
  const logits = (flags & FLAG_LOGITS) != 0;
  const squared = (flags & FLAG_SQUARED) != 0;
  const soft = (flags & FLAG_SOFT) != 0;
  const ignore = (flags & FLAG_IGNORE) != 0;
  for (let start = 0; start < count; start += segLen) {
    const n = min(segLen, count - start);
    const off = (<usize>start) << 2;
    if (flags == 0) {
      regionPlainSegment(t + off, p + off, n, acc, stats);
    } else {
      regionSegment(t + off, p + off, n, acc, stats, logits, squared, soft, ignore, ign);
    }
    acc += REGION_SLOTS << 3;
  }
}

// @ts-ignore: decorator
@inline function regionGradSegment(
  g: usize, t: usize, p: usize, n: i32, cI: f32, cP: f32,
  logits: bool, squared: bool, soft: bool, ignore: bool, ign: f32, accumulate: bool,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const ci = f32x4.splat(cI), cp = f32x4.splat(cP), half = f32x4.splat(0.5), one = f32x4.splat(1);
    const ignV = f32x4.splat(ign);
    for (let v = 0; v < nv; v++) {
      const off = (<usize>v) << 4;
      const tv = v128.load(t + off);
      const xv = v128.load(p + off);
      const pv = logits ? sigmoid4(xv) : xv;
      let dI: v128;
      if (soft) {
        // (1 − sign(p − t)) / 2: 0 above t, 1 below, ½ at equality
        const gt = v128.and(f32x4.gt(pv, tv), half);
        const lt = v128.and(f32x4.lt(pv, tv), half);
        dI = f32x4.add(half, f32x4.sub(lt, gt));
      } else {
        dI = tv;
      }
      const dP = squared ? f32x4.add(pv, pv) : one;
      let gv = f32x4.add(f32x4.mul(ci, dI), f32x4.mul(cp, dP));
      if (logits) gv = f32x4.mul(gv, f32x4.mul(pv, f32x4.sub(one, pv)));
      if (ignore) gv = v128.and(gv, f32x4.ne(tv, ignV));
      if (accumulate) gv = f32x4.add(gv, v128.load(g + off));
      v128.store(g + off, gv);
    }
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(p + off);
    const pv = logits ? sigmoid1(xv) : xv;
    const dI: f32 = soft ? (pv > tv ? 0 : pv < tv ? 1 : 0.5) : tv;
    const dP: f32 = squared ? pv + pv : 1;
    let gv: f32 = cI * dI + cP * dP;
    if (logits) gv *= pv * (<f32>1 - pv);
    if (ignore && tv == ign) gv = 0;
    if (accumulate) gv += load<f32>(g + off);
    store<f32>(g + off, gv);
  }
}

/**
 * Writes (or adds, with `accumulate`) ∂L/∂p = cI·∂I/∂p + cP·∂Sp/∂p over
 * `count` elements in segments of `segLen`; coef holds f64 (cI, cP) per segment.
 */
export function regionGrad(
  g: usize, t: usize, p: usize, count: i32, segLen: i32, coef: usize, flags: i32, ign: f32, accumulate: i32,
): void {
  const logits = (flags & FLAG_LOGITS) != 0;
  const squared = (flags & FLAG_SQUARED) != 0;
  const soft = (flags & FLAG_SOFT) != 0;
  const ignore = (flags & FLAG_IGNORE) != 0;
  for (let start = 0; start < count; start += segLen) {
    const n = min(segLen, count - start);
    const off = (<usize>start) << 2;
    const cI = <f32>load<f64>(coef), cP = <f32>load<f64>(coef, 8);
    // the plain forms get their own loops with every option folded away
    if (flags == 0 && accumulate == 0) {
      regionGradSegment(g + off, t + off, p + off, n, cI, cP, false, false, false, false, 0, false);
    } else if (flags == 0) {
      regionGradSegment(g + off, t + off, p + off, n, cI, cP, false, false, false, false, 0, true);
    } else if (accumulate != 0) {
      regionGradSegment(g + off, t + off, p + off, n, cI, cP, logits, squared, soft, ignore, ign, true);
    } else {
      regionGradSegment(g + off, t + off, p + off, n, cI, cP, logits, squared, soft, ignore, ign, false);
    }
    coef += 16;
  }
}
