// Lovasz-Softmax (Berman et al., multi-class) on probabilities, or on logits
// with `fromLogits` (softmax inside). Per segment (the batch, or an image with
// perImage): one multi-class pass (runClassPass: layout, labels, validation,
// softmax) writes one u32 key per (class, pixel) holding the error |fg − p_c|
// and the foreground bit, and counts each class's foreground; then per
// selected class a radix sort and one walk give the class term. The gradient
// walk scatters ∂loss/∂p per class; a second pass hands it to runClassPass,
// which applies the softmax backward and writes the prediction's layout.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks } from "../options";
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import { runClassPass } from "./classPass";
import { gradBuffer, type LossAndGrad } from "./common";
import type { LovaszPreset } from "./lovasz";
import { type Layout, type MulticlassInputs, multiclassInputs } from "./multiclassInputs";

/** assembly/lovaszSoftmax.ts and assembly/sort.ts */
interface LovaszSoftmaxKernels {
  lovaszSoftmaxKeys(pc: number, labels: number, len: number, c: number, keys: number, stats: number): void;
  lovaszSoftmaxKeysDense(pc: number, tc: number, len: number, keys: number, stats: number): number;
  lovaszSoftmaxLoss(keys: number, n: number, G: number, cut: number, tmp: number, hist: number): number;
  lovaszSoftmaxCheckDense(t: number, tStride: number, len: number, C: number): number;
  lovaszSoftmaxGradClass(
    keys: number,
    n: number,
    G: number,
    cut: number,
    pairs: number,
    items: number,
    grad: number,
    scale: number,
    hist: number,
  ): number;
  radixScratchBytes(): number;
}

export type LovaszClasses = "present" | "all" | number[];

export interface LovaszSoftmaxOptions {
  /** Shape of a bare typed-array prediction (SPEC §2). */
  shape?: number[];
  /** 'NCHW' (default) or 'NHWC'. */
  layout?: Layout;
  /** The prediction holds logits: softmax over classes inside (and in the gradient). Default false. */
  fromLogits?: boolean;
  /** 'present' (default: classes with a foreground pixel in the segment), 'all', or a list of class indices. */
  classes?: LovaszClasses;
  /** One loss per image, averaged (default false: one loss over the flattened batch). */
  perImage?: boolean;
  /** Label whose pixels are dropped (label targets). */
  ignoreIndex?: number | null;
  /** 'mean' (default) over segments, 'sum', or 'none' (the class terms, NaN where 'present' skips a class). */
  reduction?: "mean" | "sum" | "none";
  /** 'lovasz' (the reference) or 'smp' (LovaszLoss multiclass); both: classes 'present', perImage false. */
  preset?: LovaszPreset;
}

export interface LovaszSoftmaxGradOptions extends LovaszSoftmaxOptions {
  /** Write the gradient here (a Float32Array of the prediction's length). */
  out?: Float32Array;
}

const classesCheck: Check = (v, name) => {
  if (v === "present" || v === "all") return v;
  if (!Array.isArray(v) || v.length === 0)
    return fail("E_OPTION", name, "'present', 'all' or a non-empty array of class indices", describe(v));
  for (const c of v) {
    if (!Number.isInteger(c) || c < 0) return fail("E_OPTION", name, "class indices (integers ≥ 0)", `an element ${describe(c)}`);
  }
  if (new Set(v).size !== v.length) return fail("E_OPTION", name, "distinct class indices", `[${v.join(", ")}]`);
  return v.slice();
};

const OPTIONS: Record<string, Check> = {
  shape: checks.shape,
  layout: checks.oneOf("NCHW", "NHWC"),
  fromLogits: checks.bool,
  classes: classesCheck,
  perImage: checks.bool,
  ignoreIndex: checks.orNull(checks.finite),
  reduction: checks.oneOf("mean", "sum", "none"),
  preset: checks.oneOf("lovasz", "smp"),
};
const GRAD_OPTIONS: Record<string, Check> = { ...OPTIONS, out: checks.float32 };

interface Settings {
  shape?: number[];
  layout: Layout;
  fromLogits: boolean;
  classes: LovaszClasses;
  perImage: boolean;
  ignoreIndex: number | null;
  reduction: "mean" | "sum" | "none";
}

function settingsOf(o: Record<string, unknown>): Settings {
  // both presets pin the reference's multi-class defaults (smp's LovaszLoss
  // applies softmax itself: pass fromLogits: true, presets never change how inputs are read)
  return {
    shape: o.shape as number[] | undefined,
    layout: (o.layout as Layout | undefined) ?? "NCHW",
    fromLogits: (o.fromLogits as boolean | undefined) ?? false,
    classes: (o.classes as LovaszClasses | undefined) ?? "present",
    perImage: (o.perImage as boolean | undefined) ?? false,
    ignoreIndex: (o.ignoreIndex as number | null | undefined) ?? null,
    reduction: (o.reduction as Settings["reduction"] | undefined) ?? "mean",
  };
}

/** The classes a term is computed for, in output order. */
function classList(s: Settings, C: number): number[] {
  if (s.classes === "present" || s.classes === "all") return Array.from({ length: C }, (_, c) => c);
  for (const c of s.classes) {
    if (c >= C) fail("E_OPTION_RANGE", "opts.classes", `class indices below C = ${C}`, `${c}`);
  }
  return s.classes;
}

function inputsOf(target: unknown, pred: unknown, s: Settings): MulticlassInputs {
  return multiclassInputs(target, pred, { shape: s.shape, layout: s.layout });
}

/** Image n of the batch as a one-image input (views, so wasm-resident data stays resident). */
function imageOf(inp: MulticlassInputs, n: number): MulticlassInputs {
  const { C, S } = inp;
  return {
    ...inp,
    N: 1,
    pred: inp.pred.subarray(n * C * S, (n + 1) * C * S),
    predShape: [1, ...inp.predShape.slice(1)],
    labels: inp.labels ? inp.labels.subarray(n * S, (n + 1) * S) : null,
    dense: inp.dense ? inp.dense.subarray(n * C * S, (n + 1) * C * S) : null,
  };
}

/** The segments: the batch, or each image with perImage. */
function segmentsOf(inp: MulticlassInputs, s: Settings): MulticlassInputs[] {
  return s.perImage ? Array.from({ length: inp.N }, (_, n) => imageOf(inp, n)) : [inp];
}

/** Room left for runClassPass's own staging block (a few class-major chunk planes). */
const STAGING_RESERVE = 1 << 20;

/**
 * One multi-class pass over a segment: the keys of the classes `part` (class
 * part[j] at keys + j·4n, segment pixel order) and, per class c, its
 * foreground count and largest foreground key at stats + 8·c (added to).
 */
function keyPass(rt: Runtime, seg: MulticlassInputs, s: Settings, part: number[], keys: number, stats: number): void {
  const k = rt.kernels<LovaszSoftmaxKernels>();
  const S = seg.S;
  const bytes = 4 * seg.N * S;
  runClassPass(rt, seg, {
    activation: s.fromLogits ? "softmax" : "none",
    ignoreIndex: s.ignoreIndex,
    run(ch) {
      const at = 4 * (ch.n * S + ch.s0);
      part.forEach((c, j) => {
        const pc = ch.p + 4 * c * ch.pStride;
        const kc = keys + j * bytes + at;
        if (ch.labels) k.lovaszSoftmaxKeys(pc, ch.labels, ch.len, c, kc, stats + 8 * c);
        else if (k.lovaszSoftmaxKeysDense(pc, ch.t + 4 * c * ch.tStride, ch.len, kc, stats + 8 * c)) badDense();
      });
    },
  });
}

/**
 * One segment's class terms (NaN where 'present' skips a class), loss only:
 * one u32 key per (class, pixel), each class's foreground count and largest
 * foreground key (lovaszSoftmaxLoss keeps only the keys up to it), then per
 * class one kernel call (keep, sort, walk). The classes go in groups whose
 * keys fit the free memory (one multi-class pass per group).
 */
function segmentLossTerms(rt: Runtime, seg: MulticlassInputs, s: Settings, cls: number[]): Float64Array {
  const k = rt.kernels<LovaszSoftmaxKernels>();
  const C = seg.C;
  const n = seg.N * seg.S; // pixels in the segment
  const bytes = 4 * n; // one class's keys
  const fixed = bytes + k.radixScratchBytes() + 8 * C + 16; // sorted keys, sort scratch, [G, cut] per class
  const room = Math.floor((rt.largestFree() - fixed - STAGING_RESERVE) / bytes);
  const group = Math.max(1, Math.min(cls.length, room));
  const block = rt.alloc(group * bytes + fixed, "lovaszSoftmax scratch");
  try {
    const keys = block;
    const sorted = keys + group * bytes;
    const hist = sorted + bytes;
    const stats = hist + k.radixScratchBytes();
    new Int32Array(rt.memory.buffer, stats, 2 * C).fill(0);
    const terms = new Float64Array(cls.length);
    for (let g0 = 0; g0 < cls.length; g0 += group) {
      const part = cls.slice(g0, g0 + group);
      keyPass(rt, seg, s, part, keys, stats);
      const st = new Uint32Array(rt.memory.buffer, stats, 2 * C);
      part.forEach((c, j) => {
        const [G, cut] = [st[2 * c], st[2 * c + 1]];
        if (s.classes === "present" && G === 0) terms[g0 + j] = Number.NaN;
        else terms[g0 + j] = k.lovaszSoftmaxLoss(keys + j * bytes, n, G, cut, sorted, hist);
      });
    }
    return terms;
  } finally {
    rt.release(block);
  }
}

/**
 * One segment's class terms with the gradient of weight·(mean of its terms)
 * written into `grad` (the segment's part of the prediction-shaped gradient).
 * The gradient needs every class's keys and gradient at once.
 */
function segmentGradTerms(
  rt: Runtime,
  seg: MulticlassInputs,
  s: Settings,
  cls: number[],
  grad: Float32Array,
  weight: number,
): Float64Array {
  const k = rt.kernels<LovaszSoftmaxKernels>();
  const { C, S } = seg;
  const n = seg.N * S; // pixels in the segment
  const bytes = 4 * n;
  const workBytes = C * bytes + 4 * bytes; // per-class gradients + items/tmp
  const fixed = workBytes + k.radixScratchBytes() + 8 * C + 16;
  const block = rt.alloc(cls.length * bytes + fixed, "lovaszSoftmax scratch");
  try {
    const keys = block;
    const work = keys + cls.length * bytes;
    const hist = work + workBytes;
    const stats = hist + k.radixScratchBytes();
    new Int32Array(rt.memory.buffer, stats, 2 * C).fill(0);
    const terms = new Float64Array(cls.length);
    keyPass(rt, seg, s, cls, keys, stats);

    const st = Uint32Array.from(new Uint32Array(rt.memory.buffer, stats, 2 * C));
    const K = cls.filter((c) => s.classes !== "present" || st[2 * c] > 0).length;
    const gC = work; // per-class ∂loss/∂p, segment pixel order
    const items = gC + C * bytes;
    const pairs = items + 2 * bytes;
    rt.f32.fill(0, gC >>> 2, (gC >>> 2) + C * n);
    cls.forEach((c, j) => {
      const [G, cut] = [st[2 * c], st[2 * c + 1]];
      if (s.classes === "present" && G === 0) terms[j] = Number.NaN;
      else terms[j] = k.lovaszSoftmaxGradClass(keys + j * bytes, n, G, cut, pairs, items, gC + c * bytes, weight / K, hist);
    });
    runClassPass(rt, seg, {
      activation: s.fromLogits ? "softmax" : "none",
      ignoreIndex: s.ignoreIndex,
      grad,
      gradWrt: "p",
      run(ch) {
        const from = (gC >>> 2) + ch.n * S + ch.s0;
        for (let c = 0; c < C; c++) rt.f32.copyWithin((ch.g >>> 2) + c * ch.gStride, from + c * n, from + c * n + ch.len);
      },
    });
    return terms;
  } finally {
    rt.release(block);
  }
}

function badDense(): never {
  return fail("E_RANGE", "target", "a one-hot target (values 0 or 1) or integer labels", "another value");
}

/** Validates every input (labels, ranges, finite logits, one-hot values) without computing anything. */
function checkAll(rt: Runtime, inp: MulticlassInputs, s: Settings): void {
  const k = rt.kernels<LovaszSoftmaxKernels>();
  runClassPass(rt, inp, {
    activation: s.fromLogits ? "softmax" : "none",
    ignoreIndex: s.ignoreIndex,
    run(ch) {
      if (!ch.labels && k.lovaszSoftmaxCheckDense(ch.t, ch.tStride, ch.len, ch.C)) badDense();
    },
  });
}

/** A segment's loss: the mean of its class terms that are not NaN (0 when none). */
function segmentLoss(terms: Float64Array): number {
  let sum = 0;
  let K = 0;
  for (const v of terms) {
    if (Number.isNaN(v)) continue;
    sum += v;
    K++;
  }
  return K === 0 ? 0 : sum / K;
}

function reduce(perSeg: number[], reduction: "mean" | "sum"): number {
  const sum = perSeg.reduce((a, b) => a + b, 0);
  return reduction === "sum" ? sum : sum / perSeg.length;
}

export function lovaszSoftmax(rt: Runtime, target: unknown, pred: unknown, opts: unknown): number | Float32Array {
  const s = settingsOf(checkOwnOptions("lovaszSoftmax", opts, OPTIONS));
  const inp = inputsOf(target, pred, s);
  const cls = classList(s, inp.C);
  const terms = segmentsOf(inp, s).map((seg) => segmentLossTerms(rt, seg, s, cls));
  if (s.reduction === "none") {
    const out = new Float32Array(terms.length * cls.length);
    terms.forEach((t, j) => {
      out.set(t, j * cls.length);
    });
    return out;
  }
  return reduce(terms.map(segmentLoss), s.reduction);
}

export function lovaszSoftmaxGrad(rt: Runtime, target: unknown, pred: unknown, opts: unknown): LossAndGrad {
  const o = checkOwnOptions("lovaszSoftmaxGrad", opts, GRAD_OPTIONS);
  const s = settingsOf(o);
  if (s.reduction === "none") fail("E_OPTION", "opts.reduction", "'mean' or 'sum' (a gradient needs a scalar loss)", "'none'");
  const inp = inputsOf(target, pred, s);
  const cls = classList(s, inp.C);
  const grad = gradBuffer(o.out, inp.pred.length);
  const segs = segmentsOf(inp, s);
  // several segments write the gradient one after the other: check every input first
  if (o.out !== undefined && segs.length > 1) checkAll(rt, inp, s);
  const weight = s.reduction === "mean" ? 1 / segs.length : 1;
  const CS = inp.C * inp.S;
  const perSeg = segs.map((seg, j) =>
    segmentLoss(segmentGradTerms(rt, seg, s, cls, s.perImage ? grad.subarray(j * CS, (j + 1) * CS) : grad, weight)),
  );
  return { loss: reduce(perSeg, s.reduction), grad };
}

/** The multi-class Lovasz family of a segloss instance. */
export interface LovaszSoftmaxApi {
  /** Lovasz-Softmax on probabilities (or logits with fromLogits) with integer labels or a one-hot target (SPEC §4). */
  lovaszSoftmax(target: TensorLike, pred: TensorLike, opts?: LovaszSoftmaxOptions): number | Float32Array;
  /** The loss and its subgradient w.r.t. the prediction (through the softmax with fromLogits). */
  lovaszSoftmaxGrad(target: TensorLike, pred: TensorLike, opts?: LovaszSoftmaxGradOptions): LossAndGrad;
}

export function lovaszSoftmaxApi(rt: Runtime): LovaszSoftmaxApi {
  return {
    lovaszSoftmax: (t, p, o) => lovaszSoftmax(rt, t, p, o),
    lovaszSoftmaxGrad: (t, p, o) => lovaszSoftmaxGrad(rt, t, p, o),
  };
}
