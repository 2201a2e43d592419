// Loads an image file as a 256×256 grey map in [0, 1] (nearest-neighbour
// resampling; no colour management, so 8-bit grey PNGs come through exactly).
import { SIZE } from "./examples";

/** Grey level of one RGBA pixel in [0, 1]: the mean of R, G, B, times alpha. */
export function greyOf(r: number, g: number, b: number, a: number): number {
  return ((r + g + b) / 3 / 255) * (a / 255);
}

export async function loadGrey(file: Blob): Promise<Float32Array> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE;
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, 0, 0, SIZE, SIZE);
  bitmap.close();
  const px = ctx.getImageData(0, 0, SIZE, SIZE).data;
  const out = new Float32Array(SIZE * SIZE);
  for (let i = 0; i < out.length; i++) out[i] = greyOf(px[i * 4], px[i * 4 + 1], px[i * 4 + 2], px[i * 4 + 3]);
  return out;
}

/** A mask from a grey map: foreground where the grey level is above one half. */
export function toMask(grey: Float32Array): Float32Array {
  return grey.map((v) => (v > 0.5 ? 1 : 0));
}
