// Minimal .npy (NumPy format 1.0) writing for the sample generator and the
// CLI bench: little-endian uint8 / float32 arrays in C order. (Reading is
// src/cli/npy.ts.)
import { writeFileSync } from "node:fs";

export function npyBytes(array, shape) {
  const descr = array instanceof Uint8Array ? "|u1" : "<f4";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += `${" ".repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(array.buffer, array.byteOffset, array.byteLength)]);
}

export function writeNpy(file, array, shape) {
  writeFileSync(file, npyBytes(array, shape));
}
