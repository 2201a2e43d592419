// The data model (SPEC §2): every accepted input form becomes { data, shape }.
import { describe, fail } from "./errors";

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Everything a loss accepts as a tensor. */
export type TensorLike =
  | NumericArray
  | { data: NumericArray; shape: readonly number[] }
  | { data: NumericArray; dims: readonly number[] } // onnxruntime Tensor
  | { shape: readonly number[]; dataSync(): NumericArray }; // TensorFlow.js tensor

export interface Tensor {
  data: NumericArray;
  shape: number[];
}

const NUMERIC = [Float32Array, Float64Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array];

export function isNumericArray(x: unknown): x is NumericArray {
  return NUMERIC.some((C) => x instanceof C);
}

function checkData(data: unknown, argument: string): NumericArray {
  if (!isNumericArray(data)) {
    fail("E_DTYPE", argument, "a numeric typed array (Float32Array, Float64Array, Uint8Array, …)", describe(data));
  }
  return data;
}

function checkShape(shape: unknown, length: number, argument: string): number[] {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    fail("E_SHAPE", `${argument}.shape`, "an array of positive integers", describe(shape));
  }
  const dims = Array.from(shape as ArrayLike<unknown>, Number);
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    fail("E_SHAPE", `${argument}.shape`, "a non-empty list of positive integers", `[${Array.from(shape as ArrayLike<unknown>).join(",")}]`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) {
    fail("E_SHAPE", `${argument}.shape`, `a shape whose product equals the data length ${length}`, `[${dims.join(",")}] (product ${size})`);
  }
  return dims;
}

/**
 * Normalises one input. `shape` (from opts.shape) gives a bare typed array
 * its shape; a bare array without it is one image of data.length elements.
 */
export function toTensor(x: unknown, argument: string, shape?: readonly number[]): Tensor {
  let data: NumericArray;
  let dims: unknown;
  if (isNumericArray(x)) {
    data = x;
    dims = shape ?? [x.length];
  } else if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    // a tf.Tensor also has a `data()` method: only a typed-array `data` field is the {data, shape} form
    if ("data" in o && typeof o.data !== "function" && ("shape" in o || "dims" in o)) {
      data = checkData(o.data, `${argument}.data`);
      dims = "shape" in o ? o.shape : o.dims;
    } else if (typeof o.dataSync === "function" && "shape" in o) {
      data = checkData((o.dataSync as () => unknown)(), `${argument}.dataSync()`);
      dims = o.shape;
    } else {
      return fail("E_DTYPE", argument, "a typed array, {data, shape}, {data, dims} or a tf.Tensor", describe(x));
    }
  } else {
    return fail("E_DTYPE", argument, "a typed array, {data, shape}, {data, dims} or a tf.Tensor", describe(x));
  }
  if (data.length === 0) fail("E_EMPTY", argument, "at least one element", "a zero-size tensor");
  return { data, shape: checkShape(dims, data.length, argument) };
}

export interface BinaryGeometry {
  /** Images in the batch. */
  N: number;
  /** Elements per image. */
  L: number;
}

/** The image count and one image's shape: rank ≤ 2 is one image; otherwise the first axis is the batch. */
function split(shape: number[]): { N: number; image: number[] } {
  return shape.length <= 2 ? { N: 1, image: shape } : { N: shape[0], image: shape.slice(1) };
}

/**
 * Binary inputs (SPEC §2): [N,H,W], [N,H,W,1], [N,1,H,W], [H,W] (N = 1), a
 * bare vector (one image), or any rank ≥ 3 with the batch axis first (volumes).
 * Target and prediction must agree on N and on the image shape up to size-1
 * axes (so a [N,H,W] target goes with a [N,1,H,W] or [N,H,W,1] prediction).
 */
export function binaryGeometry(target: Tensor, pred: Tensor): BinaryGeometry {
  const a = split(target.shape);
  const b = split(pred.shape);
  const squeeze = (s: number[]) => s.filter((d) => d !== 1);
  const ia = squeeze(a.image);
  const ib = squeeze(b.image);
  if (a.N !== b.N || ia.length !== ib.length || ia.some((d, i) => d !== ib[i])) {
    fail(
      "E_SHAPE",
      "target",
      `a shape matching the prediction's [${pred.shape.join(",")}] (N = ${b.N})`,
      `[${target.shape.join(",")}] (N = ${a.N})`,
    );
  }
  return { N: b.N, L: pred.data.length / b.N };
}
