// Runs one kernel pass over element-aligned inputs: inputs already in
// WebAssembly memory are used in place; the rest are copied (and converted
// to float32) into one staging block, in chunks when they do not fit.
import { fail } from "./errors";
import type { NumericArray } from "./tensor";
import type { Runtime } from "./wasm";

export interface Pass {
  /** Element-aligned inputs (null → pointer 0, "absent"). */
  inputs: (NumericArray | null)[];
  /** Number of segments and their length; the pass covers nSeg·segLen elements. */
  nSeg: number;
  segLen: number;
  /** Per-element float32 output written (or, with `outIsInput`, read and written) by the kernel. */
  out?: Float32Array;
  outIsInput?: boolean;
  /** The kernel call for `count` elements in segments of `segLen`, the first being segment `firstSeg`. */
  run(ptrs: number[], outPtr: number, count: number, segLen: number, firstSeg: number): void;
}

/** Smallest chunk worth streaming through; below this the memory is too small. */
const MIN_CHUNK = 4096;
/** Largest chunk: staged slices this small stay in the L2 cache between the copy and the kernel. */
const MAX_CHUNK = 1 << 15;

export function runPass(rt: Runtime, pass: Pass): void {
  const { inputs, nSeg, segLen, out } = pass;
  const total = nSeg * segLen;
  const resident = inputs.map((a) => rt.residentF32(a));
  const staged = inputs.map((a, i) => a !== null && resident[i] < 0);
  const outResident = out ? rt.residentF32(out) : -1;
  const stagedCount = staged.filter(Boolean).length + (out && outResident < 0 ? 1 : 0);

  if (stagedCount === 0) {
    pass.run(
      inputs.map((a, i) => (a === null ? 0 : resident[i])),
      out ? outResident : 0,
      total,
      segLen,
      0,
    );
    return;
  }

  // One staging block: stagedCount float32 slices of `cap` elements each.
  const free = rt.largestFree() - 16 * (stagedCount + 1);
  let cap = Math.min(total, MAX_CHUNK, Math.floor(free / (4 * stagedCount)));
  cap = cap >= total ? total : cap & ~3;
  if (cap < Math.min(total, MIN_CHUNK)) {
    fail("E_MEMORY", "input", `room for ${Math.min(total, MIN_CHUNK)} elements per chunk in WebAssembly memory`, `${Math.max(cap, 0)}`);
  }
  const slice = (cap * 4 + 15) & ~15;
  const block = rt.alloc(slice * stagedCount, "staging");
  try {
    const slots: number[] = [];
    let s = 0;
    for (let i = 0; i < inputs.length; i++) slots.push(staged[i] ? block + slice * s++ : -1);
    const outSlot = out && outResident < 0 ? block + slice * s : -1;
    const f32 = rt.f32;

    for (let pos = 0; pos < total; ) {
      const seg = Math.floor(pos / segLen);
      let count: number;
      let len: number;
      if (segLen <= cap) {
        const m = Math.min(Math.floor(cap / segLen), nSeg - seg);
        count = m * segLen;
        len = segLen;
      } else {
        count = Math.min(cap, (seg + 1) * segLen - pos);
        len = count;
      }
      const ptrs = inputs.map((a, i) => {
        if (a === null) return 0;
        if (!staged[i]) return resident[i] + pos * 4;
        f32.set(a.subarray(pos, pos + count), slots[i] >>> 2);
        return slots[i];
      });
      let outPtr = 0;
      if (out) {
        if (outSlot < 0) outPtr = outResident + pos * 4;
        else {
          outPtr = outSlot;
          if (pass.outIsInput) f32.set(out.subarray(pos, pos + count), outSlot >>> 2);
        }
      }
      pass.run(ptrs, outPtr, count, len, seg);
      if (out && outSlot >= 0) out.set(f32.subarray(outSlot >>> 2, (outSlot >>> 2) + count), pos);
      pos += count;
    }
  } finally {
    rt.release(block);
  }
}

/** Allocates `n` zeroed f64 slots, runs `use`, and always frees them. */
export function withF64<T>(rt: Runtime, n: number, use: (ptr: number) => T): T {
  const ptr = rt.alloc(Math.max(1, n) * 8, "accumulators");
  try {
    rt.f64.fill(0, ptr >>> 3, (ptr >>> 3) + n);
    return use(ptr);
  } finally {
    rt.release(ptr);
  }
}
