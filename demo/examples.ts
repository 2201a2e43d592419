// Generated example pairs (target mask, raw prediction), 256×256, seeded so
// that the page and the Node tests build the same arrays.

export const SIZE = 256;

export interface Example {
  id: string;
  label: string;
  build(): { target: Float32Array; pred: Float32Array };
}

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Disc {
  x: number;
  y: number;
  r: number;
}

function discs(seed: number, count: number, rMin: number, rMax: number): Disc[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: 20 + r() * (SIZE - 40), y: 20 + r() * (SIZE - 40), r: rMin + r() * (rMax - rMin) }));
}

/** A soft disc map: a logistic ramp of the signed distance (width in pixels). */
function paintDiscs(list: Disc[], width: number): Float32Array {
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let d = Number.POSITIVE_INFINITY;
      for (const c of list) d = Math.min(d, Math.hypot(x - c.x, y - c.y) - c.r);
      out[y * SIZE + x] = width === 0 ? (d <= 0 ? 1 : 0) : 1 / (1 + Math.exp(d / width));
    }
  }
  return out;
}

function moved(list: Disc[], seed: number, shift: number, scale: number): Disc[] {
  const r = rng(seed);
  return list.map((c) => ({ x: c.x + (r() - 0.5) * 2 * shift, y: c.y + (r() - 0.5) * 2 * shift, r: c.r * (scale + (r() - 0.5) * 0.2) }));
}

function stripes(): { target: Float32Array; pred: Float32Array } {
  const target = new Float32Array(SIZE * SIZE);
  const pred = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const band = Math.floor((x + y / 3) / 24) % 2;
      target[y * SIZE + x] = band;
      pred[y * SIZE + x] = 1 / (1 + Math.exp(-6 * Math.sin(((x + y / 3 + 5) / 24) * Math.PI)));
    }
  }
  return { target, pred };
}

export const EXAMPLES: Example[] = [
  {
    id: "cells",
    label: "Cells: good prediction, soft edges",
    build: () => {
      const t = discs(7, 9, 10, 26);
      return { target: paintDiscs(t, 0), pred: paintDiscs(moved(t, 8, 3, 1), 2.5) };
    },
  },
  {
    id: "shifted",
    label: "Cells: shifted and shrunk",
    build: () => {
      const t = discs(11, 7, 12, 30);
      return { target: paintDiscs(t, 0), pred: paintDiscs(moved(t, 12, 12, 0.8), 4) };
    },
  },
  {
    id: "missed",
    label: "Missed objects and false positives",
    build: () => {
      const t = discs(21, 6, 12, 28);
      const p = moved(t.slice(0, 3), 22, 4, 1).concat(discs(23, 3, 8, 20));
      return { target: paintDiscs(t, 0), pred: paintDiscs(p, 3) };
    },
  },
  { id: "stripes", label: "Stripes: thin structures", build: stripes },
  {
    id: "empty",
    label: "Empty target, faint prediction",
    build: () => {
      const pred = paintDiscs(discs(31, 4, 6, 16), 6);
      for (let i = 0; i < pred.length; i++) pred[i] *= 0.4;
      return { target: new Float32Array(SIZE * SIZE), pred };
    },
  },
];

export function example(id: string): { target: Float32Array; pred: Float32Array } {
  const e = EXAMPLES.find((x) => x.id === id);
  if (!e) throw new Error(`no example ${id}`);
  return e.build();
}
