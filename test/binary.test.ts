// Every binary loss against the float64 oracle: lengths with 0–3 tails,
// batch sizes, target kinds, options, presets, both builds, values and gradients.
import { beforeAll, describe, expect, it } from "vitest";
import type { Segloss } from "../src/index";
import { type Build, bothBuilds, LENGTHS, makeCase, type TargetKind, within, withinAll } from "./helpers";
import * as oracle from "./oracle/binary";

type LossName = "bce" | "focal" | "dice" | "jaccard" | "tversky" | "focalTversky" | "bceDice" | "bceLogDice" | "focalDice";

const OPTION_SETS: Record<LossName, Record<string, unknown>[]> = {
  bce: [
    {},
    { reduction: "sum" },
    { fromLogits: true },
    { posWeight: 3 },
    { labelSmoothing: 0.1 },
    { epsilon: 1e-4 },
    { preset: "tfkeras2" },
    { preset: "keras3" },
    { fromLogits: true, posWeight: 2, labelSmoothing: 0.2 },
  ],
  focal: [
    {},
    { reduction: "mean" },
    { fromLogits: true },
    { gamma: 2, alpha: 0.5 },
    { alpha: null },
    { variant: "standard" },
    { variant: "standard", fromLogits: true },
    { variant: "standard", alpha: null, gamma: 1.5 },
    { preset: "keras3" },
  ],
  dice: [
    {},
    { perImage: false },
    { aggregate: "batch", reduction: "sum" },
    { squared: true },
    { log: true },
    { softLabel: true },
    { fromLogits: true },
    { smoothNumerator: 0.5, smoothDenominator: 2 },
    { smooth: 0, epsilon: 1e-3, epsilonMode: "clamp" },
    { emptyTarget: "zero" },
    { emptyTarget: "max", log: true },
    { emptyTarget: "skip" },
    { preset: "keras3" },
  ],
  jaccard: [
    {},
    { perImage: false },
    { squared: true },
    { softLabel: true, fromLogits: true },
    { log: true },
    { emptyTarget: "skip" },
    { preset: "keras3" },
  ],
  tversky: [
    {},
    { alpha: 0.7, beta: 0.3 },
    { softLabel: true },
    { perImage: false, fromLogits: true },
    { emptyTarget: "max" },
    { preset: "keras3" },
  ],
  focalTversky: [{}, { gamma: 2 }, { alpha: 0.3, beta: 0.7, gamma: 1.33 }, { fromLogits: true, perImage: false }],
  bceDice: [{}, { perImage: false }, { fromLogits: true }, { reduction: "sum" }, { preset: "keras3" }],
  bceLogDice: [{}, { fromLogits: true, softLabel: true }],
  focalDice: [{}, { focalWeight: 1, variant: "standard" }, { fromLogits: true }],
};

const KINDS: TargetKind[] = ["hard", "soft", "empty", "full"];

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

function check(seg: Segloss, name: LossName, kind: TargetKind, N: number, L: number, opts: Record<string, unknown>, seed: number): void {
  // the seed focal compares t with exactly 0 and 1, and soft targets are not its domain
  if (kind === "soft" && (name === "focal" || name === "focalDice") && opts.variant !== "standard") kind = "hard";
  const c = makeCase(seed, N, L, kind);
  const pred = opts.fromLogits ? c.x : c.p;
  const shape = [N, 1, L];
  const label = `${name} ${JSON.stringify(opts)} ${kind} N=${N} L=${L}`;
  const want = oracle[name](c.t, pred, N, opts as oracle.BinaryOpts);
  const fn = seg[name] as (t: unknown, p: unknown, o: unknown) => number;
  within(fn(c.t, pred, { ...opts, shape: [N, 1, L] }), want.value as number, `${label} value`);
  const gradFn = seg[`${name}Grad` as keyof Segloss] as (t: unknown, p: unknown, o: unknown) => { loss: number; grad: Float32Array };
  const got = gradFn(c.t, pred, { ...opts, shape });
  within(got.loss, want.value as number, `${label} loss`);
  withinAll(got.grad, want.grad as Float64Array, `${label} grad`);
}

for (const name of Object.keys(OPTION_SETS) as LossName[]) {
  describe(name, () => {
    for (const opts of OPTION_SETS[name]) {
      it(`matches the oracle with ${JSON.stringify(opts)}`, () => {
        for (const { seg } of builds) {
          let seed = 1;
          for (const [N, L] of LENGTHS) for (const kind of KINDS) check(seg, name, kind, N, L, opts, seed++);
        }
      });
    }
  });
}

describe("reduction 'none'", () => {
  it("bce and focal give per-element terms; region losses per-image terms", () => {
    for (const { seg } of builds) {
      const c = makeCase(7, 3, 33, "hard");
      for (const name of ["bce", "focal", "dice", "jaccard", "tversky", "focalTversky"] as const) {
        for (const extra of [{}, { perImage: false }, { emptyTarget: "skip" }]) {
          if (extra !== undefined && (name === "bce" || name === "focal") && Object.keys(extra).length) continue;
          const opts = { reduction: "none", ...extra } as oracle.BinaryOpts;
          const want = oracle[name](c.t, c.p, 3, opts).value as Float64Array;
          const got = (seg[name] as (t: unknown, p: unknown, o: unknown) => Float32Array)(c.t, c.p, { ...opts, shape: [3, 1, 33] });
          withinAll(got, want, `${name} none ${JSON.stringify(extra)}`);
        }
      }
    }
  });

  it("diceCoefficient is the mean score, per image with 'none'", () => {
    for (const { seg } of builds) {
      for (const kind of KINDS) {
        const c = makeCase(11, 4, 50, kind);
        for (const opts of [
          {},
          { emptyTarget: "zero" },
          { emptyTarget: "max" },
          { emptyTarget: "skip" },
          { perImage: false },
          { reduction: "none" },
        ]) {
          const want = oracle.diceCoefficient(c.t, c.p, 4, opts as oracle.BinaryOpts).value;
          const got = seg.diceCoefficient(c.t, c.p, { ...(opts as object), shape: [4, 1, 50] });
          if (typeof want === "number") within(got as number, want, `diceCoefficient ${kind} ${JSON.stringify(opts)}`);
          else withinAll(got as Float32Array, want, `diceCoefficient ${kind} none`);
        }
      }
    }
  });
});

describe("per-pixel options and ignore labels", () => {
  it("bce weight and per-pixel posWeight", () => {
    for (const { seg } of builds) {
      const c = makeCase(21, 2, 1001, "soft");
      const w = makeCase(22, 2, 1001, "soft").t.map((v) => v * 3);
      const pw = makeCase(23, 2, 1001, "soft").t.map((v) => 0.5 + v);
      for (const opts of [
        { weight: w },
        { posWeight: pw },
        { weight: w, posWeight: pw, fromLogits: true },
        { weight: w, reduction: "sum" },
      ]) {
        const pred = (opts as { fromLogits?: boolean }).fromLogits ? c.x : c.p;
        const want = oracle.bce(c.t, pred, 2, opts as oracle.BinaryOpts);
        const got = seg.bceGrad(c.t, pred, { ...(opts as object), shape: [2, 1, 1001] });
        within(got.loss, want.value as number, "bce weighted");
        withinAll(got.grad, want.grad as Float64Array, "bce weighted grad");
      }
    }
  });

  it("ignoreIndex drops pixels from every sum and mean", () => {
    for (const { seg } of builds) {
      const c = makeCase(31, 3, 517, "hard");
      const r = makeCase(32, 3, 517, "soft").t;
      const t = c.t.map((v, i) => (r[i] < 0.2 ? 255 : v));
      for (const name of ["bce", "focal", "dice", "jaccard", "tversky", "focalTversky", "bceDice", "focalDice"] as const) {
        for (const extra of [{}, { perImage: false }, { fromLogits: true }]) {
          if ((name === "bce" || name === "focal") && "perImage" in extra) continue;
          const opts = { ignoreIndex: 255, ...extra } as oracle.BinaryOpts;
          const pred = opts.fromLogits ? c.x : c.p;
          const want = oracle[name](t, pred, 3, opts);
          const got = (seg[`${name}Grad`] as (t: unknown, p: unknown, o: unknown) => { loss: number; grad: Float32Array })(t, pred, {
            ...opts,
            shape: [3, 1, 517],
          });
          within(got.loss, want.value as number, `${name} ignore ${JSON.stringify(extra)}`);
          withinAll(got.grad, want.grad as Float64Array, `${name} ignore grad`);
        }
      }
      // every pixel ignored: the loss is 0 and so is the gradient
      const all = new Float32Array(64).fill(255);
      within(seg.bce(all, new Float32Array(64).fill(0.3), { ignoreIndex: 255 }) as number, 0, "bce all ignored");
      within(seg.dice(all, new Float32Array(64).fill(0.3), { ignoreIndex: 255 }) as number, 0, "dice all ignored");
    }
  });
});

describe("anchor numbers", () => {
  it("bce saturates at Keras's float32 values", () => {
    for (const { seg } of builds) {
      within(seg.bce(new Float32Array([0]), new Float32Array([1])) as number, 15.942385, "keras3 p=1 t=0");
      within(seg.bce(new Float32Array([1]), new Float32Array([0])) as number, 16.1180956, "keras3 p=0 t=1");
      within(seg.bce(new Float32Array([0]), new Float32Array([1]), { preset: "tfkeras2" }) as number, 15.3332, "tfkeras2 p=1 t=0");
      within(seg.bce(new Float32Array([1]), new Float32Array([0]), { preset: "tfkeras2" }) as number, 15.4249, "tfkeras2 p=0 t=1");
    }
  });

  it("log Dice of an empty term with emptyTarget 'max' is −ln 1e-7", () => {
    for (const { seg } of builds) {
      const z = new Float32Array(16);
      within(
        seg.dice(
          z,
          z.map(() => 0.5),
          { log: true, emptyTarget: "max" },
        ) as number,
        16.11809565,
        "16.118",
      );
    }
  });
});

describe("accuracy on large inputs (SPEC §3)", () => {
  it("sums of 2^22 elements stay within 1e-5 of float64, where a plain f32x4 running sum does not", () => {
    const N = 16;
    const L = 1 << 18;
    // a background-like map: sparse hard targets, low probabilities (what most pixels of a mask look like)
    const c = makeCase(99, N, L, "hard");
    for (let i = 0; i < c.p.length; i++) c.p[i] = Math.fround(0.01 + (0.02 * ((i * 2654435761) % 1000)) / 1000);
    // what a plain 4-lane float32 accumulation gives for Σp (a sum Dice needs)
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < c.p.length; i++) lanes[i & 3] = Math.fround(lanes[i & 3] + c.p[i]);
    const plain = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    let exact = 0;
    for (const v of c.p) exact += v;
    expect(Math.abs(plain - exact) / exact).toBeGreaterThan(1e-5);

    for (const { seg } of builds) {
      for (const name of ["dice", "bce", "focal", "tversky"] as const) {
        const opts = { perImage: false } as oracle.BinaryOpts;
        const o = name === "bce" || name === "focal" ? {} : opts;
        const want = oracle[name](c.t, c.p, N, o).value as number;
        const got = (seg[name] as (t: unknown, p: unknown, o: unknown) => number)(c.t, c.p, { ...o, shape: [N, 1, L] });
        within(got, want, `${name} 2^22`);
      }
    }
  });
});

describe("near-perfect predictions (tiny loss terms)", () => {
  it("keep full relative accuracy: ln(1 − p) for p ~ 1e-7…1e-4, ln p for p → 1", () => {
    const n = 4099;
    const r = makeCase(123, 1, n, "hard");
    const t = r.t;
    const p = new Float32Array(n);
    // a confident, correct model: p = 1 − δ on positives, δ on negatives; a saturated
    // sigmoid repeats a few δ values, so float32 rounding of 1 − δ would not average out
    const deltas = [1e-7, 3e-7, 2e-6, 3e-5];
    for (let i = 0; i < n; i++) {
      const d = deltas[Math.floor(r.p[i] * 3.999)];
      p[i] = t[i] === 1 ? Math.fround(1 - d) : Math.fround(d);
    }
    for (const { seg } of builds) {
      for (const [name, opts] of [
        ["bce", {}],
        ["bce", { preset: "tfkeras2" }],
        ["bce", { labelSmoothing: 0 }],
        ["focal", {}],
        ["focal", { variant: "standard" }],
        ["focal", { gamma: 1.3 }],
      ] as const) {
        const want = oracle[name](t, p, 1, opts as oracle.BinaryOpts);
        const got = (seg[`${name}Grad`] as (t: unknown, p: unknown, o: unknown) => { loss: number; grad: Float32Array })(t, p, opts);
        within(got.loss, want.value as number, `${name} ${JSON.stringify(opts)} tiny terms`);
        withinAll(got.grad, want.grad as Float64Array, `${name} ${JSON.stringify(opts)} tiny terms grad`);
      }
    }
  });
});
