// Softmax over classes and per-channel sigmoid for multi-class chunks, and
// their backward passes. A chunk is class-major: class c of pixel i sits at
// base + 4·(c·stride + i), so the vector loops run over 4 pixels at a time and
// the class loop is the outer one (one exp per element, one log per pixel).
//
// The forward passes return the largest |logit| bit pattern, one integer max
// per vector: the caller checks it against the largest finite float and
// finds the offending range only when that check fails.

import { exp1, exp4, log1, log4, sigmoid1, sigmoid4 } from "./math";

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
    const abs = i32x4.splat(0x7fffffff);
    let vbits = i32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      let m = v128.load(at(x, xStride, 0, i));
      vbits = i32x4.max_u(vbits, v128.and(m, abs));
      for (let c = 1; c < C; c++) {
        const v = v128.load(at(x, xStride, c, i));
        m = f32x4.pmax(m, v);
        vbits = i32x4.max_u(vbits, v128.and(v, abs));
      }
      let s = f32x4.splat(0);
      for (let c = 0; c < C; c++) {
        const e = exp4(f32x4.sub(v128.load(at(x, xStride, c, i)), m));
        s = f32x4.add(s, e);
        v128.store(at(p, pStride, c, i), e);
      }
      const inv = f32x4.div(f32x4.splat(1), s);
      for (let c = 0; c < C; c++) {
        const a = at(p, pStride, c, i);
        v128.store(a, f32x4.mul(v128.load(a), inv));
      }
      if (lse) v128.store(lse + (<usize>i << 2), f32x4.add(m, log4(s)));
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
      const e = exp1(load<f32>(at(x, xStride, c, i)) - m);
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
