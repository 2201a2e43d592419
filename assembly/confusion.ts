// Confusion-matrix counting: one pass over a chunk of pixels of one image,
// counting (target label, predicted class) pairs into C×C u32 bins, then
// adding the bins into that image's f64 counts. Targets are f32 labels;
// the prediction is a label map, binary scores (p > threshold) or C scores
// per pixel (argmax, lowest index on ties). Validation rides along: the
// first bad element's index is returned and the f64 counts are left as they
// were (the bins are scratch), so a failing call changes nothing.
//
// Return value: −1 when every element was valid, else the pixel index of the
// first bad one, with *stats = 1 (bad target) or 2 (bad prediction).

const BAD_TARGET: i32 = 1;
const BAD_PRED: i32 = 2;

/** The class of a target label, or −1 for an ignored pixel, or −2 for a bad label (not an integer in [0, C)). */
// @ts-ignore: decorator
@inline function targetClass(tv: f32, C: i32, ignore: bool, ign: f32): i32 {
  if (ignore && tv == ign) return -1;
  if (!(tv >= 0 && tv < <f32>C) || Mathf.floor(tv) != tv) return -2;
  return <i32>tv;
}

/** Adds the C×C u32 bins into the f64 counts. */
function flush(bins: usize, acc: usize, C: i32): void {
  const cc = C * C;
  for (let k = 0; k < cc; k++) {
    const a = acc + (<usize>k << 3);
    store<f64>(a, load<f64>(a) + <f64>load<u32>(bins + (<usize>k << 2)));
  }
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
export function confusionLabels(t: usize, p: usize, n: i32, C: i32, ignore: bool, ign: f32, bins: usize, acc: usize, stats: usize): i32 {
  memory.fill(bins, 0, <usize>(C * C) << 2);
  for (let i = 0; i < n; i++) {
    const pv = load<f32>(p + (<usize>i << 2));
    const pc = targetClass(pv, C, false, 0);
    if (pc < 0) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    if (!countPair(t, i, pc, C, ignore, ign, bins, stats)) return i;
  }
  flush(bins, acc, C);
  return -1;
}

/** Prediction is one finite score per pixel: class 1 when p > thr (C = 2). */
export function confusionBinary(t: usize, p: usize, n: i32, thr: f64, ignore: bool, ign: f32, bins: usize, acc: usize, stats: usize): i32 {
  memory.fill(bins, 0, 16);
  for (let i = 0; i < n; i++) {
    const pv = load<f32>(p + (<usize>i << 2));
    if (!(Mathf.abs(pv) <= F32.MAX_VALUE)) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    if (!countPair(t, i, <f64>pv > thr ? 1 : 0, 2, ignore, ign, bins, stats)) return i;
  }
  flush(bins, acc, 2);
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
 * p + i·pixStep + c·chanStep (bytes). NCHW chunks have pixStep 4; the SIMD
 * build takes four pixels at a time there.
 */
export function confusionArgmax(
  t: usize, p: usize, n: i32, C: i32, pixStep: i32, chanStep: i32, ignore: bool, ign: f32, bins: usize, acc: usize, stats: usize,
): i32 {
  memory.fill(bins, 0, <usize>(C * C) << 2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (pixStep == 4) i = argmaxPlanar(t, p, n, C, chanStep, ignore, ign, bins, stats);
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
  flush(bins, acc, C);
  return -1;
}

/**
 * SIMD argmax over planar (NCHW) scores, four pixels per step. Returns the
 * number of pixels done, or −(index + 1) of the first bad element (found
 * by the scalar code on the offending four pixels).
 */
function argmaxPlanar(t: usize, p: usize, n: i32, C: i32, chanStep: i32, ignore: bool, ign: f32, bins: usize, stats: usize): i32 {
  const n4 = n & ~3;
  const limit = i32x4.splat(0x7f7fffff);
  const absMask = i32x4.splat(0x7fffffff);
  const cs = <usize>chanStep;
  for (let i = 0; i < n4; i += 4) {
    const q = p + (<usize>i << 2);
    let best = v128.load(q);
    let bits = v128.and(best, absMask);
    let bi = i32x4.splat(0);
    for (let c = 1; c < C; c++) {
      const v = v128.load(q + <usize>c * cs);
      bits = i32x4.max_u(bits, v128.and(v, absMask));
      const gt = f32x4.gt(v, best);
      best = v128.bitselect(v, best, gt);
      bi = v128.bitselect(i32x4.splat(c), bi, gt);
    }
    // a NaN or ±Infinity among these scores: let the scalar code name it
    if (!i32x4.all_true(i32x4.le_u(bits, limit))) {
      for (let j = i; j < i + 4; j++) {
        const pc = argmax1(p + (<usize>j << 2), 4, cs, C);
        if (pc < 0) {
          store<i32>(stats, BAD_PRED);
          return -j - 1;
        }
        if (!countPair(t, j, pc, C, ignore, ign, bins, stats)) return -j - 1;
      }
      continue;
    }
    if (!countPair(t, i, i32x4.extract_lane(bi, 0), C, ignore, ign, bins, stats)) return -i - 1;
    if (!countPair(t, i + 1, i32x4.extract_lane(bi, 1), C, ignore, ign, bins, stats)) return -i - 2;
    if (!countPair(t, i + 2, i32x4.extract_lane(bi, 2), C, ignore, ign, bins, stats)) return -i - 3;
    if (!countPair(t, i + 3, i32x4.extract_lane(bi, 3), C, ignore, ign, bins, stats)) return -i - 4;
  }
  return n4;
}

/** Target and predicted label maps both u8 (the common PNG case): no float32 staging. */
export function confusionLabelsU8(t: usize, p: usize, n: i32, C: i32, ignore: bool, ign: i32, bins: usize, acc: usize, stats: usize): i32 {
  memory.fill(bins, 0, <usize>(C * C) << 2);
  for (let i = 0; i < n; i++) {
    const pc = <i32>load<u8>(p + <usize>i);
    if (pc >= C) {
      store<i32>(stats, BAD_PRED);
      return i;
    }
    const tc = <i32>load<u8>(t + <usize>i);
    if (ignore && tc == ign) continue;
    if (tc >= C) {
      store<i32>(stats, BAD_TARGET);
      return i;
    }
    const a = bins + (<usize>(tc * C + pc) << 2);
    store<u32>(a, load<u32>(a) + 1);
  }
  flush(bins, acc, C);
  return -1;
}
