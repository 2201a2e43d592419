// Connected components of binary masks and the IoU of overlapping objects
// (objectMetrics). The inputs are packed to one bit per pixel (rows padded to
// 64-bit words) in the one pass that also validates them; components are then
// found over runs of foreground (a run-length union-find), so labelling and
// pair counting cost per run, not per pixel.
import { hmax, hmin } from "./simd";

// Stats record of one input (f64): [min, max, NaN flag, non-binary flag].

// @ts-ignore: decorator
@inline function foldStats(stats: usize, lo: f64, hi: f64, nan: bool, bad: bool): void {
  store<f64>(stats, min(load<f64>(stats), lo));
  store<f64>(stats, max(load<f64>(stats, 8), hi), 8);
  if (nan) store<f64>(stats, 1, 16);
  if (bad) store<f64>(stats, 1, 24);
}

// ---------------------------------------------------------------- packing

/**
 * The scalar end of one packed row (all of it in the scalar build): pixels
 * x … W−1 of `row` (T = f32 or f64, compared in T) into `word`, full words
 * and the last partial one stored to `out`; their range and flags are folded
 * into stats. Shared by packF32 and packF64.
 */
// @ts-ignore: decorator
@inline function packTail<T>(row: usize, x: i32, W: i32, thr: T, out: usize, word: u64, stats: usize, target: bool): void {
  let lo = <T>Infinity, hi = <T>-Infinity;
  let nan = false, bad = false;
  for (; x < W; x++) {
    const v = load<T>(row + ((<usize>x) << alignof<T>()));
    let fg: bool;
    if (target) {
      fg = v == 1;
      if (!fg && v != 0) bad = true;
    } else {
      fg = v > thr;
    }
    if (v != v) nan = true;
    lo = min(lo, v);
    hi = max(hi, v);
    word |= (<u64>fg) << (<u64>(x & 63));
    if ((x & 63) == 63) {
      store<u64>(out + ((<usize>(x >> 6)) << 3), word);
      word = 0;
    }
  }
  if ((W & 63) != 0) store<u64>(out + ((<usize>(W >> 6)) << 3), word);
  foldStats(stats, <f64>lo, <f64>hi, nan, bad);
}

/** Packs `rows` rows of W float32 values: bit = v > thr (probabilities, logits)
 *  or, for a target, v == 1 with every value checked to be 0 or 1. */
// @ts-ignore: decorator
@inline function packF32(src: usize, W: i32, rows: i32, thr: f32, bits: usize, nw: i32, stats: usize, target: bool): void {
  let lo: f32 = Infinity, hi: f32 = -Infinity;
  let nan = false, bad = false;
  for (let r = 0; r < rows; r++) {
    const row = src + ((<usize>r * <usize>W) << 2);
    const out = bits + ((<usize>r * <usize>nw) << 3);
    let x = 0;
    let word: u64 = 0;
    if (ASC_FEATURE_SIMD) {
      if (W >= 4) {
        const one = f32x4.splat(1), zero = f32x4.splat(0), thrV = f32x4.splat(thr);
        let vLo = f32x4.splat(Infinity), vHi = f32x4.splat(-Infinity);
        let vNan = zero, vOk = f32x4.eq(zero, zero);
        // 16 pixels per step: four masks make 16 bits
        for (; x + 16 <= W; x += 16) {
          const at = row + ((<usize>x) << 2);
          const v0 = v128.load(at), v1 = v128.load(at, 16), v2 = v128.load(at, 32), v3 = v128.load(at, 48);
          let f0: v128, f1: v128, f2: v128, f3: v128;
          if (target) {
            f0 = f32x4.eq(v0, one);
            f1 = f32x4.eq(v1, one);
            f2 = f32x4.eq(v2, one);
            f3 = f32x4.eq(v3, one);
            const ok01 = v128.and(v128.or(f0, f32x4.eq(v0, zero)), v128.or(f1, f32x4.eq(v1, zero)));
            const ok23 = v128.and(v128.or(f2, f32x4.eq(v2, zero)), v128.or(f3, f32x4.eq(v3, zero)));
            vOk = v128.and(vOk, v128.and(ok01, ok23));
          } else {
            f0 = f32x4.gt(v0, thrV);
            f1 = f32x4.gt(v1, thrV);
            f2 = f32x4.gt(v2, thrV);
            f3 = f32x4.gt(v3, thrV);
          }
          vNan = v128.or(vNan, v128.or(v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3))));
          vLo = f32x4.pmin(vLo, f32x4.pmin(f32x4.pmin(v0, v1), f32x4.pmin(v2, v3)));
          vHi = f32x4.pmax(vHi, f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3)));
          const m = i32x4.bitmask(f0) | (i32x4.bitmask(f1) << 4) | (i32x4.bitmask(f2) << 8) | (i32x4.bitmask(f3) << 12);
          word |= (<u64>m) << (<u64>(x & 63));
          if ((x & 63) == 48) {
            store<u64>(out + ((<usize>(x >> 6)) << 3), word);
            word = 0;
          }
        }
        for (; x + 4 <= W; x += 4) {
          const v = v128.load(row + ((<usize>x) << 2));
          let fg: v128;
          if (target) {
            fg = f32x4.eq(v, one);
            vOk = v128.and(vOk, v128.or(fg, f32x4.eq(v, zero)));
          } else {
            fg = f32x4.gt(v, thrV);
          }
          vNan = v128.or(vNan, f32x4.ne(v, v));
          vLo = f32x4.pmin(vLo, v);
          vHi = f32x4.pmax(vHi, v);
          word |= (<u64>i32x4.bitmask(fg)) << (<u64>(x & 63));
          if ((x & 63) == 60) {
            store<u64>(out + ((<usize>(x >> 6)) << 3), word);
            word = 0;
          }
        }
        lo = min(lo, hmin(vLo));
        hi = max(hi, hmax(vHi));
        if (v128.any_true(vNan)) nan = true;
        if (target && !i32x4.all_true(vOk)) bad = true;
      }
    }
    packTail<f32>(row, x, W, thr, out, word, stats, target);
  }
  foldStats(stats, <f64>lo, <f64>hi, nan, bad);
}

/** As packF32 for float64 values (compared in float64, so nothing is rounded first). */
// @ts-ignore: decorator
@inline function packF64(src: usize, W: i32, rows: i32, thr: f64, bits: usize, nw: i32, stats: usize, target: bool): void {
  let lo: f64 = Infinity, hi: f64 = -Infinity;
  let nan = false, bad = false;
  for (let r = 0; r < rows; r++) {
    const row = src + ((<usize>r * <usize>W) << 3);
    const out = bits + ((<usize>r * <usize>nw) << 3);
    let x = 0;
    let word: u64 = 0;
    if (ASC_FEATURE_SIMD) {
      if (W >= 2) {
        const one = f64x2.splat(1), zero = f64x2.splat(0), thrV = f64x2.splat(thr);
        let vLo = f64x2.splat(Infinity), vHi = f64x2.splat(-Infinity);
        let vNan = zero, vOk = f64x2.eq(zero, zero);
        for (; x + 2 <= W; x += 2) {
          const v = v128.load(row + ((<usize>x) << 3));
          let fg: v128;
          if (target) {
            fg = f64x2.eq(v, one);
            vOk = v128.and(vOk, v128.or(fg, f64x2.eq(v, zero)));
          } else {
            fg = f64x2.gt(v, thrV);
          }
          vNan = v128.or(vNan, f64x2.ne(v, v));
          vLo = f64x2.pmin(vLo, v);
          vHi = f64x2.pmax(vHi, v);
          word |= (<u64>i64x2.bitmask(fg)) << (<u64>(x & 63));
          if ((x & 63) == 62) {
            store<u64>(out + ((<usize>(x >> 6)) << 3), word);
            word = 0;
          }
        }
        lo = min(lo, min(f64x2.extract_lane(vLo, 0), f64x2.extract_lane(vLo, 1)));
        hi = max(hi, max(f64x2.extract_lane(vHi, 0), f64x2.extract_lane(vHi, 1)));
        if (v128.any_true(vNan)) nan = true;
        if (target && !i64x2.all_true(vOk)) bad = true;
      }
    }
    packTail<f64>(row, x, W, thr, out, word, stats, target);
  }
  foldStats(stats, lo, hi, nan, bad);
}

/** Lane-wise minimum / maximum of sixteen uint8 lanes (halving shuffles). */
// @ts-ignore: decorator
@inline function hminU8(v: v128): u32 {
  v = i8x16.min_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  v = i8x16.min_u(v, i8x16.shuffle(v, v, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7));
  v = i8x16.min_u(v, i8x16.shuffle(v, v, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3));
  v = i8x16.min_u(v, i8x16.shuffle(v, v, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
  return <u32>i8x16.extract_lane_u(v, 0);
}

// @ts-ignore: decorator
@inline function hmaxU8(v: v128): u32 {
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
  return <u32>i8x16.extract_lane_u(v, 0);
}

/** Packs a uint8 target (bit = v == 1; every value checked to be 0 or 1). */
// @ts-ignore: decorator
@inline function packU8(src: usize, W: i32, rows: i32, bits: usize, nw: i32, stats: usize): void {
  let lo: u32 = 255, hi: u32 = 0;
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * <usize>W;
    const out = bits + ((<usize>r * <usize>nw) << 3);
    let x = 0;
    let word: u64 = 0;
    if (ASC_FEATURE_SIMD) {
      if (W >= 16) {
        const one = i8x16.splat(1);
        let vLo = i8x16.splat(-1), vHi = i8x16.splat(0);
        for (; x + 16 <= W; x += 16) {
          const v = v128.load(row + <usize>x);
          vLo = i8x16.min_u(vLo, v);
          vHi = i8x16.max_u(vHi, v);
          word |= (<u64>i8x16.bitmask(i8x16.eq(v, one))) << (<u64>(x & 63));
          if ((x & 63) == 48) {
            store<u64>(out + ((<usize>(x >> 6)) << 3), word);
            word = 0;
          }
        }
        lo = min(lo, hminU8(vLo));
        hi = max(hi, hmaxU8(vHi));
      }
    }
    for (; x < W; x++) {
      const v = <u32>load<u8>(row + <usize>x);
      lo = min(lo, v);
      hi = max(hi, v);
      word |= (<u64>(v == 1)) << (<u64>(x & 63));
      if ((x & 63) == 63) {
        store<u64>(out + ((<usize>(x >> 6)) << 3), word);
        word = 0;
      }
    }
    if ((W & 63) != 0) store<u64>(out + ((<usize>(W >> 6)) << 3), word);
  }
  foldStats(stats, <f64>lo, <f64>hi, false, hi > 1);
}

// Packing kernels, one per input type (each holds its target and its
// prediction loop): `rows` rows of W values at `src` become bit rows of `nw`
// 64-bit words at `bits` (bits past W are 0), and the values' range folds into
// `stats`. target ≠ 0: bit = v == 1, and values other than 0 and 1 raise the
// non-binary flag; else bit = v > thr. For float32 values thr is the largest
// float32 ≤ the float64 threshold, so the test equals the float64 comparison.

export function cmpPackF32(src: usize, W: i32, rows: i32, thr: f32, bits: usize, nw: i32, stats: usize, target: i32): void {
  if (target != 0) packF32(src, W, rows, 0, bits, nw, stats, true);
  else packF32(src, W, rows, thr, bits, nw, stats, false);
}

export function cmpPackF64(src: usize, W: i32, rows: i32, thr: f64, bits: usize, nw: i32, stats: usize, target: i32): void {
  if (target != 0) packF64(src, W, rows, 0, bits, nw, stats, true);
  else packF64(src, W, rows, thr, bits, nw, stats, false);
}

/** uint8 targets only. */
export function cmpPackU8(src: usize, W: i32, rows: i32, bits: usize, nw: i32, stats: usize): void {
  packU8(src, W, rows, bits, nw, stats);
}

// ---------------------------------------------------------------- runs

/** Number of runs (maximal horizontal stretches of set bits) in H bit rows. */
export function cmpCountRuns(bits: usize, nw: i32, H: i32): i32 {
  let n: i32 = 0;
  for (let y = 0; y < H; y++) {
    const row = bits + ((<usize>y * <usize>nw) << 3);
    // a run starts where a set bit follows a clear one; rows start clear
    let carry: u64 = 0;
    for (let i = 0; i < nw; i++) {
      const w = load<u64>(row + ((<usize>i) << 3));
      n += <i32>popcnt(w & ~((w << 1) | carry));
      carry = w >> 63;
    }
  }
  return n;
}

// Run record (i32 fields) shared by label, pairs and paint:
// [start ptr, end ptr, lab ptr, rowStart ptr, area ptr, runs, objects]
const R_START = 0;
const R_END = 4;
const R_LAB = 8;
const R_ROW = 12;
const R_AREA = 16;
const R_RUNS = 20;
const R_OBJECTS = 24;

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + ((<usize>i) << 2);
}

/** Root of run x, halving the path on the way (parents always precede their children). */
// @ts-ignore: decorator
@inline function findRoot(lab: usize, x: i32): i32 {
  let p = load<i32>(at(lab, x));
  while (p != x) {
    const g = load<i32>(at(lab, p));
    store<i32>(at(lab, x), g);
    x = g;
    p = load<i32>(at(lab, x));
  }
  return x;
}

/**
 * Labels the components of one H × W bit image (nw words per row) over its
 * runs: runs get ids in raster order; each run is united with the runs of the
 * row above that touch it (sharing a column, or a corner with conn8); the root
 * of a component is its earliest run, so one forward sweep turns roots into
 * labels 1…K in raster order of the first pixel. Writes start/end (columns,
 * end exclusive), lab (label per run), rowStart (H + 1 run offsets) and
 * area[1…K] through the run record; returns K.
 */
export function cmpLabel(bits: usize, nw: i32, H: i32, W: i32, conn8: i32, rec: usize): i32 {
  const start = <usize>load<i32>(rec, R_START);
  const end = <usize>load<i32>(rec, R_END);
  const lab = <usize>load<i32>(rec, R_LAB);
  const rowStart = <usize>load<i32>(rec, R_ROW);
  const area = <usize>load<i32>(rec, R_AREA);
  const d = conn8 != 0 ? 1 : 0;
  let n = 0;
  let prevBegin = 0;
  for (let y = 0; y < H; y++) {
    store<i32>(at(rowStart, y), n);
    const rowBegin = n;
    // the row's runs, from its transitions (bit ≠ the bit to its left)
    const row = bits + ((<usize>y * <usize>nw) << 3);
    let s = -1;
    let carry: u64 = 0;
    for (let wi = 0; wi < nw; wi++) {
      const w = load<u64>(row + ((<usize>wi) << 3));
      let tr = w ^ ((w << 1) | carry);
      carry = w >> 63;
      while (tr != 0) {
        const pos = (wi << 6) + <i32>ctz(tr);
        tr &= tr - 1;
        if (s < 0) {
          s = pos;
        } else {
          store<i32>(at(start, n), s);
          store<i32>(at(end, n), pos);
          n++;
          s = -1;
        }
      }
    }
    if (s >= 0) {
      // a run through the last column of a row whose width is a multiple of 64
      store<i32>(at(start, n), s);
      store<i32>(at(end, n), W);
      n++;
    }
    // each run joins the runs of the row above that touch it (a shared column, or a corner with conn8)
    let q = prevBegin;
    for (let r = rowBegin; r < n; r++) {
      const rs = load<i32>(at(start, r)), re = load<i32>(at(end, r));
      while (q < rowBegin && load<i32>(at(end, q)) + d <= rs) q++;
      let root = r;
      for (let k = q; k < rowBegin && load<i32>(at(start, k)) < re + d; k++) {
        const b = findRoot(lab, k);
        if (root == r) {
          root = b;
        } else if (b < root) {
          store<i32>(at(lab, root), b);
          root = b;
        } else if (b > root) {
          store<i32>(at(lab, b), root);
        }
      }
      store<i32>(at(lab, r), root);
    }
    prevBegin = rowBegin;
  }
  store<i32>(at(rowStart, H), n);
  store<i32>(rec, n, R_RUNS);
  // roots precede their members, so labels resolve in one sweep, in place
  let K = 0;
  for (let r = 0; r < n; r++) {
    const p = load<i32>(at(lab, r));
    store<i32>(at(lab, r), p == r ? ++K : load<i32>(at(lab, p)));
  }
  memory.fill(area, 0, (<usize>K + 1) << 2);
  for (let r = 0; r < n; r++) {
    const l = at(area, load<i32>(at(lab, r)));
    store<i32>(l, load<i32>(l) + load<i32>(at(end, r)) - load<i32>(at(start, r)));
  }
  store<i32>(rec, K, R_OBJECTS);
  return K;
}

// ---------------------------------------------------------------- pairs

/** Adds c to the count of key (target label a, predicted label b) in an
 *  open-addressing table of mask + 1 slots; returns the slot when the key is new, else -1. */
// @ts-ignore: decorator
@inline function addPair(keys: usize, counts: usize, mask: u32, a: i32, b: i32, c: i32): i32 {
  const key = ((<u64>a) << 32) | <u64>(<u32>b);
  let h = <u32>((key * 0x9e3779b97f4a7c15) >> 32) & mask;
  for (;;) {
    const k = load<u64>(keys + ((<usize>h) << 3));
    if (k == key) {
      const cp = counts + ((<usize>h) << 2);
      store<i32>(cp, load<i32>(cp) + c);
      return -1;
    }
    if (k == 0) {
      store<u64>(keys + ((<usize>h) << 3), key);
      store<i32>(counts + ((<usize>h) << 2), c);
      return <i32>h;
    }
    h = (h + 1) & mask;
  }
  return unreachable();
}

/** Bytes of the pair table cmpPairs uses for `cap` slots (keys, counts, and the list of used slots). */
export function cmpPairBytes(cap: i32): i32 {
  return cap * 8 + cap * 4 + (cap >> 1) * 4;
}

/**
 * The intersection of every overlapping (target object, predicted object)
 * pair, from the two images' runs row by row (a merge of two sorted run
 * lists), counted in a hash table of `cap` slots (a power of two, ≥ twice the
 * number of runs, so at least twice the number of overlaps); then IoU =
 * inter / (areaT + areaP − inter) in float64 and, for each of the nThr
 * float64 thresholds at thr, the number of pairs with IoU > τ is written to
 * tp (i32). table: cmpPairBytes(cap) bytes.
 */
export function cmpPairs(recT: usize, recP: usize, H: i32, table: usize, cap: i32, thr: usize, nThr: i32, tp: usize): void {
  const tStart = <usize>load<i32>(recT, R_START), tEnd = <usize>load<i32>(recT, R_END);
  const tLab = <usize>load<i32>(recT, R_LAB), tRow = <usize>load<i32>(recT, R_ROW), tArea = <usize>load<i32>(recT, R_AREA);
  const pStart = <usize>load<i32>(recP, R_START), pEnd = <usize>load<i32>(recP, R_END);
  const pLab = <usize>load<i32>(recP, R_LAB), pRow = <usize>load<i32>(recP, R_ROW), pArea = <usize>load<i32>(recP, R_AREA);
  const keys = table;
  const counts = keys + ((<usize>cap) << 3);
  const used = counts + ((<usize>cap) << 2);
  const mask = <u32>(cap - 1);
  let nUsed = 0;
  memory.fill(keys, 0, (<usize>cap) << 3);
  memory.fill(tp, 0, (<usize>nThr) << 2);
  for (let y = 0; y < H; y++) {
    let i = load<i32>(at(tRow, y));
    const iEnd = load<i32>(at(tRow, y + 1));
    let j = load<i32>(at(pRow, y));
    const jEnd = load<i32>(at(pRow, y + 1));
    while (i < iEnd && j < jEnd) {
      const ts = load<i32>(at(tStart, i)), te = load<i32>(at(tEnd, i));
      const ps = load<i32>(at(pStart, j)), pe = load<i32>(at(pEnd, j));
      const overlap = min(te, pe) - max(ts, ps);
      if (overlap > 0) {
        const h = addPair(keys, counts, mask, load<i32>(at(tLab, i)), load<i32>(at(pLab, j)), overlap);
        if (h >= 0) store<i32>(at(used, nUsed++), h);
      }
      if (te <= pe) i++;
      if (pe <= te) j++;
    }
  }
  for (let u = 0; u < nUsed; u++) {
    const h = load<i32>(at(used, u));
    const key = load<u64>(keys + ((<usize>h) << 3));
    const inter = load<i32>(at(counts, h));
    const a = <i32>(key >> 32), b = <i32>(<u32>key);
    const union = load<i32>(at(tArea, a)) + load<i32>(at(pArea, b)) - inter;
    const iou = <f64>inter / <f64>union;
    for (let k = 0; k < nThr; k++) {
      if (iou > load<f64>(thr + ((<usize>k) << 3))) {
        const c = at(tp, k);
        store<i32>(c, load<i32>(c) + 1);
      }
    }
  }
}

/** Writes the H × W label map of one image (i32, 0 = background) from its runs. */
export function cmpPaint(rec: usize, H: i32, W: i32, out: usize): void {
  const start = <usize>load<i32>(rec, R_START), end = <usize>load<i32>(rec, R_END);
  const lab = <usize>load<i32>(rec, R_LAB), rowStart = <usize>load<i32>(rec, R_ROW);
  memory.fill(out, 0, ((<usize>H) * (<usize>W)) << 2);
  for (let y = 0; y < H; y++) {
    const row = out + (((<usize>y) * (<usize>W)) << 2);
    const rEnd = load<i32>(at(rowStart, y + 1));
    for (let r = load<i32>(at(rowStart, y)); r < rEnd; r++) {
      const l = load<i32>(at(lab, r));
      const e = load<i32>(at(end, r));
      for (let x = load<i32>(at(start, r)); x < e; x++) store<i32>(at(row, x), l);
    }
  }
}
