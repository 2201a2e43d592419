// A small .npy (NumPy format 1.0–3.0) reader: little-endian numeric dtypes in
// C order, which is what np.save writes for the arrays masks come in.
import { CliError } from "./errors";

export type NpyData = Float32Array | Float64Array | Uint8Array | Uint16Array | Int32Array | Uint32Array | Int8Array | Int16Array;

export interface NpyArray {
  data: NpyData;
  shape: number[];
  /** NumPy's dtype string, e.g. '<f4', '|u1'. */
  dtype: string;
}

type Ctor = { new (buffer: ArrayBuffer): NpyData; BYTES_PER_ELEMENT: number };

const DTYPES: Record<string, Ctor> = {
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  f4: Float32Array,
  f8: Float64Array,
};

const MAGIC = "\x93NUMPY";

/** Parses the bytes of a .npy file; `file` only names it in errors. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const bad = (why: string): never => {
    throw new CliError(file, `not a readable .npy file: ${why}`);
  };
  if (bytes.length < 10 || latin1(bytes, 0, 6) !== MAGIC) bad("missing the \\x93NUMPY signature");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerAt = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) bad(`format version ${major} is not supported`);
  if (bytes.length < headerAt) bad("truncated header");
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = headerAt + headerLen;
  if (bytes.length < start) bad("truncated header");
  const header = latin1(bytes, headerAt, start);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) bad("header without descr or shape");
  if (/'fortran_order'\s*:\s*True/.test(header)) bad("Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
  const order = descr![0];
  const Type = DTYPES[descr!.slice(1)];
  if (!Type || order === ">" || (order !== "<" && order !== "|" && order !== "=")) {
    bad(`dtype ${descr} is not supported (float32, float64, uint8, int8, uint16, int16, int32, uint32, little-endian)`);
  }
  const shape = shapeText!
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) bad(`malformed shape (${shapeText})`);
  const length = shape.reduce((a, b) => a * b, 1);
  const byteLength = length * Type.BYTES_PER_ELEMENT;
  if (bytes.length - start < byteLength) bad(`truncated data: ${bytes.length - start} bytes for ${length} ${descr} values`);
  // copy: the file buffer is shared and need not be aligned for the element type
  const buffer = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + byteLength) as ArrayBuffer;
  return { data: new Type(buffer), shape, dtype: descr! };
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
