// Box filter with TensorFlow's 'SAME' average-pool semantics (stride 1, the
// divisor counts only the cells inside the image) and the boundary weight map
// built on it. Cost is O(H·W) whatever the window: a running column sum moves
// down the image (each row enters and leaves once) and each output row is a
// difference of two prefix sums of those column sums.
//
// Two exact paths:
// - f32: for 0/1 targets every sum is an integer below 2^24 (the caller checks
//   W·min(kh, H) < 2^24), so sums are exact and box / count, one f32 division,
//   is the correctly rounded float32 average;
// - f64 (soft targets, or huge images): float64 sums, average rounded once to f32.
//
// Windows: rows i−bh … i+ah and columns j−bw … j+aw, clipped to the image;
// TF SAME splits the k−1 padding as bh = ⌊(k−1)/2⌋ before and ah = k−1−bh after.
// The caller clamps bh, ah to H and bw, aw to W (clipping makes larger values
// equivalent), so the scratch stays O(W).
import { BLOCK, addF64, hsum64 } from "./simd";
import { expNonPos1, expNonPos4 } from "./activation";

export const POOL_F64: i32 = 1; // float64 sums (soft targets)
export const POOL_BAND: i32 = 2; // w = 1 + 2·[0.005 < a < 0.995] instead of 5·e^(−5|a − 0.5|)
export const POOL_OUT: i32 = 4; // boundaryMap writes the map

/** Stats slots (f32) the pooled kernels fold into: t range, p range, w range, soft-target flag. */
export const STAT_SOFT: i32 = 6;

// ------------------------------------------------------------- scratch layout

// The rows are placed at chosen offsets modulo 4 KiB: a store whose address
// matches a load a few elements ahead in its low 12 bits makes the CPU wait
// for the store ("4K aliasing"). The prefix row is written while the column
// sums are read, and the averages while the prefix and count rows are read,
// so each written row sits about half a page away from the rows its loop reads.

// @ts-ignore: decorator
@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/** The first address ≥ from whose distance from anchor is `want` modulo 4096 (all 16-aligned). */
// @ts-ignore: decorator
@inline function skewed(from: usize, anchor: usize, want: usize): usize {
  return from + ((want - (from - anchor)) & 4080);
}

// @ts-ignore: decorator
@inline function pextOf(scratch: usize, W: i32, bw: i32): usize {
  // the scan writes pext[bw+1+j] while reading colsum[j]: half a page apart
  return skewed(scratch + align16(<usize>(W + 4) << 3), scratch, (2048 - ((<usize>(bw + 1)) << 2)) & 4080);
}

// @ts-ignore: decorator
@inline function halfHi(bw: i32, aw: i32): usize {
  // half the distance between the two prefix rows the box loop reads
  return ((<usize>(bw + aw + 1)) << 1) & ~(<usize>15);
}

// @ts-ignore: decorator
@inline function colsOf(scratch: usize, W: i32, bw: i32, aw: i32): usize {
  const pext = pextOf(scratch, W, bw);
  return skewed(pext + align16(<usize>(bw + W + aw + 8) << 3), pext, (1024 + halfHi(bw, aw)) & 4080);
}

/** The averages row the pooled kernels read after poolRow. */
// @ts-ignore: decorator
@inline export function avgOf(scratch: usize, W: i32, bw: i32, aw: i32): usize {
  // the box loop writes avg[j] while reading pext[j], pext[j + bw + aw + 1] and cols[j]
  const pext = pextOf(scratch, W, bw);
  return skewed(colsOf(scratch, W, bw, aw) + align16(<usize>(W + 4) << 2), pext, (2048 + halfHi(bw, aw)) & 4080);
}

/** The float64 averages row (written by the f64 path only, for the f64 gradient). */
// @ts-ignore: decorator
@inline export function avg64Of(scratch: usize, W: i32, bw: i32, aw: i32): usize {
  return avgOf(scratch, W, bw, aw) + align16(<usize>(W + 4) << 2);
}

/** Largest window (cells) whose exp weights are tabulated by box sum (64 KiB of table). */
export const TABLE_CELLS: i32 = 16383;

/** The exp-map weights by box sum (f32[cells + 1], after the f64 averages row). */
// @ts-ignore: decorator
@inline export function tableOf(scratch: usize, W: i32, bw: i32, aw: i32): usize {
  return avg64Of(scratch, W, bw, aw) + align16(<usize>(W + 4) << 3);
}

/** Cells of a full window (kh·kw, both clamped to the image), 0 when too large for the table. */
// @ts-ignore: decorator
@inline export function tableCells(bh: i32, ah: i32, bw: i32, aw: i32): i32 {
  const cells = (bh + ah + 1) * (bw + aw + 1);
  return cells <= TABLE_CELLS ? cells : 0;
}

/** Bytes of weights a band of rows holds: the pooled kernels take one sums call per band, not one per row. */
const BAND_BYTES: i32 = 16384;

/** Rows of width W in a band of weights. */
// @ts-ignore: decorator
@inline export function bandRows(W: i32): i32 {
  return max(1, BAND_BYTES / (W << 2));
}

/** The band of weight rows (f32[bandRows(W)·W], after the weight table). */
// @ts-ignore: decorator
@inline export function bandOf(scratch: usize, W: i32, bh: i32, ah: i32, bw: i32, aw: i32): usize {
  return tableOf(scratch, W, bw, aw) + align16(<usize>(tableCells(bh, ah, bw, aw) + 4) << 2);
}

/**
 * Bytes of scratch one pooled call needs for rows of width W (16-byte aligned
 * start): column sums, extended prefix sums, column counts, the averages
 * rows, the weight table (see tableCells) and a band of weight rows.
 */
export function poolScratchBytes(W: i32, bh: i32, ah: i32, bw: i32, aw: i32): i32 {
  return <i32>(bandOf(0, W, bh, ah, bw, aw) + align16((<usize>bandRows(W) * <usize>W) << 2));
}

// ------------------------------------------------------------- the box filter

/** Per call: the column counts of the clipped windows, and the zero left pad of the prefix row. */
export function poolSetup(W: i32, bw: i32, aw: i32, scratch: usize, f64mode: bool): void {
  const cols = colsOf(scratch, W, bw, aw);
  for (let j = 0; j < W; j++) {
    store<f32>(cols + ((<usize>j) << 2), <f32>(min(j + aw, W - 1) - max(j - bw, 0) + 1));
  }
  const pext = pextOf(scratch, W, bw);
  if (f64mode) memory.fill(pext, 0, (<usize>(bw + 1)) << 3);
  else memory.fill(pext, 0, (<usize>(bw + 1)) << 2);
}

/** colsum += row a (if a ≥ 0) − row s (if s ≥ 0), over W columns. */
function columnsUpdate(colsum: usize, ra: usize, rs: usize, W: i32, f64mode: bool): void {
  let j = 0;
  if (f64mode) {
    for (; j < W; j++) {
      const off = (<usize>j) << 2;
      let d: f64 = ra ? <f64>load<f32>(ra + off) : 0;
      if (rs) d -= <f64>load<f32>(rs + off);
      const c = colsum + ((<usize>j) << 3);
      store<f64>(c, load<f64>(c) + d);
    }
    return;
  }
  if (ASC_FEATURE_SIMD) {
    const nv = W >> 2;
    if (ra && rs) {
      for (let v = 0; v < nv; v++) {
        const off = (<usize>v) << 4;
        v128.store(colsum + off, f32x4.add(v128.load(colsum + off), f32x4.sub(v128.load(ra + off), v128.load(rs + off))));
      }
    } else if (ra) {
      for (let v = 0; v < nv; v++) {
        const off = (<usize>v) << 4;
        v128.store(colsum + off, f32x4.add(v128.load(colsum + off), v128.load(ra + off)));
      }
    } else {
      for (let v = 0; v < nv; v++) {
        const off = (<usize>v) << 4;
        v128.store(colsum + off, f32x4.sub(v128.load(colsum + off), v128.load(rs + off)));
      }
    }
    j = nv << 2;
  }
  for (; j < W; j++) {
    const off = (<usize>j) << 2;
    let d: f32 = ra ? load<f32>(ra + off) : 0;
    if (rs) d -= load<f32>(rs + off);
    store<f32>(colsum + off, load<f32>(colsum + off) + d);
  }
}

/**
 * f32 path: prefix sums of the column sums into pext[bw+1 …] and the right
 * pad. The sums are integers (0/1 targets, below 2^24), so the scan runs in
 * i32: its running carry is a chain through every vector of the row, and an
 * integer add is a quarter of a float add's latency.
 */
function prefixF32(scratch: usize, W: i32, bw: i32, aw: i32): void {
  const colsum = scratch;
  const pext = pextOf(scratch, W, bw);
  const p0 = pext + ((<usize>(bw + 1)) << 2);
  let j = 0;
  let carry: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    // in-register scan: two shifted adds, then the running carry
    const nv = W >> 2;
    const zero = i32x4.splat(0);
    let cv = zero;
    for (let v = 0; v < nv; v++) {
      const off = (<usize>v) << 4;
      let x = i32x4.trunc_sat_f32x4_s(v128.load(colsum + off));
      x = i32x4.add(x, v128.shuffle<i32>(zero, x, 0, 4, 5, 6));
      x = i32x4.add(x, v128.shuffle<i32>(zero, x, 0, 0, 4, 5));
      x = i32x4.add(x, cv);
      v128.store(p0 + off, x);
      cv = v128.shuffle<i32>(x, x, 3, 3, 3, 3);
    }
    carry = i32x4.extract_lane(cv, 0);
    j = nv << 2;
  }
  for (; j < W; j++) {
    carry += <i32>load<f32>(colsum + ((<usize>j) << 2));
    store<i32>(p0 + ((<usize>j) << 2), carry);
  }
  // right pad: P[W] for every window that runs past the last column
  const padAt = pext + ((<usize>(bw + W + 1)) << 2);
  for (let e = 0; e < aw; e++) store<i32>(padAt + ((<usize>e) << 2), carry);
}

/** f32 path: a_j = box_j / (rows · cols_j) for columns j0 … j1−1, box_j = pext[j + bw + aw + 1] − pext[j] (i32). */
function averagesF32(scratch: usize, W: i32, bw: i32, aw: i32, rows: f32, j0: i32, j1: i32): void {
  const pext = pextOf(scratch, W, bw);
  const cols = colsOf(scratch, W, bw, aw);
  const avg = avgOf(scratch, W, bw, aw);
  const hiAt = pext + ((<usize>(bw + aw + 1)) << 2);
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    const rv = f32x4.splat(rows);
    for (; j + 4 <= j1; j += 4) {
      const off = (<usize>j) << 2;
      const box = f32x4.convert_i32x4_s(i32x4.sub(v128.load(hiAt + off), v128.load(pext + off)));
      v128.store(avg + off, f32x4.div(box, f32x4.mul(rv, v128.load(cols + off))));
    }
  }
  for (; j < j1; j++) {
    const off = (<usize>j) << 2;
    store<f32>(avg + off, <f32>(load<i32>(hiAt + off) - load<i32>(pext + off)) / (rows * load<f32>(cols + off)));
  }
}

/** f64 path: as averagesF32 with float64 sums; each average is rounded to f32 once. */
function averagesF64(scratch: usize, W: i32, bw: i32, aw: i32, rows: f64): void {
  const colsum = scratch;
  const pext = pextOf(scratch, W, bw);
  const cols = colsOf(scratch, W, bw, aw);
  const avg = avgOf(scratch, W, bw, aw);
  const avg64 = avg64Of(scratch, W, bw, aw);
  let carry: f64 = 0;
  for (let j = 0; j < W; j++) {
    carry += load<f64>(colsum + ((<usize>j) << 3));
    store<f64>(pext + ((<usize>(bw + 1 + j)) << 3), carry);
  }
  const padAt = pext + ((<usize>(bw + W + 1)) << 3);
  for (let e = 0; e < aw; e++) store<f64>(padAt + ((<usize>e) << 3), carry);
  const hiAt = pext + ((<usize>(bw + aw + 1)) << 3);
  for (let j = 0; j < W; j++) {
    const box = load<f64>(hiAt + ((<usize>j) << 3)) - load<f64>(pext + ((<usize>j) << 3));
    const a = box / (rows * <f64>load<f32>(cols + ((<usize>j) << 2)));
    store<f64>(avg64 + ((<usize>j) << 3), a);
    store<f32>(avg + ((<usize>j) << 2), <f32>a);
  }
}

/**
 * Leaves the averages of output row i in the scratch's averages row. `t` is
 * the address of image row r0 (a staged band starts at its first halo row;
 * rows outside the windows of i0 … i are never read). Rows must be visited in
 * order i0, i0+1, …: row i0 sums its window afresh, every later row moves the
 * window down by one row (one row in, one row out). On the f32 path, columns
 * j0 … j1−1 (full windows only) get no average: weightsRow takes their box
 * sums from the prefix row (j0 = j1: none).
 */
export function poolRow(
  t: usize, r0: i32, H: i32, W: i32, i: i32, i0: i32, bh: i32, ah: i32, bw: i32, aw: i32, scratch: usize, f64mode: bool,
  j0: i32, j1: i32,
): void {
  const rowBytes = (<usize>W) << 2;
  if (i == i0) {
    memory.fill(scratch, 0, (<usize>W) << (f64mode ? 3 : 2));
    const last = min(H - 1, i + ah);
    for (let r = max(0, i - bh); r <= last; r++) columnsUpdate(scratch, t + <usize>(r - r0) * rowBytes, 0, W, f64mode);
  } else {
    const ra = i + ah;
    const rs = i - bh - 1;
    if (ra < H || rs >= 0) {
      const pa = ra < H ? t + <usize>(ra - r0) * rowBytes : 0;
      const ps = rs >= 0 ? t + <usize>(rs - r0) * rowBytes : 0;
      columnsUpdate(scratch, pa, ps, W, f64mode);
    }
  }
  const rows = min(i + ah, H - 1) - max(i - bh, 0) + 1;
  if (f64mode) {
    averagesF64(scratch, W, bw, aw, <f64>rows);
    return;
  }
  prefixF32(scratch, W, bw, aw);
  averagesF32(scratch, W, bw, aw, <f32>rows, 0, j0);
  averagesF32(scratch, W, bw, aw, <f32>rows, j1, W);
}

// ------------------------------------------------------------- the weight map

// The band thresholds as float32, compared strictly (as TF compares a float32 tensor with a Python float).
const BAND_LO: f32 = 0.005;
const BAND_HI: f32 = 0.995;

// The map's e^x has x = −5·|a − 0.5| ∈ [−2.5, 0]: activation.ts's exp for
// x ≤ 0 (softmax's), the same Cephes operations as math.ts's exp4 with its
// overflow path and two-factor scaling dropped, so bit-identical to exp4 here.
// Its constants, like these, live in static memory: V8 rebuilds a v128.const
// inside a loop with three instructions at every use, and a load is one.
const KMAP: usize = memory.data<f32>([0.5, 0.5, 0.5, 0.5, -5, -5, -5, -5, 5, 5, 5, 5], 16);
const K_HALF = 0, K_M5 = 1, K_5 = 2;

/** A vector constant from the KMAP table. */
// @ts-ignore: decorator
@inline function kmap(i: i32): v128 {
  return v128.load(KMAP + ((<usize>i) << 4));
}

/** u = 1 + 2·[0.005 < a < 0.995] (band) or 5·e^(−5·|a − 0.5|), a ∈ [0, 1]. */
// @ts-ignore: decorator
@inline export function mapWeight4(a: v128, band: bool): v128 {
  if (band) {
    const inside = v128.and(f32x4.gt(a, f32x4.splat(BAND_LO)), f32x4.lt(a, f32x4.splat(BAND_HI)));
    return v128.bitselect(f32x4.splat(3), f32x4.splat(1), inside);
  }
  return f32x4.mul(kmap(K_5), expNonPos4(f32x4.mul(kmap(K_M5), f32x4.abs(f32x4.sub(a, kmap(K_HALF))))));
}

// @ts-ignore: decorator
@inline export function mapWeight1(a: f32, band: bool): f32 {
  if (band) return a > BAND_LO && a < BAND_HI ? 3 : 1;
  return <f32>5 * expNonPos1(<f32>-5 * Mathf.abs(a - <f32>0.5));
}

/** The map in float64 from a float64 average (the band test still on its float32 rounding). */
// @ts-ignore: decorator
@inline export function mapWeight64(a: f64, band: bool): f64 {
  if (band) {
    const a32 = <f32>a;
    return a32 > BAND_LO && a32 < BAND_HI ? 3 : 1;
  }
  return 5 * Math.exp(-5 * Math.abs(a - 0.5));
}

/**
 * The exp-map weights of a full window of `cells` cells by box sum b
 * (0 … cells) into `tab`: for 0/1 targets a full window's average is
 * b / cells, so a table lookup gives the same float32 weight as the
 * division and mapWeight4 (the same operations on the same values).
 */
export function tabulateWeights(tab: usize, cells: i32): void {
  const den = <f32>cells;
  let b = 0;
  if (ASC_FEATURE_SIMD) {
    const dv = f32x4.splat(den);
    let bv = f32x4(0, 1, 2, 3);
    const four = f32x4.splat(4);
    for (; b + 4 <= cells + 1; b += 4) {
      v128.store(tab + ((<usize>b) << 2), mapWeight4(f32x4.div(bv, dv), false));
      bv = f32x4.add(bv, four);
    }
  }
  for (; b <= cells; b++) store<f32>(tab + ((<usize>b) << 2), mapWeight1(<f32>b / den, false));
}

/** Full-window columns [j0, j1) of a row (windows inside the image's columns), 4-aligned, or j0 = j1 = 0 without a table. */
// @ts-ignore: decorator
@inline export function fullSpan(W: i32, bw: i32, aw: i32, cells: i32): i64 {
  if (cells == 0) return 0;
  const j0 = (bw + 3) & ~3;
  const end = W - aw;
  if (end - j0 < 4) return 0;
  const j1 = j0 + ((end - j0) & ~3);
  return (<i64>j1 << 32) | <i64>j0;
}

/** Four table entries at the byte offsets in the i32 lanes of b. */
// @ts-ignore: decorator
@inline function gather4(tab: usize, b: v128): v128 {
  let u = v128.load32_zero(tab + <usize>i32x4.extract_lane(b, 0));
  u = v128.load32_lane(tab + <usize>i32x4.extract_lane(b, 1), u, 1);
  u = v128.load32_lane(tab + <usize>i32x4.extract_lane(b, 2), u, 2);
  return v128.load32_lane(tab + <usize>i32x4.extract_lane(b, 3), u, 3);
}

// @ts-ignore: decorator
@inline function weightsOfAverages(avg: usize, u: usize, j0: i32, j1: i32, band: bool): void {
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= j1; j += 4) {
      const off = (<usize>j) << 2;
      v128.store(u + off, mapWeight4(v128.load(avg + off), band));
    }
  }
  for (; j < j1; j++) {
    const off = (<usize>j) << 2;
    store<f32>(u + off, mapWeight1(load<f32>(avg + off), band));
  }
}

function weightsExp(avg: usize, u: usize, j0: i32, j1: i32): void {
  weightsOfAverages(avg, u, j0, j1, false);
}

function weightsBand(avg: usize, u: usize, j0: i32, j1: i32): void {
  weightsOfAverages(avg, u, j0, j1, true);
}

/**
 * Table weights of columns j0 … j1−1 (full windows of `cells` cells): the box
 * sum is a difference of the prefix row, box_j = pext[j + bw + aw + 1] −
 * pext[j] (i32), taken as a byte offset into the table and clamped to it
 * (targets outside [0, 1] are reported after the pass).
 */
function weightsTable(scratch: usize, W: i32, bw: i32, aw: i32, u: usize, j0: i32, j1: i32, tab: usize, cells: i32): void {
  const pext = pextOf(scratch, W, bw);
  const hiAt = pext + ((<usize>(bw + aw + 1)) << 2);
  const top = cells << 2;
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    const zero = i32x4.splat(0);
    const topV = i32x4.splat(top);
    for (; j + 4 <= j1; j += 4) {
      const off = (<usize>j) << 2;
      const box = i32x4.shl(i32x4.sub(v128.load(hiAt + off), v128.load(pext + off)), 2);
      v128.store(u + off, gather4(tab, i32x4.min_s(i32x4.max_s(box, zero), topV)));
    }
  }
  for (; j < j1; j++) {
    const off = (<usize>j) << 2;
    store<f32>(u + off, load<f32>(tab + <usize>min(max((load<i32>(hiAt + off) - load<i32>(pext + off)) << 2, 0), top)));
  }
}

/**
 * The weights u of the row poolRow left in the scratch, into `u` (W f32):
 * from the table on columns j0 … j1−1 (full windows of `cells` cells, by box
 * sum), from the averages elsewhere. The weight loops then read u like a
 * weight tensor.
 */
function weightsRow(
  scratch: usize, W: i32, bw: i32, aw: i32, band: bool, tab: usize, cells: i32, j0: i32, j1: i32, u: usize,
): void {
  const avg = avgOf(scratch, W, bw, aw);
  if (band) {
    weightsBand(avg, u, 0, W);
    return;
  }
  weightsExp(avg, u, 0, j0);
  if (j0 < j1) weightsTable(scratch, W, bw, aw, u, j0, j1, tab, cells);
  weightsExp(avg, u, j1, W);
}

/** Whether the W floats at a and b have the same bits. */
function rowsEqual(a: usize, b: usize, W: i32): bool {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= W; j += 4) {
      const off = (<usize>j) << 2;
      if (v128.any_true(v128.xor(v128.load(a + off), v128.load(b + off)))) return false;
    }
  }
  for (; j < W; j++) {
    const off = (<usize>j) << 2;
    if (load<u32>(a + off) != load<u32>(b + off)) return false;
  }
  return true;
}

/**
 * The weights of output row i into row k of the band `u` of R rows (poolRow,
 * then weightsRow; c0, c1: the full-window columns, see fullSpan). On the f32
 * path, when the row entering row i's windows has the bits of the row leaving
 * them, the column sums do not change, so the scratch still holds row i − 1's
 * state and every weight is row i − 1's: they are copied from the band's
 * previous row, or for k = 0 from its last row, left there by the previous
 * band (long stretches of background, and empty masks, cost a row compare and
 * a copy).
 */
export function weightsOfRow(
  t: usize, r0: i32, H: i32, W: i32, i: i32, i0: i32, bh: i32, ah: i32, bw: i32, aw: i32, scratch: usize, f64mode: bool,
  band: bool, tab: usize, cells: i32, c0: i32, c1: i32, u: usize, k: i32, R: i32,
): void {
  const ra = i + ah;
  const rs = i - bh - 1;
  const rowBytes = (<usize>W) << 2;
  const dst = u + <usize>k * rowBytes;
  if (!f64mode && i > i0 && ra < H && rs >= 0 && rowsEqual(t + <usize>(ra - r0) * rowBytes, t + <usize>(rs - r0) * rowBytes, W)) {
    memory.copy(dst, k > 0 ? dst - rowBytes : u + <usize>(R - 1) * rowBytes, rowBytes);
    return;
  }
  const full = c0 < c1 && i - bh >= 0 && i + ah < H;
  poolRow(t, r0, H, W, i, i0, bh, ah, bw, aw, scratch, f64mode, full ? c0 : 0, full ? c1 : 0);
  weightsRow(scratch, W, bw, aw, band, tab, cells, full ? c0 : 0, full ? c1 : 0, dst);
}

/** Folds the range of t and whether any value is neither 0 nor 1 into stats (one row of n values). */
// @ts-ignore: decorator
@inline export function foldTarget(t: usize, n: i32, stats: usize): void {
  let lo = load<f32>(stats), hi = load<f32>(stats, 4);
  let soft = load<f32>(stats, STAT_SOFT << 2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const zero = f32x4.splat(0), one = f32x4.splat(1);
    let vLo = f32x4.splat(lo), vHi = f32x4.splat(hi), vSoft = zero, vNaN = zero;
    for (let v = 0; v < nv; v++) {
      const x = v128.load(t + ((<usize>v) << 4));
      vLo = f32x4.pmin(vLo, x);
      vHi = f32x4.pmax(vHi, x);
      vSoft = v128.or(vSoft, v128.and(f32x4.ne(x, zero), f32x4.ne(x, one)));
      vNaN = v128.or(vNaN, f32x4.ne(x, x));
    }
    if (v128.any_true(vNaN)) lo = NaN;
    lo = min(lo, min(min(f32x4.extract_lane(vLo, 0), f32x4.extract_lane(vLo, 1)), min(f32x4.extract_lane(vLo, 2), f32x4.extract_lane(vLo, 3))));
    hi = max(hi, max(max(f32x4.extract_lane(vHi, 0), f32x4.extract_lane(vHi, 1)), max(f32x4.extract_lane(vHi, 2), f32x4.extract_lane(vHi, 3))));
    if (v128.any_true(vSoft)) soft = 1;
    i = nv << 2;
  }
  for (; i < n; i++) {
    const x = load<f32>(t + ((<usize>i) << 2));
    lo = min(lo, x);
    hi = max(hi, x);
    if (x != 0 && x != 1) soft = 1;
  }
  store<f32>(stats, lo);
  store<f32>(stats, hi, 4);
  store<f32>(stats, soft, STAT_SOFT << 2);
}

/** Σ u over one row of weights, blocked f32x4 sums added in float64. */
function sumRow(u: usize, n: i32, acc: usize): void {
  let s: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      let a = f32x4.splat(0);
      for (; v < end; v++) a = f32x4.add(a, v128.load(u + ((<usize>v) << 4)));
      s += hsum64(a);
    }
    i = nv << 2;
  }
  for (; i < n; i++) s += <f64>load<f32>(u + ((<usize>i) << 2));
  addF64(acc, s);
}

/** The table of the exp map's weights for full windows, when the pass can use it (0/1 targets on the f32 path); returns its cells or 0. */
export function tableSetup(scratch: usize, W: i32, bh: i32, ah: i32, bw: i32, aw: i32, flags: i32): i32 {
  if (flags & (POOL_F64 | POOL_BAND)) return 0;
  const cells = tableCells(bh, ah, bw, aw);
  if (cells) tabulateWeights(tableOf(scratch, W, bw, aw), cells);
  return cells;
}

/**
 * The weight map of output rows i0 … i1−1 of `nImg` H×W images: u from the
 * SAME average, Σu added into acc[0], u written to `out` when flags has
 * POOL_OUT, the targets' range and soft flag folded into stats (f32[8], see
 * STAT_SOFT). `t` is the address of row r0 of the first image, `out` that of
 * its row i0. Several images (contiguous, H·W elements apart) only with
 * r0 = i0 = 0 and i1 = H; a band of one image may start anywhere.
 */
export function boundaryMap(
  t: usize, out: usize, nImg: i32, H: i32, W: i32, r0: i32, i0: i32, i1: i32,
  bh: i32, ah: i32, bw: i32, aw: i32, flags: i32, scratch: usize, acc: usize, stats: usize,
): void {
  const f64mode = (flags & POOL_F64) != 0;
  const band = (flags & POOL_BAND) != 0;
  const write = (flags & POOL_OUT) != 0;
  const rowBytes = (<usize>W) << 2;
  const row = bandOf(scratch, W, bh, ah, bw, aw);
  poolSetup(W, bw, aw, scratch, f64mode);
  for (let m = 0; m < nImg; m++) {
    const tImg = t + <usize>m * <usize>H * rowBytes;
    const oImg = out + <usize>m * <usize>H * rowBytes;
    for (let i = i0; i < i1; i++) {
      // every weight from its average (no box-sum table): the map then costs the same for every window size
      poolRow(tImg, r0, H, W, i, i0, bh, ah, bw, aw, scratch, f64mode, 0, 0);
      foldTarget(tImg + <usize>(i - r0) * rowBytes, W, stats);
      const u = write ? oImg + <usize>(i - i0) * rowBytes : row;
      weightsRow(scratch, W, bw, aw, band, 0, 0, 0, 0, u);
      sumRow(u, W, acc);
    }
  }
}

/** x ← x·s over n f32 (the batch normalisation of a written map). */
export function scaleF32(x: usize, n: i32, s: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const sv = f32x4.splat(s);
    for (let v = 0; v < nv; v++) {
      const off = (<usize>v) << 4;
      v128.store(x + off, f32x4.mul(v128.load(x + off), sv));
    }
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(x + off, load<f32>(x + off) * s);
  }
}
