// Minimal .npy (NumPy format 1.0) reading and writing for the bundled samples:
// little-endian uint8 / float32 arrays in C order, which is all they use.
import { readFileSync, writeFileSync } from "node:fs";

const DTYPES = { "|u1": Uint8Array, "<f4": Float32Array };

export function writeNpy(file, array, shape) {
  const descr = array instanceof Uint8Array ? "|u1" : "<f4";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += `${" ".repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(array.buffer, array.byteOffset, array.byteLength)]));
}

export function readNpy(file) {
  const buf = readFileSync(file);
  if (buf.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${file}: not a .npy file`);
  const len = buf.readUInt16LE(8);
  const header = buf.toString("latin1", 10, 10 + len);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const Ctor = DTYPES[descr];
  if (!Ctor || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: unsupported .npy (${descr})`);
  const start = 10 + len;
  const bytes = buf.subarray(start);
  const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { data, shape };
}
