// Pooled passes: running a pooled kernel over every image, in place or
// staged (whole images, or bands of rows with the window's halo), and the
// float32 → float64 retry for soft targets.
import { fail } from "../../errors";
import type { NumericArray } from "../../tensor";
import type { Runtime } from "../../wasm";
import { GROUP, POOL_F64, SLOTS, type WeightedKernels } from "./kernels";
import type { PoolGeom } from "./options";
import { resetStats } from "./validation";

// ---------------------------------------------------------------- pooled passes

export type PoolCall = (t: number, p: number, out: number, nImg: number, r0: number, i0: number, i1: number, scratch: number) => void;

/**
 * Runs a pooled kernel over every image: in place when t, p and out live in
 * WebAssembly memory; otherwise staged in groups of whole images, or, when
 * one image does not fit, in bands of rows (t with the window's halo rows).
 */
export function pooledRun(
  rt: Runtime,
  g: PoolGeom,
  t: NumericArray,
  p: NumericArray | null,
  out: Float32Array | null,
  call: PoolCall,
): void {
  const { N, H, W } = g;
  const L = H * W;
  const scratch = rt.alloc(rt.kernels<WeightedKernels>().poolScratchBytes(W, g.bh, g.ah, g.bw, g.aw), "scratch");
  try {
    const rT = rt.residentF32(t);
    const rP = p ? rt.residentF32(p) : 0;
    const rO = out ? rt.residentF32(out) : 0;
    const sT = rT < 0 ? 1 : 0;
    const sP = p && rP < 0 ? 1 : 0;
    const sO = out && rO < 0 ? 1 : 0;
    if (sT + sP + sO === 0) {
      call(rT, rP, rO, N, 0, 0, H, scratch);
      return;
    }
    const free = rt.largestFree() - 64;
    const perImage = (4 * L + PAGE) * (sT + sP + sO);
    if (perImage <= free) stageImages(rt, g, t, p, out, [rT, rP, rO], [sT, sP, sO], scratch, call, free);
    else stageBands(rt, g, t, p, out, [rT, rP, rO], [sT, sP, sO], scratch, call, free);
  } finally {
    rt.release(scratch);
  }
}

/** Bytes of a memory page for the placement of staged rows (see placeSlots). */
const PAGE = 4096;
/** Where each staged array starts relative to the scratch, modulo a page: t, p, out. */
const SLOT_SKEW = [1024, 1536, 3072];

/**
 * Staging slots in `block` (room for slice + PAGE bytes each), each started at
 * its own offset from the scratch modulo 4 KiB: a kernel storing to one row
 * while loading another a few elements ahead at the same low 12 address bits
 * waits for the store ("4K aliasing"); staged inputs would otherwise sit at
 * whatever offset the heap gives them.
 */
function placeSlots(block: number, sizes: number[], staged: number[], scratch: number): number[] {
  const slots: number[] = [];
  let at = block;
  for (let i = 0; i < 3; i++) {
    if (!staged[i]) {
      slots.push(-1);
      continue;
    }
    at += (((SLOT_SKEW[i] - (at - scratch)) % PAGE) + PAGE) % PAGE;
    slots.push(at);
    at += sizes[i];
  }
  return slots;
}

/** Copies [from, to) of `a` to the f32 slot at `at`. */
function stage(rt: Runtime, a: NumericArray, from: number, to: number, at: number): void {
  rt.f32.set(a.subarray(from, to), at >>> 2);
}

function stageImages(
  rt: Runtime,
  g: PoolGeom,
  t: NumericArray,
  p: NumericArray | null,
  out: Float32Array | null,
  resident: number[],
  staged: number[],
  scratch: number,
  call: PoolCall,
  free: number,
): void {
  const { N, H, W } = g;
  const L = H * W;
  const count = staged[0] + staged[1] + staged[2];
  const imgs = Math.max(1, Math.min(N, Math.floor((free - PAGE * count) / (4 * L * count)), Math.floor(GROUP / L)));
  const slice = (imgs * L * 4 + 15) & ~15;
  const block = rt.alloc((slice + PAGE) * count, "staging");
  try {
    const slots = placeSlots(block, [slice, slice, slice], staged, scratch);
    for (let m = 0; m < N; m += imgs) {
      const k = Math.min(imgs, N - m);
      const a = m * L;
      const b = (m + k) * L;
      if (staged[0]) stage(rt, t, a, b, slots[0]);
      if (p && staged[1]) stage(rt, p, a, b, slots[1]);
      const ptr = (i: number) => (staged[i] ? slots[i] : resident[i] + 4 * a);
      call(ptr(0), p ? ptr(1) : 0, out ? ptr(2) : 0, k, 0, 0, H, scratch);
      if (out && staged[2]) out.set(rt.f32.subarray(slots[2] >>> 2, (slots[2] >>> 2) + (b - a)), a);
    }
  } finally {
    rt.release(block);
  }
}

function stageBands(
  rt: Runtime,
  g: PoolGeom,
  t: NumericArray,
  p: NumericArray | null,
  out: Float32Array | null,
  resident: number[],
  staged: number[],
  scratch: number,
  call: PoolCall,
  free: number,
): void {
  const { N, H, W, bh, ah } = g;
  const L = H * W;
  const bytes = (B: number) => 4 * W * (staged[0] * Math.min(H, B + bh + ah) + (staged[1] + staged[2]) * B) + (PAGE + 16) * 3;
  let lo = 0;
  let hi = H;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (bytes(mid) <= free) lo = mid;
    else hi = mid - 1;
  }
  const B = lo;
  if (B < 1)
    fail("E_MEMORY", "target", `room for one row band (${bytes(1)} bytes) in WebAssembly memory`, `${Math.max(free, 0)} free bytes`);
  const tRows = Math.min(H, B + bh + ah);
  const sizes = [tRows * W * 4, B * W * 4, B * W * 4].map((x) => (x + 15) & ~15);
  const block = rt.alloc((sizes[0] + PAGE) * staged[0] + (sizes[1] + PAGE) * staged[1] + (sizes[2] + PAGE) * staged[2], "staging");
  try {
    const slots = placeSlots(block, sizes, staged, scratch);
    for (let m = 0; m < N; m++) {
      for (let i0 = 0; i0 < H; i0 += B) {
        const i1 = Math.min(H, i0 + B);
        const r0 = Math.max(0, i0 - bh);
        const rEnd = Math.min(H, i1 + ah);
        const base = m * L;
        let tPtr = resident[0] + 4 * (base + r0 * W);
        if (staged[0]) {
          stage(rt, t, base + r0 * W, base + rEnd * W, slots[0]);
          tPtr = slots[0];
        }
        const rowsAt = (i: number) => (staged[i] ? slots[i] : resident[i] + 4 * (base + i0 * W));
        if (p && staged[1]) stage(rt, p, base + i0 * W, base + i1 * W, slots[1]);
        call(tPtr, p ? rowsAt(1) : 0, out ? rowsAt(2) : 0, 1, r0, i0, i1, scratch);
        if (out && staged[2]) out.set(rt.f32.subarray(slots[2] >>> 2, (slots[2] >>> 2) + (i1 - i0) * W), base + i0 * W);
      }
    }
  } finally {
    rt.release(block);
  }
}

/**
 * Runs a pooled pass that folds the target's statistics, starting on the
 * exact float32 path and redoing it in float64 when the targets turn out soft.
 * Returns the pool flags used.
 */
export function pooledWithRetry(
  rt: Runtime,
  g: PoolGeom,
  acc: number,
  stats: number,
  run: (pool: number) => void,
  check: () => { soft: boolean },
): number {
  run(g.pool);
  const { soft } = check();
  if ((g.pool & POOL_F64) === 0 && soft) {
    rt.f64.fill(0, acc >>> 3, (acc >>> 3) + SLOTS);
    resetStats(rt, stats);
    run(g.pool | POOL_F64);
    check();
    return g.pool | POOL_F64;
  }
  return g.pool;
}
