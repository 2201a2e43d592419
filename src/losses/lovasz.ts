// Lovasz hinge (binary, on logits) and the Jaccard-extension gradient. Per
// segment (an image, or the batch with perImage: false): stage the inputs as
// float32 (or read them in place when they live in wasm memory); one SIMD
// pass checks them, counts the labels and packs sortable keys for the
// positive errors only (relu and its slope are 0 elsewhere); a radix sort
// orders them; one walk over them gives the loss and the subgradient.
// TypeScript only stages, reduces and scales.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks } from "../options";
import { binaryGeometry, isNumericArray, type NumericArray, type TensorLike, toTensor } from "../tensor";
import type { Runtime } from "../wasm";
import { gradBuffer, type LossAndGrad } from "./common";

/** assembly/lovasz.ts and assembly/sort.ts */
interface LovaszKernels {
  lovaszPrepare(t: number, x: number, n: number, keys: number, pay: number, ignore: number, ign: number, stats: number): void;
  lovaszPrepareKeys(t: number, x: number, n: number, keys: number, ignore: number, ign: number, stats: number): void;
  lovaszHingeLoss(keys: number, k: number, m: number, pos: number, tmp: number, hist: number, symmetric: number): number;
  lovaszHingeSorted(items: number, k: number, m: number, pos: number, grad: number, scale: number, symmetric: number): number;
  lovaszGradF32(t: number, n: number, out: number): number;
  radixScratchBytes(): number;
  radixSortKeyed(keys: number, pay: number, n: number, items: number, tmp: number, hist: number): void;
}

const BAD_TARGET = 1; // LOVASZ_BAD_TARGET
const BAD_LOGIT = 2; // LOVASZ_BAD_LOGIT

export type LovaszPreset = "lovasz" | "smp";

export interface LovaszHingeOptions {
  /** Shape of a bare typed-array input (SPEC §2). */
  shape?: number[];
  /** 'mean' (default) over segments, 'sum', or 'none' (one value per segment). */
  reduction?: "mean" | "sum" | "none";
  /** One loss per image, averaged (default true; the 'smp' preset: false, one loss over the flattened batch). */
  perImage?: boolean;
  /** Target label whose pixels are dropped. */
  ignoreIndex?: number | null;
  /** Average of L(x, t) and L(−x, 1 − t). */
  symmetric?: boolean;
  /** 'lovasz' (Berman et al.: perImage true) or 'smp' (perImage false). */
  preset?: LovaszPreset;
}

export interface LovaszGradOptions extends LovaszHingeOptions {
  /** Write the gradient here (a Float32Array of the prediction's length). */
  out?: Float32Array;
}

const OPTIONS: Record<string, Check> = {
  shape: checks.shape,
  reduction: checks.oneOf("mean", "sum", "none"),
  perImage: checks.bool,
  ignoreIndex: checks.orNull(checks.finite),
  symmetric: checks.bool,
  preset: checks.oneOf("lovasz", "smp"),
};
const GRAD_OPTIONS: Record<string, Check> = { ...OPTIONS, out: checks.float32 };

interface Settings {
  shape?: number[];
  reduction: "mean" | "sum" | "none";
  perImage: boolean;
  ignoreIndex: number | null;
  symmetric: boolean;
}

function settingsOf(o: Record<string, unknown>): Settings {
  const preset = (o.preset as LovaszPreset | undefined) ?? "lovasz";
  return {
    shape: o.shape as number[] | undefined,
    reduction: (o.reduction as Settings["reduction"] | undefined) ?? "mean",
    perImage: (o.perImage as boolean | undefined) ?? preset === "lovasz",
    ignoreIndex: (o.ignoreIndex as number | null | undefined) ?? null,
    symmetric: (o.symmetric as boolean | undefined) ?? false,
  };
}

interface Segments {
  t: NumericArray;
  x: Float32Array | Float64Array;
  nSeg: number;
  segLen: number;
}

function segmentsOf(target: unknown, logits: unknown, s: Settings): Segments {
  const xt = toTensor(logits, "logits", s.shape);
  if (!(xt.data instanceof Float32Array || xt.data instanceof Float64Array)) {
    fail("E_DTYPE", "logits", "a Float32Array or Float64Array of logits", describe(xt.data));
  }
  const tt = toTensor(target, "target", s.shape);
  const { N, L } = binaryGeometry(tt, xt);
  return { t: tt.data, x: xt.data as Float32Array | Float64Array, nSeg: s.perImage ? N : 1, segLen: s.perImage ? L : N * L };
}

/**
 * Runs every segment: `grad` (when given) receives scale·∂loss_j/∂x. Scratch
 * is one block of 16 bytes per segment pixel plus the histograms, reused by
 * each segment and released in finally. Region A holds the staged targets and
 * logits, which the prepare pass overwrites in place with keys and payloads,
 * and then serves as sort scratch; region B receives the sorted items; A
 * takes the gradient unless `grad` lives in wasm. The loss alone packs the
 * target bit into u32 keys in A (no payload) and sorts them into B.
 */
function hingeSegments(rt: Runtime, seg: Segments, s: Settings, grad: Float32Array | null, scale: number, checkOnly = false): Float64Array {
  const k = rt.kernels<LovaszKernels>();
  const n = seg.segLen;
  const bytes = n * 4;
  const tRes = rt.residentF32(seg.t);
  const xRes = rt.residentF32(seg.x);
  const gRes = grad ? rt.residentF32(grad) : -1;
  const block = rt.alloc(4 * bytes + k.radixScratchBytes() + 16, "lovasz scratch");
  try {
    const A = block;
    const B = block + 2 * bytes;
    const hist = block + 4 * bytes;
    const stats = hist + k.radixScratchBytes();
    const losses = new Float64Array(seg.nSeg);
    const ignore = s.ignoreIndex === null ? 0 : 1;
    const ign = s.ignoreIndex ?? 0;
    for (let j = 0; j < seg.nSeg; j++) {
      const tPtr = tRes >= 0 ? tRes + j * bytes : stage(rt, seg.t, j, n, A);
      const xPtr = xRes >= 0 ? xRes + j * bytes : stage(rt, seg.x, j, n, A + bytes);
      if (grad === null && !checkOnly) {
        // the loss alone: the target bit rides in the key, u32 keys sorted alone
        k.lovaszPrepareKeys(tPtr, xPtr, n, A, ignore, ign, stats);
        const [m, pos, bad, nKeys] = new Int32Array(rt.memory.buffer, stats, 4);
        checkBad(bad, s);
        losses[j] = nKeys === 0 ? 0 : k.lovaszHingeLoss(A, nKeys, m, pos, B, hist, s.symmetric ? 1 : 0);
        continue;
      }
      k.lovaszPrepare(tPtr, xPtr, n, A, A + bytes, ignore, ign, stats);
      const [m, pos, bad, nKeys] = new Int32Array(rt.memory.buffer, stats, 4);
      checkBad(bad, s);
      if (checkOnly || grad === null) continue;
      k.radixSortKeyed(A, A + bytes, nKeys, B, A, hist); // sorted items in B, A is scratch
      const items = B;
      const g = gRes >= 0 ? gRes + j * bytes : A;
      rt.f32.fill(0, g >>> 2, (g >>> 2) + n);
      losses[j] = k.lovaszHingeSorted(items, nKeys, m, pos, g, scale, s.symmetric ? 1 : 0);
      if (gRes < 0) grad.set(rt.f32.subarray(g >>> 2, (g >>> 2) + n), j * n);
    }
    return losses;
  } finally {
    rt.release(block);
  }
}

/** Copies segment j of `a` into wasm memory at `at` as float32. */
function stage(rt: Runtime, a: NumericArray, j: number, n: number, at: number): number {
  rt.f32.set(a.subarray(j * n, (j + 1) * n), at >>> 2);
  return at;
}

function checkBad(bad: number, s: Settings): void {
  if (bad & BAD_LOGIT) fail("E_NONFINITE", "logits", "finite numbers", "NaN or ±Infinity");
  if (bad & BAD_TARGET) {
    const extra = s.ignoreIndex === null ? "" : ` or the ignoreIndex ${s.ignoreIndex}`;
    fail("E_RANGE", "target", `hard labels 0 or 1${extra}`, "another value");
  }
}

/** Checks every segment before any is written (so a failing call leaves opts.out untouched). */
function checkAll(rt: Runtime, seg: Segments, s: Settings): void {
  hingeSegments(rt, seg, s, null, 0, true);
}

function reduce(losses: Float64Array, reduction: "mean" | "sum"): number {
  let sum = 0;
  for (const v of losses) sum += v;
  return reduction === "sum" ? sum : sum / losses.length;
}

export function lovaszHinge(rt: Runtime, target: unknown, logits: unknown, opts: unknown): number | Float32Array {
  const s = settingsOf(checkOwnOptions("lovaszHinge", opts, OPTIONS));
  const seg = segmentsOf(target, logits, s);
  const losses = hingeSegments(rt, seg, s, null, 0);
  return s.reduction === "none" ? Float32Array.from(losses) : reduce(losses, s.reduction);
}

export function lovaszHingeGrad(rt: Runtime, target: unknown, logits: unknown, opts: unknown): LossAndGrad {
  const o = checkOwnOptions("lovaszHingeGrad", opts, GRAD_OPTIONS);
  const s = settingsOf(o);
  if (s.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  const seg = segmentsOf(target, logits, s);
  const grad = gradBuffer(o.out, seg.x.length);
  if (o.out !== undefined && seg.nSeg > 1) checkAll(rt, seg, s);
  const scale = s.reduction === "mean" ? 1 / seg.nSeg : 1;
  const losses = hingeSegments(rt, seg, s, grad, scale);
  return { loss: reduce(losses, s.reduction), grad };
}

/** The Jaccard-extension gradient of a sorted 0/1 vector, as float32. */
export function lovaszGrad(rt: Runtime, sorted: unknown): Float32Array {
  if (!isNumericArray(sorted)) fail("E_DTYPE", "sortedTarget", "a numeric typed array of 0/1", describe(sorted));
  const n = sorted.length;
  if (n === 0) fail("E_EMPTY", "sortedTarget", "at least one element", "a zero-size array");
  const block = rt.alloc(8 * n, "lovaszGrad scratch");
  try {
    rt.f32.set(sorted, block >>> 2);
    const k = rt.kernels<LovaszKernels>();
    if (k.lovaszGradF32(block, n, block + 4 * n) < 0) fail("E_RANGE", "sortedTarget", "values 0 or 1", "another value");
    return rt.f32.slice((block >>> 2) + n, (block >>> 2) + 2 * n);
  } finally {
    rt.release(block);
  }
}

/** The binary Lovasz family of a segloss instance. */
export interface LovaszApi {
  /** Lovasz hinge on logits with hard 0/1 targets (SPEC §4). */
  lovaszHinge(target: TensorLike, logits: TensorLike, opts?: LovaszHingeOptions): number | Float32Array;
  /** The loss and its subgradient w.r.t. the logits (ties broken by pixel index). */
  lovaszHingeGrad(target: TensorLike, logits: TensorLike, opts?: LovaszGradOptions): LossAndGrad;
  /** The Jaccard-extension gradient of a sorted 0/1 vector (Float32Array). */
  lovaszGrad(sortedTarget: NumericArray): Float32Array;
}

export function lovaszApi(rt: Runtime): LovaszApi {
  return {
    lovaszHinge: (t, x, o) => lovaszHinge(rt, t, x, o),
    lovaszHingeGrad: (t, x, o) => lovaszHingeGrad(rt, t, x, o),
    lovaszGrad: (t) => lovaszGrad(rt, t),
  };
}
