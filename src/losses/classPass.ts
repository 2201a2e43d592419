// Runs one multi-class kernel pass, chunk by chunk. Every chunk lies inside
// one image and reaches the kernel class-major (class c of pixel i at
// base + 4·(c·stride + i)), whatever the layout: NCHW slices are copied plane
// by plane (or read in place when the prediction lives in WebAssembly memory),
// NHWC slices are transposed in WebAssembly. Labels arrive as int32 with −1
// for ignored pixels; softmax/sigmoid run once per pixel per pass. Each chunk
// is validated before its kernel runs (labels, probability/target ranges,
// finite logits).
import { fail } from "../errors";
import type { NumericArray } from "../tensor";
import type { Runtime } from "../wasm";
import type { MulticlassInputs } from "./multiclassInputs";

/** assembly/activation.ts and assembly/multiclass.ts */
interface ClassKernels {
  softmaxForward(x: number, xStride: number, p: number, pStride: number, len: number, C: number, lse: number): number;
  softmaxBackward(p: number, pStride: number, g: number, gStride: number, len: number, C: number): void;
  sigmoidForward(x: number, xStride: number, p: number, pStride: number, len: number, C: number): number;
  sigmoidBackward(p: number, pStride: number, g: number, gStride: number, len: number, C: number): void;
  stageLabels(src: number, dst: number, len: number, C: number, ignore: number, ign: number): number;
  toClassMajor(src: number, dst: number, dStride: number, len: number, C: number): void;
  toPixelMajor(src: number, sStride: number, dst: number, len: number, C: number): void;
  rangeClassMajor(src: number, stride: number, len: number, C: number, stats: number): void;
  maxBitsClassMajor(src: number, stride: number, len: number, C: number): number;
}

/** What a kernel sees of one chunk: `len` pixels of image `n` from pixel `s0`. Pointers are byte addresses; 0 = absent. */
export interface ClassChunk {
  n: number;
  s0: number;
  len: number;
  C: number;
  /** Probabilities (after the activation when there is one). */
  p: number;
  pStride: number;
  /** The raw prediction (logits with an activation; the same as `p` without). */
  x: number;
  xStride: number;
  /** Per-pixel log-sum-exp of the logits (softmax with `wantLse`), so ln p_c = x_c − lse exactly. */
  lse: number;
  /** int32 labels, −1 where ignored (label targets). */
  labels: number;
  /** Dense target values (dense targets). */
  t: number;
  tStride: number;
  /** The gradient to write for this chunk (passes with `grad`), class-major with `gStride`. */
  g: number;
  gStride: number;
}

export type Activation = "none" | "softmax" | "sigmoid";

export interface ClassPass {
  activation: Activation;
  ignoreIndex: number | null;
  /** Pass softmax's log-sum-exp to the kernel (cross-entropy on logits). */
  wantLse?: boolean;
  /** Receives the gradient in the prediction's layout; the kernel writes chunk.g. */
  grad?: Float32Array;
  /** What chunk.g holds: dL/dp (the runner applies the activation's backward) or dL/dx (already w.r.t. the raw prediction). */
  gradWrt?: "p" | "x";
  /** The inputs were range-checked by an earlier pass of the same call: skip those checks (labels are still staged). */
  validated?: boolean;
  /**
   * `run` folds the prediction's range check into its kernel and returns the chunk's largest bit pattern, which the
   * runner checks after the kernel: of p without an activation (as maxBitsClassMajor); of |x| with one (as
   * softmaxForward), and then the kernel applies the activation itself (chunk.p is the raw x, no probabilities are staged).
   */
  kernelChecksPred?: boolean;
  // biome-ignore lint/suspicious/noConfusingVoidType: kernels that check nothing return nothing
  run(chunk: ClassChunk): void | number;
}

/** Bit patterns (as u32) of 1.0f and of the largest finite float32: the fast range checks compare with them. */
const ONE_BITS = 0x3f800000;
const MAX_FINITE_BITS = 0x7f7fffff;

/** Floats per class-major buffer: small enough that a chunk's buffers stay in the L2 cache. */
const CHUNK_FLOATS = 1 << 15;

export function runClassPass(rt: Runtime, inp: MulticlassInputs, pass: ClassPass): void {
  const { N, C, S, layout, pred, labels, dense } = inp;
  const k = rt.kernels<ClassKernels>();
  const nhwc = layout === "NHWC";
  const cap = Math.min(S, Math.max(4, Math.floor(CHUNK_FLOATS / C) & ~3));
  const plane = (C * cap * 4 + 15) & ~15;
  const row = (cap * 4 + 15) & ~15;
  const predAt = rt.residentF32(pred);
  const denseAt = dense ? rt.residentF32(dense) : -1;
  const inPlace = (at: number) => at >= 0 && !nhwc; // NCHW in wasm memory: read the planes where they are
  const act = pass.activation !== "none";
  const runnerActivates = act && !pass.kernelChecksPred;

  // One block: raw x, probabilities, dense target, gradient, NHWC transpose scratch, labels, lse, stats.
  const sizes = {
    x: inPlace(predAt) ? 0 : plane,
    p: runnerActivates ? plane : 0,
    t: dense && !inPlace(denseAt) ? plane : 0,
    g: pass.grad ? plane : 0,
    raw: nhwc ? plane : 0,
    labels: labels ? row : 0,
    lse: pass.wantLse && pass.activation === "softmax" ? row : 0,
    stats: 16,
  };
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  const block = rt.alloc(total, "multi-class staging");
  try {
    const ptr: Record<keyof typeof sizes, number> = { x: 0, p: 0, t: 0, g: 0, raw: 0, labels: 0, lse: 0, stats: 0 };
    let off = block;
    for (const key of Object.keys(sizes) as (keyof typeof sizes)[]) {
      ptr[key] = sizes[key] ? off : 0;
      off += sizes[key];
    }
    const f32 = rt.f32;
    const exactRange = (at: number, stride: number, len: number): [number, number] => {
      f32.set([Infinity, -Infinity], ptr.stats >>> 2);
      k.rangeClassMajor(at, stride, len, C, ptr.stats);
      return [f32[ptr.stats >>> 2], f32[(ptr.stats >>> 2) + 1]];
    };
    const ign = pass.ignoreIndex;

    // class-major copy of one chunk of `src` (prediction layout) into `dst`, returning [pointer, stride]
    const stage = (src: NumericArray, at: number, dst: number, n: number, s0: number, len: number): [number, number] => {
      if (nhwc) {
        const from = (n * S + s0) * C;
        let rawPtr = ptr.raw;
        if (at >= 0) rawPtr = at + from * 4;
        else f32.set(src.subarray(from, from + len * C), ptr.raw >>> 2);
        k.toClassMajor(rawPtr, dst, cap, len, C);
        return [dst, cap];
      }
      if (inPlace(at)) return [at + (n * C * S + s0) * 4, S];
      for (let c = 0; c < C; c++) {
        const from = (n * C + c) * S + s0;
        f32.set(src.subarray(from, from + len), (dst >>> 2) + c * cap);
      }
      return [dst, cap];
    };

    for (let n = 0; n < N; n++) {
      for (let s0 = 0; s0 < S; s0 += cap) {
        const len = Math.min(cap, S - s0);
        const [x, xStride] = stage(pred, predAt, ptr.x, n, s0, len);
        let p = x;
        let pStride = xStride;
        // one integer max per vector; the exact range (for the message) only when it fails
        let bits: number;
        if (!runnerActivates) {
          bits = pass.validated || pass.kernelChecksPred ? 0 : k.maxBitsClassMajor(x, xStride, len, C) >>> 0;
        } else if (pass.activation === "softmax") {
          bits = k.softmaxForward(x, xStride, ptr.p, cap, len, C, ptr.lse) >>> 0;
          [p, pStride] = [ptr.p, cap];
        } else {
          bits = k.sigmoidForward(x, xStride, ptr.p, cap, len, C) >>> 0;
          [p, pStride] = [ptr.p, cap];
        }
        if (bits > (act ? MAX_FINITE_BITS : ONE_BITS) && !pass.validated) {
          const [lo, hi] = exactRange(x, xStride, len);
          checkPred(lo, hi, act);
        }

        let t = 0;
        let tStride = 0;
        if (dense) {
          [t, tStride] = stage(dense, denseAt, ptr.t, n, s0, len);
          if (!pass.validated && k.maxBitsClassMajor(t, tStride, len, C) >>> 0 > ONE_BITS) {
            const [lo, hi] = exactRange(t, tStride, len);
            checkTarget(lo, hi);
          }
        }
        if (labels) {
          f32.set(labels.subarray(n * S + s0, n * S + s0 + len), ptr.labels >>> 2);
          const bad = k.stageLabels(ptr.labels, ptr.labels, len, C, ign === null ? 0 : 1, ign ?? 0);
          if (bad >= 0) badLabel(labels[n * S + s0 + bad], n * S + s0 + bad, C, ign);
        }

        const kernelBits = pass.run({
          n,
          s0,
          len,
          C,
          p,
          pStride,
          x,
          xStride,
          lse: ptr.lse,
          labels: ptr.labels,
          t,
          tStride,
          g: ptr.g,
          gStride: cap,
        });
        if (pass.kernelChecksPred && !pass.validated && (kernelBits as number) >>> 0 > (act ? MAX_FINITE_BITS : ONE_BITS)) {
          const [lo, hi] = exactRange(x, xStride, len);
          checkPred(lo, hi, act);
        }

        if (pass.grad) {
          if (act && (pass.gradWrt ?? "p") === "p") {
            if (pass.activation === "softmax") k.softmaxBackward(p, pStride, ptr.g, cap, len, C);
            else k.sigmoidBackward(p, pStride, ptr.g, cap, len, C);
          }
          writeGrad(rt, k, pass.grad, inp, ptr.g, cap, ptr.raw, n, s0, len);
        }
      }
    }
  } finally {
    rt.release(block);
  }
}

/** Copies a class-major gradient chunk into the user's array in the prediction's layout. */
function writeGrad(
  rt: Runtime,
  k: ClassKernels,
  grad: Float32Array,
  inp: MulticlassInputs,
  g: number,
  gStride: number,
  raw: number,
  n: number,
  s0: number,
  len: number,
): void {
  const { C, S } = inp;
  const f32 = rt.f32;
  if (inp.layout === "NHWC") {
    k.toPixelMajor(g, gStride, raw, len, C);
    grad.set(f32.subarray(raw >>> 2, (raw >>> 2) + len * C), (n * S + s0) * C);
    return;
  }
  for (let c = 0; c < C; c++) grad.set(f32.subarray((g >>> 2) + c * gStride, (g >>> 2) + c * gStride + len), (n * C + c) * S + s0);
}

function checkPred(lo: number, hi: number, logits: boolean): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", "pred", "finite numbers", "NaN");
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) fail("E_NONFINITE", "pred", "finite numbers", `values in [${lo}, ${hi}]`);
  if (!logits && (lo < 0 || hi > 1))
    fail("E_RANGE", "pred", "probabilities in [0, 1] (pass fromLogits: true for logits)", `values in [${lo}, ${hi}]`);
}

function checkTarget(lo: number, hi: number): void {
  if (Number.isNaN(lo) || Number.isNaN(hi)) fail("E_NONFINITE", "target", "finite numbers", "NaN");
  if (lo < 0 || hi > 1) fail("E_RANGE", "target", "one-hot or soft target values in [0, 1]", `values in [${lo}, ${hi}]`);
}

function badLabel(value: number, index: number, C: number, ign: number | null): never {
  const extra = ign === null ? "" : ` or the ignoreIndex ${ign}`;
  return fail("E_RANGE", "target", `integer labels in [0, ${C - 1}]${extra}`, `${value} at element ${index}`);
}
