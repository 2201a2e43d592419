// Lovasz-Softmax: per class c, the errors e = |fg − p_c| lie in [0, 1], so one
// u32 key holds both the error and the foreground bit:
//   key = 0x7fffffff − ((bits(e) << 1) | fg)
// ascending keys are descending errors (equal errors: foreground first).
// Ignored pixels and e = 0 (which adds nothing) get 0xffffffff. Per class only
// the keys up to the last foreground pixel's are sorted (see lovaszSoftmaxLoss).

import { hsum64 } from "./simd";
import { leftPack, radixSortKeyed, radixSortU32 } from "./sort";

const KEY_TOP: u32 = 0x7fffffff;
/** Keys from here on are e = 0 or ignored pixels (0xffffffff): never kept. */
const KEY_ZERO: u32 = 0x7ffffffe;

export const LS_BAD_TARGET: i32 = 1;

/**
 * Keys of `len` pixels for class c from its probabilities (pc, contiguous)
 * and the chunk's int32 labels (−1: ignored), written to `keys`; stats =
 * [G, cut] (i32, u32) is updated with the class's foreground count and its
 * largest foreground key (the smallest foreground error; see lovaszSoftmaxLoss).
 */
export function lovaszSoftmaxKeys(pc: usize, labels: usize, len: i32, c: i32, keys: usize, stats: usize): void {
  let G = 0;
  let cut = load<u32>(stats, 4);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = i32x4.splat(c);
    const one = f32x4.splat(1);
    const top = i32x4.splat(KEY_TOP);
    const zero = i32x4.splat(0);
    let acc = i32x4.splat(0);
    let fgMax = i32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const off = (<usize>i) << 2;
      const lab = v128.load(labels + off);
      const fg = i32x4.eq(lab, cv);
      const e = f32x4.abs(f32x4.sub(v128.and(fg, one), v128.load(pc + off)));
      const drop = v128.or(f32x4.eq(e, zero), i32x4.lt_s(lab, zero));
      const key = v128.or(i32x4.sub(top, v128.or(i32x4.shl(e, 1), i32x4.shr_u(fg, 31))), drop);
      v128.store(keys + off, key);
      fgMax = i32x4.max_u(fgMax, v128.and(key, fg));
      acc = i32x4.sub(acc, fg);
    }
    G = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    const m2 = i32x4.max_u(fgMax, i8x16.shuffle(fgMax, fgMax, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    const m1 = i32x4.max_u(m2, i8x16.shuffle(m2, m2, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
    cut = max(cut, <u32>i32x4.extract_lane(m1, 0));
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const lab = load<i32>(labels + off);
    const fg = <u32>(lab == c);
    const pv = load<f32>(pc + off);
    const e: f32 = abs<f32>(fg ? 1 - pv : pv);
    const key = lab >= 0 && e > 0 ? KEY_TOP - ((reinterpret<u32>(e) << 1) | fg) : 0xffffffff;
    store<u32>(keys + off, key);
    if (fg) cut = max(cut, key);
    G += <i32>fg;
  }
  store<i32>(stats, load<i32>(stats) + G);
  store<u32>(stats, cut, 4);
}

/** lovaszSoftmaxKeys from a dense one-hot target's class plane tc (0 or 1, else LS_BAD_TARGET is returned). */
export function lovaszSoftmaxKeysDense(pc: usize, tc: usize, len: i32, keys: usize, stats: usize): i32 {
  let bad = 0;
  let G = 0;
  let cut = load<u32>(stats, 4);
  for (let i = 0; i < len; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(tc + off);
    if (tv != 0 && tv != 1) bad = LS_BAD_TARGET;
    const fg = <u32>(tv == 1);
    const pv = load<f32>(pc + off);
    const e: f32 = abs<f32>(fg ? 1 - pv : pv);
    const key = e > 0 ? KEY_TOP - ((reinterpret<u32>(e) << 1) | fg) : 0xffffffff;
    store<u32>(keys + off, key);
    if (fg) cut = max(cut, key);
    G += <i32>fg;
  }
  store<i32>(stats, load<i32>(stats) + G);
  store<u32>(stats, cut, 4);
  return bad;
}

/**
 * One class's loss from the n loss keys of a segment (G foreground pixels,
 * `cut` the largest foreground key): keeps the keys that can add to it,
 * compacted in place, sorts them into `tmp` (radixSortU32, `hist` its
 * scratch) and walks them. Kept are the pixels with e > 0 that sort no later
 * than the last foreground pixel: after it every pixel is background, J
 * stays 1 and g = 0, so the rest adds nothing (exactly). A foreground pixel
 * with e = 0 (it sorts last), or G = 0, keeps every e > 0.
 */
export function lovaszSoftmaxLoss(keys: usize, n: i32, G: i32, cut: u32, tmp: usize, hist: usize): f64 {
  const last = G == 0 ? KEY_ZERO - 1 : min(cut, KEY_ZERO - 1);
  const m = keepUpTo(keys, n, last);
  radixSortU32(keys, tmp, m, hist);
  return lovaszSoftmaxWalk(tmp, m, G);
}

/**
 * One class's loss and gradient from the same keys and stats as
 * lovaszSoftmaxLoss, keeping the same pixels (the others get g = 0): the kept
 * keys and their pixel indices are compacted into `pairs` (8n bytes: keys,
 * then indices at pairs + 4n), sorted as (key, index) items into `items` (n
 * items; `pairs` is the sort's scratch) and walked exactly in float64,
 * writing scale·∂loss/∂p_c at grad + 4·index (the caller zeroes the rest).
 */
export function lovaszSoftmaxGradClass(keys: usize, n: i32, G: i32, cut: u32, pairs: usize, items: usize, grad: usize, scale: f64, hist: usize): f64 {
  const last = G == 0 ? KEY_ZERO - 1 : min(cut, KEY_ZERO - 1);
  const pay = pairs + ((<usize>n) << 2);
  const m = keepPairsUpTo(keys, n, last, pairs, pay);
  radixSortKeyed(pairs, pay, m, items, pairs, hist);
  return lovaszSoftmaxWalkGrad(items, m, G, grad, scale);
}

/** Writes the keys ≤ last among n, in order, to `out` and their indices to `pay`; returns how many. */
function keepPairsUpTo(keys: usize, n: i32, last: u32, out: usize, pay: usize): i32 {
  let k = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const lastV = i32x4.splat(last);
    let idx = i32x4(0, 1, 2, 3);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(keys + ((<usize>i) << 2));
      const mask = i32x4.bitmask(i32x4.le_u(v, lastV));
      leftPack(out + ((<usize>k) << 2), v, mask);
      leftPack(pay + ((<usize>k) << 2), idx, mask);
      k += popcnt(mask);
      idx = i32x4.add(idx, i32x4.splat(4));
    }
  }
  for (; i < n; i++) {
    const v = load<u32>(keys + ((<usize>i) << 2));
    store<u32>(out + ((<usize>k) << 2), v);
    store<u32>(pay + ((<usize>k) << 2), i);
    k += <i32>(v <= last);
  }
  return k;
}

/** Compacts, in place and in order, the keys ≤ last among n; returns how many. */
function keepUpTo(keys: usize, n: i32, last: u32): i32 {
  let k = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const lastV = i32x4.splat(last);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(keys + ((<usize>i) << 2));
      const mask = i32x4.bitmask(i32x4.le_u(v, lastV));
      leftPack(keys + ((<usize>k) << 2), v, mask);
      k += popcnt(mask);
    }
  }
  for (; i < n; i++) {
    const v = load<u32>(keys + ((<usize>i) << 2));
    store<u32>(keys + ((<usize>k) << 2), v);
    k += <i32>(v <= last);
  }
  return k;
}

/** Vectors per f32x4 block of the loss walk before the block is added in float64. */
const WALK_BLOCK: i32 = 16;

/**
 * One class's loss over its n sorted loss keys (e > 0 only) with G
 * foreground pixels in all, in Abel form: loss = Σ_i J_i·(e_i − e_{i+1}),
 * e_n = 0, where after i + 1 pixels (cumF of them background) the Jaccard
 * loss is J_i = 1 − (G − cumT)/(G + cumF) = (i + 1)/(G + cumF). Every term is
 * ≥ 0, so the SIMD loop takes J in float32 (one division per lane, ~1e-7
 * relative) with in-vector prefix counts of the background, and adds blocks
 * of WALK_BLOCK vectors in float64; the tail (and the scalar build) is exact
 * float64. The result does not depend on the order of equal errors.
 */
export function lovaszSoftmaxWalk(keys: usize, n: i32, G: i32): f64 {
  let loss: f64 = 0;
  let F = 0; // background pixels before i
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const top = i32x4.splat(KEY_TOP);
    const ones = i32x4.splat(1);
    const zero = i32x4.splat(0);
    let base = i32x4.splat(G); // G + cumF before this vector
    let cnt = i32x4(1, 2, 3, 4); // i + 1 per lane
    while (i + 5 <= n) {
      const end = min(n - 4, i + 4 * WALK_BLOCK);
      let acc = f32x4.splat(0);
      for (; i < end; i += 4) {
        const at = keys + ((<usize>i) << 2);
        const v = i32x4.sub(top, v128.load(at));
        const vNext = i32x4.sub(top, v128.load(at, 4));
        const bg = v128.andnot(ones, v);
        const s1 = i32x4.add(bg, i8x16.shuffle(zero, bg, 0, 1, 2, 3, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27));
        const s2 = i32x4.add(s1, i8x16.shuffle(zero, s1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
        const gf = i32x4.add(base, s2);
        const J = f32x4.div(f32x4.convert_i32x4_s(cnt), f32x4.convert_i32x4_s(gf));
        const de = f32x4.sub(i32x4.shr_u(v, 1), i32x4.shr_u(vNext, 1));
        acc = f32x4.add(acc, f32x4.mul(J, de));
        base = i8x16.shuffle(gf, gf, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        cnt = i32x4.add(cnt, i32x4.splat(4));
      }
      loss += hsum64(acc);
    }
    F = i32x4.extract_lane(base, 0) - G;
  }
  let GF = <f64>(G + F);
  for (; i < n; i++) {
    const v = KEY_TOP - load<u32>(keys + ((<usize>i) << 2));
    GF += <f64>(~v & 1);
    const eNext: f64 = i + 1 < n ? <f64>reinterpret<f32>((KEY_TOP - load<u32>(keys + ((<usize>i) << 2), 4)) >> 1) : 0;
    loss += (<f64>(i + 1) / GF) * (<f64>reinterpret<f32>(v >> 1) - eNext);
  }
  return loss;
}

/**
 * The same over n sorted u64 items (payload: pixel index, key: high word);
 * also writes scale·∂loss/∂p_c = ∓scale·g at grad + 4·index for every pixel
 * with e > 0 (the caller zeroes the rest).
 */
export function lovaszSoftmaxWalkGrad(items: usize, n: i32, G: i32, grad: usize, scale: f64): f64 {
  let GF = <f64>G; // G + cumF
  let J: f64 = 0, loss: f64 = 0;
  for (let i = 0; i < n; i++) {
    const item = load<u64>(items + ((<usize>i) << 3));
    const key = <u32>(item >> 32);
    if (key >= KEY_ZERO) break;
    const v = KEY_TOP - key;
    const fg = <i32>(v & 1);
    GF += <f64>(fg ^ 1);
    const Jn = <f64>(i + 1) / GF;
    const g = Jn - J;
    J = Jn;
    loss += <f64>reinterpret<f32>(v >> 1) * g;
    const gs = g * scale;
    store<f32>(grad + ((<usize>(<u32>item)) << 2), <f32>(fg ? -gs : gs));
  }
  return loss;
}

/** Whether a dense target chunk holds anything but 0 and 1 (LS_BAD_TARGET), for checks before any write. */
export function lovaszSoftmaxCheckDense(t: usize, tStride: i32, len: i32, C: i32): i32 {
  for (let c = 0; c < C; c++) {
    const tc = t + ((<usize>c * <usize>tStride) << 2);
    for (let i = 0; i < len; i++) {
      const tv = load<f32>(tc + ((<usize>i) << 2));
      if (tv != 0 && tv != 1) return LS_BAD_TARGET;
    }
  }
  return 0;
}
