// Lovasz-Softmax: per class c, the errors e = |fg − p_c| lie in [0, 1], so one
// u32 key holds both the error and the foreground bit:
//   key = 0x7fffffff − ((bits(e) << 1) | fg)
// ascending keys are descending errors (equal errors: foreground first).
// Ignored pixels get 0xffffffff and sort after every error; e = 0 gives a key
// ≥ 0x7ffffffe and adds nothing, so the walks stop at the first such key.

const KEY_TOP: u32 = 0x7fffffff;
/** Keys from here on are e = 0 or ignored pixels. */
const KEY_ZERO: u32 = 0x7ffffffe;

export const LS_BAD_TARGET: i32 = 1;

/**
 * Keys of `len` pixels for class c from its probabilities (pc, contiguous)
 * and the chunk's int32 labels (−1: ignored), written to `keys`; the class's
 * foreground count is added to the i32 at `count`.
 */
export function lovaszSoftmaxKeys(pc: usize, labels: usize, len: i32, c: i32, keys: usize, count: usize): void {
  let G = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = i32x4.splat(c);
    const one = f32x4.splat(1);
    const top = i32x4.splat(KEY_TOP);
    const zero = i32x4.splat(0);
    let acc = i32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const off = (<usize>i) << 2;
      const lab = v128.load(labels + off);
      const fg = i32x4.eq(lab, cv);
      const e = f32x4.abs(f32x4.sub(v128.and(fg, one), v128.load(pc + off)));
      const key = i32x4.sub(top, v128.or(i32x4.shl(e, 1), i32x4.shr_u(fg, 31)));
      v128.store(keys + off, v128.or(key, i32x4.lt_s(lab, zero)));
      acc = i32x4.sub(acc, fg);
    }
    G = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  }
  for (; i < len; i++) {
    const off = (<usize>i) << 2;
    const lab = load<i32>(labels + off);
    const fg = <u32>(lab == c);
    const pv = load<f32>(pc + off);
    const e: f32 = fg ? 1 - pv : pv;
    const key = KEY_TOP - ((reinterpret<u32>(abs(e)) << 1) | fg);
    store<u32>(keys + off, lab < 0 ? 0xffffffff : key);
    G += <i32>fg;
  }
  store<i32>(count, load<i32>(count) + G);
}

/**
 * The same from a dense one-hot target's class plane tc: fg = t, which must
 * be 0 or 1 (else LS_BAD_TARGET is returned; nothing is ignored).
 */
export function lovaszSoftmaxKeysDense(pc: usize, tc: usize, len: i32, keys: usize, count: usize): i32 {
  let bad = 0;
  let G = 0;
  for (let i = 0; i < len; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(tc + off);
    if (tv != 0 && tv != 1) bad = LS_BAD_TARGET;
    const fg = <u32>(tv == 1);
    const pv = load<f32>(pc + off);
    const e: f32 = fg ? 1 - pv : pv;
    store<u32>(keys + off, KEY_TOP - ((reinterpret<u32>(abs(e)) << 1) | fg));
    G += <i32>fg;
  }
  store<i32>(count, load<i32>(count) + G);
  return bad;
}

/**
 * One class's loss Σ e·g over n sorted keys with G foreground pixels in all.
 * After i + 1 pixels (cumT foreground, cumF background) the Jaccard loss
 * 1 − (G − cumT)/(G + cumF) is (i + 1)/(G + cumF): one rounding, no cancellation.
 */
export function lovaszSoftmaxWalk(keys: usize, n: i32, G: i32): f64 {
  let GF = <f64>G; // G + cumF
  let J: f64 = 0, loss: f64 = 0;
  for (let i = 0; i < n; i++) {
    const key = load<u32>(keys + ((<usize>i) << 2));
    if (key >= KEY_ZERO) break;
    const v = KEY_TOP - key;
    GF += <f64>(~v & 1);
    const Jn = <f64>(i + 1) / GF;
    loss += <f64>reinterpret<f32>(v >> 1) * (Jn - J);
    J = Jn;
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
