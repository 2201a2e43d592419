// meanIoU against the float64 oracle on both builds: counts must match exactly,
// the means within 1e-12. Sizes with vector tails and several kernel blocks,
// predictions placed exactly on and next to the float32 cuts, every option,
// presets, logits decided exactly, errors, memory, streaming, zero-copy.
import { beforeAll, describe, expect, it } from "vitest";
import { create, SegLossError, type Segloss } from "../src/index";
import { cutOf, sigmoidSign } from "../src/metrics/meanIoU";
import { type Build, bothBuilds, LENGTHS, rng } from "./helpers";
import * as oracle from "./oracle/meanIoU";

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The float32 n steps away from x (x a float32). */
function stepF32(x: number, n: number): number {
  f32[0] = x;
  if (x === 0 && n !== 0) return n > 0 ? 2 ** -149 * n : -(2 ** -149) * -n;
  u32[0] += x > 0 ? n : -n;
  return f32[0];
}

type Kind = "hard" | "empty" | "full";

/**
 * N images of L pixels. Predictions: uniform in [0, 1] with exact 0 and 1,
 * and a share placed exactly on, and one or two float32 steps from, the
 * float32 neighbours of the thresholds (the cases the cuts must get right).
 */
function makeCase(seed: number, N: number, L: number, kind: Kind, thresholds = oracle.DEFAULT_THRESHOLDS) {
  const r = rng(seed);
  const n = N * L;
  const t = new Float32Array(n);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = kind === "empty" ? 0 : kind === "full" ? 1 : r() < 0.4 ? 1 : 0;
    const u = r();
    if (u < 0.03) p[i] = 0;
    else if (u < 0.06) p[i] = 1;
    else if (u < 0.4) {
      const tau = thresholds[Math.floor(r() * thresholds.length)];
      p[i] = Math.min(1, Math.max(0, stepF32(Math.fround(tau), Math.floor(r() * 5) - 2)));
    } else p[i] = Math.min(1, Math.max(0, 0.5 * t[i] + 0.5 * r()));
  }
  return { t, p };
}

/** Counts exactly, means within 1e-12 (absolute; every value is in [0, 1]). */
function expectMatches(got: ReturnType<Segloss["meanIoUDetails"]>, want: oracle.MeanIoUOracle, what: string): void {
  for (const k of ["tp", "fp", "fn", "tn"] as const) expect(Array.from(got[k]), `${what} ${k}`).toEqual(Array.from(want[k]));
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, name: string) => {
    expect(a.length, `${what} ${name} length`).toBe(b.length);
    for (let i = 0; i < b.length; i++) {
      if (!(Math.abs(a[i] - b[i]) <= 1e-12)) expect.fail(`${what} ${name}[${i}]: got ${a[i]}, expected ${b[i]}`);
    }
  };
  close([got.score], [want.score], "score");
  close(got.perThreshold, want.perThreshold, "perThreshold");
  close(got.perImage, want.perImage, "perImage");
  close(got.perImageThreshold, want.perImageThreshold, "perImageThreshold");
}

const SIZES: [number, number][] = [
  ...LENGTHS,
  [1, 9000], // more than one kernel block of 1024 vectors
];

const OPTION_SETS: oracle.MeanIoUOracleOpts[] = [
  {},
  { perImage: true },
  { compare: ">=" },
  { thresholdPrecision: "float32" },
  { compare: ">=", thresholdPrecision: "float32", perImage: true },
  { thresholds: [0.5] },
  { thresholds: [0.3, 0.9, 0.5, 0.5, 0.31] }, // unsorted, a duplicate, not a grid
  { thresholds: [-0.5, 0, 0.25, 1, 1.5] }, // every pixel, p > 0, none
  { thresholds: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] }, // another grid
  { thresholds: Array.from({ length: 40 }, (_, i) => 0.02 + 0.024 * i) }, // a fine grid
  { thresholds: [0.5, 0.5 + 2 ** -24, 0.5 + 2 ** -23, 0.75] }, // cuts one float32 apart
  { epsilon: 1e-7, emptyScore: 0 },
  { preset: "keras3" },
  { preset: "tfkeras2" },
  { preset: "keras3", thresholds: [0.3, 0.6], perImage: true },
];

describe("meanIoU matches the float64 oracle", () => {
  for (const opts of OPTION_SETS) {
    it(JSON.stringify(opts), () => {
      const thr = opts.thresholds ?? (opts.preset ? [0.5] : oracle.DEFAULT_THRESHOLDS);
      for (const { name, seg } of builds) {
        let seed = 100;
        for (const [N, L] of SIZES) {
          for (const kind of ["hard", "empty", "full"] as Kind[]) {
            const c = makeCase(
              seed++,
              N,
              L,
              kind,
              Array.from(thr)
                .filter((x) => x >= 0 && x <= 1)
                .concat([0.5]),
            );
            const want = oracle.meanIoU(c.t, c.p, N, opts);
            const o = { ...opts, shape: [N, 1, L] as number[] };
            const what = `${name} ${kind} N=${N} L=${L}`;
            expectMatches(seg.meanIoUDetails(c.t, c.p, o), want, what);
            expect(seg.meanIoU(c.t, c.p, o), what).toBe(seg.meanIoUDetails(c.t, c.p, o).score);
            const none = seg.meanIoU(c.t, c.p, { ...o, reduction: "none" }) as Float64Array;
            expect(none).toBeInstanceOf(Float64Array);
            expect(Array.from(none)).toEqual(Array.from(seg.meanIoUDetails(c.t, c.p, o).perThreshold));
          }
        }
      }
    });
  }

  it("ignoreIndex drops pixels (255, and a class label)", () => {
    for (const { name, seg } of builds) {
      const c = makeCase(7, 3, 2049, "hard");
      const r = rng(8);
      const t = c.t.map((v) => (r() < 0.2 ? 255 : v));
      for (const opts of [
        { ignoreIndex: 255 },
        { ignoreIndex: 255, perImage: true },
        { ignoreIndex: 255, compare: ">=" as const, thresholds: [0.2, 0.7] },
      ]) {
        const want = oracle.meanIoU(t, c.p, 3, opts);
        expectMatches(seg.meanIoUDetails(t, c.p, { ...opts, shape: [3, 1, 2049] }), want, `${name} ${JSON.stringify(opts)}`);
      }
      // ignoring a class label leaves the other class alone
      for (const ignoreIndex of [0, 1]) {
        const want = oracle.meanIoU(c.t, c.p, 3, { ignoreIndex, perImage: true });
        expectMatches(
          seg.meanIoUDetails(c.t, c.p, { ignoreIndex, perImage: true, shape: [3, 1, 2049] }),
          want,
          `${name} ignore ${ignoreIndex}`,
        );
      }
      // every pixel of one image ignored: that image has no class and scores emptyScore
      const t2 = t.slice();
      t2.fill(255, 0, 2049);
      for (const opts of [
        { ignoreIndex: 255, perImage: true },
        { ignoreIndex: 255, perImage: true, emptyScore: 0 },
      ]) {
        const want = oracle.meanIoU(t2, c.p, 3, opts);
        expectMatches(seg.meanIoUDetails(t2, c.p, { ...opts, shape: [3, 1, 2049] }), want, `${name} all ignored ${JSON.stringify(opts)}`);
      }
      // everything ignored: the batch score is emptyScore
      const all = new Float32Array(64).fill(255);
      expect(seg.meanIoU(all, new Float32Array(64).fill(0.7), { ignoreIndex: 255 })).toBe(1);
      expect(seg.meanIoU(all, new Float32Array(64).fill(0.7), { ignoreIndex: 255, preset: "keras3" })).toBe(0);
    }
  });

  it("random thresholds, sizes and options (unseen cases)", () => {
    const r = rng(2024);
    for (let trial = 0; trial < 60; trial++) {
      const N = 1 + Math.floor(r() * 4);
      const L = 1 + Math.floor(r() * 3000);
      const K = 1 + Math.floor(r() * 14);
      const grid = r() < 0.5;
      const a = r() * 0.8;
      const step = (r() * (1 - a)) / K;
      const thresholds = Array.from({ length: K }, (_, i) => (grid ? a + step * i : r() * 1.2 - 0.1));
      const opts: oracle.MeanIoUOracleOpts = {
        thresholds,
        compare: r() < 0.5 ? ">" : ">=",
        thresholdPrecision: r() < 0.3 ? "float32" : "float64",
        perImage: r() < 0.5,
        ignoreIndex: r() < 0.3 ? 9 : null,
      };
      const c = makeCase(3000 + trial, N, L, "hard", thresholds.filter((x) => x >= 0 && x <= 1).concat([0.5]));
      if (opts.ignoreIndex !== null) for (let i = 0; i < c.t.length; i += 7) c.t[i] = 9;
      const want = oracle.meanIoU(c.t, c.p, N, opts);
      for (const { name, seg } of builds) {
        expectMatches(seg.meanIoUDetails(c.t, c.p, { ...opts, shape: [N, 1, L] }), want, `${name} trial ${trial} ${JSON.stringify(opts)}`);
      }
    }
  });
});

describe("thresholds exactly at a prediction value", () => {
  it("p = fround(0.55) against τ = 0.55 (float64) and τ = fround(0.55)", () => {
    const p55 = Math.fround(0.55); // 0.550000011920929 > 0.55000000000000004
    const p = Float32Array.of(p55, stepF32(p55, -1), stepF32(p55, 1));
    const t = Float32Array.of(1, 1, 1);
    for (const { seg } of builds) {
      const d = (o: object) => seg.meanIoUDetails(t, p, o);
      // float64 τ = 0.55: the float32 0.550000011920929 is above it
      expect(Array.from(d({ thresholds: [0.55] }).tp)).toEqual([2]);
      expect(Array.from(d({ thresholds: [0.55], compare: ">=" }).tp)).toEqual([2]);
      // TensorFlow's float32 compare: p > fround(0.55) is false at p = fround(0.55)
      expect(Array.from(d({ thresholds: [0.55], thresholdPrecision: "float32" }).tp)).toEqual([1]);
      expect(Array.from(d({ thresholds: [0.55], thresholdPrecision: "float32", compare: ">=" }).tp)).toEqual([2]);
      // a threshold that is itself that float32
      expect(Array.from(d({ thresholds: [p55] }).tp)).toEqual([1]);
      expect(Array.from(d({ thresholds: [p55], compare: ">=" }).tp)).toEqual([2]);
    }
  });

  it("every default threshold: its float32 and the neighbours on both sides", () => {
    for (const { seg } of builds) {
      for (const compare of [">", ">="] as const) {
        for (const tau of oracle.DEFAULT_THRESHOLDS) {
          const c = Math.fround(tau);
          const p = Float32Array.from([-3, -2, -1, 0, 1, 2, 3], (k) => stepF32(c, k));
          const t = new Float32Array(p.length).fill(1);
          const want = oracle.meanIoU(t, p, 1, { thresholds: [tau], compare });
          expect(Array.from(seg.meanIoUDetails(t, p, { thresholds: [tau], compare }).tp), `${compare} ${tau}`).toEqual(Array.from(want.tp));
        }
      }
    }
  });

  it("values on a uniform grid's boundaries take the exact path (quantised predictions k/255)", () => {
    for (const { name, seg } of builds) {
      const N = 2;
      const L = 4096;
      const t = new Float32Array(N * L);
      const p = new Float32Array(N * L);
      const r = rng(5);
      for (let i = 0; i < N * L; i++) {
        t[i] = r() < 0.5 ? 1 : 0;
        p[i] = Math.floor(r() * 256) / 255;
      }
      for (const opts of [{}, { thresholds: [0.2, 0.4, 0.6, 0.8] }, { compare: ">=" as const }]) {
        expectMatches(
          seg.meanIoUDetails(t, p, { ...opts, shape: [N, 1, L] }),
          oracle.meanIoU(t, p, N, opts),
          `${name} k/255 ${JSON.stringify(opts)}`,
        );
      }
    }
  });
});

describe("logits: σ(x) > τ decided exactly", () => {
  it("x = logit cut neighbours, and τ = σ(v) rounded to float64 (the hard cases)", () => {
    // near ½ logit(τ) is tiny and ln τ − ln(1 − τ) would cancel; 0.25 and 0.75 switch formulas
    const taus = [
      0.5,
      0.55,
      0.7,
      0.95,
      0.05,
      1e-6,
      0.999999,
      0.5 + 2 ** -53,
      0.5 - 2 ** -54,
      0.5 + 1e-12,
      0.25,
      0.75,
      0.2500000000000001,
      1e-300,
    ];
    const r = rng(77);
    for (let k = 0; k < 20; k++) {
      const v = Math.fround((r() - 0.5) * 20);
      taus.push(1 / (1 + Math.exp(-v))); // logit(τ) within ~1e-16 of the float32 v
    }
    for (const compare of [">", ">="] as const) {
      for (const tau of taus) {
        const c = cutOf(tau, compare, false, true);
        // c passes and the float32 below it does not, by the oracle's independent exact test
        const pass = (x: number) => {
          const s = oracle.sigmoidVsTau(x, tau);
          return compare === ">" ? s > 0 : s >= 0;
        };
        expect(pass(c), `cut ${c} for ${compare} ${tau}`).toBe(true);
        expect(pass(stepF32(c, -1)), `below the cut for ${compare} ${tau}`).toBe(false);
      }
    }
    expect(sigmoidSign(0, 0.5)).toBe(0);
    expect(cutOf(0.5, ">", false, true)).toBe(2 ** -149);
    expect(cutOf(0.5, ">=", false, true)).toBe(0);
    expect(cutOf(0, ">", false, true)).toBe(Number.NEGATIVE_INFINITY);
    expect(cutOf(1, ">=", false, true)).toBe(Number.POSITIVE_INFINITY);
  });

  it("matches the oracle on logits, with thresholds outside (0, 1) too", () => {
    const r = rng(9);
    const vs: number[] = [];
    for (let k = 0; k < 6; k++) vs.push(Math.fround((r() - 0.5) * 12));
    const thresholds = [0.5, 0.7, 0.2, ...vs.map((v) => 1 / (1 + Math.exp(-v))), 0, 1, -1];
    for (const { name, seg } of builds) {
      const N = 3;
      const L = 1500;
      const t = new Float32Array(N * L);
      const x = new Float32Array(N * L);
      for (let i = 0; i < N * L; i++) {
        t[i] = r() < 0.4 ? 1 : 0;
        const u = r();
        x[i] = u < 0.3 ? stepF32(vs[Math.floor(r() * vs.length)], Math.floor(r() * 5) - 2) : u < 0.35 ? 0 : (r() - 0.5) * 30;
      }
      for (const opts of [
        { fromLogits: true, thresholds },
        { fromLogits: true, thresholds, compare: ">=" as const, perImage: true },
        { fromLogits: true },
        // thresholds evenly spaced in logit space: the cuts form a grid (the arithmetic bucketing)
        { fromLogits: true, thresholds: Array.from({ length: 9 }, (_, k) => 1 / (1 + Math.exp(-(k - 4)))), ignoreIndex: 7 },
      ]) {
        expectMatches(
          seg.meanIoUDetails(t, x, { ...opts, shape: [N, 1, L] }),
          oracle.meanIoU(t, x, N, opts),
          `${name} logits ${opts.compare ?? ">"}`,
        );
      }
    }
  });
});

describe("edge cases", () => {
  it("empty masks, all-ones masks, N = 1, one pixel", () => {
    for (const { seg } of builds) {
      const zeros = new Float32Array(100);
      const ones = new Float32Array(100).fill(1);
      const low = new Float32Array(100).fill(0.2);
      const high = new Float32Array(100).fill(0.9);
      // empty target, empty prediction: class 0 alone, IoU 1
      expect(seg.meanIoU(zeros, low)).toBe(1);
      // empty target, a prediction above every threshold: class 1 IoU 0, class 0 has no TN: (0 + 0) / 2
      expect(seg.meanIoU(zeros, ones)).toBe(0);
      // all-ones target, prediction 0.9: positive for τ < 0.9 (8 of 10 thresholds), IoU 1 there, 0 at 0.9 and 0.95
      expect(seg.meanIoU(ones, high)).toBeCloseTo(0.8, 15);
      expect(seg.meanIoU(ones, ones)).toBe(1);
      expect(seg.meanIoU(Float32Array.of(1), Float32Array.of(0.7))).toBeCloseTo(0.4, 15);
      // one image given as [H, W]
      const c = makeCase(3, 1, 64, "hard");
      expectMatches(seg.meanIoUDetails(c.t, c.p, { shape: [8, 8] }), oracle.meanIoU(c.t, c.p, 1), "N = 1 [H,W]");
    }
  });

  it("every input form and binary shape, integer targets, Float64Array predictions (read as float32)", () => {
    for (const { seg } of builds) {
      const c = makeCase(4, 2, 48, "hard");
      const want = oracle.meanIoU(c.t, c.p, 2).score;
      const u8 = Uint8Array.from(c.t);
      const p64 = Float64Array.from(c.p);
      expect(seg.meanIoU(u8, c.p, { shape: [2, 6, 8] })).toBeCloseTo(want, 14);
      expect(seg.meanIoU({ data: c.t, shape: [2, 6, 8] }, { data: p64, shape: [2, 1, 6, 8] })).toBeCloseTo(want, 14);
      expect(seg.meanIoU({ data: Int32Array.from(c.t), dims: [2, 6, 8, 1] }, { data: c.p, dims: [2, 6, 8, 1] })).toBeCloseTo(want, 14);
      const tf = { shape: [2, 48], dataSync: () => c.p };
      expect(seg.meanIoU({ data: c.t, shape: [2, 48] }, tf)).toBeCloseTo(want, 14);
    }
  });

  it("Keras BinaryIoU numbers (keras3 / tfkeras2 presets)", () => {
    for (const { seg } of builds) {
      // keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3) on [0,1,0,1] vs [0.1,0.2,0.4,0.7] → 0.33333334
      const t = Float32Array.of(0, 1, 0, 1);
      const p = Float32Array.of(0.1, 0.2, 0.4, 0.7);
      const k3 = seg.meanIoU(t, p, { preset: "keras3", thresholds: [0.3] }) as number;
      expect(Math.abs(k3 - 0.33333334)).toBeLessThan(6e-8); // Keras computes in float32
      expect(seg.meanIoU(t, p, { preset: "tfkeras2", thresholds: [0.3] })).toBeCloseTo(1 / 3, 15);
      // threshold 0.5 with p exactly 0.5: ≥ (Keras) makes it positive
      expect(Array.from(seg.meanIoUDetails(Float32Array.of(1), Float32Array.of(0.5), { preset: "keras3" }).tp)).toEqual([1]);
      expect(Array.from(seg.meanIoUDetails(Float32Array.of(1), Float32Array.of(0.5), {}).tp)).toEqual(Array(10).fill(0));
    }
  });

  it("details: the confusion matrix adds up, perImage agrees with a per-image call", () => {
    for (const { seg } of builds) {
      const c = makeCase(12, 4, 300, "hard");
      const d = seg.meanIoUDetails(c.t, c.p, { shape: [4, 1, 300], perImage: true });
      for (let i = 0; i < 10; i++) expect(d.tp[i] + d.fp[i] + d.fn[i] + d.tn[i]).toBe(1200);
      for (let n = 0; n < 4; n++) {
        const one = seg.meanIoU(c.t.subarray(n * 300, (n + 1) * 300), c.p.subarray(n * 300, (n + 1) * 300));
        expect(d.perImage[n]).toBeCloseTo(one as number, 14);
      }
      expect(d.score).toBeCloseTo(d.perImage.reduce((a, b) => a + b) / 4, 15);
      expect(Array.from(d.thresholds)).toEqual(oracle.DEFAULT_THRESHOLDS);
    }
  });
});

describe("bad input", () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(SegLossError as never);
      return `${(e as { code: string }).code} ${(e as Error).message}`;
    }
    return "no error";
  };

  it("targets other than 0/1, probabilities outside [0, 1], NaN and ±Infinity", () => {
    for (const { seg } of builds) {
      const p = new Float32Array(50).fill(0.5);
      const t = new Float32Array(50);
      const at = (a: Float32Array, i: number, v: number) => {
        const b = a.slice();
        b[i] = v;
        return b;
      };
      expect(code(() => seg.meanIoU(at(t, 37, 0.5), p))).toMatch(/^E_RANGE .*target.*0\.5 at element 37/);
      expect(code(() => seg.meanIoU(at(t, 3, 2), p))).toMatch(/^E_RANGE .*target.*2 at element 3/);
      expect(code(() => seg.meanIoU(at(t, 3, 255), p))).toMatch(/^E_RANGE .*target/);
      expect(code(() => seg.meanIoU(at(t, 3, 255), p, { ignoreIndex: 255 }))).toBe("no error");
      expect(code(() => seg.meanIoU(at(t, 3, Number.NaN), p))).toMatch(/^E_NONFINITE .*target.*NaN at element 3/);
      expect(code(() => seg.meanIoU(t, at(p, 41, 1.5)))).toMatch(/^E_RANGE .*pred.*1\.5 at element 41/);
      expect(code(() => seg.meanIoU(t, at(p, 41, -0.25)))).toMatch(/^E_RANGE .*pred.*-0\.25/);
      expect(code(() => seg.meanIoU(t, at(p, 2, Number.NaN)))).toMatch(/^E_NONFINITE .*pred.*NaN at element 2/);
      expect(code(() => seg.meanIoU(t, at(p, 2, Number.POSITIVE_INFINITY), { fromLogits: true }))).toMatch(/^E_NONFINITE .*pred/);
      expect(code(() => seg.meanIoU(t, at(p, 49, Number.NEGATIVE_INFINITY), { fromLogits: true }))).toMatch(/^E_NONFINITE .*pred/);
      expect(code(() => seg.meanIoU(t, at(p, 2, 7), { fromLogits: true }))).toBe("no error");
      // −0 is 0: a valid probability and a valid target
      expect(seg.meanIoU(at(t, 5, -0), at(p, 6, -0))).toBe(seg.meanIoU(t, at(p, 6, 0)));
      // … also next to values above the cuts (a −0 must not hide them from the bucketing)
      const r = rng(31);
      const tz = Float32Array.from({ length: 4096 }, () => (r() < 0.5 ? 1 : 0));
      const pz = Float32Array.from({ length: 4096 }, (_, i) => (i % 3 === 0 ? -0 : r()));
      expectMatches(seg.meanIoUDetails(tz, pz), oracle.meanIoU(tz, pz, 1), "−0 predictions");
      expectMatches(seg.meanIoUDetails(tz, pz, { fromLogits: true }), oracle.meanIoU(tz, pz, 1, { fromLogits: true }), "−0 logits");
      // errors in a later image of a long batch (several blocks, several chunks)
      const big = new Float32Array(3 * 20000);
      const bp = new Float32Array(3 * 20000).fill(0.25);
      expect(code(() => seg.meanIoU(at(big, 51234, 0.25), bp, { shape: [3, 1, 20000] }))).toMatch(/at element 51234/);
    }
  });

  it("options, shapes and dtypes", () => {
    for (const { seg } of builds) {
      const t = new Float32Array(8);
      const p = new Float32Array(8);
      const call = (o: unknown) => () => seg.meanIoU(t, p, o as never);
      expect(code(call({ thresholds: [] }))).toMatch(/^E_OPTION_RANGE/);
      expect(code(call({ thresholds: [0.5, Number.NaN] }))).toMatch(/^E_OPTION_RANGE/);
      expect(code(call({ thresholds: [0.5, Number.POSITIVE_INFINITY] }))).toMatch(/^E_OPTION_RANGE/);
      expect(code(call({ thresholds: "0.5" }))).toMatch(/^E_OPTION /);
      expect(code(call({ thresholds: [0.5, "x"] }))).toMatch(/^E_OPTION /);
      expect(code(call({ compare: "<" }))).toMatch(/^E_OPTION /);
      expect(code(call({ reduction: "sum" }))).toMatch(/^E_OPTION /);
      expect(code(call({ emptyScore: 2 }))).toMatch(/^E_OPTION_RANGE/);
      expect(code(call({ epsilon: -1 }))).toMatch(/^E_OPTION_RANGE/);
      expect(code(call({ preset: "smp" }))).toMatch(/^E_OPTION /);
      expect(code(call({ perImage: true, aggregate: "batch" }))).toMatch(/^E_OPTION /);
      expect(code(call({ smooth: 1 }))).toMatch(/^E_OPTION .*unknown option "smooth"/);
      expect(code(call(5))).toMatch(/^E_OPTION /);
      expect(code(() => seg.meanIoU(t, new Float32Array(9)))).toMatch(/^E_SHAPE/);
      expect(code(() => seg.meanIoU(new Float32Array(0), new Float32Array(0)))).toMatch(/^E_EMPTY/);
      expect(code(() => seg.meanIoU(t, new Int32Array(8) as never))).toMatch(/^E_DTYPE/);
      expect(code(() => seg.meanIoU(t, p, { shape: [3, 3] }))).toMatch(/^E_SHAPE/);
      expect(code(() => seg.meanIoUDetails(t, p, { nope: 1 } as never))).toMatch(/meanIoUDetails options/);
    }
  });
});

describe("memory", () => {
  it("stays flat over many calls, failing ones included", () => {
    for (const { seg } of builds) {
      const c = makeCase(1, 2, 333, "hard");
      const bad = c.t.slice();
      bad[100] = 0.5;
      const before = seg.largestFree();
      for (let i = 0; i < 20000; i++) {
        seg.meanIoU(c.t, c.p, { shape: [2, 1, 333], perImage: (i & 1) === 1 });
        if (i % 100 === 0) {
          expect(() => seg.meanIoU(bad, c.p)).toThrow();
          seg.meanIoUDetails(c.t, c.p, { fromLogits: true, thresholds: [0.3, 0.8] });
        }
      }
      expect(seg.largestFree()).toBe(before);
    }
  });

  it("streams inputs larger than the memory, zero-copy views give the same numbers", async () => {
    for (const simd of [true, false]) {
      const small = await create({ simd, memoryBytes: 1 << 20 });
      const N = 3;
      const L = 150000; // 3.6 MB of inputs through a 1 MiB memory
      const c = makeCase(21, N, L, "hard");
      const want = oracle.meanIoU(c.t, c.p, N, { perImage: true });
      const before = small.largestFree();
      expectMatches(small.meanIoUDetails(c.t, c.p, { shape: [N, 1, L], perImage: true }), want, `streamed simd=${simd}`);
      expect(small.largestFree()).toBe(before);
    }
    for (const { seg } of builds) {
      const c = makeCase(22, 2, 5000, "hard");
      const t = seg.alloc(Float32Array, c.t.length);
      const p = seg.alloc(Float32Array, c.p.length);
      t.set(c.t);
      p.set(c.p);
      expectMatches(seg.meanIoUDetails(t, p, { shape: [2, 1, 5000] }), oracle.meanIoU(c.t, c.p, 2), "zero-copy");
      seg.free(t);
      seg.free(p);
    }
  });
});
