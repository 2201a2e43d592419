// objectMetrics against the flood-fill / dense-IoU oracle on both builds:
// random masks of many sizes and densities, every input form, thresholds and
// logits at the exact comparison boundaries, the edge cases of labelling
// (diagonals, spirals, U-shapes, thousands of tiny objects, empty and full
// masks), errors, and flat memory (also when the batch streams through a
// small instance's memory).
import { beforeAll, describe, expect, it } from "vitest";
import { create, type ObjectMetrics, type ObjectMetricsOptions, type Segloss } from "../src/index";
import { type Build, bothBuilds, catchSegLossError, rng } from "./helpers";
import * as oracle from "./oracle/objectMetrics";

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

/** Ratios: within 1e-12 (relative, or absolute near 0) of the oracle. */
function close(actual: number, expected: number, what: string): void {
  const ok = Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected));
  if (!ok) expect.fail(`${what}: got ${actual}, expected ${expected}`);
}

function closeAll(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) close(actual[i], expected[i], `${what}[${i}]`);
}

/** Label maps element by element (vitest's deep equality is slow on millions of elements). */
function sameLabels(actual: Int32Array, expected: Int32Array, what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) expect.fail(`${what}: pixel ${i} has label ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Integer counts and label maps exactly; ratios within 1e-12. */
function expectOracle(got: ObjectMetrics, want: oracle.OracleResult, what: string): void {
  expect(Array.from(got.thresholds), `${what} thresholds`).toEqual(want.thresholds);
  expect(Array.from(got.tp), `${what} tp`).toEqual(want.tp);
  expect(Array.from(got.fp), `${what} fp`).toEqual(want.fp);
  expect(Array.from(got.fn), `${what} fn`).toEqual(want.fn);
  closeAll(got.precision, want.precision, `${what} precision`);
  closeAll(got.f1, want.f1, `${what} f1`);
  closeAll(got.f2, want.f2, `${what} f2`);
  closeAll(got.perImage, want.perImage, `${what} perImage`);
  close(got.score, want.score, `${what} score`);
  if (got.labels) {
    sameLabels(got.labels.target, want.labels.target, `${what} target labels`);
    sameLabels(got.labels.pred, want.labels.pred, `${what} pred labels`);
  }
}

type MaskKind = "noise" | "sparse" | "dense" | "blobs" | "lines";

/** One 0/1 target mask of N images. */
function makeTarget(r: () => number, N: number, H: number, W: number, kind: MaskKind): Float32Array {
  const t = new Float32Array(N * H * W);
  for (let n = 0; n < N; n++) {
    const off = n * H * W;
    if (kind === "blobs" || kind === "lines") {
      const count = 1 + Math.floor(r() * 8);
      for (let b = 0; b < count; b++) {
        const cy = r() * H;
        const cx = r() * W;
        const ry = kind === "lines" ? 0.6 : 0.5 + r() * Math.max(1, H / 4);
        const rx = 0.5 + r() * Math.max(1, W / 4);
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const dy = (y - cy) / ry;
            const dx = (x - cx) / rx;
            if (dy * dy + dx * dx <= 1) t[off + y * W + x] = 1;
          }
        }
      }
    } else {
      const rho = kind === "noise" ? 0.45 : kind === "sparse" ? 0.12 : 0.8;
      for (let i = 0; i < H * W; i++) t[off + i] = r() < rho ? 1 : 0;
    }
  }
  return t;
}

/**
 * Probabilities from a target: the mask shifted by up to one pixel, with
 * random flips and holes, so that IoUs spread around the thresholds; values
 * at exactly 0.5 (background) and just above it, and exact 0 and 1.
 */
function makePred(r: () => number, t: Float32Array, N: number, H: number, W: number, flip: number): Float32Array {
  const p = new Float32Array(t.length);
  for (let n = 0; n < N; n++) {
    const off = n * H * W;
    const sy = Math.floor(r() * 3) - 1;
    const sx = Math.floor(r() * 3) - 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const yy = y + sy;
        const xx = x + sx;
        let fg = yy >= 0 && yy < H && xx >= 0 && xx < W && t[off + yy * W + xx] === 1;
        if (r() < flip) fg = !fg;
        const u = r();
        p[off + y * W + x] = fg
          ? u < 0.1
            ? 1
            : u < 0.2
              ? Math.fround(0.5 + 2 ** -24)
              : 0.5 + 0.5 * u
          : u < 0.1
            ? 0
            : u < 0.2
              ? 0.5
              : 0.5 * u;
      }
    }
  }
  return p;
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1, 7],
  [1, 9, 1],
  [2, 5, 7],
  [3, 4, 4],
  [2, 16, 16],
  [2, 17, 63],
  [2, 31, 64],
  [2, 13, 65],
  [1, 40, 129],
  [2, 30, 200],
  [1, 2, 300],
  [4, 24, 33],
];
const KINDS: MaskKind[] = ["noise", "sparse", "dense", "blobs", "lines"];

describe("objectMetrics vs the flood-fill oracle", () => {
  it("random masks: every size, density and connectivity, label maps included (both builds)", () => {
    let seed = 1;
    for (const [N, H, W] of SIZES) {
      for (const kind of KINDS) {
        const r = rng(seed++);
        const t = makeTarget(r, N, H, W, kind);
        const p = makePred(r, t, N, H, W, kind === "blobs" || kind === "lines" ? 0.03 : 0.15);
        for (const connectivity of [4, 8] as const) {
          const want = oracle.objectMetrics(t, p, N, H, W, { connectivity });
          for (const { name, seg } of builds) {
            const got = seg.objectMetrics(t, p, { shape: [N, H, W], connectivity, labels: true });
            expectOracle(got, want, `${name} ${N}×${H}×${W} ${kind} conn ${connectivity}`);
          }
        }
      }
    }
  });

  it("unseen seeds: blob masks with fine threshold grids that bracket every IoU (both builds)", () => {
    const taus = Array.from({ length: 51 }, (_, i) => 0.5 + i / 100);
    for (let s = 0; s < 40; s++) {
      const r = rng(1000 + s);
      const N = 1 + Math.floor(r() * 3);
      const H = 1 + Math.floor(r() * 60);
      const W = 1 + Math.floor(r() * 140);
      const t = makeTarget(r, N, H, W, s % 2 ? "blobs" : "lines");
      const p = makePred(r, t, N, H, W, r() * 0.05);
      const connectivity = s % 3 ? 8 : 4;
      const want = oracle.objectMetrics(t, p, N, H, W, { connectivity, thresholds: taus });
      for (const { name, seg } of builds) {
        expectOracle(seg.objectMetrics(t, p, { shape: [N, H, W], connectivity, thresholds: taus }), want, `${name} seed ${s}`);
      }
    }
  });

  it("the pairs' exact IoUs used as thresholds: '>' leaves each pair out at its own IoU", () => {
    for (let s = 0; s < 12; s++) {
      const r = rng(2000 + s);
      const [N, H, W] = [1, 24 + s, 40];
      const t = makeTarget(r, N, H, W, "blobs");
      const p = makePred(r, t, N, H, W, 0.02);
      const lt = oracle.floodLabels(t, H, W, 8);
      const lp = oracle.floodLabels(
        p.map((v) => (v > 0.5 ? 1 : 0)),
        H,
        W,
        8,
      );
      const iou = oracle.iouMatrix(lt.labels, lt.count, lp.labels, lp.count);
      const taus = Array.from(iou).filter((v) => v >= 0.5 && v <= 1);
      if (taus.length === 0) continue;
      const want = oracle.objectMetrics(t, p, N, H, W, { thresholds: taus });
      for (const { name, seg } of builds) {
        expectOracle(seg.objectMetrics(t, p, { shape: [H, W], thresholds: taus }), want, `${name} seed ${s}`);
      }
    }
  });
});

describe("input forms", () => {
  const N = 2;
  const H = 19;
  const W = 37;
  const r = rng(77);
  const t = makeTarget(r, N, H, W, "blobs");
  const p = makePred(r, t, N, H, W, 0.05);
  const want = oracle.objectMetrics(t, p, N, H, W, {});

  it("every target dtype, Float32 and Float64 predictions", () => {
    const targets = [
      Float32Array,
      Float64Array,
      Uint8Array,
      Uint8ClampedArray,
      Int8Array,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
    ];
    for (const { name, seg } of builds) {
      for (const T of targets) {
        for (const P of [Float32Array, Float64Array]) {
          const got = seg.objectMetrics(T.from(t), P.from(p), { shape: [N, H, W], labels: true });
          expectOracle(got, want, `${name} ${T.name} / ${P.name}`);
        }
      }
    }
  });

  it("[N,1,H,W], [N,H,W,1], [H,W], {data, shape}, {data, dims}, tf-like tensors", () => {
    const one = oracle.objectMetrics(t.subarray(0, H * W), p.subarray(0, H * W), 1, H, W, {});
    for (const { name, seg } of builds) {
      expectOracle(seg.objectMetrics(t, p, { shape: [N, 1, H, W] }), want, `${name} NCHW`);
      expectOracle(seg.objectMetrics({ data: t, shape: [N, H, W] }, { data: p, shape: [N, H, W, 1] }), want, `${name} NHWC`);
      expectOracle(seg.objectMetrics({ data: t, dims: [N, H, W] }, { data: p, dims: [N, 1, H, W] }), want, `${name} onnx`);
      const tf = (d: Float32Array, shape: number[]) => ({ shape, dataSync: () => d });
      expectOracle(seg.objectMetrics(tf(t, [N, H, W]), tf(p, [N, H, W])), want, `${name} tf`);
      expectOracle(seg.objectMetrics(t.subarray(0, H * W), p.subarray(0, H * W), { shape: [H, W] }), one, `${name} [H,W]`);
    }
  });

  it("inputs that live in WebAssembly memory are read in place (float32, float64, uint8)", () => {
    for (const { name, seg } of builds) {
      const before = seg.largestFree();
      const tf = seg.alloc(Float32Array, t.length);
      const tu = seg.alloc(Uint8Array, t.length);
      const pf = seg.alloc(Float32Array, p.length);
      const pd = seg.alloc(Float64Array, p.length);
      tf.set(t);
      tu.set(t);
      pf.set(p);
      pd.set(p);
      for (const [tt, pp] of [
        [tf, pf],
        [tu, pd],
        [tf, pd],
        [tu, pf],
      ] as const) {
        expectOracle(seg.objectMetrics(tt, pp, { shape: [N, H, W], labels: true }), want, `${name} resident`);
      }
      expect(Array.from(pf)).toEqual(Array.from(p));
      for (const v of [tf, tu, pf, pd]) seg.free(v);
      expect(seg.largestFree()).toBe(before);
    }
  });

  it("uint8 targets with and without SIMD bodies and tails (W from 1 to 70)", () => {
    for (let w = 1; w <= 70; w += 3) {
      const rr = rng(w);
      const tt = makeTarget(rr, 2, 5, w, "noise");
      const pp = makePred(rr, tt, 2, 5, w, 0.2);
      const ww = oracle.objectMetrics(tt, pp, 2, 5, w, { connectivity: 4 });
      for (const { name, seg } of builds) {
        expectOracle(
          seg.objectMetrics(Uint8Array.from(tt), Float64Array.from(pp), { shape: [2, 5, w], connectivity: 4, labels: true }),
          ww,
          `${name} W ${w}`,
        );
      }
    }
  });
});

describe("binarisation: the exact comparison", () => {
  // one row; each pixel isolated by a background pixel, so objects = foreground pixels
  const spaced = (vals: number[]) => {
    const a: number[] = [];
    for (const v of vals) a.push(v, 0);
    return a;
  };
  const objectsOf = (seg: Segloss, p: Float32Array | Float64Array, o: ObjectMetricsOptions = {}) => {
    const t = new Float32Array(p.length);
    const res = seg.objectMetrics(t, p, { shape: [1, p.length], ...o });
    return res.fp[0];
  };

  it("probabilities: p > threshold in float64, also for float32 values next to a non-representable threshold", () => {
    const f03 = Math.fround(0.3); // 0.30000001192…, above 0.3
    const below = Math.fround(0.3 - 2 ** -26); // the float32 below it, under 0.3
    expect(below).toBeLessThan(0.3);
    for (const { name, seg } of builds) {
      expect(objectsOf(seg, Float32Array.from(spaced([f03, below, 0.3])), { threshold: 0.3 }), name).toBe(2); // 0.3 as float32 is f03
      expect(objectsOf(seg, Float32Array.from(spaced([f03, below])), { threshold: 0.3 }), name).toBe(1);
      expect(objectsOf(seg, Float64Array.from(spaced([0.3, 0.3 + 2 ** -54, f03, below])), { threshold: 0.3 }), name).toBe(2);
      expect(objectsOf(seg, Float64Array.from(spaced([0.5, 0.5 + 2 ** -53, 1, 0]))), name).toBe(2);
      expect(objectsOf(seg, Float32Array.from(spaced([0.5, Math.fround(0.5 + 2 ** -24)]))), name).toBe(1);
      expect(objectsOf(seg, Float32Array.from(spaced([0, 2 ** -149, 1])), { threshold: 0 }), name).toBe(2);
      expect(objectsOf(seg, Float32Array.from(spaced([1, 1, 0.99])), { threshold: 1 }), name).toBe(0);
    }
  });

  it("logits: x > ln(threshold / (1 − threshold)) in float64; x > 0 at the default 0.5", () => {
    const cut = Math.log(0.8 / 0.2); // ln 4 = 1.386…
    const f = Math.fround(cut);
    const next = f > cut ? f : Math.fround(f + 2 ** -22);
    const prev = f > cut ? Math.fround(f - 2 ** -23) : f;
    for (const { name, seg } of builds) {
      const o = { fromLogits: true };
      expect(objectsOf(seg, Float32Array.from(spaced([0, -0, 2 ** -149, -(2 ** -149), 14, -14])), o), name).toBe(2);
      expect(objectsOf(seg, Float64Array.from(spaced([0, 1e-300, -1e-300])), o), name).toBe(1);
      expect(objectsOf(seg, Float32Array.from(spaced([next, prev, 3])), { ...o, threshold: 0.8 }), name).toBe(2);
      expect(objectsOf(seg, Float64Array.from(spaced([cut, cut + 4e-16])), { ...o, threshold: 0.8 }), name).toBe(1);
      expect(objectsOf(seg, Float32Array.from(spaced([-1e30, 1e30])), { ...o, threshold: 0 }), name).toBe(1); // x > −∞: all one object
      expect(objectsOf(seg, Float32Array.from(spaced([-1e30, 1e30])), { ...o, threshold: 1 }), name).toBe(0);
      // and against the oracle on random logits
      const r = rng(5);
      const t = makeTarget(r, 2, 20, 30, "blobs");
      const x = makePred(r, t, 2, 20, 30, 0.05).map((v) => {
        const q = Math.min(Math.max(v, 1e-6), 1 - 1e-6);
        return Math.log(q / (1 - q)); // ±14, with exact 0 logits where p = 0.5
      });
      for (const threshold of [0.5, 0.3, 0.9]) {
        const want = oracle.objectMetrics(t, x, 2, 20, 30, { fromLogits: true, threshold });
        expectOracle(
          seg.objectMetrics(t, x, { shape: [2, 20, 30], fromLogits: true, threshold, labels: true }),
          want,
          `${name} logits ${threshold}`,
        );
      }
    }
  });
});

describe("edge cases", () => {
  /** Builds a mask from rows of '#' (1) and '.' (0). */
  const art = (rows: string[]) => ({
    H: rows.length,
    W: rows[0].length,
    data: Float32Array.from(rows.join(""), (c) => (c === "#" ? 1 : 0)),
  });

  it("single-pixel images: the four combinations", () => {
    for (const { name, seg } of builds) {
      const res = (t: number, p: number) => seg.objectMetrics(new Float32Array([t]), new Float32Array([p]), { shape: [1, 1] });
      const hit = res(1, 1);
      expect(Array.from(hit.tp), name).toEqual(new Array(10).fill(1));
      expect(hit.score).toBe(1);
      const miss = res(1, 0);
      expect([miss.tp[0], miss.fp[0], miss.fn[0], miss.score]).toEqual([0, 0, 1, 0]);
      const extra = res(0, 0.7);
      expect([extra.tp[0], extra.fp[0], extra.fn[0], extra.score]).toEqual([0, 1, 0, 0]);
      const none = res(0, 0.5);
      expect([none.tp[0], none.fp[0], none.fn[0], none.score, none.precision[0], none.f1[0], none.f2[0]]).toEqual([0, 0, 0, 1, 1, 1, 1]);
      // a batch of the four
      const b = seg.objectMetrics(new Float32Array([1, 1, 0, 0]), new Float32Array([1, 0, 0.7, 0.5]), { shape: [4, 1, 1] });
      expect(Array.from(b.perImage)).toEqual([1, 0, 0, 1]);
      expect(b.score).toBe(0.5);
      expect([b.tp[9], b.fp[9], b.fn[9]]).toEqual([1, 1, 1]);
      close(b.precision[0], 1 / 3, "precision");
      close(b.f1[0], 2 / 4, "f1");
      close(b.f2[0], 5 / 10, "f2");
    }
  });

  it("all foreground, all background, and one empty side", () => {
    const [H, W] = [33, 70];
    const ones = new Float32Array(H * W).fill(1);
    const zeros = new Float32Array(H * W);
    for (const { name, seg } of builds) {
      for (const conn of [4, 8] as const) {
        const o = { shape: [H, W], connectivity: conn, labels: true };
        const full = seg.objectMetrics(ones, ones, o);
        expect(Array.from(full.tp), name).toEqual(new Array(10).fill(1));
        expect(full.labels?.target.every((v) => v === 1)).toBe(true);
        const empty = seg.objectMetrics(zeros, zeros, o);
        expect([empty.score, empty.tp[0], empty.fp[0], empty.fn[0]]).toEqual([1, 0, 0, 0]);
        expect(empty.labels?.pred.every((v) => v === 0)).toBe(true);
        const fpOnly = seg.objectMetrics(zeros, ones, o);
        expect([fpOnly.score, fpOnly.fp[0], fpOnly.fn[0], fpOnly.precision[0], fpOnly.f1[0]]).toEqual([0, 1, 0, 0, 0]);
        const fnOnly = seg.objectMetrics(ones, zeros, o);
        expect([fnOnly.score, fnOnly.fp[0], fnOnly.fn[0], fnOnly.f2[0]]).toEqual([0, 0, 1, 0]);
      }
    }
  });

  it("diagonal-only blobs: one object with 8-connectivity, one per pixel with 4", () => {
    const shapes = [
      art(["#...", ".#..", "..#.", "...#"]),
      art(["...#", "..#.", ".#..", "#..."]),
      art(["#.#.#.#", ".#.#.#.", "#.#.#.#", ".#.#.#."]), // checkerboard
      art(["#.#", ".#.", "#.#", ".#.", "#.#"]),
    ];
    for (const s of shapes) {
      const pixels = s.data.reduce((a, v) => a + v, 0);
      for (const { name, seg } of builds) {
        const o8 = seg.objectMetrics(s.data, s.data, { shape: [s.H, s.W], labels: true });
        const o4 = seg.objectMetrics(s.data, s.data, { shape: [s.H, s.W], connectivity: 4, labels: true });
        expect(o8.tp[0], `${name} 8`).toBe(1);
        expect(o4.tp[0], `${name} 4`).toBe(pixels);
        expectOracle(o4, oracle.objectMetrics(s.data, s.data, 1, s.H, s.W, { connectivity: 4 }), `${name} diag 4`);
        expectOracle(o8, oracle.objectMetrics(s.data, s.data, 1, s.H, s.W, { connectivity: 8 }), `${name} diag 8`);
      }
    }
  });

  /** A square spiral of width 1 with gap 1, n × n. */
  function spiral(n: number): Float32Array {
    const m = new Float32Array(n * n);
    let [y0, x0, y1, x1] = [0, 0, n - 1, n - 1];
    while (y0 <= y1 && x0 <= x1) {
      for (let x = x0; x <= x1; x++) m[y0 * n + x] = 1;
      for (let y = y0; y <= y1; y++) m[y * n + x1] = 1;
      if (y1 > y0 + 1) for (let x = x0; x <= x1; x++) m[y1 * n + x] = 1;
      if (x1 > x0 + 1) for (let y = y0 + 2; y <= y1; y++) m[y * n + x0] = 1;
      // continue inwards, leaving a gap ring; connect the next ring at its corner
      if (y0 + 2 <= y1 - 2 && x0 + 2 <= x1 - 2) m[(y0 + 2) * n + x0 + 1] = 1;
      [y0, x0, y1, x1] = [y0 + 2, x0 + 2, y1 - 2, x1 - 2];
    }
    return m;
  }

  it("spirals, U-shapes and combs that force label merges: one object each, labels as the flood fill", () => {
    const shapes = [
      art(["#...#", "#...#", "#...#", "#####"]), // U
      art(["#.#.#.#", "#.#.#.#", "#######"]), // comb: four arms merged by the last row
      art(["#######", "#.#.#.#", "#.#.#.#"]), // inverted comb
      art([".#...#.", "..#.#..", "...#..."]), // V: 8-connected arms meeting at the bottom
      art(["#.....#", ".#...#.", "..#.#..", "...#...", "..#.#..", ".#...#.", "#.....#"]), // X
      { H: 31, W: 31, data: spiral(31) },
      { H: 64, W: 64, data: spiral(64) },
    ];
    for (const s of shapes) {
      for (const conn of [4, 8] as const) {
        const want = oracle.objectMetrics(s.data, s.data, 1, s.H, s.W, { connectivity: conn });
        for (const { name, seg } of builds) {
          expectOracle(
            seg.objectMetrics(s.data, s.data, { shape: [s.H, s.W], connectivity: conn, labels: true }),
            want,
            `${name} shape ${conn}`,
          );
        }
      }
      expect(oracle.floodLabels(s.data, s.H, s.W, 8).count).toBe(1);
    }
  });

  it("IoU exactly at a threshold: 3/4 does not match τ = 0.75, 11/20 does not match τ = 0.55", () => {
    for (const { name, seg } of builds) {
      // a 4-pixel target object, 3 of its pixels predicted
      const t34 = seg.objectMetrics(new Float32Array([1, 1, 1, 1]), new Float32Array([1, 1, 1, 0]), { shape: [1, 4] });
      expect(Array.from(t34.tp), name).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
      // 20 target pixels, 11 predicted
      const t = new Float32Array(20).fill(1);
      const p = new Float32Array(20).fill(0.9, 0, 11);
      const r = seg.objectMetrics(t, p, { shape: [4, 5] });
      expect(Array.from(r.tp), name).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      // a prediction larger than the target: IoU 4/5 with τ = 0.8 given explicitly
      const big = seg.objectMetrics(new Float32Array([0, 1, 1, 1, 1]), new Float32Array([1, 1, 1, 1, 1]), {
        shape: [1, 5],
        thresholds: [0.8, 0.79, 4 / 5, 0.8000000000000002],
      });
      expect(Array.from(big.tp), name).toEqual([0, 1, 0, 0]);
      // 2/3 as a threshold computed the same way in float64
      const twoThirds = seg.objectMetrics(new Float32Array([1, 1, 1]), new Float32Array([0, 1, 1]), {
        shape: [1, 3],
        thresholds: [2 / 3, 0.66],
      });
      expect(Array.from(twoThirds.tp), name).toEqual([0, 1]);
    }
  });

  it("thousands of tiny objects (single pixels on a lattice, a few merged or missed)", () => {
    const [H, W] = [80, 101];
    const r = rng(9);
    const t = new Float32Array(H * W);
    const p = new Float32Array(H * W);
    for (let y = 0; y < H; y += 2) {
      for (let x = 0; x < W; x += 2) {
        t[y * W + x] = 1;
        const u = r();
        if (u < 0.85) p[y * W + x] = 0.9;
        if (u > 0.8 && x + 1 < W) p[y * W + x + 1] = 0.9; // grows (IoU 1/2), or bridges to the next
      }
    }
    for (const conn of [4, 8] as const) {
      const want = oracle.objectMetrics(t, p, 1, H, W, { connectivity: conn });
      expect(want.objects.target[0]).toBe(40 * 51);
      for (const { name, seg } of builds) {
        expectOracle(seg.objectMetrics(t, p, { shape: [H, W], connectivity: conn, labels: true }), want, `${name} tiny ${conn}`);
      }
    }
  });

  it("thresholds: any order, duplicates, 0.5 and 1", () => {
    const r = rng(31);
    const t = makeTarget(r, 3, 20, 20, "blobs");
    const p = makePred(r, t, 3, 20, 20, 0.02);
    const thresholds = [0.9, 0.5, 1, 0.5, 0.75, 0.6];
    const want = oracle.objectMetrics(t, p, 3, 20, 20, { thresholds });
    for (const { name, seg } of builds) {
      const got = seg.objectMetrics(t, p, { shape: [3, 20, 20], thresholds: Float64Array.from(thresholds) });
      expectOracle(got, want, name);
      expect(got.tp[2]).toBe(0);
    }
  });
});

describe("errors (SPEC §5)", () => {
  const t = new Float32Array(12).fill(1, 0, 5);
  const p = new Float32Array(12).fill(0.7, 3, 9);
  const cases: [string, (seg: Segloss) => unknown, string, string][] = [
    ["integer predictions", (s) => s.objectMetrics(t, Int32Array.from(p), { shape: [3, 4] }), "E_DTYPE", "pred"],
    [
      "soft target",
      (s) =>
        s.objectMetrics(
          t.map((v) => v * 0.5),
          p,
          { shape: [3, 4] },
        ),
      "E_RANGE",
      "target",
    ],
    ["target 2 (uint8)", (s) => s.objectMetrics(Uint8Array.from(t).fill(2, 11), p, { shape: [3, 4] }), "E_RANGE", "target"],
    ["target −1 (int32)", (s) => s.objectMetrics(Int32Array.from(t).fill(-1, 0, 1), p, { shape: [3, 4] }), "E_RANGE", "target"],
    [
      "target 1 + 1e-12 (float64)",
      (s) => s.objectMetrics(Float64Array.from(t).fill(1 + 1e-12, 0, 1), p, { shape: [3, 4] }),
      "E_RANGE",
      "target",
    ],
    ["NaN target", (s) => s.objectMetrics(t.slice().fill(Number.NaN, 7, 8), p, { shape: [3, 4] }), "E_NONFINITE", "target"],
    [
      "Infinity target",
      (s) => s.objectMetrics(t.slice().fill(Number.POSITIVE_INFINITY, 7, 8), p, { shape: [3, 4] }),
      "E_NONFINITE",
      "target",
    ],
    ["NaN prediction", (s) => s.objectMetrics(t, p.slice().fill(Number.NaN, 11), { shape: [3, 4] }), "E_NONFINITE", "pred"],
    ["p > 1", (s) => s.objectMetrics(t, p.slice().fill(1.5, 2, 3), { shape: [3, 4] }), "E_RANGE", "pred"],
    ["p < 0 (float64)", (s) => s.objectMetrics(t, Float64Array.from(p).fill(-1e-300, 2, 3), { shape: [3, 4] }), "E_RANGE", "pred"],
    [
      "Infinity logit",
      (s) => s.objectMetrics(t, p.slice().fill(Number.NEGATIVE_INFINITY, 0, 1), { shape: [3, 4], fromLogits: true }),
      "E_NONFINITE",
      "pred",
    ],
    [
      "shape mismatch",
      (s) => s.objectMetrics(t, p, { shape: [3, 4] }) && s.objectMetrics({ data: t, shape: [4, 3] }, p, { shape: [3, 4] }),
      "E_SHAPE",
      "target",
    ],
    ["batch mismatch", (s) => s.objectMetrics({ data: t, shape: [2, 1, 6] }, { data: p, shape: [1, 2, 6] }), "E_SHAPE", "target"],
    ["a flat vector", (s) => s.objectMetrics(t, p), "E_SHAPE", "pred"],
    ["a volume [N,C,H,W]", (s) => s.objectMetrics(t, p, { shape: [1, 3, 2, 2] }), "E_SHAPE", "pred"],
    ["a volume [N,1,D,H,W]", (s) => s.objectMetrics(t, p, { shape: [1, 1, 3, 2, 2] }), "E_SHAPE", "pred"],
    ["zero-size", (s) => s.objectMetrics(new Float32Array(0), new Float32Array(0)), "E_EMPTY", "pred"],
    ["unknown option", (s) => s.objectMetrics(t, p, { shape: [3, 4], reduction: "sum" } as never), "E_OPTION", "objectMetrics options"],
    ["connectivity 6", (s) => s.objectMetrics(t, p, { shape: [3, 4], connectivity: 6 as never }), "E_OPTION_RANGE", "opts.connectivity"],
    ["connectivity '8'", (s) => s.objectMetrics(t, p, { shape: [3, 4], connectivity: "8" as never }), "E_OPTION", "opts.connectivity"],
    ["threshold 1.5", (s) => s.objectMetrics(t, p, { shape: [3, 4], threshold: 1.5 }), "E_OPTION_RANGE", "opts.threshold"],
    ["thresholds below 0.5", (s) => s.objectMetrics(t, p, { shape: [3, 4], thresholds: [0.6, 0.45] }), "E_OPTION_RANGE", "opts.thresholds"],
    ["empty thresholds", (s) => s.objectMetrics(t, p, { shape: [3, 4], thresholds: [] }), "E_OPTION_RANGE", "opts.thresholds"],
    ["NaN threshold", (s) => s.objectMetrics(t, p, { shape: [3, 4], thresholds: [Number.NaN] }), "E_OPTION_RANGE", "opts.thresholds"],
    ["thresholds not an array", (s) => s.objectMetrics(t, p, { shape: [3, 4], thresholds: 0.5 as never }), "E_OPTION", "opts.thresholds"],
    ["labels 'yes'", (s) => s.objectMetrics(t, p, { shape: [3, 4], labels: "yes" as never }), "E_OPTION", "opts.labels"],
  ];

  it("every kind of bad input: code, argument and message; inputs unchanged and memory flat", () => {
    for (const { name, seg } of builds) {
      const before = seg.largestFree();
      for (let rep = 0; rep < 200; rep++) {
        for (const [what, f, code, argument] of cases) {
          const tt = t.slice();
          const pp = p.slice();
          const e = catchSegLossError(() => f(seg), `${name} ${what}: no error`);
          expect(e.code, `${name} ${what}`).toBe(code);
          expect(e.argument, `${name} ${what}`).toBe(argument);
          expect(e.message).toMatch(/expected .+, got .+/);
          expect(t).toEqual(tt);
          expect(p).toEqual(pp);
        }
      }
      expect(seg.largestFree(), `${name} memory`).toBe(before);
    }
  });

  it("messages say what was expected and what came", () => {
    const seg = builds[0].seg;
    const msg = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    };
    expect(
      msg(() =>
        seg.objectMetrics(
          t.map((v) => v * 0.5),
          p,
          { shape: [3, 4] },
        ),
      ),
    ).toContain("hard mask of 0 and 1");
    expect(msg(() => seg.objectMetrics(t, p, { shape: [1, 3, 2, 2] }))).toContain("2-D only");
    expect(msg(() => seg.objectMetrics(t, p.slice().fill(2, 0, 1), { shape: [3, 4] }))).toContain("fromLogits");
    expect(msg(() => seg.objectMetrics(t, p, { shape: [3, 4], thresholds: [0.4] }))).toContain("[0.5, 1]");
  });
});

describe("memory", () => {
  it("thousands of calls (with labels, logits, float64, uint8) leave the heap as they found it", () => {
    const r = rng(3);
    const t = makeTarget(r, 3, 21, 45, "noise");
    const p = makePred(r, t, 3, 21, 45, 0.2);
    const x = p.map((v) => v - 0.5);
    const tu = Uint8Array.from(t);
    const pd = Float64Array.from(p);
    for (const { name, seg } of builds) {
      const before = seg.largestFree();
      let acc = 0;
      for (let i = 0; i < 3000; i++) {
        acc += seg.objectMetrics(t, p, { shape: [3, 21, 45] }).score;
        acc += seg.objectMetrics(tu, pd, { shape: [3, 21, 45], labels: true, connectivity: 4 }).score;
        acc += seg.objectMetrics(t, x, { shape: [3, 21, 45], fromLogits: true, thresholds: [0.5] }).score;
      }
      expect(Number.isFinite(acc)).toBe(true);
      expect(seg.largestFree(), `${name}`).toBe(before);
    }
  });

  it("a batch larger than a small instance's memory streams through it with the same numbers", async () => {
    const small = await create({ memoryBytes: 1 << 20 });
    const big = builds[0].seg;
    const [N, H, W] = [20, 256, 512]; // 10.5 MB of float32 per input: groups of images, chunks of rows
    const r = rng(4);
    const t = makeTarget(r, N, H, W, "blobs");
    const p = makePred(r, t, N, H, W, 0.01);
    const before = small.largestFree();
    const a = small.objectMetrics(t, p, { shape: [N, H, W], labels: true });
    const b = big.objectMetrics(t, p, { shape: [N, H, W], labels: true });
    const { labels: la, ...ra } = a;
    const { labels: lb, ...rb } = b;
    expect(ra).toEqual(rb);
    expect(Buffer.compare(Buffer.from(la!.target.buffer), Buffer.from(lb!.target.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(la!.pred.buffer), Buffer.from(lb!.pred.buffer))).toBe(0);
    expect(small.largestFree()).toBe(before);
    const want = oracle.objectMetrics(t.subarray(0, 4 * H * W), p.subarray(0, 4 * H * W), 4, H, W, {});
    expectOracle(small.objectMetrics(t.subarray(0, 4 * H * W), p.subarray(0, 4 * H * W), { shape: [4, H, W] }), want, "small");
  });

  it("staged chunks that cut images mid-way and several groups of images agree with the oracle", async () => {
    const small = await create({ memoryBytes: 1 << 20 });
    const [N, H, W] = [12, 200, 500]; // chunks of 65 rows; on 1 MiB the bits come in groups of a few images
    const r = rng(12);
    const t = makeTarget(r, N, H, W, "blobs");
    const p = makePred(r, t, N, H, W, 0.01);
    for (const connectivity of [8, 4] as const) {
      const want = oracle.objectMetrics(t, p, N, H, W, { connectivity });
      const before = small.largestFree();
      for (const [what, seg] of [
        ["small", small],
        ["default", builds[0].seg],
        ["scalar", builds[1].seg],
      ] as const) {
        expectOracle(seg.objectMetrics(t, p, { shape: [N, H, W], connectivity, labels: true }), want, `${what} f32 ${connectivity}`);
        expectOracle(
          seg.objectMetrics(Uint8Array.from(t), Float64Array.from(p), { shape: [N, 1, H, W], connectivity }),
          want,
          `${what} u8/f64 ${connectivity}`,
        );
      }
      expect(small.largestFree()).toBe(before);
    }
  });

  it("an image whose runs do not fit gives E_MEMORY, a NaN in the last image E_NONFINITE; both leave memory flat", async () => {
    const small = await create({ memoryBytes: 1 << 20 });
    const before = small.largestFree();
    // a checkerboard: one run per two pixels in both masks, 512 × 512
    const n = 512 * 512;
    const board = new Float32Array(n).map((_, i) => ((i + (i >> 9)) & 1 ? 1 : 0));
    for (let i = 0; i < 50; i++) {
      expect(catchSegLossError(() => small.objectMetrics(board, board, { shape: [512, 512] }), "no E_MEMORY").code).toBe("E_MEMORY");
      const p = new Float32Array(8 * 64 * 64).fill(0.25);
      p[p.length - 1] = Number.NaN;
      const e = catchSegLossError(() => small.objectMetrics(new Float32Array(p.length), p, { shape: [8, 64, 64] }), "no E_NONFINITE");
      expect(e.code).toBe("E_NONFINITE");
    }
    expect(small.largestFree()).toBe(before);
  });
});
