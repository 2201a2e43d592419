// Sorting support for the Lovasz kernels: a branch-free SIMD left-pack (the
// compaction of the kept lanes) and stable radix sorts of u32 keys, alone or
// with a u32 payload (then moved as one u64 item, key in the high word, so
// every scatter is one store). All sorts take the top 11 bits first (one
// scatter into at most 2048 buckets), then finish each bucket while it is in
// cache: two LSD passes over the next 20 or 21 bits (a pass skipped when
// every key of the bucket shares its digit), or an insertion sort for small
// ones. One generic body each serves keys and items (lsdTwo, insertionSort).

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
 * Sorts n u32 keys ascending by bits 1…31 into `tmp` (stable; bit 0 rides
 * along unsorted: the Lovasz-Softmax loss does not depend on the order of
 * equal errors); `keys` is clobbered. Most-significant digit first (bits
 * 21…31: count, then scatter), so each bucket's remaining two LSD passes of
 * 10 bits (bits 1…10, 11…20) run on a block that stays in cache; small
 * buckets are insertion-sorted. Needs radixScratchBytes().
 */
export function radixSortU32(keys: usize, tmp: usize, n: i32, hist: usize): void {
  const count = hist; // per top digit: its count
  const start = hist + HIST_BYTES; // and its first slot
  const h0 = hist + 3 * HIST_BYTES; // the low digit (10 bits)
  const h1 = h0 + (HIST_BYTES >> 1); // the middle digit
  topDigits(keys, n, hist); // scatter offsets at hist + 2 * HIST_BYTES
  scatterKeys(keys, tmp, n, hist + 2 * HIST_BYTES, 21, 2047);
  for (let b = 0; b < RADIX; b++) {
    const m = <i32>load<u32>(count + ((<usize>b) << 2));
    if (m < 2) continue;
    const off = (<usize>load<u32>(start + ((<usize>b) << 2))) << 2;
    if (m <= SMALL) insertionSort<u32>(tmp + off, m);
    else sortLow20(tmp + off, keys + off, m, h0, h1);
  }
}

/** Two stable LSD passes over bits 1…10 and 11…20 of m keys at `a` (result in `a`), `b` as scratch. */
function sortLow20(a: usize, b: usize, m: i32, h0: usize, h1: usize): void {
  lsdTwo(a, b, m, h0, h1, 1, 1023, 11, 1023, 2, 0);
}

/**
 * Two stable LSD passes over m elements of 1 << shift bytes (2: u32 keys; 3:
 * u64 items whose key is the high word, keyAt = 4) at `a`, result in `a`, `b` as
 * scratch: the digits (k >> s0) & m0, then (k >> s1) & m1. A pass whose digit
 * is the same for every element is skipped.
 */
// @ts-ignore: decorator
@inline function lsdTwo(a: usize, b: usize, m: i32, h0: usize, h1: usize, s0: u32, m0: u32, s1: u32, m1: u32, shift: i32, keyAt: i32): void {
  memory.fill(h0, 0, (<usize>(m0 + 1)) << 2);
  memory.fill(h1, 0, (<usize>(m1 + 1)) << 2);
  for (let i = 0; i < m; i++) {
    const k = load<u32>(a + ((<usize>i) << shift) + <usize>keyAt);
    const a0 = h0 + ((<usize>((k >> s0) & m0)) << 2);
    const a1 = h1 + ((<usize>((k >> s1) & m1)) << 2);
    store<u32>(a0, load<u32>(a0) + 1);
    store<u32>(a1, load<u32>(a1) + 1);
  }
  const skip0 = offsets(h0, m, m0 + 1);
  const skip1 = offsets(h1, m, m1 + 1);
  if (!skip0 && !skip1) {
    scatterAny(a, b, m, h0, s0, m0, shift, keyAt);
    scatterAny(b, a, m, h1, s1, m1, shift, keyAt);
  } else if (!skip0 || !skip1) {
    if (skip1) scatterAny(a, b, m, h0, s0, m0, shift, keyAt);
    else scatterAny(a, b, m, h1, s1, m1, shift, keyAt);
    memory.copy(a, b, (<usize>m) << shift);
  }
}

// @ts-ignore: decorator
@inline function scatterAny(src: usize, dst: usize, n: i32, h: usize, s: u32, mask: u32, shift: i32, keyAt: i32): void {
  if (shift == 2) scatterKeys(src, dst, n, h, s, mask);
  else scatterItems(src, dst, n, h, s + 32, mask);
}

/**
 * Stable insertion sort of m elements of type T at `a`: u32 keys, or u64
 * items compared by their high word (the key).
 */
// @ts-ignore: decorator
@inline function insertionSort<T>(a: usize, m: i32): void {
  const shift = alignof<T>();
  for (let i = 1; i < m; i++) {
    const x = load<T>(a + ((<usize>i) << shift));
    const k = keyOf<T>(x);
    let j = i - 1;
    for (; j >= 0; j--) {
      const v = load<T>(a + ((<usize>j) << shift));
      if (keyOf<T>(v) <= k) break;
      store<T>(a + ((<usize>(j + 1)) << shift), v);
    }
    store<T>(a + ((<usize>(j + 1)) << shift), x);
  }
}

// @ts-ignore: decorator
@inline function keyOf<T>(x: T): u32 {
  return sizeof<T>() == 8 ? <u32>(<u64>x >> 32) : <u32>x;
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
    if (m <= SMALL) insertionSort<u64>(a + off, m);
    else sortItemsLow21(a + off, b + off, m, hist + 2 * HIST_BYTES, hist + 3 * HIST_BYTES);
  }
}

/** sortLow21 for u64 items keyed by their high word. */
function sortItemsLow21(a: usize, b: usize, m: i32, h0: usize, h1: usize): void {
  lsdTwo(a, b, m, h0, h1, 0, 2047, 11, 1023, 3, 4);
}

function offsets(h: usize, n: i32, radix: u32): bool {
  let sum: u32 = 0;
  for (let b: u32 = 0; b < radix; b++) {
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

// @ts-ignore: decorator
@inline function scatterKeys(src: usize, dst: usize, n: i32, h: usize, shift: u32, mask: u32): void {
  for (let i = 0; i < n; i++) {
    const k = load<u32>(src + ((<usize>i) << 2));
    const at = h + ((<usize>((k >> shift) & mask)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u32>(dst + ((<usize>pos) << 2), k);
  }
}

// @ts-ignore: decorator
@inline function scatterItems(src: usize, dst: usize, n: i32, h: usize, shift: u32, mask: u32): void {
  for (let i = 0; i < n; i++) {
    const item = load<u64>(src + ((<usize>i) << 3));
    const at = h + ((<usize>(<u32>(item >> (<u64>shift)) & mask)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u64>(dst + ((<usize>pos) << 3), item);
  }
}

