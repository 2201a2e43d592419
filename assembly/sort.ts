// Stable LSD radix sort of u32 keys carrying a u32 payload: three 11-bit
// passes (8 KiB histograms stay in L1), all three histograms from one read, a
// pass skipped when every key shares that digit. The sorted data ends in
// (keys, pay) whatever the parity.

const RADIX: i32 = 2048;
const HIST_BYTES: usize = RADIX * 4;

/** Bytes of histogram scratch `radixSortU32` needs. */
export function radixScratchBytes(): i32 {
  return 3 * RADIX * 4;
}

export function radixSortU32(keys: usize, pay: usize, keys2: usize, pay2: usize, n: i32, hist: usize): void {
  memory.fill(hist, 0, 3 * HIST_BYTES);
  for (let i = 0; i < n; i++) {
    const k = load<u32>(keys + ((<usize>i) << 2));
    const h0 = hist + ((<usize>(k & 2047)) << 2);
    const h1 = hist + HIST_BYTES + ((<usize>((k >> 11) & 2047)) << 2);
    const h2 = hist + 2 * HIST_BYTES + ((<usize>(k >> 22)) << 2);
    store<u32>(h0, load<u32>(h0) + 1);
    store<u32>(h1, load<u32>(h1) + 1);
    store<u32>(h2, load<u32>(h2) + 1);
  }
  let srcK = keys, srcP = pay, dstK = keys2, dstP = pay2;
  for (let d = 0; d < 3; d++) {
    const h = hist + (<usize>d) * HIST_BYTES;
    if (toOffsets(h, n)) continue; // one bucket holds every key: the pass would copy
    scatter(srcK, srcP, dstK, dstP, n, h, d * 11);
    const tk = srcK; srcK = dstK; dstK = tk;
    const tp = srcP; srcP = dstP; dstP = tp;
  }
  if (srcK != keys) {
    memory.copy(keys, srcK, (<usize>n) << 2);
    memory.copy(pay, srcP, (<usize>n) << 2);
  }
}

/** Turns counts into start offsets; true when a single bucket holds all n keys. */
function toOffsets(h: usize, n: i32): bool {
  let sum: u32 = 0;
  for (let b = 0; b < RADIX; b++) {
    const at = h + ((<usize>b) << 2);
    const c = load<u32>(at);
    if (c == <u32>n) return true;
    store<u32>(at, sum);
    sum += c;
  }
  return false;
}

function scatter(srcK: usize, srcP: usize, dstK: usize, dstP: usize, n: i32, h: usize, shift: i32): void {
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    const k = load<u32>(srcK + off);
    const at = h + ((<usize>((k >> shift) & 2047)) << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    const o = (<usize>pos) << 2;
    store<u32>(dstK + o, k);
    store<u32>(dstP + o, load<u32>(srcP + off));
  }
}
