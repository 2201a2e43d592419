// Lovasz hinge (binary) and the Jaccard-extension gradient. Only errors e > 0
// are sorted: each gives a u32 key (the bits of e, complemented so that
// ascending keys are descending errors; e > 0 needs no sign flip) and a u32
// payload (pixel index << 1) | target, which assembly/sort.ts sorts into u64
// items (payload low, key high).
import { leftPack } from "./sort";

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
  prepare(t, x, n, keys, pay, false, 0, stats);
}
function prepareIgnoring(t: usize, x: usize, n: i32, keys: usize, pay: usize, ign: f32, stats: usize): void {
  prepare(t, x, n, keys, pay, true, ign, stats);
}

// @ts-ignore: decorator
@inline function prepare(t: usize, x: usize, n: i32, keys: usize, pay: usize, ignore: bool, ign: f32, stats: usize): void {
  let m = 0, pos = 0, bad = 0, k = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    const zero = f32x4.splat(0);
    const ignV = f32x4.splat(ign);
    const signBit = i32x4.splat(0x80000000);
    const flip = i32x4.splat(KEY_FLIP);
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
      leftPack(keys + at, v128.xor(e, flip), mask);
      leftPack(pay + at, v128.or(idx, i32x4.shr_u(isOne, 31)), mask);
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
    store<u32>(keys + at, reinterpret<u32>(e) ^ KEY_FLIP);
    store<u32>(pay + at, ((<u32>i) << 1) | <u32>bit);
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
