// Multi-class region losses (Dice, Jaccard, Tversky, generalized Dice): per
// (image, class) sums of one class-major chunk, and the gradient pass. A chunk
// holds `len` pixels of one image; class c of pixel i is at base + 4·(c·stride + i).
// Targets are int32 labels (t = [label = c], −1 = ignored) or dense f32 planes.
import { BLOCK, addF64, hsum64 } from "./simd";

/** f64 slots per (image, class), the binary kernel's order: Σtp, Σt, Σp, Σt², Σp², Σ|t−p|, (unused). */
export const MC_SLOTS: i32 = 7;

export const MC_LABELS: i32 = 1;
export const MC_SQUARED: i32 = 2;
export const MC_SOFT: i32 = 4;
export const MC_IGNORE: i32 = 8;

// @ts-ignore: decorator
@inline function plane(base: usize, stride: i32, c: i32): usize {
  return base + ((<usize>c * <usize>stride) << 2);
}

/** One class plane against labels: Σtp, Σt (exact integer count), Σp, Σp² (ignored pixels excluded).
 *  Two vectors per step, so the f32 add chains overlap. */
// @ts-ignore: decorator
@inline function labelClassSums(p: usize, lab: usize, len: i32, c: i32, acc: usize, ignore: bool, squared: bool): void {
  let sTP: f64 = 0, sP: f64 = 0, sP2: f64 = 0;
  let nT: i32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const np = len >> 3; // pairs of vectors
    const cv = i32x4.splat(c);
    const zero = i32x4.splat(0);
    let cnt = zero;
    let v = 0;
    while (v < np) {
      const end = min(v + (BLOCK >> 1), np);
      const fz = f32x4.splat(0);
      let aTP = fz, aP = fz, aP2 = fz, bTP = fz, bP = fz, bP2 = fz;
      for (; v < end; v++) {
        const off = (<usize>v) << 5;
        const la = v128.load(lab + off), lb = v128.load(lab + off, 16);
        let pa = v128.load(p + off), pb = v128.load(p + off, 16);
        const ma = i32x4.eq(la, cv), mb = i32x4.eq(lb, cv);
        cnt = i32x4.sub(cnt, i32x4.add(ma, mb));
        aTP = f32x4.add(aTP, v128.and(pa, ma));
        bTP = f32x4.add(bTP, v128.and(pb, mb));
        if (ignore) {
          pa = v128.andnot(pa, i32x4.lt_s(la, zero));
          pb = v128.andnot(pb, i32x4.lt_s(lb, zero));
        }
        aP = f32x4.add(aP, pa);
        bP = f32x4.add(bP, pb);
        if (squared) {
          aP2 = f32x4.add(aP2, f32x4.mul(pa, pa));
          bP2 = f32x4.add(bP2, f32x4.mul(pb, pb));
        }
      }
      sTP += hsum64(f32x4.add(aTP, bTP));
      sP += hsum64(f32x4.add(aP, bP));
      if (squared) sP2 += hsum64(f32x4.add(aP2, bP2));
    }
    nT = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
    i = np << 3;
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const l = load<i32>(lab + off);
    if (ignore && l < 0) continue;
    const pv = <f64>load<f32>(p + off);
    if (l == c) {
      nT++;
      sTP += pv;
    }
    sP += pv;
    if (squared) sP2 += pv * pv;
  }
  addF64(acc, sTP);
  addF64(acc + 8, <f64>nT);
  addF64(acc + 16, sP);
  if (squared) addF64(acc + 32, sP2);
}

/** One class plane against a dense target plane: Σtp, Σt, Σp, and Σt², Σp² (squared), Σ|t−p| (soft). */
// @ts-ignore: decorator
@inline function denseClassSums(p: usize, t: usize, len: i32, acc: usize, squared: bool, soft: bool): void {
  let sTP: f64 = 0, sT: f64 = 0, sP: f64 = 0, sT2: f64 = 0, sP2: f64 = 0, sAbs: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = len >> 2;
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      const fz = f32x4.splat(0);
      let aTP = fz, aT = fz, aP = fz, aT2 = fz, aP2 = fz, aAbs = fz;
      for (; v < end; v++) {
        const off = (<usize>v) << 4;
        const tv = v128.load(t + off);
        const pv = v128.load(p + off);
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
    }
    i = nv << 2;
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const td = <f64>load<f32>(t + off), pd = <f64>load<f32>(p + off);
    sTP += td * pd;
    sT += td;
    sP += pd;
    if (squared) {
      sT2 += td * td;
      sP2 += pd * pd;
    }
    if (soft) sAbs += Math.abs(td - pd);
  }
  addF64(acc, sTP);
  addF64(acc + 8, sT);
  addF64(acc + 16, sP);
  if (squared) {
    addF64(acc + 24, sT2);
    addF64(acc + 32, sP2);
  }
  if (soft) addF64(acc + 40, sAbs);
}

function labelPlanes(p: usize, pStride: i32, lab: usize, len: i32, C: i32, acc: usize, flags: i32): void {
  const ignore = (flags & MC_IGNORE) != 0;
  const squared = (flags & MC_SQUARED) != 0;
  for (let c = 0; c < C; c++) {
    const pc = plane(p, pStride, c);
    const a = acc + <usize>(c * MC_SLOTS) * 8;
    if (!ignore && !squared) labelClassSums(pc, lab, len, c, a, false, false);
    else if (!squared) labelClassSums(pc, lab, len, c, a, true, false);
    else labelClassSums(pc, lab, len, c, a, ignore, true);
  }
}

function densePlanes(p: usize, pStride: i32, t: usize, tStride: i32, len: i32, C: i32, acc: usize, flags: i32): void {
  const squared = (flags & MC_SQUARED) != 0;
  const soft = (flags & MC_SOFT) != 0;
  for (let c = 0; c < C; c++) {
    const pc = plane(p, pStride, c);
    const tc = plane(t, tStride, c);
    const a = acc + <usize>(c * MC_SLOTS) * 8;
    if (!squared && !soft) denseClassSums(pc, tc, len, a, false, false);
    else denseClassSums(pc, tc, len, a, squared, soft);
  }
}

/**
 * Adds the sums of one chunk (`len` pixels of one image) into `acc`, C·MC_SLOTS
 * f64 (class c at slot c·MC_SLOTS). With MC_LABELS, `lab` holds int32 labels
 * (−1 ignored) and Σt² = Σt, Σ|t−p| are left to the caller (hard targets);
 * otherwise `t` is a dense class-major target.
 */
export function mcRegionSums(p: usize, pStride: i32, t: usize, tStride: i32, lab: usize, len: i32, C: i32, acc: usize, flags: i32): void {
  if ((flags & MC_LABELS) != 0) labelPlanes(p, pStride, lab, len, C, acc, flags);
  else densePlanes(p, pStride, t, tStride, len, C, acc, flags);
}

/** dL/dp of one class plane against labels: cI·dI/dp + cP·dP/dp, 0 where ignored. */
// @ts-ignore: decorator
@inline function labelClassGrad(
  g: usize, p: usize, lab: usize, len: i32, c: i32, cI: f32, cP: f32, ignore: bool, squared: bool, soft: bool,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = i32x4.splat(c);
    const zero = i32x4.splat(0);
    const one = f32x4.splat(1);
    const half = f32x4.splat(0.5);
    const ci = f32x4.splat(cI), cp = f32x4.splat(cP);
    for (; i + 4 <= len; i += 4) {
      const off = (<usize>i) << 2;
      const lv = v128.load(lab + off);
      const pv = v128.load(p + off);
      const tv = v128.and(one, i32x4.eq(lv, cv));
      let dI = tv;
      if (soft) {
        // (1 − sign(p − t)) / 2
        dI = f32x4.add(half, f32x4.sub(v128.and(f32x4.lt(pv, tv), half), v128.and(f32x4.gt(pv, tv), half)));
      }
      let gv = f32x4.mul(ci, dI);
      gv = f32x4.add(gv, squared ? f32x4.mul(cp, f32x4.add(pv, pv)) : cp);
      if (ignore) gv = v128.andnot(gv, i32x4.lt_s(lv, zero));
      v128.store(g + off, gv);
    }
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const l = load<i32>(lab + off);
    const pv = load<f32>(p + off);
    const tv: f32 = l == c ? 1 : 0;
    const dI: f32 = soft ? (pv > tv ? 0 : pv < tv ? 1 : 0.5) : tv;
    let gv: f32 = cI * dI + (squared ? cP * (pv + pv) : cP);
    if (ignore && l < 0) gv = 0;
    store<f32>(g + off, gv);
  }
}

/** dL/dp of one class plane against a dense target plane. */
// @ts-ignore: decorator
@inline function denseClassGrad(g: usize, p: usize, t: usize, len: i32, cI: f32, cP: f32, squared: bool, soft: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const half = f32x4.splat(0.5);
    const ci = f32x4.splat(cI), cp = f32x4.splat(cP);
    for (; i + 4 <= len; i += 4) {
      const off = (<usize>i) << 2;
      const tv = v128.load(t + off);
      const pv = v128.load(p + off);
      let dI = tv;
      if (soft) dI = f32x4.add(half, f32x4.sub(v128.and(f32x4.lt(pv, tv), half), v128.and(f32x4.gt(pv, tv), half)));
      let gv = f32x4.mul(ci, dI);
      gv = f32x4.add(gv, squared ? f32x4.mul(cp, f32x4.add(pv, pv)) : cp);
      v128.store(g + off, gv);
    }
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const pv = load<f32>(p + off);
    const dI: f32 = soft ? (pv > tv ? 0 : pv < tv ? 1 : 0.5) : tv;
    store<f32>(g + off, cI * dI + (squared ? cP * (pv + pv) : cP));
  }
}

// @ts-ignore: decorator
@inline function fillPlane(g: usize, len: i32): void {
  memory.fill(g, 0, (<usize>len) << 2);
}

function labelGradPlanes(g: usize, gStride: i32, p: usize, pStride: i32, lab: usize, len: i32, C: i32, coef: usize, flags: i32): void {
  const ignore = (flags & MC_IGNORE) != 0;
  const squared = (flags & MC_SQUARED) != 0;
  const soft = (flags & MC_SOFT) != 0;
  for (let c = 0; c < C; c++) {
    const gc = plane(g, gStride, c);
    const cI = <f32>load<f64>(coef + ((<usize>c) << 4));
    const cP = <f32>load<f64>(coef + ((<usize>c) << 4), 8);
    if (cI == 0 && cP == 0) {
      fillPlane(gc, len);
      continue;
    }
    const pc = plane(p, pStride, c);
    if (!ignore && !squared && !soft) labelClassGrad(gc, pc, lab, len, c, cI, cP, false, false, false);
    else if (!squared && !soft) labelClassGrad(gc, pc, lab, len, c, cI, cP, true, false, false);
    else labelClassGrad(gc, pc, lab, len, c, cI, cP, ignore, squared, soft);
  }
}

function denseGradPlanes(
  g: usize, gStride: i32, p: usize, pStride: i32, t: usize, tStride: i32, len: i32, C: i32, coef: usize, flags: i32,
): void {
  const squared = (flags & MC_SQUARED) != 0;
  const soft = (flags & MC_SOFT) != 0;
  for (let c = 0; c < C; c++) {
    const gc = plane(g, gStride, c);
    const cI = <f32>load<f64>(coef + ((<usize>c) << 4));
    const cP = <f32>load<f64>(coef + ((<usize>c) << 4), 8);
    if (cI == 0 && cP == 0) {
      fillPlane(gc, len);
      continue;
    }
    const pc = plane(p, pStride, c);
    const tc = plane(t, tStride, c);
    if (!squared && !soft) denseClassGrad(gc, pc, tc, len, cI, cP, false, false);
    else denseClassGrad(gc, pc, tc, len, cI, cP, squared, soft);
  }
}

/**
 * Writes ∂L/∂p of one chunk, class-major at `g`: for class c,
 * cI·∂I/∂p + cP·∂P/∂p with (cI, cP) the f64 pair at coef + 16·c; ∂I/∂p = t
 * (soft: (1 − sign(p − t))/2), ∂P/∂p = 1 (squared: 2p); 0 at ignored pixels.
 */
export function mcRegionGrad(
  g: usize, gStride: i32, p: usize, pStride: i32, t: usize, tStride: i32, lab: usize, len: i32, C: i32, coef: usize, flags: i32,
): void {
  if ((flags & MC_LABELS) != 0) labelGradPlanes(g, gStride, p, pStride, lab, len, C, coef, flags);
  else denseGradPlanes(g, gStride, p, pStride, t, tStride, len, C, coef, flags);
}
