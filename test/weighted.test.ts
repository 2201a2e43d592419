// The boundary-weighted family against its float64 oracle (test/oracle/weighted.ts):
// the oracle's own checks (TF's SAME pool via tfjs-cpu, hand-worked numbers,
// analytic gradients vs central differences), then boundaryWeights, weightedBce,
// weightedDice and weightedBceDice on both builds over shapes, windows, options
// and edge cases, the staging paths, errors and flat memory.
import { beforeAll, describe, expect, it } from "vitest";
import { create, SegLossError } from "../src/index";
import { type Build, bothBuilds, rng, within, withinAll } from "./helpers";
import * as oracle from "./oracle/weighted";

type Kind = "hard" | "soft" | "empty" | "full" | "blobs";

interface Img {
  t: Float32Array;
  p: Float32Array;
  x: Float32Array;
  N: number;
  H: number;
  W: number;
}

/** N H×W images: targets of a kind, probabilities in [0, 1] (with exact 0 and 1 now and then), logits in [−8, 8]. */
function makeImages(seed: number, N: number, H: number, W: number, kind: Kind): Img {
  const r = rng(seed);
  const n = N * H * W;
  const t = new Float32Array(n);
  const p = new Float32Array(n);
  const x = new Float32Array(n);
  // blobs: a few discs, so the map has real boundaries
  const discs = Array.from({ length: N * 3 }, () => [r() * H, r() * W, 1 + r() * Math.max(H, W) * 0.4]);
  for (let m = 0; m < N; m++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const at = (m * H + i) * W + j;
        if (kind === "hard") t[at] = r() < 0.4 ? 1 : 0;
        else if (kind === "soft") t[at] = r();
        else if (kind === "full") t[at] = 1;
        else if (kind === "blobs")
          t[at] = discs.slice(3 * m, 3 * m + 3).some(([a, b, rad]) => (i - a) ** 2 + (j - b) ** 2 < rad * rad) ? 1 : 0;
        const u = r();
        p[at] = u < 0.02 ? 0 : u > 0.98 ? 1 : Math.min(1, Math.max(0, 0.55 * t[at] + 0.45 * r()));
        x[at] = (r() - 0.5) * 16;
      }
    }
  }
  return { t, p, x, N, H, W };
}

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

// ---------------------------------------------------------------- the oracle itself

describe("oracle self-check", () => {
  it("avgPoolSame is TensorFlow's SAME average pool (tfjs-cpu): even, odd, rectangular, larger than the image", async () => {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
    const cases: [number, number, number, [number, number]][] = [
      [2, 7, 9, [4, 4]],
      [1, 7, 9, [3, 3]],
      [1, 6, 5, [2, 5]],
      [1, 5, 8, [6, 1]],
      [1, 4, 3, [50, 50]],
      [1, 1, 7, [4, 4]],
      [1, 7, 1, [5, 2]],
      [1, 1, 1, [50, 50]],
      [1, 9, 9, [1, 1]],
    ];
    let seed = 1;
    for (const [N, H, W, [kh, kw]] of cases) {
      const { t } = makeImages(seed++, N, H, W, "soft");
      const got = tf.tidy(() => tf.avgPool(tf.tensor4d(t, [N, H, W, 1]), [kh, kw], 1, "same").dataSync());
      const want = oracle.avgPoolSame(t, N, H, W, kh, kw);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${H}×${W} k ${kh}×${kw} [${i}]`).toBeLessThan(1e-6);
    }
  });

  it("hand-worked maps: k = 2 on a 1×3 row, k = 50 on a 4×4 image, the band thresholds", () => {
    // k = 2: window = the cell and the next one (0 before, 1 after)
    const a = oracle.avgPoolSame([1, 0, 0], 1, 1, 3, 2, 2);
    expect(Array.from(a)).toEqual([0.5, 0, 0]);
    // k larger than the image: every window covers the whole image
    const b = oracle.avgPoolSame([1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], 1, 4, 4, 50, 50);
    expect(Array.from(new Set(b))).toEqual([6 / 16]);
    // w = 5·e^(−5|a − 0.5|): a = 0.5 → 5, a = 0 → 5·e^(−2.5); normalised to mean 1
    const w = oracle.boundaryWeights([1, 0], 1, 1, 2, { kernel: 2, normalize: false });
    within(w[0], 5, "w at a = 0.5");
    within(w[1], 5 * Math.exp(-2.5), "w at a = 0");
    const wn = oracle.boundaryWeights([1, 0], 1, 1, 2, { kernel: 2 });
    within(wn[0] + wn[1], 2, "normalised sum");
    // band: a = 1/121 (> 0.005) is inside, 0 and 1 are not
    const t = new Float64Array(121);
    t[60] = 1;
    const band = oracle.boundaryWeights(t, 1, 11, 11, { mode: "band", normalize: false });
    expect(band[0]).toBe(3);
    expect(oracle.boundaryWeights(new Float64Array(4), 1, 2, 2, { mode: "band", normalize: false })[0]).toBe(1);
  });

  it("weighted BCE anchors: Keras's 15.942 at p = 1, t = 0 (w = 1); the TF pos_weight form; w = 1 equals plain BCE", () => {
    within(oracle.weightedBce([0], [1], [1]).value as number, 15.942385, "p = 1, t = 0");
    within(oracle.weightedBce([1], [0], [1]).value as number, 16.118095, "p = 0, t = 1");
    // t = 1: ℓ = w·(−ln p); t = 0: ℓ = −ln(1 − p); mean divides by Σw
    within(oracle.weightedBce([1, 0], [0.25, 0.25], [3, 1]).value as number, (3 * -Math.log(0.25) - Math.log(0.75)) / 4, "two pixels");
    within(
      oracle.weightedBce([1, 0], [0.25, 0.25], [3, 1], { style: "all" }).value as number,
      (3 * -Math.log(0.25) - Math.log(0.75)) / 4,
      "all, hard t",
    );
    within(
      oracle.weightedBce([0.5], [0.25], [3], { style: "all", reduction: "sum" }).value as number,
      3 * (-0.5 * Math.log(0.25) - 0.5 * Math.log(0.75)),
      "all, soft t",
    );
    within(
      oracle.weightedBce([0.5], [0.25], [3], { reduction: "sum" }).value as number,
      -1.5 * Math.log(0.25) - 0.5 * Math.log(0.75),
      "positive, soft t",
    );
    // Dice: (2·3·1·0.5 + 1)/(3 + 3·0.5 + 1·0.2 + 1)
    within(oracle.weightedDice([1, 0], [0.5, 0.2], [3, 1]).value as number, 1 - 4 / 5.7, "weighted Dice");
    within(oracle.weightedDice([1, 0], [0.5, 0.2], [3, 1], { power: 2 }).value as number, 1 - 10 / 14.7, "w² Dice");
  });

  it("analytic gradients = central differences (h = 1e-6)", () => {
    const h = 1e-6;
    const check = (f: (p: Float64Array) => oracle.Result, p0: Float64Array, what: string) => {
      const g = f(p0).grad as Float64Array;
      for (let i = 0; i < p0.length; i++) {
        const a = Float64Array.from(p0);
        const b = Float64Array.from(p0);
        a[i] += h;
        b[i] -= h;
        const fd = ((f(a).value as number) - (f(b).value as number)) / (2 * h);
        expect(Math.abs(fd - g[i]), `${what} [${i}]: fd ${fd} vs ${g[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(g[i])));
      }
    };
    const N = 2;
    const H = 3;
    const W = 4;
    for (const kind of ["hard", "soft"] as const) {
      const c = makeImages(7, N, H, W, kind);
      // keep p away from the clip and from 0/1 so the difference quotient is smooth
      const p = Float64Array.from(c.p, (v) => 0.05 + 0.9 * v);
      const x = Float64Array.from(c.x, (v) => v / 4);
      const w = Float64Array.from(c.t, (v, i) => 0.5 + v + (i % 3));
      for (const style of ["positive", "all"] as const) {
        for (const fromLogits of [false, true]) {
          const p0 = fromLogits ? x : p;
          check((q) => oracle.weightedBce(c.t, q, w, { style, fromLogits }), p0, `bce ${kind} ${style} ${fromLogits}`);
          check((q) => oracle.weightedBce(c.t, q, w, { style, fromLogits, reduction: "sum" }), p0, `bce sum ${kind} ${style}`);
        }
      }
      for (const power of [1, 2]) {
        check((q) => oracle.weightedDice(c.t, q, w, { power }), p, `dice ${kind} ${power}`);
        check((q) => oracle.weightedDice(c.t, q, w, { power, fromLogits: true, smooth: 0.5 }), x, `dice logits ${kind} ${power}`);
      }
      for (const opts of [
        {},
        { mode: "band" as const, kernel: 3 },
        { dicePower: 2, style: "all" as const, kernel: [2, 3] as [number, number] },
      ]) {
        check((q) => oracle.weightedBceDice(c.t, q, N, H, W, opts), p, `bceDice ${kind} ${JSON.stringify(opts)}`);
        check((q) => oracle.weightedBceDice(c.t, q, N, H, W, { ...opts, fromLogits: true }), x, `bceDice logits ${kind}`);
      }
    }
  });
});

// ---------------------------------------------------------------- boundaryWeights

type Geom = [number, number, number];

const MAP_GEOMS: Geom[] = [
  [1, 1, 1],
  [1, 1, 9],
  [1, 9, 1],
  [2, 3, 5],
  [1, 7, 13],
  [3, 16, 17],
  [1, 33, 20],
  [2, 60, 61],
];

const KERNELS: (number | [number, number])[] = [1, 2, 3, 4, 5, 8, 11, 50, [3, 7], [8, 2], [1, 6], 1000];

/** The shape forms a binary [N,H,W] target may take ([N,1,W,1] reads as NCHW, so [N,H,W,1] only for H > 1). */
function shapes(N: number, H: number, W: number): number[][] {
  const s = [[N, H, W], ...(H > 1 ? [[N, H, W, 1]] : []), [N, 1, H, W]];
  if (N === 1) s.push([H, W]);
  return s;
}

describe("boundaryWeights", () => {
  it("matches the oracle: shapes, even/odd/rectangular windows, windows larger than the image, both modes", () => {
    let seed = 100;
    for (const [N, H, W] of MAP_GEOMS) {
      for (const kind of ["blobs", "hard", "soft", "empty", "full"] as Kind[]) {
        const c = makeImages(seed++, N, H, W, kind);
        for (const kernel of KERNELS) {
          for (const mode of ["exp", "band"] as const) {
            const want = oracle.boundaryWeights(c.t, N, H, W, { kernel, mode });
            for (const { name, seg } of builds) {
              const got = seg.boundaryWeights(c.t, { shape: [N, H, W], kernel, mode });
              expect(got.shape).toEqual([N, H, W]);
              withinAll(got.data, want, `${name} ${N}×${H}×${W} ${kind} k ${kernel} ${mode}`);
            }
          }
        }
      }
    }
  });

  it("defaults (k = 50 exp, k = 11 band), normalize: false, every shape form and target dtype", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(5, 2, 70, 64, "blobs");
      for (const mode of ["exp", "band"] as const) {
        for (const normalize of [true, false]) {
          const want = oracle.boundaryWeights(c.t, 2, 70, 64, { mode, normalize });
          for (const shape of shapes(2, 70, 64)) {
            const got = seg.boundaryWeights({ data: c.t, shape }, { mode, normalize });
            expect(got.shape).toEqual(shape);
            withinAll(got.data, want, `${name} ${mode} ${normalize} [${shape}]`);
          }
          for (const data of [Uint8Array.from(c.t), Float64Array.from(c.t), Int32Array.from(c.t)]) {
            withinAll(seg.boundaryWeights(data, { shape: [2, 70, 64], mode, normalize }).data, want, `${name} ${data.constructor.name}`);
          }
        }
      }
      const one = makeImages(6, 1, 12, 9, "hard");
      withinAll(
        seg.boundaryWeights(one.t, { shape: [12, 9], kernel: 4 }).data,
        oracle.boundaryWeights(one.t, 1, 12, 9, { kernel: 4 }),
        `${name} [H,W]`,
      );
    }
  });

  it("[N,1,H,1] reads as NCHW (an H×1 image); rank 3 is never ambiguous", () => {
    for (const { seg } of builds) {
      const c = makeImages(12, 1, 9, 1, "hard");
      const tall = oracle.boundaryWeights(c.t, 1, 9, 1, { kernel: [5, 2] });
      const wide = oracle.boundaryWeights(c.t, 1, 1, 9, { kernel: [5, 2] });
      withinAll(seg.boundaryWeights({ data: c.t, shape: [1, 1, 9, 1] }, { kernel: [5, 2] }).data, tall, "NCHW");
      withinAll(seg.boundaryWeights({ data: c.t, shape: [1, 9, 1] }, { kernel: [5, 2] }).data, tall, "[N,H,1]");
      withinAll(seg.boundaryWeights({ data: c.t, shape: [1, 1, 9] }, { kernel: [5, 2] }).data, wide, "[N,1,W]");
    }
  });

  it("band weights are exact: 1 or 3 times the batch scale, thresholds on float32 averages", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(9, 2, 40, 37, "blobs");
      for (const kernel of [11, 21, 41, 4]) {
        const got = seg.boundaryWeights(c.t, { shape: [2, 40, 37], mode: "band", kernel, normalize: false });
        const want = oracle.boundaryWeights(c.t, 2, 40, 37, { mode: "band", kernel, normalize: false });
        expect(Array.from(got.data), `${name} k ${kernel}`).toEqual(Array.from(want));
      }
    }
  });

  it("all-background and all-foreground images give a constant map of mean 1", () => {
    for (const { seg } of builds) {
      for (const kind of ["empty", "full"] as Kind[]) {
        const c = makeImages(1, 3, 10, 11, kind);
        for (const mode of ["exp", "band"] as const) {
          const got = seg.boundaryWeights(c.t, { shape: [3, 10, 11], mode });
          for (const v of got.data) within(v, 1, `${kind} ${mode}`);
        }
      }
    }
  });

  it("the normalisation couples the batch: an image's map depends on the others", () => {
    for (const { seg } of builds) {
      const a = makeImages(2, 1, 20, 20, "blobs");
      const b = makeImages(3, 1, 20, 20, "empty");
      const both = new Float32Array(800);
      both.set(a.t);
      both.set(b.t, 400);
      const alone = seg.boundaryWeights(a.t, { shape: [1, 20, 20], kernel: 5 }).data;
      const joint = seg.boundaryWeights(both, { shape: [2, 20, 20], kernel: 5 }).data.subarray(0, 400);
      expect(Math.abs(alone[0] - joint[0])).toBeGreaterThan(1e-3);
      withinAll(joint, oracle.boundaryWeights(both, 2, 20, 20, { kernel: 5 }).subarray(0, 400), "joint");
    }
  });

  it("writes into opts.out, also in WebAssembly memory (in place), with the same numbers", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(4, 3, 30, 29, "blobs");
      const want = oracle.boundaryWeights(c.t, 3, 30, 29, { kernel: 7 });
      const out = new Float32Array(c.t.length);
      expect(seg.boundaryWeights(c.t, { shape: [3, 30, 29], kernel: 7, out }).data).toBe(out);
      withinAll(out, want, `${name} out`);
      const tv = seg.alloc(Float32Array, c.t.length);
      const ov = seg.alloc(Float32Array, c.t.length);
      try {
        tv.set(c.t);
        for (const normalize of [true, false]) {
          const w = oracle.boundaryWeights(c.t, 3, 30, 29, { kernel: 7, normalize });
          seg.boundaryWeights(tv, { shape: [3, 30, 29], kernel: 7, out: ov, normalize });
          withinAll(ov, w, `${name} resident ${normalize}`);
          withinAll(seg.boundaryWeights(tv, { shape: [3, 30, 29], kernel: 7, normalize }).data, w, `${name} resident t`);
        }
      } finally {
        seg.free(tv);
        seg.free(ov);
      }
    }
  });
});

// ---------------------------------------------------------------- weightedBce / weightedDice

const LENGTHS: Geom[] = [
  [1, 1, 1],
  [1, 1, 3],
  [2, 1, 5],
  [1, 4, 4],
  [2, 3, 7],
  [3, 5, 17],
  [2, 64, 65],
];

const BCE_OPTIONS: Record<string, unknown>[] = [
  {},
  { style: "all" },
  { reduction: "sum" },
  { fromLogits: true },
  { fromLogits: true, style: "all", reduction: "sum" },
];
const DICE_OPTIONS: Record<string, unknown>[] = [
  {},
  { power: 2 },
  { smooth: 0.25 },
  { fromLogits: true },
  { fromLogits: true, power: 2, smooth: 0 },
];

/** Weights ≥ 0 with some exact zeros and large values. */
function weightsFor(seed: number, n: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r();
    return u < 0.05 ? 0 : u < 0.1 ? 20 * r() : 3 * r();
  });
}

describe("weightedBce and weightedDice (weight tensor)", () => {
  for (const fn of ["weightedBce", "weightedDice"] as const) {
    const sets = fn === "weightedBce" ? BCE_OPTIONS : DICE_OPTIONS;
    for (const opts of sets) {
      it(`${fn} matches the oracle with ${JSON.stringify(opts)}`, () => {
        for (const { name, seg } of builds) {
          let seed = 1;
          for (const [N, H, W] of LENGTHS) {
            for (const kind of ["hard", "soft", "empty", "full"] as Kind[]) {
              const c = makeImages(seed, N, H, W, kind);
              const w = weightsFor(seed++, c.t.length);
              if (kind !== "soft") w[0] = 1; // Σw > 0 for the mean
              const pred = opts.fromLogits ? c.x : c.p;
              const shape = [N, H, W];
              const want = fn === "weightedBce" ? oracle.weightedBce(c.t, pred, w, opts) : oracle.weightedDice(c.t, pred, w, opts);
              const label = `${name} ${fn} ${JSON.stringify(opts)} ${kind} ${shape}`;
              within(seg[fn](c.t, pred, w, { ...opts, shape }) as number, want.value as number, `${label} value`);
              const g = seg[`${fn}Grad`](c.t, pred, w, { ...opts, shape });
              within(g.loss, want.value as number, `${label} loss`);
              withinAll(g.grad, want.grad as Float64Array, `${label} grad`);
            }
          }
        }
      });
    }
  }

  it("reduction 'none': weightedBce per element, weightedDice one batch term", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(3, 2, 9, 7, "soft");
      const w = weightsFor(3, c.t.length);
      for (const style of ["positive", "all"] as const) {
        const got = seg.weightedBce(c.t, c.p, w, { shape: [2, 9, 7], style, reduction: "none" }) as Float32Array;
        withinAll(got, oracle.weightedBce(c.t, c.p, w, { style, reduction: "none" }).value as Float64Array, `${name} bce none ${style}`);
      }
      const d = seg.weightedDice(c.t, c.p, w, { shape: [2, 9, 7], reduction: "none" }) as Float32Array;
      expect(d.length).toBe(1);
      within(d[0], oracle.weightedDice(c.t, c.p, w).value as number, `${name} dice none`);
    }
  });

  it("opts.out receives the gradient; Float64Array predictions; a [N,1,H,W] prediction with an [N,H,W] target", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(8, 2, 6, 5, "hard");
      const w = weightsFor(8, c.t.length);
      const want = oracle.weightedBce(c.t, c.p, w);
      const out = new Float32Array(c.t.length);
      const g = seg.weightedBceGrad({ data: c.t, shape: [2, 6, 5] }, { data: Float64Array.from(c.p), shape: [2, 1, 6, 5] }, w, { out });
      expect(g.grad).toBe(out);
      within(g.loss, want.value as number, `${name} loss`);
      withinAll(out, want.grad as Float64Array, `${name} grad`);
    }
  });
});

// ---------------------------------------------------------------- weightedBceDice

const BCE_DICE_OPTIONS: Record<string, unknown>[] = [
  {},
  { kernel: 3 },
  { kernel: 4, style: "all" },
  { mode: "band" },
  { mode: "band", kernel: [5, 2], dicePower: 2 },
  { normalize: false, kernel: 1 },
  { fromLogits: true, kernel: 6 },
  { reduction: "sum", dicePower: 1, smooth: 0.5, kernel: 7 },
  { fromLogits: true, mode: "band", kernel: 9, style: "all", dicePower: 1 },
];

const BCE_DICE_GEOMS: Geom[] = [
  [1, 1, 1],
  [1, 1, 7],
  [1, 6, 1],
  [2, 4, 5],
  [1, 9, 12],
  [3, 17, 16],
  [2, 40, 33],
];

describe("weightedBceDice", () => {
  for (const opts of BCE_DICE_OPTIONS) {
    it(`matches the oracle with ${JSON.stringify(opts)}`, () => {
      for (const { name, seg } of builds) {
        let seed = 40;
        for (const [N, H, W] of BCE_DICE_GEOMS) {
          for (const kind of ["blobs", "hard", "soft", "empty", "full"] as Kind[]) {
            const c = makeImages(seed++, N, H, W, kind);
            const pred = opts.fromLogits ? c.x : c.p;
            const want = oracle.weightedBceDice(c.t, pred, N, H, W, opts as oracle.BceDiceOpts);
            const label = `${name} ${JSON.stringify(opts)} ${kind} ${N}×${H}×${W}`;
            for (const shape of shapes(N, H, W).slice(0, 2)) {
              if (shape.length === 4 && shape[1] === 1) continue;
              within(seg.weightedBceDice(c.t, pred, { ...opts, shape }), want.value as number, `${label} [${shape}] value`);
            }
            const g = seg.weightedBceDiceGrad(c.t, pred, { ...opts, shape: [N, 1, H, W] });
            within(g.loss, want.value as number, `${label} loss`);
            withinAll(g.grad, want.grad as Float64Array, `${label} grad`);
          }
        }
      }
    });
  }

  it("the gradient may overwrite the prediction (opts.out = pred), in and out of WebAssembly memory", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(14, 2, 20, 19, "blobs");
      const want = oracle.weightedBceDice(c.t, c.p, 2, 20, 19, { kernel: 6 });
      const p = Float32Array.from(c.p);
      within(seg.weightedBceDiceGrad(c.t, p, { shape: [2, 20, 19], kernel: 6, out: p }).loss, want.value as number, `${name} loss`);
      withinAll(p, want.grad as Float64Array, `${name} grad over pred`);
      const pv = seg.alloc(Float32Array, c.p.length);
      try {
        pv.set(c.p);
        seg.weightedBceDiceGrad(c.t, pv, { shape: [2, 20, 19], kernel: 6, out: pv });
        withinAll(pv, want.grad as Float64Array, `${name} resident grad over pred`);
      } finally {
        seg.free(pv);
      }
    }
  });

  it("a precomputed weight map (opts.weight) gives the same numbers as the map built inside", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(11, 2, 30, 31, "blobs");
      const map = seg.boundaryWeights(c.t, { shape: [2, 30, 31], kernel: 9 });
      const want = oracle.weightedBceDice(c.t, c.p, 2, 30, 31, { kernel: 9 });
      within(seg.weightedBceDice(c.t, c.p, { shape: [2, 30, 31], kernel: 9 }), want.value as number, `${name} inside`);
      const given = seg.weightedBceDiceGrad(c.t, c.p, { shape: [2, 30, 31], weight: map });
      within(given.loss, want.value as number, `${name} given`);
      withinAll(given.grad, want.grad as Float64Array, `${name} given grad`);
      const w = weightsFor(11, c.t.length);
      const o2 = oracle.weightedBceDice(c.t, c.p, 2, 30, 31, { weight: w, dicePower: 2, style: "all" });
      within(
        seg.weightedBceDice(c.t, c.p, { shape: [2, 30, 31], weight: w, dicePower: 2, style: "all" }),
        o2.value as number,
        `${name} any weight`,
      );
    }
  });

  // full windows (all kh × kw cells inside the image) take their exp weight from a table by box sum; the
  // columns around them and the rows near the top and bottom take the division and the exp
  it("full windows (weights from a table by box sum) and the edges around them, widths around the vector alignment", () => {
    for (const { name, seg } of builds) {
      for (const [N, H, W, kernel] of [
        [1, 60, 53, 50],
        [1, 61, 55, 50],
        [2, 57, 58, [49, 47]],
        [1, 40, 40, [3, 8]],
        [1, 33, 36, 1],
      ] as [number, number, number, number | [number, number]][]) {
        const c = makeImages(N * H * W, N, H, W, "blobs");
        const want = oracle.weightedBceDice(c.t, c.p, N, H, W, { kernel });
        const g = seg.weightedBceDiceGrad(c.t, c.p, { shape: [N, H, W], kernel });
        const label = `${name} ${N}×${H}×${W} k=${kernel}`;
        within(seg.weightedBceDice(c.t, c.p, { shape: [N, H, W], kernel }), want.value as number, `${label} value`);
        within(g.loss, want.value as number, `${label} loss`);
        withinAll(g.grad, want.grad as Float64Array, `${label} grad`);
      }
    }
  });

  it("the default window (50) on images larger and smaller than it", () => {
    for (const { name, seg } of builds) {
      for (const [N, H, W] of [
        [2, 64, 70],
        [1, 30, 20],
        [1, 120, 3],
      ] as Geom[]) {
        const c = makeImages(N * H + W, N, H, W, "blobs");
        const want = oracle.weightedBceDice(c.t, c.p, N, H, W);
        const g = seg.weightedBceDiceGrad(c.t, c.p, { shape: [N, H, W] });
        within(g.loss, want.value as number, `${name} ${N}×${H}×${W} loss`);
        withinAll(g.grad, want.grad as Float64Array, `${name} ${N}×${H}×${W} grad`);
      }
    }
  });
});

// ---------------------------------------------------------------- random configurations

describe("random configurations (seeded): shapes, windows, options, extreme probabilities and logits", () => {
  it("every function matches the oracle on both builds", () => {
    const r = rng(2024);
    const extremes = [0, 1, Math.fround(1e-7), Math.fround(1 - 1e-7), 1e-8, 0.99999994, 0.5, 1e-3];
    for (let iter = 0; iter < 150; iter++) {
      const N = 1 + Math.floor(r() * 3);
      const H = 1 + Math.floor(r() * 40);
      const W = 1 + Math.floor(r() * 40);
      const n = N * H * W;
      const kind = Math.floor(r() * 4);
      const t = Float32Array.from({ length: n }, () =>
        kind === 0
          ? r() < 0.3
            ? 1
            : 0
          : kind === 1
            ? r() < 0.3
              ? r() < 0.5
                ? 1e-6
                : 1 - 1e-6
              : r()
            : kind === 2
              ? 0
              : r() < 0.9
                ? 1
                : 0,
      );
      const fromLogits = r() < 0.3;
      const p = Float32Array.from({ length: n }, () =>
        fromLogits ? (r() - 0.5) * (r() < 0.1 ? 200 : 30) : r() < 0.15 ? extremes[Math.floor(r() * extremes.length)] : r(),
      );
      const kernel = r() < 0.3 ? ([1 + Math.floor(r() * 60), 1 + Math.floor(r() * 60)] as [number, number]) : 1 + Math.floor(r() * 60);
      const opts: oracle.BceDiceOpts = {
        kernel,
        mode: r() < 0.3 ? "band" : "exp",
        fromLogits,
        style: r() < 0.5 ? "all" : "positive",
        dicePower: Math.floor(r() * 3),
        reduction: r() < 0.3 ? "sum" : "mean",
        normalize: r() < 0.8,
        smooth: r() < 0.5 ? 1 : r() * 2,
      };
      const shape = [N, H, W];
      const label = `#${iter} ${shape} ${kind} ${JSON.stringify(opts)}`;
      const want = oracle.weightedBceDice(t, p, N, H, W, opts);
      const map = oracle.boundaryWeights(t, N, H, W, opts);
      const w = Float32Array.from(map);
      const bceOpts = { fromLogits, style: opts.style, reduction: opts.reduction };
      const power = (1 + Math.floor(r() * 2)) as 1 | 2;
      const wantBce = oracle.weightedBce(t, p, w, bceOpts);
      const wantDice = oracle.weightedDice(t, p, w, { fromLogits, power, smooth: opts.smooth });
      for (const { name, seg } of builds) {
        const g = seg.weightedBceDiceGrad(t, p, { ...opts, shape } as never);
        within(g.loss, want.value as number, `${name} ${label} loss`);
        withinAll(g.grad, want.grad as Float64Array, `${name} ${label} grad`);
        const m = seg.boundaryWeights(t, { shape, kernel, mode: opts.mode, normalize: opts.normalize });
        withinAll(m.data, map, `${name} ${label} map`);
        const b = seg.weightedBceGrad(t, p, w, { ...bceOpts, shape });
        within(b.loss, wantBce.value as number, `${name} ${label} weightedBce`);
        withinAll(b.grad, wantBce.grad as Float64Array, `${name} ${label} weightedBce grad`);
        const d = seg.weightedDiceGrad(t, p, w, { fromLogits, power, smooth: opts.smooth, shape });
        within(d.loss, wantDice.value as number, `${name} ${label} weightedDice`);
        withinAll(d.grad, wantDice.grad as Float64Array, `${name} ${label} weightedDice grad`);
      }
    }
  });
});

// ---------------------------------------------------------------- staging paths

describe("staging: resident inputs, groups of images, row bands in a small memory", () => {
  it("inputs in WebAssembly memory give the numbers of copied inputs", () => {
    for (const { name, seg } of builds) {
      const c = makeImages(21, 3, 25, 27, "blobs");
      const o = { shape: [3, 25, 27], kernel: 8 };
      const want = oracle.weightedBceDice(c.t, c.p, 3, 25, 27, o);
      const tv = seg.alloc(Float32Array, c.t.length);
      const pv = seg.alloc(Float32Array, c.t.length);
      const gv = seg.alloc(Float32Array, c.t.length);
      try {
        tv.set(c.t);
        pv.set(c.p);
        for (const [t, p] of [
          [tv, pv],
          [tv, c.p],
          [c.t, pv],
        ]) {
          const g = seg.weightedBceDiceGrad(t, p, { ...o, out: gv });
          within(g.loss, want.value as number, `${name} loss`);
          withinAll(gv, want.grad as Float64Array, `${name} grad`);
        }
      } finally {
        seg.free(tv);
        seg.free(pv);
        seg.free(gv);
      }
    }
  });

  it("many small images are grouped per call; a 1 MiB instance streams a large image in row bands", async () => {
    for (const simd of [true, false]) {
      const small = await create({ simd, memoryBytes: 1 << 20 });
      const seg = builds[simd ? 0 : 1].seg;
      // many small images
      const many = makeImages(31, 400, 6, 7, "hard");
      const wantMany = oracle.weightedBceDice(many.t, many.p, 400, 6, 7, { kernel: 3 });
      within(seg.weightedBceDice(many.t, many.p, { shape: [400, 6, 7], kernel: 3 }), wantMany.value as number, "grouped");
      // one image of 4 × 256 KiB arrays does not fit in 1 MiB: bands of rows with the window's halo
      const big = makeImages(32, 1, 300, 260, "blobs");
      for (const kind of ["blobs", "soft"] as Kind[]) {
        const c = kind === "blobs" ? big : makeImages(33, 1, 300, 260, "soft");
        for (const kernel of [50, 11, [7, 120] as [number, number]]) {
          const o = { shape: [1, 300, 260], kernel };
          const ref = seg.weightedBceDiceGrad(c.t, c.p, o);
          const got = small.weightedBceDiceGrad(c.t, c.p, o);
          within(got.loss, ref.loss, `${simd} ${kind} ${kernel} band loss`);
          withinAll(got.grad, ref.grad, `${simd} ${kind} ${kernel} band grad`);
          withinAll(small.boundaryWeights(c.t, o).data, seg.boundaryWeights(c.t, o).data, `${simd} ${kind} ${kernel} band map`);
        }
      }
      // a resident target with a staged prediction and gradient: bands of p and g only
      const tv = small.alloc(Float32Array, big.t.length);
      try {
        tv.set(big.t);
        const o = { shape: [1, 300, 260], kernel: 31 };
        const ref = seg.weightedBceDiceGrad(big.t, big.p, o);
        const got = small.weightedBceDiceGrad(tv, big.p, o);
        within(got.loss, ref.loss, `${simd} resident t loss`);
        withinAll(got.grad, ref.grad, `${simd} resident t grad`);
        withinAll(small.boundaryWeights(tv, o).data, seg.boundaryWeights(big.t, o).data, `${simd} resident t map`);
      } finally {
        small.free(tv);
      }
      // and the band path against the oracle itself on a smaller window
      const want = oracle.weightedBceDice(big.t, big.p, 1, 300, 260, { kernel: 5 });
      within(small.weightedBceDice(big.t, big.p, { shape: [300, 260], kernel: 5 }), want.value as number, `${simd} band vs oracle`);
    }
  });
});

// ---------------------------------------------------------------- errors and memory

function expectError(f: () => unknown, code: string, argument: string): void {
  try {
    f();
  } catch (e) {
    expect(e instanceof SegLossError, String(e)).toBe(true);
    expect((e as { code: string }).code, String(e)).toBe(code);
    expect((e as { argument: string }).argument, String(e)).toBe(argument);
    return;
  }
  expect.fail(`no error (${code} ${argument})`);
}

describe("errors (SPEC §5)", () => {
  it("names the argument, the expectation and what came; a failing call leaks nothing", () => {
    for (const { seg } of builds) {
      const c = makeImages(1, 2, 5, 6, "hard");
      const w = weightsFor(1, 60);
      const o = { shape: [2, 5, 6] };
      const free = seg.largestFree();
      const bad = (v: number, at = 7) => {
        const a = Float32Array.from(c.p);
        a[at] = v;
        return a;
      };
      const badT = (v: number) => {
        const a = Float32Array.from(c.t);
        a[13] = v;
        return a;
      };
      // shapes
      expectError(() => seg.boundaryWeights(c.t), "E_SHAPE", "target.shape");
      expectError(() => seg.boundaryWeights(c.t, { shape: [1, 2, 5, 6, 1] }), "E_SHAPE", "target.shape");
      expectError(() => seg.boundaryWeights(c.t, { shape: [1, 2, 5, 6] }), "E_SHAPE", "target.shape");
      expectError(() => seg.weightedBceDice(c.t, c.p, { shape: [60] }), "E_SHAPE", "target.shape");
      expectError(() => seg.weightedBce(c.t, c.p, w.subarray(1), o), "E_SHAPE", "weight");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, weight: w.subarray(1) }), "E_SHAPE", "opts.weight");
      expectError(() => seg.weightedDice(c.t, { data: c.p, shape: [2, 6, 5] }, w, o), "E_SHAPE", "target");
      expectError(() => seg.boundaryWeights(c.t, { ...o, out: new Float32Array(3) }), "E_SHAPE", "opts.out");
      expectError(() => seg.weightedBceDiceGrad(c.t, c.p, { ...o, out: new Float32Array(3) }), "E_SHAPE", "opts.out");
      const tt = Float32Array.from(c.t);
      expectError(() => seg.boundaryWeights(tt, { ...o, out: tt }), "E_OPTION", "opts.out");
      expectError(() => seg.weightedBceDiceGrad(tt, c.p, { ...o, out: tt }), "E_OPTION", "opts.out");
      // dtypes and empties
      expectError(() => seg.weightedBce(c.t, Uint8Array.from(c.t), w, o), "E_DTYPE", "pred");
      expectError(() => seg.boundaryWeights(new Float32Array(0)), "E_EMPTY", "target");
      expectError(() => seg.weightedBce(c.t, c.p, "w" as never, o), "E_DTYPE", "weight");
      // ranges and non-finite values
      expectError(() => seg.boundaryWeights(badT(2), o), "E_RANGE", "target");
      expectError(() => seg.boundaryWeights(badT(-0.5), o), "E_RANGE", "target");
      expectError(() => seg.boundaryWeights(badT(Number.NaN), o), "E_NONFINITE", "target");
      expectError(() => seg.weightedBceDice(badT(3), c.p, o), "E_RANGE", "target");
      // full windows read a table by box sum: out-of-range targets must not index past it
      const big = makeImages(2, 1, 16, 16, "hard");
      const ob = { shape: [1, 16, 16], kernel: 3 };
      for (const v of [1e30, -1e30, Number.POSITIVE_INFINITY]) {
        const code = Number.isFinite(v) ? "E_RANGE" : "E_NONFINITE";
        const tb = Float32Array.from(big.t);
        tb[7 * 16 + 8] = v;
        expectError(() => seg.weightedBceDice(tb, big.p, ob), code, "target");
        expectError(() => seg.weightedBceDiceGrad(tb, big.p, ob), code, "target");
        expectError(() => seg.boundaryWeights(tb, ob), code, "target");
      }
      expectError(() => seg.weightedBceDice(c.t, bad(1.5), o), "E_RANGE", "pred");
      expectError(() => seg.weightedBceDiceGrad(c.t, bad(Number.NaN), o), "E_NONFINITE", "pred");
      expectError(() => seg.weightedBceDice(c.t, bad(Number.POSITIVE_INFINITY), { ...o, fromLogits: true }), "E_NONFINITE", "pred");
      expectError(() => seg.weightedBce(c.t, bad(-0.1), w, o), "E_RANGE", "pred");
      expectError(() => seg.weightedBce(badT(Number.NaN), c.p, w, o), "E_NONFINITE", "target");
      expectError(() => seg.weightedDice(c.t, c.p, bad(-1), o), "E_RANGE", "weight");
      expectError(() => seg.weightedDice(c.t, c.p, bad(Number.NaN), o), "E_NONFINITE", "weight");
      expectError(() => seg.weightedBce(c.t, c.p, new Float32Array(60), o), "E_RANGE", "weight");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, weight: new Float32Array(60) }), "E_RANGE", "opts.weight");
      // options
      expectError(() => seg.boundaryWeights(c.t, { ...o, kernel: 0 }), "E_OPTION_RANGE", "opts.kernel");
      expectError(() => seg.boundaryWeights(c.t, { ...o, kernel: 2.5 }), "E_OPTION_RANGE", "opts.kernel");
      expectError(() => seg.boundaryWeights(c.t, { ...o, kernel: [3, 0] }), "E_OPTION_RANGE", "opts.kernel[1]");
      expectError(() => seg.boundaryWeights(c.t, { ...o, kernel: [3, 3, 3] as never }), "E_OPTION", "opts.kernel");
      expectError(() => seg.boundaryWeights(c.t, { ...o, kernel: "5" as never }), "E_OPTION", "opts.kernel");
      expectError(() => seg.boundaryWeights(c.t, { ...o, mode: "border" as never }), "E_OPTION", "opts.mode");
      expectError(() => seg.boundaryWeights(c.t, { ...o, size: 3 } as never), "E_OPTION", "boundaryWeights options");
      expectError(() => seg.weightedBce(c.t, c.p, w, { ...o, style: "pos" as never }), "E_OPTION", "opts.style");
      expectError(() => seg.weightedBce(c.t, c.p, w, { ...o, kernel: 3 } as never), "E_OPTION", "weightedBce options");
      expectError(() => seg.weightedBceGrad(c.t, c.p, w, { ...o, reduction: "none" }), "E_OPTION", "opts.reduction");
      expectError(() => seg.weightedDice(c.t, c.p, w, { ...o, power: 3 as never }), "E_OPTION", "opts.power");
      expectError(() => seg.weightedDice(c.t, c.p, w, { ...o, smooth: -1 }), "E_OPTION_RANGE", "opts.smooth");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, reduction: "none" as never }), "E_OPTION", "opts.reduction");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, weight: w, kernel: 5 }), "E_OPTION", "opts.kernel");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, dicePower: 3 as never }), "E_OPTION", "opts.dicePower");
      expectError(() => seg.weightedBceDice(c.t, c.p, { ...o, out: new Float32Array(60) } as never), "E_OPTION", "weightedBceDice options");
      expect(seg.largestFree()).toBe(free);
    }
  });
});

describe("memory stays flat", () => {
  it("thousands of calls of every function leave the heap as they found it", () => {
    for (const { seg } of builds) {
      const c = makeImages(2, 2, 13, 11, "blobs");
      const w = weightsFor(2, c.t.length);
      const o = { shape: [2, 13, 11], kernel: 5 };
      const free = seg.largestFree();
      let acc = 0;
      for (let i = 0; i < 2000; i++) {
        acc += seg.boundaryWeights(c.t, o).data[0];
        acc += seg.weightedBce(c.t, c.p, w, { shape: o.shape }) as number;
        acc += seg.weightedBceGrad(c.t, c.p, w, { shape: o.shape }).loss;
        acc += seg.weightedDiceGrad(c.t, c.p, w, { shape: o.shape, power: 2 }).loss;
        acc += seg.weightedBceDiceGrad(c.t, c.p, o).loss;
        acc += seg.weightedBceDice(c.t, c.p, { ...o, mode: "band" });
      }
      expect(Number.isFinite(acc)).toBe(true);
      expect(seg.largestFree()).toBe(free);
    }
  });
});

describe("near-perfect predictions (tiny loss terms)", () => {
  it("weightedBce keeps full relative accuracy where ln(1 − p) is tiny", () => {
    const n = 4099;
    const r = rng(321);
    const t = new Float32Array(n);
    const p = new Float32Array(n);
    const w = new Float32Array(n);
    // a confident, correct model repeating a few δ values, so float32 rounding of 1 − δ would not average out
    const deltas = [1e-7, 3e-7, 2e-6, 3e-5];
    for (let i = 0; i < n; i++) {
      t[i] = r() < 0.3 ? 1 : 0;
      const d = deltas[Math.floor(r() * 3.999)];
      p[i] = t[i] === 1 ? Math.fround(1 - d) : Math.fround(d);
      w[i] = 0.5 + r();
    }
    for (const { seg } of builds) {
      for (const style of ["positive", "all"] as const) {
        const want = oracle.weightedBce(t, p, w, { style });
        const got = seg.weightedBceGrad(t, p, w, { style });
        within(got.loss, want.value as number, `weightedBce ${style} tiny terms`);
        withinAll(got.grad, want.grad as Float64Array, `weightedBce ${style} tiny terms grad`);
      }
    }
  });
});

// weightedBceDice's hard-target pass takes Σ ln(1 − p') of its all-background vectors as the
// logarithm of a running product (assembly/weighted.ts, BACKGROUND): long runs of background,
// the smallest factors 1 − p' can be (p at and above 1 − ε), and tiny terms where the rounding
// of 1 − p' matters are where that could go wrong.
describe("background runs of the weighted hard-target pass", () => {
  /** One H×W image: background except a small square at (4, 4); background p from `bg(i)`. */
  function square(H: number, W: number, bg: (i: number) => number): { t: Float32Array; p: Float32Array } {
    const t = new Float32Array(H * W);
    const p = new Float32Array(H * W);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const at = i * W + j;
        const fg = i >= 4 && i < 9 && j >= 4 && j < 9;
        t[at] = fg ? 1 : 0;
        p[at] = fg ? 0.8 : bg(at);
      }
    return { t, p };
  }

  it("matches the oracle with p at 1 − ε and 1 (the smallest factors), at ε and 0, and with tiny terms", () => {
    const r = rng(77);
    const hi = Math.fround(1 - 1e-7);
    const cases: [string, (i: number) => number][] = [
      ["p = 1 − ε and 1", (i) => (i % 3 === 0 ? 1 : hi)],
      ["p = 0 and ε", (i) => (i % 2 ? 0 : Math.fround(1e-7))],
      ["tiny δ", (i) => Math.fround([1e-7, 3e-7, 2e-6, 3e-5][i % 4])],
      ["random", () => r()],
    ];
    for (const { name, seg } of builds) {
      for (const [H, W] of [
        [64, 1031],
        [9, 13],
      ]) {
        for (const [label, bg] of cases) {
          const { t, p } = square(H, W, bg);
          // 'sum': the background's BCE terms outweigh the Dice term even when they are tiny
          for (const reduction of ["mean", "sum"] as const) {
            const want = oracle.weightedBceDice(t, p, 1, H, W, { kernel: 7, reduction });
            const got = seg.weightedBceDice(t, p, { shape: [1, H, W], kernel: 7, reduction });
            within(got, want.value as number, `${name} ${H}×${W} ${label} ${reduction}`);
          }
        }
      }
    }
  });

  it("−0 is a valid probability (its sign bit sends the pass to the exact retry, with the same numbers)", () => {
    for (const { name, seg } of builds) {
      const { t, p } = square(32, 40, (i) => (i % 5 ? 0.25 : 0));
      const opts = { shape: [1, 32, 40], kernel: 5 };
      const want = oracle.weightedBceDice(t, p, 1, 32, 40, { kernel: 5 });
      const negZero = p.map((v) => (v === 0 ? -0 : v));
      within(seg.weightedBceDice(t, negZero, opts), want.value as number, `${name} −0`);
    }
  });

  it("a bad probability inside a background run is still reported", () => {
    for (const { seg } of builds) {
      const { t, p } = square(32, 40, () => 0.25);
      const opts = { shape: [1, 32, 40], kernel: 5 };
      for (const [v, code] of [
        [Number.NaN, "E_NONFINITE"],
        [1.5, "E_RANGE"],
        [-0.1, "E_RANGE"],
      ] as [number, string][]) {
        const bad = Float32Array.from(p);
        bad[20 * 40 + 30] = v;
        expectError(() => seg.weightedBceDice(t, bad, opts), code, "pred");
      }
    }
  });
});

// The weighted pool copies row i − 1's weights when the row entering row i's windows equals the row
// leaving them (assembly/pool.ts, weightsOfRow): stripes whose period is the window's height make
// every interior row such a row, across the bands of rows the pool fills (a few rows at W = 1031,
// over a hundred at W = 37).
describe("rows whose windows gain and lose equal rows (weights copied from the row before)", () => {
  it("matches the oracle: values and gradients, with stripes, an empty mask and a mask empty at the ends", () => {
    const r = rng(91);
    for (const { name, seg } of builds) {
      for (const [H, W, kernel] of [
        [300, 37, 7],
        [40, 1031, 7],
        [60, 53, [5, 9]],
      ] as [number, number, number | [number, number]][]) {
        const kh = Array.isArray(kernel) ? kernel[0] : kernel;
        const stripe = Array.from({ length: kh + 1 }, () => Array.from({ length: W }, () => (r() < 0.3 ? 1 : 0)));
        const targets: [string, (i: number, j: number) => number][] = [
          ["stripes", (i, j) => stripe[i % (kh + 1)][j]],
          ["empty", () => 0],
          ["blob in the middle rows", (i, j) => (i > H / 3 && i < H / 2 && j % 7 < 3 ? 1 : 0)],
        ];
        for (const [label, f] of targets) {
          const t = new Float32Array(H * W);
          const p = new Float32Array(H * W);
          for (let i = 0; i < H; i++)
            for (let j = 0; j < W; j++) {
              t[i * W + j] = f(i, j);
              p[i * W + j] = Math.min(1, Math.max(0, 0.6 * t[i * W + j] + 0.4 * r()));
            }
          const opts = { shape: [1, H, W], kernel };
          const want = oracle.weightedBceDice(t, p, 1, H, W, { kernel });
          const where = `${name} ${H}×${W} k=${kernel} ${label}`;
          within(seg.weightedBceDice(t, p, opts), want.value as number, `${where} value`);
          const g = seg.weightedBceDiceGrad(t, p, opts);
          within(g.loss, want.value as number, `${where} loss`);
          withinAll(g.grad, want.grad as Float64Array, `${where} grad`);
        }
      }
    }
  });
});
