// Binary Lovasz: lovaszGrad and lovaszHinge(Grad) against the float64 oracle
// on both builds, edge cases, tie order, errors and flat memory.
import { beforeAll, describe, expect, it } from "vitest";
import { type Build, bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import * as oracle from "./oracle/lovasz";

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

/** N images of L pixels with distinct errors (no ties): x·(2t−1) is a permutation of a grid. */
function distinct(seed: number, N: number, L: number, pPos = 0.4): { t: Float32Array; x: Float32Array } {
  const r = rng(seed);
  const n = N * L;
  const t = new Float32Array(n);
  const x = new Float32Array(n);
  const ks = Array.from({ length: n }, (_, i) => i - Math.floor(n / 2));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ks[i], ks[j]] = [ks[j], ks[i]];
  }
  const step = 4 / Math.max(n, 1);
  for (let i = 0; i < n; i++) {
    t[i] = r() < pPos ? 1 : 0;
    x[i] = Math.fround(ks[i] * step + 0.5 * step) * (2 * t[i] - 1);
  }
  return { t, x };
}

const SIZES: [number, number][] = [
  [1, 1],
  [1, 2],
  [2, 5],
  [3, 7],
  [1, 16],
  [2, 17],
  [4, 255],
  [2, 1031],
];

describe("lovaszGrad", () => {
  it("matches the oracle for sorted 0/1 vectors of any numeric type", () => {
    for (const { seg, name } of builds) {
      for (const n of [1, 2, 3, 7, 64, 1000]) {
        const r = rng(n);
        const bits = Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
        const want = oracle.lovaszGrad(bits);
        for (const C of [Float32Array, Float64Array, Uint8Array, Int32Array]) {
          const got = seg.lovaszGrad(C.from(bits));
          expect(got).toBeInstanceOf(Float32Array);
          withinAll(got, want, `${name} n=${n} ${C.name}`);
        }
      }
      withinAll(seg.lovaszGrad(new Uint8Array(5)), oracle.lovaszGrad([0, 0, 0, 0, 0]), `${name} all 0`);
      withinAll(seg.lovaszGrad(new Uint8Array(5).fill(1)), oracle.lovaszGrad([1, 1, 1, 1, 1]), `${name} all 1`);
    }
  });
});

describe("lovaszHinge against the oracle", () => {
  it("sweeps sizes, perImage, symmetric and ignoreIndex (loss, per-image values, gradient)", () => {
    for (const { seg, name } of builds) {
      let seed = 1;
      for (const [N, L] of SIZES) {
        for (const perImage of [true, false]) {
          for (const symmetric of [false, true]) {
            for (const ignore of [false, true]) {
              const { t, x } = distinct(seed++, N, L);
              if (ignore) for (let i = 0; i < t.length; i += 5) t[i] = 255;
              const o = { shape: [N, 1, L], perImage, symmetric, ignoreIndex: ignore ? 255 : null };
              const want = oracle.lovaszHinge(t, x, N, o);
              const what = `${name} N=${N} L=${L} ${JSON.stringify(o)}`;
              const mean = want.losses.reduce((a, b) => a + b, 0) / want.losses.length;
              within(seg.lovaszHinge(t, x, o) as number, mean, what);
              withinAll(seg.lovaszHinge(t, x, { ...o, reduction: "none" }) as Float32Array, want.losses, `${what} none`);
              within(seg.lovaszHinge(t, x, { ...o, reduction: "sum" }) as number, mean * want.losses.length, `${what} sum`);
              const g = seg.lovaszHingeGrad(t, Float64Array.from(x), o);
              within(g.loss, mean, `${what} grad loss`);
              withinAll(g.grad, want.grad, `${what} grad`);
            }
          }
        }
      }
    }
  });

  it("random logits with ties still give the oracle's loss", () => {
    for (const { seg, name } of builds) {
      const r = rng(99);
      const N = 3;
      const L = 500;
      const t = Float32Array.from({ length: N * L }, () => (r() < 0.5 ? 1 : 0));
      const x = Float32Array.from({ length: N * L }, () => Math.round((r() - 0.5) * 8) / 2);
      const want = oracle.lovaszHinge(t, x, N);
      withinAll(seg.lovaszHinge(t, x, { shape: [N, 1, L], reduction: "none" }) as Float32Array, want.losses, name);
    }
  });

  it("wide-ranged logits over large segments (every radix digit in play) give the oracle's losses", () => {
    for (const { seg, name } of builds) {
      const r = rng(2024);
      const N = 2;
      const L = 20000;
      const t = Float32Array.from({ length: N * L }, () => (r() < 0.3 ? 1 : 0));
      const x = Float32Array.from({ length: N * L }, () => (r() < 0.5 ? -1 : 1) * Math.exp(r() * 16 - 8));
      for (const perImage of [true, false]) {
        const want = oracle.lovaszHinge(t, x, N, { perImage });
        withinAll(
          seg.lovaszHinge(t, x, { shape: [N, 1, L], perImage, reduction: "none" }) as Float32Array,
          want.losses,
          `${name} ${perImage}`,
        );
      }
    }
  });

  it("sort regimes: crowded buckets around the insertion-sort size, equal keys, n = 0/1/2, loss and gradient", () => {
    // errors 1 + j·2^-20 (distinct, exact in float32) share their top 11 key bits, so
    // `crowd` of them form one radix bucket (insertion sort up to 48, LSD passes above)
    const make = (seed: number, crowd: number, spread: number, ties: boolean) => {
      const r = rng(seed);
      const n = crowd + spread;
      const js = Array.from({ length: crowd }, (_, i) => i + 1);
      for (let i = crowd - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [js[i], js[j]] = [js[j], js[i]];
      }
      const t = new Float32Array(n);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        t[i] = r() < 0.4 ? 1 : 0;
        const e = i < crowd ? 1 + (ties ? 3 : js[i]) * 2 ** -20 : 2 ** (Math.floor(r() * 12) - 6) * (1 + i * 2 ** -18);
        x[i] = t[i] === 1 ? 1 - e : e - 1; // e = 1 − x·(2t − 1), exact
        if (i % 7 === 3) x[i] = t[i] === 1 ? 2 + r() : -2 - r(); // e < 0: not sorted
      }
      return { t, x, n };
    };
    for (const { seg, name } of builds) {
      let seed = 300;
      for (const [crowd, spread] of [
        [0, 0],
        [1, 0],
        [2, 0],
        [0, 2],
        [47, 0],
        [48, 3],
        [49, 5],
        [50, 40],
        [97, 0],
        [1500, 700],
      ]) {
        for (const ties of [false, true]) {
          for (const symmetric of [false, true]) {
            const { t, x, n } = make(seed++, crowd, spread, ties);
            if (n === 0) continue;
            const o = { shape: [1, 1, n], symmetric };
            const want = oracle.lovaszHinge(t, x, 1, { symmetric });
            const what = `${name} crowd=${crowd} spread=${spread} ties=${ties} sym=${symmetric}`;
            within(seg.lovaszHinge(t, x, o) as number, want.losses[0], what);
            const g = seg.lovaszHingeGrad(t, x, o);
            within(g.loss, want.losses[0], `${what} grad loss`);
            if (!ties) withinAll(g.grad, want.grad, `${what} grad`);
          }
        }
      }
    }
  });

  it("a segment of 2^20 pixels (loss keys sorted alone, gradient items) matches the oracle's loss", () => {
    const r = rng(77);
    const n = 1 << 20;
    const t = Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
    const x = Float32Array.from({ length: n }, () => (r() - 0.45) * 6);
    const want = oracle.lovaszHinge(t, x, 1, { symmetric: true });
    const plain = oracle.lovaszHinge(t, x, 1).losses[0];
    for (const { seg, name } of builds) {
      within(seg.lovaszHinge(t, x, { shape: [1, 1, n] }) as number, plain, `${name} loss`);
      within(seg.lovaszHinge(t, x, { shape: [1, 1, n], symmetric: true }) as number, want.losses[0], `${name} symmetric`);
      within(seg.lovaszHingeGrad(t, x, { shape: [1, 1, n] }).loss, plain, `${name} grad loss`);
    }
  });

  it("presets: 'lovasz' is per image, 'smp' flattens the batch; perImage overrides", () => {
    for (const { seg } of builds) {
      const { t, x } = distinct(7, 3, 40);
      const o = { shape: [3, 1, 40] };
      const per = seg.lovaszHinge(t, x, o) as number;
      const flat = seg.lovaszHinge(t, x, { ...o, perImage: false }) as number;
      expect(per).not.toBe(flat);
      expect(seg.lovaszHinge(t, x, { ...o, preset: "lovasz" })).toBe(per);
      expect(seg.lovaszHinge(t, x, { ...o, preset: "smp" })).toBe(flat);
      expect(seg.lovaszHinge(t, x, { ...o, preset: "smp", perImage: true })).toBe(per);
      expect((seg.lovaszHinge(t, x, { ...o, preset: "smp", reduction: "none" }) as Float32Array).length).toBe(1);
    }
  });
});

describe("edge cases", () => {
  it("an all-ignored image counts 0 with gradient 0; empty batch of valid pixels gives 0", () => {
    for (const { seg, name } of builds) {
      const { t, x } = distinct(3, 2, 9);
      t.fill(255, 0, 9);
      const o = { shape: [2, 1, 9], ignoreIndex: 255 };
      const want = oracle.lovaszHinge(t, x, 2, o);
      expect(want.losses[0]).toBe(0);
      const g = seg.lovaszHingeGrad(t, x, o);
      within(g.loss, (want.losses[0] + want.losses[1]) / 2, name);
      expect(Array.from(g.grad.subarray(0, 9))).toEqual(new Array(9).fill(0));
      withinAll(g.grad, want.grad, name);
      const all = new Float32Array(18).fill(255);
      expect(seg.lovaszHinge(all, x, o)).toBe(0);
      expect(Array.from(seg.lovaszHingeGrad(all, x, { ...o, perImage: false }).grad)).toEqual(new Array(18).fill(0));
    }
  });

  it("all-positive, all-negative, N = 1 and single pixels", () => {
    for (const { seg, name } of builds) {
      for (const fill of [0, 1]) {
        const { x } = distinct(11, 1, 33);
        const t = new Uint8Array(33).fill(fill);
        const want = oracle.lovaszHinge(t, x, 1);
        const g = seg.lovaszHingeGrad(t, x);
        within(g.loss, want.losses[0], `${name} fill ${fill}`);
        withinAll(g.grad, want.grad, `${name} fill ${fill}`);
      }
      for (const [tv, xv] of [
        [1, 0.5],
        [0, 0.5],
        [1, 3],
        [0, -3],
      ]) {
        const want = oracle.lovaszHinge([tv], [xv], 1);
        const g = seg.lovaszHingeGrad(new Float32Array([tv]), new Float32Array([xv]));
        within(g.loss, want.losses[0], `${name} single ${tv},${xv}`);
        withinAll(g.grad, want.grad, `${name} single`);
      }
    }
  });

  it("ties are ordered by pixel index, the same on both builds and every call", () => {
    const t = new Float32Array([1, 0, 1, 1, 0, 0, 1, 0]);
    const x = new Float32Array([0.5, -0.5, 0.5, 0.5, -0.5, -0.5, 0.5, -0.5]); // every error is 0.5
    const want = oracle.lovaszHinge(t, x, 1);
    const grads = builds.map(({ seg }) => seg.lovaszHingeGrad(t, x).grad);
    for (const g of grads) withinAll(g, want.grad, "ties");
    expect(Array.from(grads[0])).toEqual(Array.from(grads[1]));
    expect(Array.from(builds[0].seg.lovaszHingeGrad(t, x).grad)).toEqual(Array.from(grads[0]));
  });

  it("inputs and out in wasm memory (zero-copy) give the same numbers as copies", () => {
    for (const { seg, name } of builds) {
      const { t, x } = distinct(21, 3, 333);
      const o = { shape: [3, 1, 333], symmetric: true, ignoreIndex: 255 };
      t[7] = 255;
      const ref = seg.lovaszHingeGrad(t, x, o);
      const free = seg.largestFree();
      const tm = seg.alloc(Float32Array, t.length);
      const xm = seg.alloc(Float32Array, x.length);
      const gm = seg.alloc(Float32Array, x.length);
      tm.set(t);
      xm.set(x);
      expect(seg.lovaszHinge(tm, xm, o)).toBe(seg.lovaszHinge(t, x, o));
      const g = seg.lovaszHingeGrad(tm, xm, { ...o, out: gm });
      expect(g.loss).toBe(ref.loss);
      expect(Array.from(gm)).toEqual(Array.from(ref.grad));
      expect(Array.from(xm)).toEqual(Array.from(x)); // inputs are read, never written
      seg.lovaszHingeGrad(tm, xm, { ...o, out: xm }); // out may be the logits
      expect(Array.from(xm)).toEqual(Array.from(ref.grad));
      seg.free(tm);
      seg.free(xm);
      seg.free(gm);
      expect(seg.largestFree(), name).toBe(free);
    }
  });

  it("equal errors (every radix pass skipped), e = 0 exactly, −0 targets and 0/1 as ignoreIndex", () => {
    for (const { seg, name } of builds) {
      const L = 37;
      const t = Float32Array.from({ length: L }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const x = Float32Array.from(t, (v) => (v ? 0.25 : -0.25)); // every e = 0.75
      const want = oracle.lovaszHinge(t, x, 1);
      const g = seg.lovaszHingeGrad(t, x);
      within(g.loss, want.losses[0], `${name} equal`);
      withinAll(g.grad, want.grad, `${name} equal`);
      const x0 = Float32Array.from(t, (v, i) => (i % 2 ? (v ? 1 : -1) : v ? 0.5 : -2)); // e = 0 on odd pixels
      const w0 = oracle.lovaszHinge(t, x0, 1);
      withinAll(seg.lovaszHingeGrad(t, x0).grad, w0.grad, `${name} e = 0`);
      const tz = Float32Array.from(t, (v) => (v ? 1 : -0));
      expect(seg.lovaszHinge(tz, x)).toBe(seg.lovaszHinge(t, x));
      for (const ignoreIndex of [0, 1]) {
        const w = oracle.lovaszHinge(t, x0, 1, { ignoreIndex });
        const got = seg.lovaszHingeGrad(t, x0, { ignoreIndex });
        within(got.loss, w.losses[0], `${name} ignore ${ignoreIndex}`);
        withinAll(got.grad, w.grad, `${name} ignore ${ignoreIndex}`);
      }
    }
  });

  it("opts.out receives the gradient, also when it is the logits", () => {
    for (const { seg } of builds) {
      const { t, x } = distinct(5, 2, 21);
      const ref = seg.lovaszHingeGrad(t, x, { shape: [2, 1, 21] });
      const out = new Float32Array(42);
      const g = seg.lovaszHingeGrad(t, x, { shape: [2, 1, 21], out });
      expect(g.grad).toBe(out);
      expect(Array.from(out)).toEqual(Array.from(ref.grad));
      const xs = Float32Array.from(x);
      seg.lovaszHingeGrad(t, xs, { shape: [2, 1, 21], out: xs });
      expect(Array.from(xs)).toEqual(Array.from(ref.grad));
    }
  });
});

describe("errors and memory", () => {
  it("bad inputs and options throw SegLossErrors naming the argument and change nothing", () => {
    for (const { seg } of builds) {
      const { t, x } = distinct(8, 2, 10);
      const o = { shape: [2, 1, 10] };
      const free = seg.largestFree();
      const expectError = (f: () => unknown, code: string, argument: string) => {
        const e = catchSegLossError(f, "no error");
        expect(e.code).toBe(code);
        expect(e.argument).toBe(argument);
      };
      const badT = Float32Array.from(t);
      badT[15] = 0.5;
      expectError(() => seg.lovaszHinge(badT, x, o), "E_RANGE", "target");
      const out = new Float32Array(20).fill(7);
      expectError(() => seg.lovaszHingeGrad(badT, x, { ...o, out }), "E_RANGE", "target");
      expect(Array.from(out)).toEqual(new Array(20).fill(7));
      const badX = Float32Array.from(x);
      badX[3] = Number.NaN;
      expectError(() => seg.lovaszHinge(t, badX, o), "E_NONFINITE", "logits");
      badX[3] = Number.POSITIVE_INFINITY;
      expectError(() => seg.lovaszHingeGrad(t, badX, o), "E_NONFINITE", "logits");
      expectError(() => seg.lovaszHinge(t, new Uint8Array(20), o), "E_DTYPE", "logits");
      expectError(() => seg.lovaszHinge(t.subarray(0, 10), x, o), "E_SHAPE", "target.shape");
      expectError(() => seg.lovaszHingeGrad(t, x, { ...o, reduction: "none" }), "E_OPTION", "opts.reduction");
      expectError(() => seg.lovaszHingeGrad(t, x, { ...o, out: new Float32Array(3) }), "E_SHAPE", "opts.out");
      expectError(() => seg.lovaszHinge(t, x, { ...o, preset: "seed" as never }), "E_OPTION", "opts.preset");
      expectError(() => seg.lovaszHinge(t, x, { ...o, fromLogits: true } as never), "E_OPTION", "lovaszHinge options");
      expectError(() => seg.lovaszHinge(t, x, { ...o, out } as never), "E_OPTION", "lovaszHinge options");
      expectError(() => seg.lovaszGrad(new Float32Array([1, 0.5])), "E_RANGE", "sortedTarget");
      expectError(() => seg.lovaszGrad(new Float32Array(0)), "E_EMPTY", "sortedTarget");
      expectError(() => seg.lovaszGrad([1, 0] as never), "E_DTYPE", "sortedTarget");
      expectError(() => seg.lovaszHinge(new Float32Array(1 << 22), new Float32Array(1 << 22)), "E_MEMORY", "lovasz scratch");
      expect(seg.largestFree()).toBe(free);
    }
  });

  it("thousands of calls leave the heap as they found it", () => {
    for (const { seg } of builds) {
      const { t, x } = distinct(9, 2, 50);
      const free = seg.largestFree();
      let acc = 0;
      for (let i = 0; i < 2000; i++) {
        acc += seg.lovaszHinge(t, x, { shape: [2, 1, 50] }) as number;
        acc += seg.lovaszHingeGrad(t, x, { shape: [2, 1, 50], symmetric: true }).loss;
        acc += seg.lovaszGrad(t)[0];
      }
      expect(Number.isFinite(acc)).toBe(true);
      expect(seg.largestFree()).toBe(free);
    }
  });
});
