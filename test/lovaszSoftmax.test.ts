// Lovasz-Softmax against the float64 oracle on both builds: losses, class
// terms and gradients (probabilities and logits, NCHW and NHWC, perImage,
// classes, ignoreIndex, one-hot targets), tie order, edge cases, errors and
// flat memory.
import { beforeAll, describe, expect, it } from "vitest";
import { create } from "../src/index";
import { type Build, bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import * as oracle from "./oracle/lovasz";

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

type Layout = "NCHW" | "NHWC";

/** Index of (image n, class c, pixel s) in a prediction of the given layout. */
const at = (layout: Layout, C: number, S: number, n: number, c: number, s: number) =>
  layout === "NCHW" ? (n * C + c) * S + s : (n * S + s) * C + c;

/**
 * Labels and probabilities whose errors |fg − p_c| are distinct within every
 * class (a shuffled grid of multiples of 2^-k plus a half step, exact in
 * float32), so the order, and with it the gradient, has no ties.
 */
function distinct(seed: number, N: number, C: number, S: number, layout: Layout, pIgnore = 0) {
  const r = rng(seed);
  const labels = new Float32Array(N * S).map(() => (r() < pIgnore ? 255 : Math.floor(r() * C)));
  const pred = new Float32Array(N * C * S);
  const grid = 2 ** Math.ceil(Math.log2(N * S + 1));
  for (let c = 0; c < C; c++) {
    const ks = Array.from({ length: N * S }, (_, i) => i);
    for (let i = ks.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [ks[i], ks[j]] = [ks[j], ks[i]];
    }
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const e = (ks[n * S + s] + 0.5) / grid;
        pred[at(layout, C, S, n, c, s)] = labels[n * S + s] === c ? 1 - e : e;
      }
    }
  }
  return { labels, pred };
}

/** Whether the oracle's float64 errors of every (segment, class) are at least `gap` apart (relative). */
function tieFree(labels: Float32Array, logits: Float32Array, N: number, C: number, layout: Layout, gap: number): boolean {
  const S = labels.length / N;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const errs: number[] = [];
      for (let s = 0; s < S; s++) {
        let m = -Infinity;
        for (let k = 0; k < C; k++) m = Math.max(m, logits[at(layout, C, S, n, k, s)]);
        let z = 0;
        for (let k = 0; k < C; k++) z += Math.exp(logits[at(layout, C, S, n, k, s)] - m);
        const p = Math.exp(logits[at(layout, C, S, n, c, s)] - m) / z;
        errs.push(labels[n * S + s] === c ? 1 - p : p);
      }
      errs.sort((a, b) => a - b);
      for (let i = 1; i < errs.length; i++) if (errs[i] - errs[i - 1] < gap * errs[i]) return false;
    }
  }
  return true;
}

function transposeToNHWC(x: Float32Array, N: number, C: number, S: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) y[at("NHWC", C, S, n, c, s)] = x[at("NCHW", C, S, n, c, s)];
  return y;
}

const CASES: [number, number, number[]][] = [
  [1, 2, [1, 1]],
  [1, 3, [2, 3]],
  [2, 4, [5, 7]],
  [3, 5, [1, 9]],
  [2, 3, [6, 11]],
  [1, 6, [17, 13]],
];

describe("lovaszSoftmax against the oracle (probabilities, no ties)", () => {
  it("sweeps shapes, layouts, perImage, classes and ignoreIndex: loss, class terms, gradient", () => {
    for (const { seg, name } of builds) {
      let seed = 1;
      for (const [N, C, spatial] of CASES) {
        const S = spatial.reduce((a, b) => a * b, 1);
        for (const layout of ["NCHW", "NHWC"] as Layout[]) {
          for (const perImage of [false, true]) {
            for (const classes of ["present", "all", [C - 1, 0]] as ("present" | "all" | number[])[]) {
              for (const ignore of [false, true]) {
                const { labels, pred } = distinct(seed++, N, C, S, layout, ignore ? 0.2 : 0);
                const shape = layout === "NCHW" ? [N, C, ...spatial] : [N, ...spatial, C];
                const o = { layout, perImage, classes, ignoreIndex: ignore ? 255 : null };
                const what = `${name} N=${N} C=${C} S=${S} ${JSON.stringify(o)}`;
                const want = oracle.lovaszSoftmax(labels, pred, N, C, o);
                const t = { data: labels, shape: [N, ...spatial] };
                const p = { data: pred, shape };
                within(seg.lovaszSoftmax(t, p, o) as number, want.loss, what);
                const none = seg.lovaszSoftmax(t, p, { ...o, reduction: "none" }) as Float32Array;
                const flat = want.terms.flat();
                expect(none.length, what).toBe(flat.length);
                flat.forEach((v, i) => {
                  if (Number.isNaN(v)) expect(none[i], `${what} term ${i}`).toBeNaN();
                  else within(none[i], v, `${what} term ${i}`);
                });
                const sum = seg.lovaszSoftmax(t, p, { ...o, reduction: "sum" }) as number;
                within(sum, want.loss * want.terms.length, `${what} sum`);
                const g = seg.lovaszSoftmaxGrad(t, { data: Float64Array.from(pred), shape }, o);
                within(g.loss, want.loss, `${what} grad loss`);
                withinAll(g.grad, want.grad, `${what} grad`);
              }
            }
          }
        }
      }
    }
  });

  it("larger segments (several chunks per image, every radix digit in play)", () => {
    for (const { seg, name } of builds) {
      const [N, C, H, W] = [2, 5, 70, 90];
      const S = H * W;
      const { labels, pred } = distinct(77, N, C, S, "NCHW", 0.05);
      for (const perImage of [false, true]) {
        const o = { perImage, ignoreIndex: 255 };
        const want = oracle.lovaszSoftmax(labels, pred, N, C, o);
        const t = { data: labels, shape: [N, H, W] };
        const p = { data: pred, shape: [N, C, H, W] };
        const g = seg.lovaszSoftmaxGrad(t, p, o);
        within(g.loss, want.loss, `${name} ${perImage}`);
        withinAll(g.grad, want.grad, `${name} ${perImage} grad`);
      }
    }
  });
});

describe("lovaszSoftmax on logits (fromLogits)", () => {
  it("loss and gradient through the softmax match the oracle, both layouts", () => {
    for (const { seg, name } of builds) {
      let checked = 0;
      for (let seed = 1; checked < 6 && seed < 60; seed++) {
        const r = rng(1000 + seed);
        const [N, C, S] = [1 + (seed % 2), 3 + (seed % 3), 5 + seed];
        const labels = new Float32Array(N * S).map(() => Math.floor(r() * C));
        const logits = new Float32Array(N * C * S).map(() => (r() - 0.5) * 6);
        if (!tieFree(labels, logits, N, C, "NCHW", 1e-3)) continue;
        checked++;
        for (const perImage of [false, true]) {
          const o = { fromLogits: true, perImage };
          const want = oracle.lovaszSoftmax(labels, logits, N, C, o);
          const t = { data: labels, shape: [N, S] };
          const g = seg.lovaszSoftmaxGrad(t, { data: logits, shape: [N, C, S] }, o);
          within(g.loss, want.loss, `${name} seed ${seed}`);
          withinAll(g.grad, want.grad, `${name} seed ${seed} grad`);
          const gh = seg.lovaszSoftmaxGrad(t, { data: transposeToNHWC(logits, N, C, S), shape: [N, S, C] }, { ...o, layout: "NHWC" });
          within(gh.loss, want.loss, `${name} seed ${seed} NHWC`);
          withinAll(gh.grad, transposeToNHWC(Float32Array.from(want.grad), N, C, S), `${name} seed ${seed} NHWC grad`);
        }
      }
      expect(checked).toBe(6);
    }
  });

  it("the oracle's gradient matches central differences of its loss", () => {
    const r = rng(4242);
    const [N, C, S] = [2, 3, 6];
    const labels = new Float32Array(N * S).map(() => Math.floor(r() * C));
    const logits = Array.from({ length: N * C * S }, () => (r() - 0.5) * 4);
    for (const perImage of [false, true]) {
      const o = { fromLogits: true, perImage, classes: "all" as const };
      const { grad } = oracle.lovaszSoftmax(labels, logits, N, C, o);
      const h = 1e-6;
      for (let i = 0; i < logits.length; i++) {
        const up = logits.slice();
        const dn = logits.slice();
        up[i] += h;
        dn[i] -= h;
        const fd = (oracle.lovaszSoftmax(labels, up, N, C, o).loss - oracle.lovaszSoftmax(labels, dn, N, C, o).loss) / (2 * h);
        expect(Math.abs(fd - grad[i])).toBeLessThan(1e-6 + 1e-4 * Math.abs(fd));
      }
    }
  });
});

describe("edge cases", () => {
  it("ties: foreground first, then pixel order; the same on both builds and every call", () => {
    const [N, C, S] = [1, 3, 12];
    const labels = Float32Array.from({ length: S }, (_, i) => i % C);
    const pred = new Float32Array(N * C * S).fill(0.5); // every error is 0.5
    const want = oracle.lovaszSoftmax(labels, pred, N, C);
    const t = { data: labels, shape: [N, S] };
    const p = { data: pred, shape: [N, C, S] };
    const grads = builds.map(({ seg }) => seg.lovaszSoftmaxGrad(t, p).grad);
    for (const g of grads) withinAll(g, want.grad, "ties");
    expect(Array.from(grads[0])).toEqual(Array.from(grads[1]));
    expect(Array.from(builds[0].seg.lovaszSoftmaxGrad(t, p).grad)).toEqual(Array.from(grads[0]));
  });

  it("no valid pixel: loss 0 and gradient 0; absent classes: skipped by 'present', max p_c under 'all'", () => {
    for (const { seg, name } of builds) {
      const [N, C, S] = [2, 4, 10];
      const { labels, pred } = distinct(5, N, C, S, "NCHW");
      const shape = [N, C, S];
      const all = new Float32Array(N * S).fill(255);
      for (const perImage of [false, true]) {
        for (const classes of ["present", "all"] as const) {
          const o = { ignoreIndex: 255, perImage, classes };
          expect(seg.lovaszSoftmax({ data: all, shape: [N, S] }, { data: pred, shape }, o)).toBe(0);
          const g = seg.lovaszSoftmaxGrad({ data: all, shape: [N, S] }, { data: pred, shape }, o);
          expect(g.loss).toBe(0);
          expect(g.grad.every((v) => v === 0)).toBe(true);
        }
      }
      // image 0 all ignored: with perImage it counts 0 and gets gradient 0
      const part = Float32Array.from(labels);
      part.fill(255, 0, S);
      const o = { ignoreIndex: 255, perImage: true };
      const want = oracle.lovaszSoftmax(part, pred, N, C, o);
      const g = seg.lovaszSoftmaxGrad({ data: part, shape: [N, S] }, { data: pred, shape }, o);
      within(g.loss, want.loss, name);
      withinAll(g.grad, want.grad, name);
      // class 3 absent
      const two = labels.map((v) => v % 3);
      const terms = seg.lovaszSoftmax({ data: two, shape: [N, S] }, { data: pred, shape }, { reduction: "none" }) as Float32Array;
      expect(terms[3]).toBeNaN();
      const allTerms = seg.lovaszSoftmax(
        { data: two, shape: [N, S] },
        { data: pred, shape },
        { reduction: "none", classes: "all" },
      ) as Float32Array;
      let maxP = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) maxP = Math.max(maxP, pred[(n * C + 3) * S + s]);
      within(allTerms[3], maxP, `${name} absent class under 'all'`);
    }
  });

  it("NCHW and NHWC, labels and one-hot targets, label shapes with a channel axis give the same numbers", () => {
    for (const { seg, name } of builds) {
      const [N, C, H, W] = [2, 4, 5, 6];
      const S = H * W;
      const { labels, pred } = distinct(9, N, C, S, "NCHW");
      const oneHot = new Float32Array(N * C * S);
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) oneHot[(n * C + labels[n * S + s]) * S + s] = 1;
      const ref = seg.lovaszSoftmaxGrad({ data: labels, shape: [N, H, W] }, { data: pred, shape: [N, C, H, W] }, { perImage: true });
      const nhwc = seg.lovaszSoftmaxGrad(
        { data: labels, shape: [N, H, W, 1] },
        { data: transposeToNHWC(pred, N, C, S), shape: [N, H, W, C] },
        { perImage: true, layout: "NHWC" },
      );
      expect(nhwc.loss, name).toBe(ref.loss);
      expect(Array.from(nhwc.grad)).toEqual(Array.from(transposeToNHWC(ref.grad, N, C, S)));
      const dense = seg.lovaszSoftmaxGrad({ data: oneHot, shape: [N, C, H, W] }, { data: pred, shape: [N, C, H, W] }, { perImage: true });
      expect(dense.loss, name).toBe(ref.loss);
      expect(Array.from(dense.grad)).toEqual(Array.from(ref.grad));
      const u8 = seg.lovaszSoftmax(
        { data: Uint8Array.from(labels), shape: [N, 1, H, W] },
        { data: pred, shape: [N, C, H, W] },
        { perImage: true },
      );
      within(u8 as number, ref.loss, `${name} u8 labels`); // the loss path walks in float32
    }
  });

  it("presets pin the reference's defaults; inputs and out in wasm memory give the same numbers", () => {
    for (const { seg, name } of builds) {
      const [N, C, S] = [2, 3, 40];
      const { labels, pred } = distinct(13, N, C, S, "NCHW", 0.1);
      const t = { data: labels, shape: [N, S] };
      const p = { data: pred, shape: [N, C, S] };
      const o = { ignoreIndex: 255 };
      const base = seg.lovaszSoftmax(t, p, o) as number;
      expect(seg.lovaszSoftmax(t, p, { ...o, preset: "lovasz" })).toBe(base);
      expect(seg.lovaszSoftmax(t, p, { ...o, preset: "smp" })).toBe(base);
      expect(seg.lovaszSoftmax(t, p, { ...o, preset: "smp", perImage: true })).not.toBe(base);
      const ref = seg.lovaszSoftmaxGrad(t, p, { ...o, perImage: true });
      const free = seg.largestFree();
      const pm = seg.alloc(Float32Array, pred.length);
      const tm = seg.alloc(Float32Array, labels.length);
      pm.set(pred);
      tm.set(labels);
      const gm = seg.alloc(Float32Array, pred.length);
      const g = seg.lovaszSoftmaxGrad({ data: tm, shape: [N, S] }, { data: pm, shape: [N, C, S] }, { ...o, perImage: true, out: gm });
      expect(g.loss, name).toBe(ref.loss);
      expect(Array.from(gm)).toEqual(Array.from(ref.grad));
      seg.lovaszSoftmaxGrad({ data: tm, shape: [N, S] }, { data: pm, shape: [N, C, S] }, { ...o, perImage: true, out: pm });
      expect(Array.from(pm)).toEqual(Array.from(ref.grad)); // out may be the prediction
      seg.free(pm);
      seg.free(tm);
      seg.free(gm);
      expect(seg.largestFree()).toBe(free);
    }
  });
});

/** Random probabilities on a grid of `levels` values (ties when levels is small), rows not normalised. */
function gridProbs(seed: number, N: number, C: number, S: number, levels: number, pIgnore = 0) {
  const r = rng(seed);
  const labels = new Float32Array(N * S).map(() => (r() < pIgnore ? 255 : Math.floor(r() * C)));
  const pred = new Float32Array(N * C * S).map(() => Math.floor(r() * (levels + 1)) / levels);
  return { labels, pred };
}

describe("the loss path (kept keys, float32 Abel walk) against the oracle", () => {
  it("random probabilities with and without ties: sizes around the vector width, options", () => {
    for (const { seg, name } of builds) {
      let seed = 500;
      for (const S of [1, 3, 4, 5, 8, 9, 63, 64, 65, 257, 1031]) {
        for (const levels of [3, 64, 1 << 20]) {
          const [N, C] = [1 + (S % 3), 2 + (S % 4)];
          const { labels, pred } = gridProbs(seed++, N, C, S, levels, 0.1);
          for (const o of [
            { ignoreIndex: 255 },
            { ignoreIndex: 255, perImage: true },
            { ignoreIndex: 255, classes: "all" as const },
            { ignoreIndex: 255, classes: [C - 1, 0] },
          ]) {
            const want = oracle.lovaszSoftmax(labels, pred, N, C, o);
            const what = `${name} S=${S} levels=${levels} ${JSON.stringify(o)}`;
            const t = { data: labels, shape: [N, S] };
            const p = { data: pred, shape: [N, C, S] };
            within(seg.lovaszSoftmax(t, p, o) as number, want.loss, what);
            const none = seg.lovaszSoftmax(t, p, { ...o, reduction: "none" }) as Float32Array;
            want.terms.flat().forEach((v, i) => {
              within(none[i], v, `${what} term ${i}`);
            });
          }
        }
      }
    }
  });

  it("large segments: 2×3×300×300 probabilities and logits, one loss over the batch and per image", () => {
    for (const { seg, name } of builds) {
      const [N, C, H, W] = [2, 3, 300, 300];
      const S = H * W;
      const r = rng(808);
      const labels = new Float32Array(N * S).map((_, i) => ((i % W) * 3 < W ? 0 : Math.floor(r() * C)));
      const logits = new Float32Array(N * C * S).map(() => (r() - 0.5) * 8);
      const t = { data: labels, shape: [N, H, W] };
      const p = { data: logits, shape: [N, C, H, W] };
      for (const perImage of [false, true]) {
        const o = { fromLogits: true, perImage };
        within(seg.lovaszSoftmax(t, p, o) as number, oracle.lovaszSoftmax(labels, logits, N, C, o).loss, `${name} ${perImage}`);
      }
    }
  });

  it("keys after the last foreground pixel are left out: loss and gradient as the oracle's (gradient 0 there)", () => {
    for (const { seg, name } of builds) {
      const [N, C, S] = [2, 3, 150];
      const r = rng(71);
      const labels = new Float32Array(N * S).map(() => Math.floor(r() * C));
      // distinct errors: foreground in [0.40, 0.70), background in [0, 0.55): most background sorts after every foreground pixel
      const pred = new Float32Array(N * C * S);
      for (let c = 0; c < C; c++) {
        const ks = Array.from({ length: N * S }, (_, i) => i).sort(() => r() - 0.5);
        for (let n = 0; n < N; n++) {
          for (let s = 0; s < S; s++) {
            const u = (ks[n * S + s] + 0.5) / (N * S);
            pred[(n * C + c) * S + s] = labels[n * S + s] === c ? 1 - (0.4 + 0.3 * u) : 0.55 * u;
          }
        }
      }
      for (const o of [{}, { perImage: true }, { fromLogits: true }, { classes: "all" as const }]) {
        const want = oracle.lovaszSoftmax(labels, pred, N, C, o);
        const t = { data: labels, shape: [N, S] };
        const p = { data: pred, shape: [N, C, S] };
        const what = `${name} ${JSON.stringify(o)}`;
        within(seg.lovaszSoftmax(t, p, o) as number, want.loss, what);
        const g = seg.lovaszSoftmaxGrad(t, p, o);
        within(g.loss, want.loss, `${what} grad loss`);
        withinAll(g.grad, want.grad, `${what} grad`);
      }
    }
  });

  it("all ties, one class present, a foreground pixel with p = 1, background tied with the smallest foreground error", () => {
    for (const { seg, name } of builds) {
      const cases: [string, Float32Array, Float32Array, number, number][] = [];
      const [N, C, S] = [1, 3, 37];
      cases.push(["all 0.5", Float32Array.from({ length: S }, (_, i) => i % C), new Float32Array(C * S).fill(0.5), N, C]);
      cases.push(["one class", new Float32Array(S).fill(1), gridProbs(61, N, C, S, 1000).pred, N, C]);
      const sure = gridProbs(62, N, C, S, 1000);
      sure.pred[sure.labels[5] * S + 5] = 1; // e = 0 for a foreground pixel: every key is kept
      cases.push(["fg p = 1", sure.labels, sure.pred, N, C]);
      const tied = gridProbs(63, N, C, S, 8);
      cases.push(["coarse grid", tied.labels, tied.pred, N, C]);
      const zeros = gridProbs(64, N, C, S, 1000);
      zeros.pred.fill(0, 0, S); // class 0: e = 0 on every background pixel
      cases.push(["zeros", zeros.labels, zeros.pred, N, C]);
      for (const [what, labels, pred, n, c] of cases) {
        for (const classes of ["present", "all"] as const) {
          const want = oracle.lovaszSoftmax(labels, pred, n, c, { classes });
          const t = { data: labels, shape: [n, S] };
          const p = { data: pred, shape: [n, c, S] };
          within(seg.lovaszSoftmax(t, p, { classes }) as number, want.loss, `${name} ${what} ${classes}`);
          within(seg.lovaszSoftmaxGrad(t, p, { classes }).loss, want.loss, `${name} ${what} ${classes} grad`);
        }
      }
    }
  });
});

describe("errors and memory", () => {
  it("bad inputs and options throw SegLossErrors naming the argument and change nothing", () => {
    for (const { seg } of builds) {
      const [N, C, S] = [2, 3, 8];
      const { labels, pred } = distinct(3, N, C, S, "NCHW");
      const t = { data: labels, shape: [N, S] };
      const p = { data: pred, shape: [N, C, S] };
      const free = seg.largestFree();
      const expectError = (f: () => unknown, code: string, argument: string) => {
        const e = catchSegLossError(f, "no error");
        expect(e.code).toBe(code);
        expect(e.argument).toBe(argument);
      };
      const badLabels = Float32Array.from(labels);
      badLabels[11] = 3;
      expectError(() => seg.lovaszSoftmax({ data: badLabels, shape: [N, S] }, p), "E_RANGE", "target");
      const out = new Float32Array(pred.length).fill(7);
      expectError(() => seg.lovaszSoftmaxGrad({ data: badLabels, shape: [N, S] }, p, { perImage: true, out }), "E_RANGE", "target");
      expect(out.every((v) => v === 7)).toBe(true);
      const oneHot = new Float32Array(N * C * S);
      oneHot[N * C * S - 1] = 0.5;
      expectError(() => seg.lovaszSoftmaxGrad({ data: oneHot, shape: [N, C, S] }, p, { perImage: true, out }), "E_RANGE", "target");
      expect(out.every((v) => v === 7)).toBe(true);
      const badP = Float32Array.from(pred);
      badP[5] = 1.5;
      expectError(() => seg.lovaszSoftmax(t, { data: badP, shape: [N, C, S] }), "E_RANGE", "pred");
      badP[5] = Number.NaN;
      expectError(() => seg.lovaszSoftmax(t, { data: badP, shape: [N, C, S] }, { fromLogits: true }), "E_NONFINITE", "pred");
      expectError(() => seg.lovaszSoftmax(t, { data: Uint8Array.from(pred), shape: [N, C, S] }), "E_DTYPE", "pred");
      expectError(() => seg.lovaszSoftmax({ data: labels.subarray(0, N * (S - 1)), shape: [N, S - 1] }, p), "E_SHAPE", "target");
      expectError(() => seg.lovaszSoftmax(t, p, { classes: [0, 3] }), "E_OPTION_RANGE", "opts.classes");
      expectError(() => seg.lovaszSoftmax(t, p, { classes: [1, 1] }), "E_OPTION", "opts.classes");
      expectError(() => seg.lovaszSoftmax(t, p, { classes: "some" as never }), "E_OPTION", "opts.classes");
      expectError(() => seg.lovaszSoftmax(t, p, { classes: [] }), "E_OPTION", "opts.classes");
      expectError(() => seg.lovaszSoftmax(t, p, { layout: "CHW" as never }), "E_OPTION", "opts.layout");
      expectError(() => seg.lovaszSoftmaxGrad(t, p, { reduction: "none" }), "E_OPTION", "opts.reduction");
      expectError(() => seg.lovaszSoftmaxGrad(t, p, { out: new Float32Array(3) }), "E_SHAPE", "opts.out");
      expectError(() => seg.lovaszSoftmax(t, p, { symmetric: true } as never), "E_OPTION", "lovaszSoftmax options");
      expectError(() => seg.lovaszSoftmax(t, p, { out } as never), "E_OPTION", "lovaszSoftmax options");
      expect(seg.largestFree()).toBe(free);
    }
  });

  it("a small memory takes the classes in groups for the loss; the gradient that does not fit is E_MEMORY", async () => {
    for (const simd of [true, false]) {
      const small = await create({ simd, memoryBytes: 2 << 20 });
      const big = builds[simd ? 0 : 1].seg;
      const [N, C, S] = [1, 21, 128 * 128]; // 64 KiB of keys per class: 1.3 MiB for all
      const r = rng(31);
      const labels = new Float32Array(N * S).map(() => Math.floor(r() * C));
      const logits = new Float32Array(N * C * S).map(() => (r() - 0.5) * 4);
      const t = { data: labels, shape: [N, S] };
      const p = { data: logits, shape: [N, C, S] };
      const free = small.largestFree();
      for (const o of [{ fromLogits: true }, { fromLogits: true, reduction: "none" as const }, { fromLogits: true, classes: [20, 3] }]) {
        const got = small.lovaszSoftmax(t, p, o);
        const want = big.lovaszSoftmax(t, p, o);
        expect(got).toEqual(want);
      }
      const e = catchSegLossError(() => small.lovaszSoftmaxGrad(t, p, { fromLogits: true }), "no error");
      expect(e.code).toBe("E_MEMORY");
      expect(small.largestFree()).toBe(free);
    }
  });

  it("thousands of calls leave the heap as they found it", () => {
    for (const { seg } of builds) {
      const [N, C, S] = [2, 4, 30];
      const { labels, pred } = distinct(4, N, C, S, "NCHW", 0.1);
      const t = { data: labels, shape: [N, S] };
      const p = { data: pred, shape: [N, C, S] };
      const free = seg.largestFree();
      let acc = 0;
      for (let i = 0; i < 1000; i++) {
        acc += seg.lovaszSoftmax(t, p, { ignoreIndex: 255 }) as number;
        acc += seg.lovaszSoftmaxGrad(t, p, { ignoreIndex: 255, perImage: true, fromLogits: true }).loss;
      }
      expect(Number.isFinite(acc)).toBe(true);
      expect(seg.largestFree()).toBe(free);
    }
  });
});
