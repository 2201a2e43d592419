// Lovasz hinge (binary) and the Jaccard-extension gradient. Only errors e > 0
// are sorted: each gives a u32 key (the bits of e, complemented so that
// ascending keys are descending errors; e > 0 needs no sign flip) and a u32
// payload (pixel index << 1) | target, which assembly/sort.ts sorts into u64
// items (payload low, key high).
import { hsum64 } from "./simd";
import { leftPack, radixSortU32 } from "./sort";

// stats record (i32): [valid count, positives, bad flags, pairs written]
export const LOVASZ_BAD_TARGET: i32 = 1;
export const LOVASZ_BAD_LOGIT: i32 = 2;

/** Key of a positive error: ascending keys are descending errors. */
const KEY_FLIP: u32 = 0x7fffffff;

/**
 * Checks one segment (targets 0/1 or the ignore label, finite logits), counts
 * its valid pixels and positives, and writes the key and payload of each valid
 * pixel with e > 0, in index order: relu(e) and its slope are 0 elsewhere, and
 * after the sort those pixels would all come last. The writes never pass the
 * element being read, so `keys` may be `t` and `pay` may be `x` (in place).
 */
export function lovaszPrepare(t: usize, x: usize, n: i32, keys: usize, pay: usize, ignore: i32, ign: f32, stats: usize): void {
  if (ignore) prepareIgnoring(t, x, n, keys, pay, ign, stats);
  else preparePlain(t, x, n, keys, pay, stats);
}

function preparePlain(t: usize, x: usize, n: i32, keys: usize, pay: usize, stats: usize): void {
  prepare(t, x, n, keys, pay, false, 0, stats, false);
}
function prepareIgnoring(t: usize, x: usize, n: i32, keys: usize, pay: usize, ign: f32, stats: usize): void {
  prepare(t, x, n, keys, pay, true, ign, stats, false);
}

/**
 * lovaszPrepare for the loss alone: the target bit rides in the key instead
 * of a payload, key = 0xffffffff − ((bits(e) << 1) | t) (e > 0, so bits(e)
 * has 31 bits; ascending keys are descending errors), one u32 per kept pixel
 * at `keys` (which may be `t`). The order of equal errors does not change
 * the loss, so these keys are sorted alone (radixSortU32, by bits 1…31).
 */
export function lovaszPrepareKeys(t: usize, x: usize, n: i32, keys: usize, ignore: i32, ign: f32, stats: usize): void {
  if (ignore) prepareKeysIgnoring(t, x, n, keys, ign, stats);
  else prepareKeysPlain(t, x, n, keys, stats);
}

function prepareKeysPlain(t: usize, x: usize, n: i32, keys: usize, stats: usize): void {
  prepare(t, x, n, keys, 0, false, 0, stats, true);
}
function prepareKeysIgnoring(t: usize, x: usize, n: i32, keys: usize, ign: f32, stats: usize): void {
  prepare(t, x, n, keys, 0, true, ign, stats, true);
}

// @ts-ignore: decorator
@inline function prepare(t: usize, x: usize, n: i32, keys: usize, pay: usize, ignore: bool, ign: f32, stats: usize, packed: bool): void {
  let m = 0, pos = 0, bad = 0, k = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    const zero = f32x4.splat(0);
    const ignV = f32x4.splat(ign);
    const signBit = i32x4.splat(0x80000000);
    const flip = i32x4.splat(KEY_FLIP);
    const allOnes = i32x4.splat(-1);
    let idx = i32x4(0, 2, 4, 6); // payload index part: pixel << 1
    let mAcc = i32x4.splat(0), pAcc = i32x4.splat(0), badT = i32x4.splat(0), nanX = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const off = (<usize>i) << 2;
      const tv = v128.load(t + off);
      const xv = v128.load(x + off);
      nanX = f32x4.add(nanX, f32x4.sub(xv, xv)); // stays 0 unless some x is NaN or ±Infinity
      let isOne = f32x4.eq(tv, one);
      // t is 0 or 1 exactly when its bits equal those of isOne & 1.0 (−0 is let through below)
      let off01 = v128.xor(tv, v128.and(isOne, one));
      if (ignore) {
        const valid = v128.not(f32x4.eq(tv, ignV));
        isOne = v128.and(isOne, valid);
        off01 = v128.and(off01, valid);
        mAcc = i32x4.sub(mAcc, valid);
      }
      badT = v128.or(badT, off01);
      pAcc = i32x4.sub(pAcc, isOne);
      const e = f32x4.add(one, v128.xor(xv, v128.and(isOne, signBit))); // 1 − x·(2t − 1)
      let keep = f32x4.gt(e, zero);
      if (ignore) keep = v128.andnot(keep, f32x4.eq(tv, ignV));
      const mask = i32x4.bitmask(keep);
      const at = (<usize>k) << 2;
      if (packed) {
        // ~((bits(e) << 1) | t) = ((bits(e) << 1) ^ −1) + (−t), and isOne is −t
        leftPack(keys + at, i32x4.add(v128.xor(i32x4.shl(e, 1), allOnes), isOne), mask);
      } else {
        leftPack(keys + at, v128.xor(e, flip), mask);
        leftPack(pay + at, v128.or(idx, i32x4.shr_u(isOne, 31)), mask);
      }
      k += popcnt(mask);
      idx = i32x4.add(idx, i32x4.splat(8));
    }
    m = ignore ? i32x4.extract_lane(mAcc, 0) + i32x4.extract_lane(mAcc, 1) + i32x4.extract_lane(mAcc, 2) + i32x4.extract_lane(mAcc, 3) : i;
    pos = i32x4.extract_lane(pAcc, 0) + i32x4.extract_lane(pAcc, 1) + i32x4.extract_lane(pAcc, 2) + i32x4.extract_lane(pAcc, 3);
    const nan = f32x4.ne(nanX, zero);
    if (v128.any_true(nan)) bad |= LOVASZ_BAD_LOGIT;
    if (v128.any_true(v128.andnot(badT, signBit))) bad |= LOVASZ_BAD_TARGET;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(x + off);
    if (xv - xv != 0) bad |= LOVASZ_BAD_LOGIT;
    const valid = !(ignore && tv == ign);
    if (valid && tv != 0 && tv != 1) bad |= LOVASZ_BAD_TARGET;
    const bit = <i32>(valid && tv == 1);
    const e: f32 = bit ? 1 - xv : 1 + xv;
    m += <i32>valid;
    pos += bit;
    const at = (<usize>k) << 2;
    if (packed) {
      store<u32>(keys + at, ~((reinterpret<u32>(e) << 1) | <u32>bit));
    } else {
      store<u32>(keys + at, reinterpret<u32>(e) ^ KEY_FLIP);
      store<u32>(pay + at, ((<u32>i) << 1) | <u32>bit);
    }
    k += <i32>(valid && e > 0);
  }
  store<i32>(stats, m);
  store<i32>(stats, pos, 4);
  store<i32>(stats, bad, 8);
  store<i32>(stats, k, 12);
}

/**
 * One segment's loss Σ relu(e)·g over its k sorted items (m valid pixels, pos
 * of them positive); with `grad` ≠ 0 also writes scale·∂loss/∂x at each kept
 * pixel (the caller zeroes the rest). `symmetric` averages g with the mirrored
 * problem's (same errors, 1 − t).
 */
export function lovaszHingeSorted(items: usize, k: i32, m: i32, pos: i32, grad: usize, scale: f64, symmetric: i32): f64 {
  if (symmetric) return grad ? walkSymGrad(items, k, m, pos, grad, scale) : walkSym(items, k, m, pos);
  return grad ? walkGrad(items, k, m, pos, grad, scale) : walk(items, k, m, pos);
}

function walk(items: usize, k: i32, m: i32, pos: i32): f64 {
  return hingeWalk(items, k, m, pos, 0, 0, false, false);
}
function walkGrad(items: usize, k: i32, m: i32, pos: i32, grad: usize, scale: f64): f64 {
  return hingeWalk(items, k, m, pos, grad, scale, true, false);
}
function walkSym(items: usize, k: i32, m: i32, pos: i32): f64 {
  return hingeWalk(items, k, m, pos, 0, 0, false, true);
}
function walkSymGrad(items: usize, k: i32, m: i32, pos: i32, grad: usize, scale: f64): f64 {
  return hingeWalk(items, k, m, pos, grad, scale, true, true);
}

/**
 * The walk, branch-free in the labels. After i + 1 pixels (cumT positive,
 * cumF negative), J = 1 − (G − cumT)/(G + cumF) = (i + 1)/(G + cumF): one
 * rounding, no cancellation; the mirrored problem's is (i + 1)/(G2 + cumT).
 */
// @ts-ignore: decorator
@inline function hingeWalk(items: usize, k: i32, m: i32, pos: i32, grad: usize, scale: f64, withGrad: bool, sym: bool): f64 {
  let GF = <f64>pos; // G + cumF
  let GT = <f64>(m - pos); // G2 + cumT
  let J: f64 = 0, J2: f64 = 0, loss: f64 = 0;
  for (let i = 0; i < k; i++) {
    const item = load<u64>(items + ((<usize>i) << 3));
    const p = <u32>item;
    const bit = <i32>(p & 1);
    const cnt = <f64>(i + 1);
    GF += <f64>(bit ^ 1);
    const Jn = cnt / GF;
    let g = Jn - J;
    J = Jn;
    if (sym) {
      GT += <f64>bit;
      const J2n = cnt / GT;
      g = 0.5 * (g + (J2n - J2));
      J2 = J2n;
    }
    const e = reinterpret<f32>(<u32>(item >> 32) ^ KEY_FLIP);
    loss += <f64>e * g;
    if (withGrad) {
      const gs = g * scale;
      store<f32>(grad + ((<usize>(p >> 1)) << 2), <f32>(bit ? -gs : gs));
    }
  }
  return loss;
}

/**
 * One segment's loss from the k packed keys of lovaszPrepareKeys (m valid
 * pixels, pos positive): sorts them into `tmp` (radixSortU32; `keys` is
 * clobbered, `hist` its scratch) and walks them (lossWalk).
 */
export function lovaszHingeLoss(keys: usize, k: i32, m: i32, pos: i32, tmp: usize, hist: usize, symmetric: i32): f64 {
  radixSortU32(keys, tmp, k, hist);
  return symmetric ? lossWalkSym(tmp, k, m, pos) : lossWalkPlain(tmp, k, m, pos);
}

function lossWalkPlain(keys: usize, k: i32, m: i32, pos: i32): f64 {
  return lossWalk(keys, k, m, pos, false);
}
function lossWalkSym(keys: usize, k: i32, m: i32, pos: i32): f64 {
  return lossWalk(keys, k, m, pos, true);
}

/** Vectors per f32x4 block of lossWalk before the block is added in float64. */
const WALK_BLOCK: i32 = 16;

/**
 * The loss over k sorted packed keys in Abel form, Σ_i J_i·(e_i − e_{i+1})
 * with e_k = 0 and J_i = (i + 1)/(G + cumF_i) (the mirrored problem's
 * (i + 1)/(G2 + cumT_i), averaged with it when `sym`): every term is ≥ 0, so
 * the SIMD loop takes J in float32 (one division per lane, ~1e-7 relative)
 * with in-vector prefix counts and adds blocks of WALK_BLOCK vectors in
 * float64; the tail (and the scalar build) is exact float64. Equal errors
 * may come in any order: the sum does not depend on it.
 */
// @ts-ignore: decorator
@inline function lossWalk(keys: usize, k: i32, m: i32, pos: i32, sym: bool): f64 {
  let loss: f64 = 0;
  let F = 0; // negatives before i
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const ones = i32x4.splat(1);
    const zero = i32x4.splat(0);
    let base = i32x4.splat(pos); // G + cumF before this vector
    let base2 = i32x4.splat(m - pos); // G2 + cumT before this vector
    let cnt = i32x4(1, 2, 3, 4); // i + 1 per lane
    while (i + 5 <= k) {
      const end = min(k - 4, i + 4 * WALK_BLOCK);
      let acc = f32x4.splat(0);
      for (; i < end; i += 4) {
        const at = keys + ((<usize>i) << 2);
        const v = v128.not(v128.load(at));
        const vNext = v128.not(v128.load(at, 4));
        const bg = v128.andnot(ones, v);
        const s1 = i32x4.add(bg, i8x16.shuffle(zero, bg, 0, 1, 2, 3, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27));
        const s2 = i32x4.add(s1, i8x16.shuffle(zero, s1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
        const gf = i32x4.add(base, s2);
        const c = f32x4.convert_i32x4_s(cnt);
        let J = f32x4.div(c, f32x4.convert_i32x4_s(gf));
        if (sym) {
          // cumT = (i + 1) − cumF in each lane
          const gt = i32x4.add(base2, i32x4.sub(i32x4.sub(cnt, i32x4.splat(i)), s2));
          J = f32x4.mul(f32x4.add(J, f32x4.div(c, f32x4.convert_i32x4_s(gt))), f32x4.splat(0.5));
          base2 = i8x16.shuffle(gt, gt, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        }
        const de = f32x4.sub(i32x4.shr_u(v, 1), i32x4.shr_u(vNext, 1));
        acc = f32x4.add(acc, f32x4.mul(J, de));
        base = i8x16.shuffle(gf, gf, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        cnt = i32x4.add(cnt, i32x4.splat(4));
      }
      loss += hsum64(acc);
    }
    F = i32x4.extract_lane(base, 0) - pos;
  }
  let GF = <f64>(pos + F);
  let GT = <f64>(m - pos + i - F); // G2 + cumT before i
  for (; i < k; i++) {
    const v = ~load<u32>(keys + ((<usize>i) << 2));
    const bit = v & 1;
    GF += <f64>(bit ^ 1);
    GT += <f64>bit;
    const eNext: f64 = i + 1 < k ? <f64>reinterpret<f32>(~load<u32>(keys + ((<usize>i) << 2), 4) >> 1) : 0;
    let J = <f64>(i + 1) / GF;
    if (sym) J = 0.5 * (J + <f64>(i + 1) / GT);
    loss += J * (<f64>reinterpret<f32>(v >> 1) - eNext);
  }
  return loss;
}

/** lovaszGrad of a sorted 0/1 vector (f32) into out (f32); returns -1 for a value other than 0 or 1. */
export function lovaszGradF32(t: usize, n: i32, out: usize): i32 {
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(t + ((<usize>i) << 2));
    if (v != 0 && v != 1) return -1;
    pos += <i32>(v == 1);
  }
  const G = <f64>pos;
  let cumT: f64 = 0, cumF: f64 = 0, J: f64 = 0;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    if (load<f32>(t + off) == 1) cumT += 1;
    else cumF += 1;
    const Jn = 1 - (G - cumT) / (G + cumF);
    store<f32>(out + off, <f32>(Jn - J));
    J = Jn;
  }
  return pos;
}
