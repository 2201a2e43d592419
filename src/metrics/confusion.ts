// Multi-class confusion matrices (SPEC §4 confusionMatrix, ConfusionMatrix).
// One kernel pass per chunk of one image (assembly/confusion.ts) counts
// (target, predicted class) pairs in u32 bins and adds them into f64 counts;
// this module works out the input form and geometry, stages chunks into
// WebAssembly memory, and owns the C×C class. Semantics:
// docs/confusion-matrix.md.
import { describe, fail } from "../errors";
import { type Check, checkOwnOptions, checks } from "../options";
import { type NumericArray, type Tensor, type TensorLike, toTensor } from "../tensor";
import type { Runtime } from "../wasm";

/** assembly/confusion.ts: each returns −1, or the chunk-relative pixel of the first bad element (stats: 1 target, 2 prediction). */
type LabelsKernel = (t: number, p: number, n: number, C: number, ignore: number, ign: number, bins: number, stats: number) => number;

interface ConfusionKernels {
  /** label maps staged as float32 */
  confusionLabels: LabelsKernel;
  /** label maps as bytes (four interleaved tables, confusionU8BinBytes) */
  confusionLabelsU8: LabelsKernel;
  confusionBinary(t: number, p: number, n: number, thr: number, ignore: number, ign: number, bins: number, stats: number): number;
  confusionArgmax(
    t: number,
    p: number,
    n: number,
    C: number,
    pixStep: number,
    chanStep: number,
    ignore: number,
    ign: number,
    bins: number,
    stats: number,
  ): number;
  /** Adds the bins into the f64 counts and clears them (one C×C table; the u8 tables). */
  confusionFlush(bins: number, acc: number, C: number): void;
  /** ignRow: the ignore label when it is below min(C, 256) (its row only counts ignored pixels), else −1 */
  confusionFlushU8(bins: number, acc: number, C: number, ignRow: number): void;
  confusionU8BinBytes(C: number): number;
}

/** Largest class count accepted (the C×C bins must fit the instance's memory). */
const MAX_CLASSES = 4096;

// ---------------------------------------------------------------- the class

function checkClassCount(c: unknown, argument: string): number {
  if (typeof c !== "number" || !Number.isInteger(c) || c < 1 || c > MAX_CLASSES) {
    fail("E_OPTION_RANGE", argument, `an integer in [1, ${MAX_CLASSES}]`, describe(c));
  }
  return c;
}

/** The plain-data form of a ConfusionMatrix (`toJSON`). */
export interface ConfusionMatrixJSON {
  numClasses: number;
  /** C×C counts, row-major, rows = target class, columns = predicted class. */
  counts: number[];
}

/**
 * C×C pixel counts, row-major: counts[t·C + p] = pixels of target class t
 * predicted as class p. Metrics are per class (Float64Array, NaN where the
 * denominator is empty) or means over the classes that are not NaN.
 */
export class ConfusionMatrix {
  readonly numClasses: number;
  readonly counts: Float64Array;

  constructor(numClasses: number) {
    this.numClasses = checkClassCount(numClasses, "numClasses");
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds another matrix's counts (same numClasses) into this one; returns this. */
  merge(other: ConfusionMatrix): this {
    if (!(other instanceof ConfusionMatrix)) fail("E_DTYPE", "other", "a ConfusionMatrix", describe(other));
    if (other.numClasses !== this.numClasses) {
      fail("E_SHAPE", "other", `a ConfusionMatrix with numClasses ${this.numClasses}`, `numClasses ${other.numClasses}`);
    }
    const a = this.counts;
    const b = other.counts;
    for (let k = 0; k < a.length; k++) a[k] += b[k];
    return this;
  }

  toJSON(): ConfusionMatrixJSON {
    return { numClasses: this.numClasses, counts: Array.from(this.counts) };
  }

  /** Rebuilds a matrix from `toJSON` output; counts must be C² finite numbers ≥ 0. */
  static fromJSON(obj: unknown): ConfusionMatrix {
    if (obj === null || typeof obj !== "object") fail("E_DTYPE", "obj", "{ numClasses, counts }", describe(obj));
    const o = obj as Record<string, unknown>;
    const m = new ConfusionMatrix(checkClassCount(o.numClasses, "obj.numClasses"));
    const counts = o.counts;
    if (!Array.isArray(counts) && !ArrayBuffer.isView(counts)) fail("E_DTYPE", "obj.counts", "an array of numbers", describe(counts));
    const list = counts as ArrayLike<unknown>;
    if (list.length !== m.counts.length) {
      fail("E_SHAPE", "obj.counts", `${m.counts.length} counts (numClasses²)`, `${list.length}`);
    }
    for (let k = 0; k < list.length; k++) {
      const v = list[k];
      if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v))
        fail("E_RANGE", "obj.counts", "finite counts ≥ 0", `${describe(v)} at ${k}`);
      m.counts[k] = v;
    }
    return m;
  }

  /** Per class: TP (diagonal), target count (row sum), predicted count (column sum). */
  private sums(): { tp: Float64Array; rows: Float64Array; cols: Float64Array } {
    const C = this.numClasses;
    const tp = new Float64Array(C);
    const rows = new Float64Array(C);
    const cols = new Float64Array(C);
    for (let t = 0; t < C; t++) {
      for (let p = 0; p < C; p++) {
        const v = this.counts[t * C + p];
        rows[t] += v;
        cols[p] += v;
      }
      tp[t] = this.counts[t * C + t];
    }
    return { tp, rows, cols };
  }

  /** Per class TP / (TP + FP + FN); NaN when the class is in neither target nor prediction. */
  iou(): Float64Array {
    const { tp, rows, cols } = this.sums();
    return tp.map((v, c) => ratio(v, rows[c] + cols[c] - v));
  }

  /** Per class 2·TP / (2·TP + FP + FN); NaN when the class is in neither. */
  dice(): Float64Array {
    const { tp, rows, cols } = this.sums();
    return tp.map((v, c) => ratio(2 * v, rows[c] + cols[c]));
  }

  /** Per class TP / (TP + FP); NaN when the class is never predicted. */
  precision(): Float64Array {
    const { tp, cols } = this.sums();
    return tp.map((v, c) => ratio(v, cols[c]));
  }

  /** Per class TP / (TP + FN); NaN when the class is not in the target. */
  recall(): Float64Array {
    const { tp, rows } = this.sums();
    return tp.map((v, c) => ratio(v, rows[c]));
  }

  /** Mean of `iou()` over the classes that are not NaN; NaN when all are. */
  meanIoU(): number {
    return nanMean(this.iou());
  }

  /** Mean of `dice()` over the classes that are not NaN; NaN when all are. */
  meanDice(): number {
    return nanMean(this.dice());
  }

  /** Pixel accuracy: trace / total; NaN for an empty matrix. */
  accuracy(): number {
    const { tp } = this.sums();
    let total = 0;
    for (const v of this.counts) total += v;
    let trace = 0;
    for (const v of tp) trace += v;
    return ratio(trace, total);
  }

  /** Σ_c (target count_c / total)·IoU_c (classes absent from the target weigh 0); NaN for an empty matrix. */
  frequencyWeightedIoU(): number {
    const { tp, rows, cols } = this.sums();
    let total = 0;
    for (const v of rows) total += v;
    if (total === 0) return Number.NaN;
    let sum = 0;
    for (let c = 0; c < tp.length; c++) if (rows[c] > 0) sum += (rows[c] / total) * (tp[c] / (rows[c] + cols[c] - tp[c]));
    return sum;
  }
}

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : Number.NaN;
}

function nanMean(a: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (const v of a) {
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

// ---------------------------------------------------------------- options

export type ConfusionLayout = "NCHW" | "NHWC";

export interface ConfusionMatrixOptions {
  /** C. Required for a predicted label map; for scores it is read from the prediction's shape (and checked if given); 2 for binary scores. */
  numClasses?: number;
  /** Target label whose pixels are left out (not counted anywhere). */
  ignoreIndex?: number | null;
  /** Binary scores: class 1 where p > threshold (default 0.5). */
  threshold?: number;
  /** Where the class axis of C scores per pixel is: 'NCHW' (default, [N,C,H,W]) or 'NHWC' ([N,H,W,C]). */
  layout?: ConfusionLayout;
  /** true: one ConfusionMatrix per image (an array); false (default): one over the batch. */
  perImage?: boolean;
  /** Shape of a bare typed-array target ([N,H,W], [H,W], …, batch axis first); a bare prediction follows it. */
  shape?: readonly number[];
}

/** Confusion matrices of a segloss instance. */
export interface ConfusionApi {
  /** Counts (target, predicted class) pairs (SPEC §4 confusionMatrix). */
  confusionMatrix(target: TensorLike, pred: TensorLike, opts?: ConfusionMatrixOptions & { perImage?: false }): ConfusionMatrix;
  confusionMatrix(target: TensorLike, pred: TensorLike, opts: ConfusionMatrixOptions & { perImage: true }): ConfusionMatrix[];
  confusionMatrix(target: TensorLike, pred: TensorLike, opts?: ConfusionMatrixOptions): ConfusionMatrix | ConfusionMatrix[];
}

const OPTIONS: Record<string, Check> = {
  numClasses: (v, name) => checkClassCount(v, name),
  ignoreIndex: checks.orNull(checks.finite),
  threshold: checks.finite,
  layout: checks.oneOf("NCHW", "NHWC"),
  perImage: checks.bool,
  shape: checks.shape,
};

// ---------------------------------------------------------------- geometry

type Form = "labels" | "binary" | "argmax";

interface Plan {
  form: Form;
  C: number;
  N: number;
  /** Pixels per image. */
  L: number;
  nhwc: boolean;
  t: NumericArray;
  p: NumericArray;
}

const isFloat = (a: NumericArray) => a instanceof Float32Array || a instanceof Float64Array;

/** Drops leading size-1 axes (so [1,H,W] matches [H,W]). */
function squeezeLead(s: number[]): number[] {
  let i = 0;
  while (i < s.length - 1 && s[i] === 1) i++;
  return s.slice(i);
}

function sameDims(a: number[], b: number[]): boolean {
  const x = squeezeLead(a);
  const y = squeezeLead(b);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

function planOf(tt: Tensor, pred: unknown, o: Record<string, unknown>): Plan {
  const N = tt.shape.length <= 2 ? 1 : tt.shape[0];
  const T = tt.data.length;
  const L = T / N;
  const nhwc = o.layout === "NHWC";
  const bareP = ArrayBuffer.isView(pred);
  const pt = toTensor(pred, "pred");
  const P = pt.data.length;
  const given = o.numClasses as number | undefined;
  const shapeError = () =>
    fail(
      "E_SHAPE",
      "pred",
      `the target's shape [${tt.shape.join(",")}] (a label map or binary scores) or it with a class axis (${nhwc ? "NHWC" : "NCHW"})`,
      `[${pt.shape.join(",")}]`,
    );
  if (P === T) {
    if (!bareP && !sameDims(pt.shape, tt.shape)) shapeError();
    if (!isFloat(pt.data)) {
      if (given === undefined) fail("E_OPTION", "opts.numClasses", "the class count C for a predicted label map", "undefined");
      return { form: "labels", C: given, N, L, nhwc, t: tt.data, p: pt.data };
    }
    if (given !== undefined && given !== 2)
      fail("E_OPTION", "opts.numClasses", "2 (or nothing) for binary scores p > threshold", describe(given));
    return { form: "binary", C: 2, N, L, nhwc, t: tt.data, p: pt.data };
  }
  if (!isFloat(pt.data)) fail("E_DTYPE", "pred", "a Float32Array or Float64Array of class scores", describe(pt.data));
  const C = P / T;
  if (!Number.isInteger(C) || C < 2) shapeError();
  if (!bareP) {
    // remove the class axis: NHWC's last, NCHW's the one before the image axes
    const imageRank = tt.shape.length <= 2 ? tt.shape.length : tt.shape.length - 1;
    const axis = nhwc ? pt.shape.length - 1 : pt.shape.length - imageRank - 1;
    if (axis < 0 || pt.shape[axis] !== C) shapeError();
    if (
      !sameDims(
        pt.shape.filter((_, i) => i !== axis),
        tt.shape,
      )
    )
      shapeError();
  }
  checkClassCount(C, "pred class axis");
  if (given !== undefined && given !== C) fail("E_OPTION", "opts.numClasses", `${C} (the prediction's class axis)`, describe(given));
  return { form: "argmax", C, N, L, nhwc, t: tt.data, p: pt.data };
}

// ---------------------------------------------------------------- the pass

/** Pixels per staged chunk: about 256 KiB of staged floats (or 128 KiB of bytes), a multiple of 4. */
function chunkPixels(L: number, C: number, bytes: boolean): number {
  const cap = bytes ? 1 << 16 : Math.max(1024, Math.floor((1 << 16) / (C + 1))) & ~3;
  return Math.min(L, cap);
}

/** The kernels' record of the first bad element (16 bytes) and their 64-byte work area. */
const STATS_BYTES = 80;

/** The bins hold u32 counts: flush them before any could pass this (per image, or sooner for huge images). */
const FLUSH_PIXELS = 2 ** 31;

function confusionMatrix(rt: Runtime, target: unknown, pred: unknown, raw: unknown): ConfusionMatrix | ConfusionMatrix[] {
  const o = checkOwnOptions("confusionMatrix", raw, OPTIONS);
  const tt = toTensor(target, "target", o.shape as readonly number[] | undefined);
  const pl = planOf(tt, pred, o);
  const { C, N, L, form } = pl;
  const ign = (o.ignoreIndex as number | null | undefined) ?? null;
  const thr = (o.threshold as number | undefined) ?? 0.5;
  const perImage = o.perImage === true;
  const k = rt.kernels<ConfusionKernels>();

  // two u8 label maps are counted as bytes (copied, or read in place from wasm memory)
  const bytes = form === "labels" && pl.t instanceof Uint8Array && pl.p instanceof Uint8Array;
  const P = chunkPixels(L, C, bytes);
  const resident = (a: NumericArray) => (bytes ? (a.buffer === rt.memory.buffer ? a.byteOffset : -1) : rt.residentF32(a));
  const tRes = resident(pl.t);
  const pRes = resident(pl.p);
  const u8 = new Uint8Array(rt.memory.buffer);
  const stage = (a: NumericArray, from: number, to: number, at: number) => {
    if (bytes) u8.set((a as Uint8Array).subarray(from, to), at);
    else rt.f32.set(a.subarray(from, to), at >>> 2);
  };
  const elt = bytes ? 1 : 4;
  const width = form === "argmax" ? C : 1;
  const tBytes = tRes < 0 ? (P * elt + 15) & ~15 : 0;
  const pBytes = pRes < 0 ? P * width * elt : 0;
  const binBytes = ((bytes ? k.confusionU8BinBytes(C) : C * C * 4) + 15) & ~15;
  const accBytes = C * C * 8;
  // stats: the bad-element record, then 64 bytes the SIMD argmax kernels keep sums and classes in
  const block = rt.alloc(STATS_BYTES + binBytes + accBytes + tBytes + pBytes, "confusionMatrix scratch");
  const out: ConfusionMatrix[] = [];
  try {
    const stats = block;
    const bins = block + STATS_BYTES;
    const acc = bins + binBytes;
    const tBuf = acc + accBytes;
    const pBuf = tBuf + tBytes;
    const accAt = acc >>> 3;
    u8.fill(0, bins, bins + binBytes);
    rt.f64.fill(0, accAt, accAt + C * C);
    const hasIgn = ign === null ? 0 : 1;
    const ignF = ign ?? 0;
    // a byte can only equal an ignore label that is an integer in [0, 255]
    const ignByte = ign !== null && Number.isInteger(ign) && ign >= 0 && ign <= 255;
    const ignRow = ignByte && ignF < Math.min(C, 256) ? ignF : -1;
    const flush = () => (bytes ? k.confusionFlushU8(bins, acc, C, ignRow) : k.confusionFlush(bins, acc, C));
    for (let n = 0; n < N; n++) {
      // NCHW residents are read in place whole-image (channel stride L); staged images in chunks of P pixels
      const step = pRes >= 0 && tRes >= 0 ? Math.min(L, FLUSH_PIXELS) : P;
      let counted = 0;
      for (let a = 0; a < L; a += step) {
        const cnt = Math.min(step, L - a);
        if (counted + cnt > FLUSH_PIXELS) {
          flush();
          counted = 0;
        }
        counted += cnt;
        const first = n * L + a;
        let tPtr = tRes + first * elt;
        if (tRes < 0) {
          stage(pl.t, first, first + cnt, tBuf);
          tPtr = tBuf;
        }
        let pPtr: number;
        let pixStep = 4;
        let chanStep = 0;
        if (form !== "argmax") {
          pPtr = pRes + first * elt;
          if (pRes < 0) {
            stage(pl.p, first, first + cnt, pBuf);
            pPtr = pBuf;
          }
        } else if (pl.nhwc) {
          pixStep = 4 * C;
          chanStep = 4;
          pPtr = pRes + first * C * 4;
          if (pRes < 0) {
            rt.f32.set(pl.p.subarray(first * C, (first + cnt) * C), pBuf >>> 2);
            pPtr = pBuf;
          }
        } else if (pRes >= 0) {
          pPtr = pRes + (n * C * L + a) * 4;
          chanStep = L * 4;
        } else {
          for (let c = 0; c < C; c++) {
            const from = (n * C + c) * L + a;
            rt.f32.set(pl.p.subarray(from, from + cnt), (pBuf >>> 2) + c * P);
          }
          pPtr = pBuf;
          chanStep = P * 4;
        }
        let bad: number;
        if (bytes) bad = k.confusionLabelsU8(tPtr, pPtr, cnt, C, ignByte ? 1 : 0, ignByte ? ignF : 0, bins, stats);
        else if (form === "labels") bad = k.confusionLabels(tPtr, pPtr, cnt, C, hasIgn, ignF, bins, stats);
        else if (form === "binary") bad = k.confusionBinary(tPtr, pPtr, cnt, thr, hasIgn, ignF, bins, stats);
        else bad = k.confusionArgmax(tPtr, pPtr, cnt, C, pixStep, chanStep, hasIgn, ignF, bins, stats);
        if (bad >= 0) badInput(pl, new Int32Array(rt.memory.buffer, stats, 1)[0], n, a + bad, ign);
      }
      flush();
      if (perImage || n === N - 1) {
        const m = new ConfusionMatrix(C);
        m.counts.set(rt.f64.subarray(accAt, accAt + C * C));
        out.push(m);
        rt.f64.fill(0, accAt, accAt + C * C);
      }
    }
  } finally {
    rt.release(block);
  }
  return perImage ? out : out[0];
}

/** Names the first bad element the kernel found (pixel `i` of image `n`). */
function badInput(pl: Plan, which: number, n: number, i: number, ign: number | null): never {
  const px = n * pl.L + i;
  if (which === 1) {
    const v = pl.t[px];
    const at = `${describe(v)} at element ${px}`;
    if (!Number.isFinite(v)) fail("E_NONFINITE", "target", "finite labels", at);
    const extra = ign === null ? "" : ` or the ignoreIndex ${ign}`;
    return fail("E_RANGE", "target", `integer labels in [0, ${pl.C})${extra}`, at);
  }
  if (pl.form === "labels") {
    return fail("E_RANGE", "pred", `integer labels in [0, ${pl.C})`, `${describe(pl.p[px])} at element ${px}`);
  }
  let at = px;
  if (pl.form === "argmax") {
    // the first non-finite score of that pixel
    const { C, L } = pl;
    for (let c = 0; c < C; c++) {
      const j = pl.nhwc ? px * C + c : (n * C + c) * L + i;
      if (!Number.isFinite(Math.fround(pl.p[j]))) {
        at = j;
        break;
      }
    }
  }
  return fail("E_NONFINITE", "pred", "finite scores", `${describe(pl.p[at])} at element ${at}`);
}

export function confusionApi(rt: Runtime): ConfusionApi {
  return {
    confusionMatrix: ((t: TensorLike, p: TensorLike, o?: ConfusionMatrixOptions) =>
      confusionMatrix(rt, t, p, o)) as ConfusionApi["confusionMatrix"],
  };
}
