// Heat maps and images on canvas: a map → RGBA through a 256-entry palette.

type Stop = [number, number, number, number]; // position, r, g, b

/** A palette: 256 RGBA pixels packed as they lie in ImageData memory (one store per pixel). */
export type Palette = Uint32Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function palette(stops: Stop[]): Palette {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let k = 1;
    while (k < stops.length - 1 && stops[k][0] < x) k++;
    const [x0, r0, g0, b0] = stops[k - 1];
    const [x1, r1, g1, b1] = stops[k];
    const f = x1 > x0 ? (x - x0) / (x1 - x0) : 0;
    lut[i * 3] = r0 + (r1 - r0) * f;
    lut[i * 3 + 1] = g0 + (g1 - g0) * f;
    lut[i * 3 + 2] = b0 + (b1 - b0) * f;
  }
  const packed = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];
    packed[i] = LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  }
  return packed;
}

/** Dark violet → teal → yellow, for non-negative maps. */
export const SEQUENTIAL = palette([
  [0, 20, 10, 50],
  [0.3, 60, 60, 140],
  [0.6, 30, 150, 140],
  [0.85, 150, 210, 80],
  [1, 250, 235, 60],
]);

/** Blue ← white → red, for signed maps (gradients). */
export const DIVERGING = palette([
  [0, 30, 70, 170],
  [0.5, 245, 245, 245],
  [1, 190, 30, 40],
]);

/** Grey ramp, for masks and probabilities. */
export const GREY = palette([
  [0, 0, 0, 0],
  [1, 255, 255, 255],
]);

/** One ImageData per canvas, reused by every redraw. */
const images = new WeakMap<HTMLCanvasElement, ImageData>();

export interface Range {
  min: number;
  max: number;
}

function range(data: ArrayLike<number>): Range {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * Draws `data` (w×h) with a palette: 'unit' maps [0, 1], 'positive' maps
 * [0, max], 'signed' maps [−m, m] with m = max |v|. Returns the range shown.
 */
export function drawMap(
  canvas: HTMLCanvasElement,
  data: ArrayLike<number>,
  w: number,
  h: number,
  lut: Palette,
  scale: "unit" | "positive" | "signed",
): Range {
  const r = scale === "unit" ? { min: 0, max: 1 } : range(data);
  const m = Math.max(Math.abs(r.min), Math.abs(r.max));
  const lo = scale === "signed" ? -m : 0;
  const hi = scale === "unit" ? 1 : m;
  const k = hi > lo ? 255 / (hi - lo) : 0;
  const ctx = canvas.getContext("2d")!;
  let img = images.get(canvas);
  if (!img || img.width !== w || img.height !== h) images.set(canvas, (img = ctx.createImageData(w, h)));
  const px = new Uint32Array(img.data.buffer);
  for (let i = 0; i < w * h; i++) {
    const c = ((data[i] - lo) * k) | 0;
    px[i] = lut[c < 0 ? 0 : Math.min(c, 255)];
  }
  ctx.putImageData(img, 0, 0);
  return { min: lo, max: hi };
}
