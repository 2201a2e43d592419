// Sorting support for the Lovasz kernels: a branch-free SIMD left-pack (the
// compaction of the kept lanes) and stable radix sorts of u32 keys, alone or
// with a u32 payload (then moved as one u64 item, key in the high word, so
// every scatter is one store). All sorts take the top 11 bits first (one
// scatter into at most 2048 buckets), then finish each bucket while it is in
// cache: two LSD passes over bits 0…10 and 11…20 (a pass skipped when every
// key of the bucket shares its digit), or an insertion sort for small ones.

const RADIX: i32 = 2048;
const HIST_BYTES: usize = RADIX * 4;
/** Buckets of at most this many keys are finished by insertion sort. */
const SMALL: i32 = 48;

/** For each 4-bit lane mask, the swizzle that moves the kept 32-bit lanes to the front. */
const LEFT_PACK: usize = memory.data<u8>([
  0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
  4, 5, 6, 7, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 0, 1, 2, 3,
  8, 9, 10, 11, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 0, 1, 2, 3,
  4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3,
  12, 13, 14, 15, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 12, 13, 14, 15, 0, 1, 2, 3, 0, 1, 2, 3,
  4, 5, 6, 7, 12, 13, 14, 15, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 0, 1, 2, 3,
  8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 0, 1, 2, 3,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
]);

/**
 * Stores the lanes of v selected by `mask` (i32x4.bitmask) contiguously at
 * dst (16 bytes are written; the lanes after the kept ones are garbage).
 */
// @ts-ignore: decorator
@inline export function leftPack(dst: usize, v: v128, mask: i32): void {
  v128.store(dst, i8x16.swizzle(v, v128.load(LEFT_PACK + ((<usize>mask) << 4))));
}

/** Bytes of histogram scratch the sorts need. */
export function radixScratchBytes(): i32 {
  return 4 * RADIX * 4;
}

/**
 * Sorts n (key, payload) pairs, given as two u32 arrays, ascending by key and
 * stable, into n u64 items (payload in the low word, key in the high word) at
 * `items`. `tmp` (n items) is scratch; it may be the memory of `keys` and
 * `pay` when those are one block of 8n bytes (keys first): the first scatter
 * has consumed them before `tmp` is written. Top digit first, as
 * `radixSortU32`.
 */
export function radixSortKeyed(keys: usize, pay: usize, n: i32, items: usize, tmp: usize, hist: usize): void {
  topDigits(keys, n, hist);
  scatterPairs(keys, pay, items, n, hist + 2 * HIST_BYTES, 21);
  finishItemBuckets(items, tmp, hist);
}

/**
 * Sorts n u32 keys (no payload) ascending into `tmp` (n keys); `keys` is
 * clobbered. Most-significant digit first (bits 21…31), so each bucket's
 * remaining two LSD passes (bits 0…10, then 11…20) run on a block that stays
 * in cache; small buckets are insertion-sorted. Needs radixScratchBytes().
 */
export function radixSortU32(keys: usize, tmp: usize, n: i32, hist: usize): void {
  const count = hist; // per top digit: its count
  const start = hist + HIST_BYTES; // and its first slot
  const h0 = hist + 2 * HIST_BYTES; // scatter offsets, then the low digit
  const h1 = hist + 3 * HIST_BYTES; // the middle digit (10 bits)
  topDigits(keys, n, hist);
  scatterKeys(keys, tmp, n, h0, 21, 2047);
  for (let b = 0; b < RADIX; b++) {
    const m = <i32>load<u32>(count + ((<usize>b) << 2));
    if (m < 2) continue;
    const off = (<usize>load<u32>(start + ((<usize>b) << 2))) << 2;
    if (m <= SMALL) insertionSort(tmp + off, m);
    else sortLow21(tmp + off, keys + off, m, h0, h1);
  }
}

/** LSD passes over bits 0…10 and 11…20 of m keys at `a` (result in `a`), `b` as scratch. */
function sortLow21(a: usize, b: usize, m: i32, h0: usize, h1: usize): void {
  memory.fill(h0, 0, HIST_BYTES);
  memory.fill(h1, 0, HIST_BYTES >> 1);
  for (let i = 0; i < m; i++) {
    const k = load<u32>(a + ((<usize>i) << 2));
    const a0 = h0 + ((<usize>(k & 2047)) << 2);
    const a1 = h1 + ((<usize>((k >> 11) & 1023)) << 2);
    store<u32>(a0, load<u32>(a0) + 1);
    store<u32>(a1, load<u32>(a1) + 1);
  }
  const skip0 = offsets(h0, m, RADIX);
  const skip1 = offsets(h1, m, RADIX >> 1);
  if (!skip0 && !skip1) {
    scatterKeys(a, b, m, h0, 0, 2047);
    scatterKeys(b, a, m, h1, 11, 1023);
  } else if (!skip0 || !skip1) {
    if (skip1) scatterKeys(a, b, m, h0, 0, 2047);
    else scatterKeys(a, b, m, h1, 11, 1023);
    memory.copy(a, b, (<usize>m) << 2);
  }
}

function insertionSort(a: usize, m: i32): void {
  for (let i = 1; i < m; i++) {
    const k = load<u32>(a + ((<usize>i) << 2));
    let j = i - 1;
    for (; j >= 0; j--) {
      const v = load<u32>(a + ((<usize>j) << 2));
      if (v <= k) break;
      store<u32>(a + ((<usize>(j + 1)) << 2), v);
    }
    store<u32>(a + ((<usize>(j + 1)) << 2), k);
  }
}

/**
 * Sorts n u32 keys with their indices 0…n−1 as payloads (stable) into n u64
 * items (index low, key high) at `tmp`, using `items` (n items) as scratch;
 * `keys` is left as it was. Top digit first, as `radixSortU32`.
 */
export function radixSortIndexed(keys: usize, n: i32, items: usize, tmp: usize, hist: usize): void {
  topDigits(keys, n, hist);
  scatterIndexed(keys, tmp, n, hist + 2 * HIST_BYTES, 21);
  finishItemBuckets(tmp, items, hist);
}

/**
 * Counts the top digits (bits 21…31) of n keys into hist[0…2047], their first
 * slots into hist[2048…4095] and a copy of those (scatter offsets) into
 * hist[4096…6143].
 */
function topDigits(keys: usize, n: i32, hist: usize): void {
  const count = hist;
  const start = hist + HIST_BYTES;
  memory.fill(count, 0, HIST_BYTES);
  for (let i = 0; i < n; i++) {
    const at = count + ((<usize>(load<u32>(keys + ((<usize>i) << 2)) >> 21)) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  let sum: u32 = 0;
  for (let b = 0; b < RADIX; b++) {
    store<u32>(start + ((<usize>b) << 2), sum);
    sum += load<u32>(count + ((<usize>b) << 2));
  }
  memory.copy(hist + 2 * HIST_BYTES, start, HIST_BYTES);
}

/** Sorts every top-digit bucket of the u64 items at `a` in place, with `b` (same size) as scratch. */
function finishItemBuckets(a: usize, b: usize, hist: usize): void {
  const count = hist;
  const start = hist + HIST_BYTES;
  for (let d = 0; d < RADIX; d++) {
    const m = <i32>load<u32>(count + ((<usize>d) << 2));
    if (m < 2) continue;
    const off = (<usize>load<u32>(start + ((<usize>d) << 2))) << 3;
    if (m <= SMALL) insertionSortItems(a + off, m);
    else sortItemsLow21(a + off, b + off, m, hist + 2 * HIST_BYTES, hist + 3 * HIST_BYTES);
  }
}

/** sortLow21 for u64 items keyed by their high word. */
function sortItemsLow21(a: usize, b: usize, m: i32, h0: usize, h1: usize): void {
  memory.fill(h0, 0, HIST_BYTES);
  memory.fill(h1, 0, HIST_BYTES >> 1);
  for (let i = 0; i < m; i++) {
    const k = load<u32>(a + ((<usize>i) << 3), 4);
    const a0 = h0 + ((<usize>(k & 2047)) << 2);
    const a1 = h1 + ((<usize>((k >> 11) & 1023)) << 2);
    store<u32>(a0, load<u32>(a0) + 1);
    store<u32>(a1, load<u32>(a1) + 1);
  }
  const skip0 = offsets(h0, m, RADIX);
  const skip1 = offsets(h1, m, RADIX >> 1);
  if (!skip0 && !skip1) {
    scatterItems(a, b, m, h0, 32, 2047);
    scatterItems(b, a, m, h1, 43, 1023);
  } else if (!skip0 || !skip1) {
    if (skip1) scatterItems(a, b, m, h0, 32, 2047);
    else scatterItems(a, b, m, h1, 43, 1023);
    memory.copy(a, b, (<usize>m) << 3);
  }
}

function insertionSortItems(a: usize, m: i32): void {
  for (let i = 1; i < m; i++) {
    const item = load<u64>(a + ((<usize>i) << 3));
    const k = <u32>(item >> 32);
    let j = i - 1;
    for (; j >= 0; j--) {
      const v = load<u64>(a + ((<usize>j) << 3));
      if (<u32>(v >> 32) <= k) break;
      store<u64>(a + ((<usize>(j + 1)) << 3), v);
    }
    store<u64>(a + ((<usize>(j + 1)) << 3), item);
  }
}

function offsets(h: usize, n: i32, radix: i32): bool {
  let sum: u32 = 0;
  for (let b = 0; b < radix; b++) {
    const at = h + ((<usize>b) << 2);
    const c = load<u32>(at);
    if (c == <u32>n) return true;
    store<u32>(at, sum);
    sum += c;
  }
  return false;
}

function scatterPairs(keys: usize, pay: usize, dst: usize, n: i32, h: usize, shift: i32): void {
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    const k = load<u32>(keys + off);
    const at = h + ((<usize>((k >> shift) & 2047)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u64>(dst + ((<usize>pos) << 3), ((<u64>k) << 32) | <u64>load<u32>(pay + off));
  }
}

function scatterKeys(src: usize, dst: usize, n: i32, h: usize, shift: i32, mask: u32): void {
  for (let i = 0; i < n; i++) {
    const k = load<u32>(src + ((<usize>i) << 2));
    const at = h + ((<usize>((k >> shift) & mask)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u32>(dst + ((<usize>pos) << 2), k);
  }
}

function scatterIndexed(keys: usize, dst: usize, n: i32, h: usize, shift: i32): void {
  for (let i = 0; i < n; i++) {
    const k = load<u32>(keys + ((<usize>i) << 2));
    const at = h + ((<usize>(k >> shift)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u64>(dst + ((<usize>pos) << 3), ((<u64>k) << 32) | <u64>i);
  }
}

function scatterItems(src: usize, dst: usize, n: i32, h: usize, shift: i32, mask: u32): void {
  for (let i = 0; i < n; i++) {
    const item = load<u64>(src + ((<usize>i) << 3));
    const at = h + ((<usize>(<u32>(item >> (<u64>shift)) & mask)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u64>(dst + ((<usize>pos) << 3), item);
  }
}

