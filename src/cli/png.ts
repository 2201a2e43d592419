// PNG decoding with fast-png, reduced to one channel of integers: grey images
// (8 or 16 bit) give their values, palette images their palette indices.
import { decode } from "fast-png";
import { CliError } from "./errors";

export interface Raster {
  width: number;
  height: number;
  /** One value per pixel, row-major. */
  data: Uint8Array | Uint16Array;
  /** 'palette': data are palette indices (labels); 'grey': grey levels. */
  kind: "grey" | "palette";
  /** The largest value the bit depth allows (255 or 65535; 2^depth − 1 for low depths). */
  maxValue: number;
}

const CHANNEL_NAMES: Record<number, string> = { 2: "grey + alpha", 3: "RGB", 4: "RGBA" };

/** Decodes PNG bytes into a single-channel raster; `file` only names it in errors. */
export function decodePng(bytes: Uint8Array, file: string): Raster {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new CliError(file, `not a readable PNG (${(err as Error).message})`);
  }
  const { width, height, depth, channels } = png;
  if (png.palette) {
    return { width, height, data: unpackLowDepth(png.data as Uint8Array, width, height, depth), kind: "palette", maxValue: 255 };
  }
  if (channels !== 1) {
    throw new CliError(file, `expected a single-channel PNG (grey or palette), got ${CHANNEL_NAMES[channels] ?? `${channels} channels`}`);
  }
  const data = depth < 8 ? unpackLowDepth(png.data as Uint8Array, width, height, depth) : (png.data as Uint8Array | Uint16Array);
  if (data.length !== width * height) throw new CliError(file, `not a readable PNG (${data.length} values for ${width}×${height} pixels)`);
  return { width, height, data, kind: "grey", maxValue: depth === 16 ? 65535 : depth === 8 ? 255 : 2 ** depth - 1 };
}

/** fast-png keeps 1/2/4-bit rows packed (each row padded to a byte): one value per pixel. */
function unpackLowDepth(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth >= 8) return packed;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
