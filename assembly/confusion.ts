// Confusion-matrix counting: one pass over a chunk of pixels, counting
// (target label, predicted class) pairs into u32 bins; the wrapper calls a
// flush kernel at the end of each image, which adds the bins into that
// image's f64 counts and clears them (per image, not per chunk: a flush costs
// C² adds). Targets are f32 labels, or bytes with a u8 prediction; the
// prediction is a label map, binary scores (p > threshold) or C scores per
// pixel (argmax, lowest index on ties). Validation rides along: the first bad
// element's index is returned (the bins and counts are scratch, so a failing
// call changes nothing the caller keeps).
//
// Return value: −1 when every element was valid, else the pixel index of the
// first bad one, with *stats = 1 (bad target) or 2 (bad prediction).
// `stats` is 80 bytes: that record, then 64 bytes of work area the SIMD
// argmax kernels keep sums and classes in.

const BAD_TARGET: i32 = 1;
const BAD_PRED: i32 = 2;

/** The class of a target label, or −1 for an ignored pixel, or −2 for a bad label (not an integer in [0, C)). */
// @ts-ignore: decorator
@inline function targetClass(tv: f32, C: i32, ignore: bool, ign: f32): i32 {
  if (ignore && tv == ign) return -1;
  if (!(tv >= 0 && tv < <f32>C) || Mathf.floor(tv) != tv) return -2;
  return <i32>tv;
}

/** Adds the C×C u32 bins (one table) into the f64 counts and clears them. */
export function confusionFlush(bins: usize, acc: usize, C: i32): void {
  const cc = C * C;
  for (let k = 0; k < cc; k++) {
    const a = acc + (<usize>k << 3);
    store<f64>(a, load<f64>(a) + <f64>load<u32>(bins + (<usize>k << 2)));
  }
  memory.fill(bins, 0, <usize>cc << 2);
}

/** Counts pixel `i`'s pair; false (with stats set) on a bad target. */
// @ts-ignore: decorator
@inline function countPair(t: usize, i: i32, pc: i32, C: i32, ignore: bool, ign: f32, bins: usize, stats: usize): bool {
  const tc = targetClass(load<f32>(t + (<usize>i << 2)), C, ignore, ign);
  if (tc == -1) return true;
  if (tc < 0) {
    store<i32>(stats, BAD_TARGET);
    return false;
  }
  const a = bins + (<usize>(tc * C + pc) << 2);
  store<u32>(a, load<u32>(a) + 1);
  return true;
}

/** Prediction is a label map (f32 integers in [0, C)). */
export function confusionLabels(t: usize, p: usize, n: i32, C: i32, ignore: bool, ign: f32, bins: usize, stats: usize): i32 {
  for (let i = 0; i < n; i++) {
    const pv = load<f32>(p + (<usize>i << 2));
    const pc = targetClass(pv, C, false, 0);
    if (pc < 0) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    if (!countPair(t, i, pc, C, ignore, ign, bins, stats)) return i;
  }
  return -1;
}

/** Prediction is one finite score per pixel: class 1 when p > thr (C = 2). */
export function confusionBinary(t: usize, p: usize, n: i32, thr: f64, ignore: bool, ign: f32, bins: usize, stats: usize): i32 {
  for (let i = 0; i < n; i++) {
    const pv = load<f32>(p + (<usize>i << 2));
    if (!(Mathf.abs(pv) <= F32.MAX_VALUE)) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    if (!countPair(t, i, <f64>pv > thr ? 1 : 0, 2, ignore, ign, bins, stats)) return i;
  }
  return -1;
}

/** Argmax of pixel i's C scores (strict > keeps the lowest index on ties), or −1 if one is not finite. */
// @ts-ignore: decorator
@inline function argmax1(p: usize, pixStep: usize, chanStep: usize, C: i32): i32 {
  let best = load<f32>(p);
  let ok = Mathf.abs(best) <= F32.MAX_VALUE;
  let bi = 0;
  for (let c = 1; c < C; c++) {
    const v = load<f32>(p + <usize>c * chanStep);
    ok = ok && Mathf.abs(v) <= F32.MAX_VALUE;
    if (v > best) {
      best = v;
      bi = c;
    }
  }
  return ok ? bi : -1;
}

/**
 * Prediction is C finite scores per pixel: pixel i's score for class c at
 * p + i·pixStep + c·chanStep (bytes). The SIMD build takes four pixels at a
 * time: NCHW chunks (pixStep 4) class plane by class plane, NHWC chunks
 * (chanStep 4, C ≥ 4) row by row.
 */
export function confusionArgmax(
  t: usize, p: usize, n: i32, C: i32, pixStep: i32, chanStep: i32, ignore: bool, ign: f32, bins: usize, stats: usize,
): i32 {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (pixStep == 4) i = argmaxPlanar(t, p, n, C, chanStep, ignore, ign, bins, stats);
    else if (chanStep == 4 && C >= 4) i = argmaxRows(t, p, n, C, ignore, ign, bins, stats);
    if (i < 0) return -i - 1;
  }
  for (; i < n; i++) {
    const pc = argmax1(p + <usize>i * <usize>pixStep, pixStep, <usize>chanStep, C);
    if (pc < 0) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    if (!countPair(t, i, pc, C, ignore, ign, bins, stats)) return i;
  }
  return -1;
}

/**
 * SIMD argmax over planar (NCHW) scores, sixteen pixels per step: each class
 * plane is read one 64-byte line at a time, so the planes (often 2^k bytes
 * apart, which maps them all onto the same cache sets) are each read once
 * per step instead of line by line over four steps. The scores' sum catches
 * a NaN or ±Infinity (a finite sum that overflows only costs a detour):
 * such a step goes to the scalar code, which names the bad element. Returns
 * the pixels done, or −(index + 1) of the first bad element.
 */
function argmaxPlanar(t: usize, p: usize, n: i32, C: i32, chanStep: i32, ignore: bool, ign: f32, bins: usize, stats: usize): i32 {
  const n16 = n & ~15;
  const cs = <usize>chanStep;
  const zero = f32x4.splat(0);
  for (let i = 0; i < n16; i += 16) {
    let q = p + (<usize>i << 2);
    let b0 = v128.load(q), b1 = v128.load(q, 16), b2 = v128.load(q, 32), b3 = v128.load(q, 48);
    let chk = f32x4.add(f32x4.add(b0, b1), f32x4.add(b2, b3));
    let i0 = zero, i1 = zero, i2 = zero, i3 = zero;
    let cv = i32x4.splat(0);
    const one = i32x4.splat(1);
    for (let c = 1; c < C; c++) {
      q += cs;
      cv = i32x4.add(cv, one);
      const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
      chk = f32x4.add(chk, f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3)));
      // strictly greater: ties keep the lower class
      const g0 = f32x4.gt(v0, b0), g1 = f32x4.gt(v1, b1), g2 = f32x4.gt(v2, b2), g3 = f32x4.gt(v3, b3);
      b0 = v128.bitselect(v0, b0, g0);
      b1 = v128.bitselect(v1, b1, g1);
      b2 = v128.bitselect(v2, b2, g2);
      b3 = v128.bitselect(v3, b3, g3);
      i0 = v128.bitselect(cv, i0, g0);
      i1 = v128.bitselect(cv, i1, g1);
      i2 = v128.bitselect(cv, i2, g2);
      i3 = v128.bitselect(cv, i3, g3);
    }
    if (v128.any_true(f32x4.ne(f32x4.sub(chk, chk), zero))) {
      for (let j = i; j < i + 16; j++) {
        const pc = argmax1(p + (<usize>j << 2), 4, cs, C);
        if (pc < 0) {
          store<i32>(stats, BAD_PRED);
          return -j - 1;
        }
        if (!countPair(t, j, pc, C, ignore, ign, bins, stats)) return -j - 1;
      }
      continue;
    }
    const cls = stats + 16; // the work area: sixteen classes
    v128.store(cls, i0);
    v128.store(cls, i1, 16);
    v128.store(cls, i2, 32);
    v128.store(cls, i3, 48);
    for (let j = 0; j < 16; j++) {
      if (!countPair(t, i + j, load<i32>(cls + (<usize>j << 2)), C, ignore, ign, bins, stats)) return -(i + j) - 1;
    }
  }
  return n16;
}

/**
 * The argmax of one C-wide row (C ≥ 4) and the sum of its scores (a
 * non-finite score makes the sum non-finite; the caller checks that). The
 * row is read as ⌊C/4⌋ vectors plus one vector ending at its last score,
 * overlapping the previous one, so there is no scalar tail. The lowest
 * index holding the maximum comes from the equality masks: for C ≤ 32 they
 * are OR-ed into one word and its lowest set bit is the answer.
 */
// @ts-ignore: decorator
@inline function rowArgmax(q: usize, C: i32, sum: usize): i32 {
  const nv = C >> 2;
  const last = q + ((<usize>(C - 4)) << 2);
  let m = v128.load(last);
  let s = m;
  for (let k = 0; k < nv; k++) {
    const v = v128.load(q + ((<usize>k) << 4));
    m = f32x4.pmax(m, v);
    s = f32x4.add(s, v);
  }
  v128.store(sum, f32x4.add(v128.load(sum), s));
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
  if (C <= 32) {
    let bits = <u32>i32x4.bitmask(f32x4.eq(v128.load(last), m)) << <u32>(C - 4);
    for (let k = 0; k < nv; k++) bits |= <u32>i32x4.bitmask(f32x4.eq(v128.load(q + ((<usize>k) << 4)), m)) << <u32>(k << 2);
    return <i32>ctz(bits);
  }
  for (let k = 0; k < nv; k++) {
    const b = i32x4.bitmask(f32x4.eq(v128.load(q + ((<usize>k) << 4)), m));
    if (b) return (k << 2) + <i32>ctz(b);
  }
  return C - 4 + <i32>ctz(i32x4.bitmask(f32x4.eq(v128.load(last), m)));
}

/**
 * SIMD argmax over interleaved (NHWC) scores, C ≥ 4, four pixels per step:
 * their argmaxes first, then, if their 4·C scores were all finite (their
 * sum is), their counts; otherwise the scalar code takes those four pixels
 * and names the bad element (a finite sum that overflows only costs that
 * detour). `stats + 16` (the work area, see the header) holds the running
 * sum. Returns the pixels done or −(index + 1) of the first bad element.
 */
function argmaxRows(t: usize, p: usize, n: i32, C: i32, ignore: bool, ign: f32, bins: usize, stats: usize): i32 {
  const n4 = n & ~3;
  const row = (<usize>C) << 2;
  // the running sum lives in memory (a v128 local across the inlined calls is spilled anyway)
  const sum = stats + 16;
  for (let i = 0; i < n4; i += 4) {
    const q = p + <usize>i * row;
    v128.store(sum, f32x4.splat(0));
    const c0 = rowArgmax(q, C, sum);
    const c1 = rowArgmax(q + row, C, sum);
    const c2 = rowArgmax(q + 2 * row, C, sum);
    const c3 = rowArgmax(q + 3 * row, C, sum);
    const s = v128.load(sum);
    if (v128.any_true(f32x4.ne(f32x4.sub(s, s), f32x4.splat(0)))) {
      for (let j = i; j < i + 4; j++) {
        const pc = argmax1(p + <usize>j * row, <i32>row, 4, C);
        if (pc < 0) {
          store<i32>(stats, BAD_PRED);
          return -j - 1;
        }
        if (!countPair(t, j, pc, C, ignore, ign, bins, stats)) return -j - 1;
      }
      continue;
    }
    if (!countPair(t, i, c0, C, ignore, ign, bins, stats)) return -i - 1;
    if (!countPair(t, i + 1, c1, C, ignore, ign, bins, stats)) return -i - 2;
    if (!countPair(t, i + 2, c2, C, ignore, ign, bins, stats)) return -i - 3;
    if (!countPair(t, i + 3, c3, C, ignore, ign, bins, stats)) return -i - 4;
  }
  return n4;
}

// ---------------------------------------------------------------- u8 label maps

// Both label maps are bytes (the PNG case). Pairs are counted in four
// interleaved u32 tables (pixel i in table i & 3, 16 bytes per pair): runs
// of one pair, common in real label maps, then increment four counters in
// turn instead of waiting on one store after another. Only labels below
// S = min(C, 256) can occur, so the tables are S×S pairs plus one spare pair
// slot (S·S). Ignored pixels: an ignore label below S owns its table row
// (every pixel counted there is ignored), so the SIMD code counts them there
// and the flush skips that row; a larger one (only possible when S = C < 256)
// has no row, and the SIMD code sends its pixels to the spare slot.

/** Bytes of bins confusionLabelsU8 needs for C classes. */
export function confusionU8BinBytes(C: i32): i32 {
  const S = min(C, 256);
  return (S * S + 1) << 4;
}

/** Adds the four tables of the pairs (t, p) < S×S, except row `ignRow` (−1: none), into the f64 C×C counts; clears the bins. */
export function confusionFlushU8(bins: usize, acc: usize, C: i32, ignRow: i32): void {
  const S = min(C, 256);
  for (let a = 0; a < S; a++) {
    if (a == ignRow) continue;
    for (let b = 0; b < S; b++) {
      const q = bins + ((<usize>(a * S + b)) << 4);
      const sum = <u64>load<u32>(q) + <u64>load<u32>(q, 4) + <u64>load<u32>(q, 8) + <u64>load<u32>(q, 12);
      const at = acc + ((<usize>(a * C + b)) << 3);
      store<f64>(at, load<f64>(at) + <f64>sum);
    }
  }
  memory.fill(bins, 0, <usize>confusionU8BinBytes(C));
}

/** One pixel in table `lane`; false (stats set) on a bad label. */
// @ts-ignore: decorator
@inline function countU8(t: usize, p: usize, i: i32, lane: usize, C: i32, S: i32, ignore: bool, ign: i32, bins: usize, stats: usize): bool {
  const pc = <i32>load<u8>(p + <usize>i);
  if (pc >= C) {
    store<i32>(stats, BAD_PRED);
    return false;
  }
  const tc = <i32>load<u8>(t + <usize>i);
  if (ignore && tc == ign) return true;
  if (tc >= C) {
    store<i32>(stats, BAD_TARGET);
    return false;
  }
  const a = bins + ((<usize>(tc * S + pc)) << 4) + (lane << 2);
  store<u32>(a, load<u32>(a) + 1);
  return true;
}

// @ts-ignore: decorator
@inline function bump(a: usize): void {
  store<u32>(a, load<u32>(a) + 1);
}

/** Increments the four counters whose addresses are the lanes of `a` (two 64-bit extracts: two addresses each). */
// @ts-ignore: decorator
@inline function bump4(a: v128): void {
  const lo = i64x2.extract_lane(a, 0);
  const hi = i64x2.extract_lane(a, 1);
  bump(<usize><u32>lo);
  bump(<usize><u32>(lo >>> 32));
  bump(<usize><u32>hi);
  bump(<usize><u32>(hi >>> 32));
}

/** Increments the pairs of eight pixels (u16 pair indices), pixel j in table j & 3: addresses built in i32 lanes. */
// @ts-ignore: decorator
@inline function bump8(base: v128, idx: v128): void {
  bump4(i32x4.add(base, i32x4.shl(i32x4.extend_low_i16x8_u(idx), 4)));
  bump4(i32x4.add(base, i32x4.shl(i32x4.extend_high_i16x8_u(idx), 4)));
}

/**
 * Sixteen pixels at a time: the labels are checked for the whole group
 * (CHECK: C < 256, else every byte is a valid label), the pair indices
 * t·S + p are built in u16 lanes (SPARE: pixels with the ignore label, which
 * is ≥ S, go to the spare slot), and only then are the sixteen counters
 * bumped. Returns the pixels done; a
 * group with a bad label stops the loop there for the scalar code to name.
 */
// @ts-ignore: decorator
@inline function u8Groups(t: usize, p: usize, n: i32, C: i32, S: i32, ign: i32, bins: usize, CHECK: bool, SPARE: bool): i32 {
  const n16 = n & ~15;
  const cV = i8x16.splat(<i8>C);
  const ignV = i8x16.splat(<i8>ign);
  const sV = i16x8.splat(<i16>S);
  const spare = i16x8.splat(<i16>(S * S));
  // table j & 3 of pixel j: byte offsets 0, 4, 8, 12 from the pair's slot
  const base = i32x4.add(i32x4.splat(<i32>bins), i32x4(0, 4, 8, 12));
  let i = 0;
  for (; i < n16; i += 16) {
    const tv = v128.load(t + <usize>i);
    const pv = v128.load(p + <usize>i);
    const skip = SPARE ? i8x16.eq(tv, ignV) : i8x16.splat(0);
    if (CHECK) {
      let bad = i8x16.ge_u(pv, cV);
      bad = v128.or(bad, SPARE ? v128.andnot(i8x16.ge_u(tv, cV), skip) : i8x16.ge_u(tv, cV));
      if (v128.any_true(bad)) break;
    }
    let lo = i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(tv), sV), i16x8.extend_low_i8x16_u(pv));
    let hi = i16x8.add(i16x8.mul(i16x8.extend_high_i8x16_u(tv), sV), i16x8.extend_high_i8x16_u(pv));
    if (SPARE) {
      lo = v128.bitselect(spare, lo, i16x8.extend_low_i8x16_s(skip));
      hi = v128.bitselect(spare, hi, i16x8.extend_high_i8x16_s(skip));
    }
    bump8(base, lo);
    bump8(base, hi);
  }
  return i;
}

/**
 * Target and predicted label maps both u8: no float32 staging. Counts into
 * the four tables (confusionU8BinBytes; flushed by confusionFlushU8 with
 * ignRow = the ignore label when it is below min(C, 256), else −1).
 */
export function confusionLabelsU8(t: usize, p: usize, n: i32, C: i32, ignore: bool, ign: i32, bins: usize, stats: usize): i32 {
  const S = min(C, 256);
  // an ignore label ≥ 256 can never match a byte
  const ig = ignore && ign >= 0 && ign < 256;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // an ignore label below S needs nothing here: its row is skipped by the flush
    if (C >= 256) i = u8Groups(t, p, n, C, S, 0, bins, false, false);
    else if (ig && ign >= S) i = u8Groups(t, p, n, C, S, ign, bins, true, true);
    else i = u8Groups(t, p, n, C, S, 0, bins, true, false);
  }
  const n4 = i + ((n - i) & ~3);
  for (; i < n4; i += 4) {
    if (!countU8(t, p, i, 0, C, S, ig, ign, bins, stats)) return i;
    if (!countU8(t, p, i + 1, 1, C, S, ig, ign, bins, stats)) return i + 1;
    if (!countU8(t, p, i + 2, 2, C, S, ig, ign, bins, stats)) return i + 2;
    if (!countU8(t, p, i + 3, 3, C, S, ig, ign, bins, stats)) return i + 3;
  }
  for (; i < n; i++) if (!countU8(t, p, i, 0, C, S, ig, ign, bins, stats)) return i;
  return -1;
}
