// Lovasz hinge (binary) and the Jaccard-extension gradient. The errors are
// sorted by assembly/sort.ts as u32 keys whose ascending order is descending
// float order; the payload is (pixel index << 1) | target bit.

// stats record (i32): [valid count, positives, bad flags, keys written]
export const LOVASZ_BAD_TARGET: i32 = 1;
export const LOVASZ_BAD_LOGIT: i32 = 2;

// @ts-ignore: decorator
@inline function descKey(e: f32): u32 {
  const b = reinterpret<u32>(e);
  const asc = b >> 31 ? ~b : b | 0x80000000;
  return ~asc;
}

// @ts-ignore: decorator
@inline function keyValue(k: u32): f32 {
  const asc = ~k;
  return reinterpret<f32>(asc >> 31 ? asc & 0x7fffffff : ~asc);
}

/**
 * Checks one segment (targets 0/1 or the ignore label, finite logits), counts
 * its valid pixels and positives, and writes the keys and payloads of the
 * valid pixels with e > 0 only, in index order: relu(e) and its slope are 0
 * elsewhere, and after the sort those pixels would all come last.
 */
export function lovaszPrepare(t: usize, x: usize, n: i32, keys: usize, pay: usize, ignore: i32, ign: f32, stats: usize): void {
  let m = 0, pos = 0, bad = 0, k = 0;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(x + off);
    if (xv - xv != 0) bad |= LOVASZ_BAD_LOGIT; // NaN or ±Infinity
    if (ignore && tv == ign) continue;
    if (tv != 0 && tv != 1) bad |= LOVASZ_BAD_TARGET;
    const bit = <i32>(tv == 1);
    const e: f32 = bit ? 1 - xv : 1 + xv;
    m++;
    pos += bit;
    if (!(e > 0)) continue;
    const o = (<usize>k) << 2;
    store<u32>(keys + o, descKey(e));
    store<u32>(pay + o, ((<u32>i) << 1) | <u32>bit);
    k++;
  }
  store<i32>(stats, m);
  store<i32>(stats, pos, 4);
  store<i32>(stats, bad, 8);
  store<i32>(stats, k, 12);
}

/**
 * One segment's loss Σ relu(e)·g over its k sorted positive errors (m valid
 * pixels, pos of them positive); with `grad` ≠ 0 also
 * writes scale·∂loss/∂x at each valid pixel (the caller zeroes the rest).
 * `symmetric` averages g with the mirrored problem's (same errors, 1 − t).
 */
export function lovaszHingeSorted(keys: usize, pay: usize, k: i32, m: i32, pos: i32, grad: usize, scale: f64, symmetric: i32): f64 {
  const G = <f64>pos;
  const G2 = <f64>(m - pos);
  let cumT: f64 = 0, cumF: f64 = 0, J: f64 = 0, J2: f64 = 0, loss: f64 = 0;
  for (let i = 0; i < k; i++) {
    const off = (<usize>i) << 2;
    const e = keyValue(load<u32>(keys + off));
    const p = load<u32>(pay + off);
    const bit = p & 1;
    if (bit) cumT += 1;
    else cumF += 1;
    const Jn = 1 - (G - cumT) / (G + cumF);
    let g = Jn - J;
    J = Jn;
    if (symmetric) {
      const J2n = 1 - (G2 - cumF) / (G2 + cumT);
      g = 0.5 * (g + (J2n - J2));
      J2 = J2n;
    }
    loss += <f64>e * g;
    if (grad) store<f32>(grad + ((<usize>(p >> 1)) << 2), <f32>(bit ? -g * scale : g * scale));
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
