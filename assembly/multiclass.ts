// Staging of multi-class chunks: integer labels checked and mapped (ignored
// pixels → −1), and NHWC slices transposed to the class-major form the loss
// kernels read (class c of pixel i at base + 4·(c·stride + i)), and back.

/**
 * Converts `len` float32 labels at `src` to i32 at `dst` (which may alias
 * `src`): a label equal to `ign` (when `ignore`) becomes −1; any other value
 * must be an integer in [0, C). Returns −1 when all are valid, else the index
 * of the first bad label (its value left at `src`, nothing after it written).
 */
export function stageLabels(src: usize, dst: usize, len: i32, C: i32, ignore: bool, ign: f32): i32 {
  const top = <f32>C;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // a vector of valid labels (or ignored ones) is converted in one go; any other goes to the scalar loop below
    const vtop = f32x4.splat(top);
    const vign = f32x4.splat(ignore ? ign : NaN); // NaN never compares equal: no ignored lanes
    const vzero = f32x4.splat(0);
    const minus1 = i32x4.splat(-1);
    for (; i + 4 <= len; i += 4) {
      const v = v128.load(src + (<usize>i << 2));
      const skip = f32x4.eq(v, vign);
      const whole = f32x4.eq(f32x4.floor(v), v);
      const ok = v128.and(v128.and(f32x4.ge(v, vzero), f32x4.lt(v, vtop)), whole);
      if (!i32x4.all_true(v128.or(ok, skip))) break;
      v128.store(dst + (<usize>i << 2), v128.bitselect(minus1, i32x4.trunc_sat_f32x4_s(v), skip));
    }
  }
  for (; i < len; i++) {
    const v = load<f32>(src + (<usize>i << 2));
    let label: i32;
    if (ignore && v == ign) label = -1;
    else if (v >= 0 && v < top && Mathf.floor(v) == v) label = <i32>v;
    else return i;
    store<i32>(dst + (<usize>i << 2), label);
  }
  return -1;
}

/** [len, C] pixel-major (NHWC rows) → class-major with stride `dStride`. */
export function toClassMajor(src: usize, dst: usize, dStride: i32, len: i32, C: i32): void {
  for (let i = 0; i < len; i++) {
    const row = src + ((<usize>i * <usize>C) << 2);
    for (let c = 0; c < C; c++) store<f32>(dst + ((<usize>c * <usize>dStride + <usize>i) << 2), load<f32>(row + (<usize>c << 2)));
  }
}

/** Class-major with stride `sStride` → [len, C] pixel-major (NHWC rows). */
export function toPixelMajor(src: usize, sStride: i32, dst: usize, len: i32, C: i32): void {
  for (let i = 0; i < len; i++) {
    const row = dst + ((<usize>i * <usize>C) << 2);
    for (let c = 0; c < C; c++) store<f32>(row + (<usize>c << 2), load<f32>(src + ((<usize>c * <usize>sStride + <usize>i) << 2)));
  }
}

/** Folds the range of a class-major chunk into stats[0..1] (f32 min, max; NaN if any value is NaN). */
export function rangeClassMajor(src: usize, stride: i32, len: i32, C: i32, stats: usize): void {
  let lo: f32 = Infinity;
  let hi: f32 = -Infinity;
  let nan = false;
  for (let c = 0; c < C; c++) {
    const base = src + ((<usize>c * <usize>stride) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      let vlo = f32x4.splat(Infinity);
      let vhi = f32x4.splat(-Infinity);
      let vnan = i32x4.splat(0);
      for (; i + 4 <= len; i += 4) {
        const v = v128.load(base + (<usize>i << 2));
        vlo = f32x4.pmin(vlo, v);
        vhi = f32x4.pmax(vhi, v);
        vnan = v128.or(vnan, f32x4.ne(v, v));
      }
      lo = min(lo, min(min(f32x4.extract_lane(vlo, 0), f32x4.extract_lane(vlo, 1)), min(f32x4.extract_lane(vlo, 2), f32x4.extract_lane(vlo, 3))));
      hi = max(hi, max(max(f32x4.extract_lane(vhi, 0), f32x4.extract_lane(vhi, 1)), max(f32x4.extract_lane(vhi, 2), f32x4.extract_lane(vhi, 3))));
      if (v128.any_true(vnan)) nan = true;
    }
    for (; i < len; i++) {
      const v = load<f32>(base + (<usize>i << 2));
      lo = min(lo, v);
      hi = max(hi, v);
      if (v != v) nan = true;
    }
  }
  if (nan) {
    lo = NaN;
    hi = NaN;
  }
  store<f32>(stats, min(load<f32>(stats), lo));
  store<f32>(stats, max(load<f32>(stats, 4), hi), 4);
}

/**
 * The largest float32 bit pattern (as u32) in a class-major chunk, four
 * independent integer maxima per step so the loop runs at load speed. It is
 * ≤ 0x3f800000 exactly when every value is in [+0, 1]; −0, negatives and NaN
 * exceed it (the caller then takes the exact range with rangeClassMajor).
 */
export function maxBitsClassMajor(src: usize, stride: i32, len: i32, C: i32): u32 {
  let bits: u32 = 0;
  for (let c = 0; c < C; c++) {
    const base = src + ((<usize>c * <usize>stride) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      let a = i32x4.splat(0);
      let b = i32x4.splat(0);
      let d = i32x4.splat(0);
      let e = i32x4.splat(0);
      for (; i + 16 <= len; i += 16) {
        const q = base + (<usize>i << 2);
        a = i32x4.max_u(a, v128.load(q));
        b = i32x4.max_u(b, v128.load(q, 16));
        d = i32x4.max_u(d, v128.load(q, 32));
        e = i32x4.max_u(e, v128.load(q, 48));
      }
      for (; i + 4 <= len; i += 4) a = i32x4.max_u(a, v128.load(base + (<usize>i << 2)));
      a = i32x4.max_u(i32x4.max_u(a, b), i32x4.max_u(d, e));
      bits = max(bits, max(max(i32x4.extract_lane(a, 0) as u32, i32x4.extract_lane(a, 1) as u32), max(i32x4.extract_lane(a, 2) as u32, i32x4.extract_lane(a, 3) as u32)));
    }
    for (; i < len; i++) bits = max(bits, load<u32>(base + (<usize>i << 2)));
  }
  return bits;
}
