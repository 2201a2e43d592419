// Multi-class cross-entropy and focal loss against the float64 oracle on both
// builds: every option × layout × target form × fromLogits, gradients (vs the
// oracle, whose gradients are checked by central differences), one-hot ≡
// labels, NCHW ≡ NHWC, zero-copy inputs, presets, errors, flat memory.
import { describe, expect, it } from "vitest";
import type { Segloss } from "../src/index";
import { bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import {
  index,
  type Layout,
  type McInput,
  type OracleCe,
  type OracleFocal,
  oracleCrossEntropy,
  oracleFocal,
} from "./oracle/multiclassElementwise";

const IGN = 255;

interface McCase {
  N: number;
  C: number;
  S: number;
  spatial: number[];
  layout: Layout;
  probs: Float32Array;
  logits: Float32Array;
  labels: Int32Array; // with IGN here and there
  cleanLabels: Int32Array; // no ignored pixels
  onehot: Float32Array; // of cleanLabels
  soft: Float32Array;
}

/**
 * Random logits (some pixels very confident, so p ≈ 1 and the loss is tiny),
 * their softmax as float32 probabilities (now and then an exact 0), labels
 * that often agree with the argmax, one-hot and soft targets.
 */
function makeMc(seed: number, N: number, C: number, spatial: number[], layout: Layout): McCase {
  const r = rng(seed);
  const S = spatial.reduce((a, b) => a * b, 1);
  const logits = new Float32Array(N * C * S);
  const probs = new Float32Array(N * C * S);
  const soft = new Float32Array(N * C * S);
  const labels = new Int32Array(N * S);
  const cleanLabels = new Int32Array(N * S);
  const onehot = new Float32Array(N * C * S);
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const y = Math.floor(r() * C);
      const x: number[] = [];
      for (let c = 0; c < C; c++) x.push((r() - 0.5) * 12);
      if (r() < 0.5) x[y] += 4;
      if (r() < 0.1) x[y] += 22; // p_y ≈ 1 − 1e-9
      const m = Math.max(...x);
      const e = x.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      const t = x.map(() => r());
      const tz = t.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) {
        const k = index(layout, C, S, n, c, s);
        logits[k] = x[c];
        probs[k] = r() < 0.02 ? 0 : e[c] / z;
        soft[k] = t[c] / tz;
        onehot[k] = c === y ? 1 : 0;
      }
      cleanLabels[n * S + s] = y;
      labels[n * S + s] = r() < 0.1 ? IGN : y;
    }
  return { N, C, S, spatial, layout, probs, logits, labels, cleanLabels, onehot, soft };
}

/** The case with probabilities squeezed into [0.02, 0.92] (their sums then differ from 1). */
function maybeInner(c: McCase, inner = false): McCase {
  return inner ? { ...c, probs: Float32Array.from(c.probs, (v) => 0.02 + 0.9 * v) } : c;
}

type TargetForm = "labels" | "onehot" | "soft";

function predShape(c: McCase): number[] {
  return c.layout === "NCHW" ? [c.N, c.C, ...c.spatial] : [c.N, ...c.spatial, c.C];
}

function targetOf(c: McCase, form: TargetForm, ignoring: boolean) {
  if (form === "labels") return { data: ignoring ? c.labels : c.cleanLabels, shape: [c.N, ...c.spatial] };
  return { data: form === "onehot" ? c.onehot : c.soft, shape: predShape(c) };
}

function oracleInput(c: McCase, form: TargetForm, logits: boolean, ignoring: boolean): McInput {
  return {
    N: c.N,
    C: c.C,
    S: c.S,
    layout: c.layout,
    pred: logits ? c.logits : c.probs,
    labels: form === "labels" ? (ignoring ? c.labels : c.cleanLabels) : null,
    dense: form === "labels" ? null : form === "onehot" ? c.onehot : c.soft,
  };
}

const SHAPES: [number, number, number[]][] = [
  [1, 3, [5]],
  [2, 4, [3, 7]],
  [2, 21, [9, 11]],
  [1, 5, [2, 3, 4]], // a 3-D volume
  [1, 21, [64, 70]], // several chunks per image
];

function weights(C: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: C }, () => 0.2 + 2 * r());
}

interface CeCase {
  name: string;
  lib: Record<string, unknown>;
  oracle: (C: number) => OracleCe;
  labelsOnly?: boolean;
  /** Probabilities kept away from the clip: renormalising moves p/Σp across 1 − ε by float32 rounding, a kink of the clipped gradient. */
  inner?: boolean;
}

const CE_CASES: CeCase[] = [
  { name: "defaults", lib: {}, oracle: () => ({}) },
  { name: "sum", lib: { reduction: "sum" }, oracle: () => ({ reduction: "sum" }) },
  { name: "none", lib: { reduction: "none" }, oracle: () => ({ reduction: "none" }) },
  { name: "classWeights", lib: {}, oracle: (C) => ({ classWeights: weights(C, 7) }) },
  { name: "labelSmoothing", lib: { labelSmoothing: 0.1 }, oracle: () => ({ labelSmoothing: 0.1 }) },
  { name: "weights+smoothing", lib: { labelSmoothing: 0.3 }, oracle: (C) => ({ classWeights: weights(C, 7), labelSmoothing: 0.3 }) },
  { name: "ignoreIndex", lib: { ignoreIndex: IGN }, oracle: () => ({ ignoreIndex: IGN }), labelsOnly: true },
  {
    name: "ignore+weights+smoothing none",
    lib: { ignoreIndex: IGN, labelSmoothing: 0.2, reduction: "none" },
    oracle: (C) => ({ ignoreIndex: IGN, classWeights: weights(C, 7), labelSmoothing: 0.2, reduction: "none" }),
    labelsOnly: true,
  },
  { name: "renormalize", lib: { renormalize: true }, oracle: () => ({ renormalize: true }), inner: true },
  {
    name: "keras3 smoothing",
    lib: { preset: "keras3", labelSmoothing: 0.1 },
    oracle: () => ({ renormalize: true, labelSmoothing: 0.1 }),
    inner: true,
  },
  {
    name: "smp (ignored counted)",
    lib: { preset: "smp", ignoreIndex: IGN },
    oracle: () => ({ ignoreIndex: IGN, countIgnored: true }),
    labelsOnly: true,
  },
];

interface FocalCase {
  name: string;
  lib: Record<string, unknown>;
  oracle: (C: number) => OracleFocal;
  labelsOnly?: boolean;
  inner?: boolean;
}

const FOCAL_CASES: FocalCase[] = [
  { name: "defaults", lib: {}, oracle: () => ({}) },
  { name: "alpha array", lib: {}, oracle: (C) => ({ alpha: weights(C, 3).map((v) => v / 3) }) },
  { name: "gamma 0.5 sum", lib: { gamma: 0.5, reduction: "sum" }, oracle: () => ({ gamma: 0.5, reduction: "sum" }) },
  { name: "gamma 0", lib: { gamma: 0 }, oracle: () => ({ gamma: 0 }) },
  { name: "gamma 3 none", lib: { gamma: 3, reduction: "none" }, oracle: () => ({ gamma: 3, reduction: "none" }) },
  { name: "ignoreIndex", lib: { ignoreIndex: IGN }, oracle: () => ({ ignoreIndex: IGN }), labelsOnly: true },
  { name: "meanOver elements", lib: { meanOver: "elements" }, oracle: () => ({ meanOver: "elements" }) },
  { name: "sigmoid", lib: { activation: "sigmoid" }, oracle: () => ({ activation: "sigmoid" }) },
  {
    name: "sigmoid α 0.25",
    lib: { activation: "sigmoid", alpha: 0.25 },
    oracle: (C) => ({ activation: "sigmoid", alpha: new Array(C).fill(0.25) }),
  },
  {
    name: "sigmoid α array γ 1.5 none",
    lib: { activation: "sigmoid", gamma: 1.5, reduction: "none" },
    oracle: (C) => ({ activation: "sigmoid", gamma: 1.5, reduction: "none", alpha: weights(C, 3).map((v) => v / 3) }),
  },
  {
    name: "sigmoid ignore sum",
    lib: { activation: "sigmoid", ignoreIndex: IGN, reduction: "sum" },
    oracle: () => ({ activation: "sigmoid", ignoreIndex: IGN, reduction: "sum" }),
    labelsOnly: true,
  },
  { name: "smp", lib: { preset: "smp" }, oracle: () => ({ activation: "sigmoid" }) },
  {
    name: "monai α 0.25",
    lib: { preset: "monai", alpha: 0.25 },
    oracle: (C) => ({ alpha: [0.75, ...new Array(C - 1).fill(0.25)], meanOver: "elements" }),
  },
  { name: "keras3", lib: { preset: "keras3" }, oracle: (C) => ({ alpha: new Array(C).fill(0.25), renormalize: true }), inner: true },
];

/** The library's alpha option for a case whose oracle has a per-class array the lib options do not spell. */
function libFocalOpts(fc: FocalCase, C: number): Record<string, unknown> {
  const o = fc.oracle(C);
  const lib = { ...fc.lib };
  if (o.alpha && !("alpha" in lib) && !lib.preset) lib.alpha = o.alpha;
  return lib;
}

function libCeOpts(cc: CeCase, C: number): Record<string, unknown> {
  const o = cc.oracle(C);
  return o.classWeights ? { ...cc.lib, classWeights: o.classWeights } : { ...cc.lib };
}

const builds = await bothBuilds();

function check(
  seg: Segloss,
  fn: "crossEntropy" | "focal",
  c: McCase,
  form: TargetForm,
  logits: boolean,
  lib: Record<string, unknown>,
  expected: { value: number | Float64Array; grad: Float64Array },
  ignoring: boolean,
): void {
  const opts = { ...lib, layout: c.layout, fromLogits: logits, ...(fn === "focal" ? { mode: "multiclass" } : {}) };
  const target = targetOf(c, form, ignoring);
  const pred = { data: logits ? c.logits : c.probs, shape: predShape(c) };
  const call = fn === "crossEntropy" ? seg.crossEntropy : (seg.focal as (t: unknown, p: unknown, o: unknown) => number | Float32Array);
  const got = call(target, pred, opts as never);
  if (typeof expected.value === "number") within(got as number, expected.value, "value");
  else withinAll(got as Float32Array, expected.value, "terms");
  if (lib.reduction === "none") return;
  const gradFn =
    fn === "crossEntropy"
      ? seg.crossEntropyGrad
      : (seg.focalGrad as (t: unknown, p: unknown, o: unknown) => { loss: number; grad: Float32Array });
  const g = gradFn(target, pred, opts as never);
  within(g.loss, expected.value as number, "grad's loss");
  withinAll(g.grad, expected.grad, "grad");
}

describe.each(builds)("crossEntropy ($name)", ({ seg }) => {
  for (const layout of ["NCHW", "NHWC"] as Layout[])
    for (const form of ["labels", "onehot", "soft"] as TargetForm[])
      for (const logits of [false, true])
        for (const cc of CE_CASES) {
          if (cc.labelsOnly && form !== "labels") continue;
          it.each(SHAPES)(`${layout} ${form} ${logits ? "logits" : "probs"} ${cc.name}: N=%i C=%i %j`, (N, C, spatial) => {
            const c = maybeInner(makeMc(N * 977 + C * 31 + spatial.length, N, C, spatial, layout), cc.inner);
            const ignoring = cc.labelsOnly === true;
            const o = { ...cc.oracle(C), fromLogits: logits };
            if (logits) o.renormalize = false; // renormalisation applies to probabilities only
            check(
              seg,
              "crossEntropy",
              c,
              form,
              logits,
              libCeOpts(cc, C),
              oracleCrossEntropy(oracleInput(c, form, logits, ignoring), o),
              ignoring,
            );
          });
        }
});

describe.each(builds)("multi-class focal ($name)", ({ seg }) => {
  for (const layout of ["NCHW", "NHWC"] as Layout[])
    for (const form of ["labels", "onehot", "soft"] as TargetForm[])
      for (const logits of [false, true])
        for (const fc of FOCAL_CASES) {
          if (fc.labelsOnly && form !== "labels") continue;
          it.each(SHAPES)(`${layout} ${form} ${logits ? "logits" : "probs"} ${fc.name}: N=%i C=%i %j`, (N, C, spatial) => {
            const c = maybeInner(makeMc(N * 977 + C * 31 + spatial.length + 5, N, C, spatial, layout), fc.inner);
            const ignoring = fc.labelsOnly === true;
            const o = { ...fc.oracle(C), fromLogits: logits };
            if (logits) o.renormalize = false;
            check(seg, "focal", c, form, logits, libFocalOpts(fc, C), oracleFocal(oracleInput(c, form, logits, ignoring), o), ignoring);
          });
        }
});

describe("oracle gradients vs central differences", () => {
  const h = 1e-6;
  const cases: [string, (inp: McInput) => { value: number | Float64Array; grad: Float64Array }, boolean][] = [
    ["ce probs weights smoothing", (i) => oracleCrossEntropy(i, { classWeights: [0.5, 2, 1, 1.5], labelSmoothing: 0.2 }), false],
    ["ce probs renormalize", (i) => oracleCrossEntropy(i, { renormalize: true, labelSmoothing: 0.1 }), false],
    [
      "ce logits weights smoothing",
      (i) => oracleCrossEntropy(i, { fromLogits: true, classWeights: [0.5, 2, 1, 1.5], labelSmoothing: 0.2 }),
      true,
    ],
    ["focal probs", (i) => oracleFocal(i, { alpha: [0.1, 0.2, 0.3, 0.4], gamma: 1.5 }), false],
    ["focal probs renormalize", (i) => oracleFocal(i, { renormalize: true }), false],
    ["focal logits", (i) => oracleFocal(i, { fromLogits: true, alpha: [0.1, 0.2, 0.3, 0.4], gamma: 1.5 }), true],
    ["focal sigmoid probs", (i) => oracleFocal(i, { activation: "sigmoid", alpha: [0.1, 0.2, 0.3, 0.4], gamma: 2 }), false],
    ["focal sigmoid logits", (i) => oracleFocal(i, { activation: "sigmoid", fromLogits: true, gamma: 0.7 }), true],
  ];
  for (const form of ["labels", "soft"] as TargetForm[])
    it.each(cases)(`%s (${form})`, (_, f, logits) => {
      const c = makeMc(42, 2, 4, [3, 2], "NHWC");
      // probabilities away from 0 and the clip, so the loss is smooth there
      const probs = Float64Array.from(c.probs, (v) => 0.05 + 0.9 * v);
      const base = oracleInput(c, form, logits, false);
      const pred = logits ? Float64Array.from(c.logits) : probs;
      const g = f({ ...base, pred }).grad;
      for (let k = 0; k < pred.length; k++) {
        const up = Float64Array.from(pred);
        const dn = Float64Array.from(pred);
        up[k] += h;
        dn[k] -= h;
        const fd = ((f({ ...base, pred: up }).value as number) - (f({ ...base, pred: dn }).value as number)) / (2 * h);
        expect(Math.abs(fd - g[k]), `element ${k}: fd ${fd} vs ${g[k]}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(g[k]));
      }
    });
});

describe.each(builds)("library gradients vs central differences of the library ($name)", ({ seg }) => {
  const fns: [string, (p: Float32Array, c: McCase) => { loss: number; grad: Float32Array }, boolean][] = [
    [
      "crossEntropy logits",
      (p, c) => seg.crossEntropyGrad(c.cleanLabels, { data: p, shape: predShape(c) }, { fromLogits: true, reduction: "sum" }),
      true,
    ],
    [
      "focal logits",
      (p, c) => seg.focalGrad(c.cleanLabels, { data: p, shape: predShape(c) }, { mode: "multiclass", fromLogits: true, reduction: "sum" }),
      true,
    ],
    [
      "focal sigmoid logits",
      (p, c) =>
        seg.focalGrad(
          c.cleanLabels,
          { data: p, shape: predShape(c) },
          { mode: "multiclass", activation: "sigmoid", fromLogits: true, reduction: "sum" },
        ),
      true,
    ],
    ["crossEntropy probs", (p, c) => seg.crossEntropyGrad(c.cleanLabels, { data: p, shape: predShape(c) }, { reduction: "sum" }), false],
  ];
  it.each(fns)("%s", (_, f, logits) => {
    const c = makeMc(9, 1, 3, [4], "NCHW");
    const pred = logits ? Float32Array.from(c.logits, (v) => v / 4) : Float32Array.from(c.probs, (v) => 0.1 + 0.8 * v);
    const { grad } = f(pred, c);
    const h = 1e-2;
    for (let k = 0; k < pred.length; k++) {
      const up = Float32Array.from(pred);
      const dn = Float32Array.from(pred);
      up[k] += h;
      dn[k] -= h;
      const fd = (f(up, c).loss - f(dn, c).loss) / (2 * h);
      expect(Math.abs(fd - grad[k]), `element ${k}`).toBeLessThan(2e-3 + 2e-3 * Math.abs(grad[k]));
    }
  });
});

describe.each(builds)("equivalences ($name)", ({ seg }) => {
  const opts = [
    {},
    { fromLogits: true },
    { labelSmoothing: 0.1, classWeights: [1, 2, 0.5, 1, 3] },
    { fromLogits: true, classWeights: [1, 2, 0.5, 1, 3] },
  ];
  it.each(opts)("one-hot ≡ labels, NCHW ≡ NHWC: %j", (o) => {
    const a = makeMc(5, 2, 5, [17, 9], "NCHW");
    const b = makeMc(5, 2, 5, [17, 9], "NHWC"); // the same values, transposed
    const pa = { data: o.fromLogits ? a.logits : a.probs, shape: predShape(a) };
    const pb = { data: o.fromLogits ? b.logits : b.probs, shape: predShape(b) };
    const lab = { data: a.cleanLabels, shape: [2, 17, 9] };
    const v = seg.crossEntropy(lab, pa, o) as number;
    expect(seg.crossEntropy({ data: a.onehot, shape: predShape(a) }, pa, o) as number).toBeCloseTo(v, 6);
    expect(seg.crossEntropy(lab, pb, { ...o, layout: "NHWC" })).toBe(v);
    const fa = seg.focal(lab, pa, { mode: "multiclass", ...(o.fromLogits ? { fromLogits: true } : {}) }) as number;
    expect(
      seg.focal({ data: a.onehot, shape: predShape(a) }, pa, {
        mode: "multiclass",
        ...(o.fromLogits ? { fromLogits: true } : {}),
      }) as number,
    ).toBeCloseTo(fa, 6);
    const ga = seg.crossEntropyGrad(lab, pa, o).grad;
    const gb = seg.crossEntropyGrad(lab, pb, { ...o, layout: "NHWC" }).grad;
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 5; c++)
        for (let s = 0; s < 153; s++) expect(gb[index("NHWC", 5, 153, n, c, s)]).toBe(ga[index("NCHW", 5, 153, n, c, s)]);
  });

  it("Float64Array predictions, mode 'multilabel' (= sigmoid focal)", () => {
    const a = makeMc(8, 2, 4, [6, 5], "NCHW");
    const shape = predShape(a);
    const o = { fromLogits: true, labelSmoothing: 0.1 };
    expect(seg.crossEntropy(a.labels, { data: Float64Array.from(a.logits), shape }, { ...o, ignoreIndex: IGN })).toBe(
      seg.crossEntropy(a.labels, { data: a.logits, shape }, { ...o, ignoreIndex: IGN }),
    );
    const dense = { data: a.soft, shape };
    const ml = seg.focal(dense, { data: a.logits, shape }, { mode: "multilabel", fromLogits: true, alpha: 0.25 }) as number;
    expect(ml).toBe(
      seg.focal(dense, { data: a.logits, shape }, { mode: "multiclass", activation: "sigmoid", fromLogits: true, alpha: 0.25 }),
    );
    const o2 = oracleFocal(oracleInput(a, "soft", true, false), {
      activation: "sigmoid",
      fromLogits: true,
      alpha: [0.25, 0.25, 0.25, 0.25],
    });
    within(ml, o2.value as number, "multilabel");
  });

  it("predictions and targets in WebAssembly memory give the same numbers", () => {
    const a = makeMc(6, 2, 21, [40, 33], "NCHW");
    const p = seg.alloc(Float32Array, a.logits.length);
    const t = seg.alloc(Float32Array, a.onehot.length);
    try {
      p.set(a.logits);
      t.set(a.onehot);
      const shape = predShape(a);
      const o = { fromLogits: true, labelSmoothing: 0.05 };
      expect(seg.crossEntropy({ data: t, shape }, { data: p, shape }, o)).toBe(
        seg.crossEntropy({ data: a.onehot, shape }, { data: a.logits, shape }, o),
      );
      const g1 = seg.crossEntropyGrad(a.cleanLabels, { data: p, shape }, o).grad;
      const g2 = seg.crossEntropyGrad(a.cleanLabels, { data: a.logits, shape }, o).grad;
      expect(g1).toEqual(g2);
      // out aliasing pred: the gradient replaces the logits
      const g3 = seg.crossEntropyGrad(a.cleanLabels, { data: p, shape }, { ...o, out: p }).grad;
      expect(g3).toBe(p);
      expect(Array.from(p)).toEqual(Array.from(g2));
    } finally {
      seg.free(p);
      seg.free(t);
    }
  });
});

describe.each(builds)("anchors ($name)", ({ seg }) => {
  it("PyTorch CrossEntropyLoss on logits [1, 2, 3], label 2 (and label smoothing 0.1, class weights)", () => {
    const x = new Float32Array([1, 2, 3, 1, 2, 3]); // NHWC, two pixels
    const shape = [1, 2, 3];
    within(
      seg.crossEntropy(new Int32Array([2, 2]), { data: x, shape }, { layout: "NHWC", fromLogits: true }) as number,
      0.40760596444438,
      "plain",
    );
    // (1 − σ)·0.4076 + σ/3·(2.4076 + 1.4076 + 0.4076)
    within(
      seg.crossEntropy(new Int32Array([2, 2]), { data: x, shape }, { layout: "NHWC", fromLogits: true, labelSmoothing: 0.1 }) as number,
      0.9 * 0.40760596444438 + (0.1 / 3) * (3 * 0.40760596444438 + 3),
      "smoothing",
    );
    // weights [1, 2, 3], labels [0, 2]: (1·2.4076 + 3·0.4076) / (1 + 3)
    within(
      seg.crossEntropy(new Int32Array([0, 2]), { data: x, shape }, { layout: "NHWC", fromLogits: true, classWeights: [1, 2, 3] }) as number,
      (2.40760596444438 + 3 * 0.40760596444438) / 4,
      "weights",
    );
  });

  it("Keras 3 CategoricalCrossentropy renormalises and clips; CategoricalFocalCrossentropy α 0.25 γ 2", () => {
    const p = new Float32Array([0.2, 0.2, 0.4]); // sums to 0.8: renormalised to 0.25, 0.25, 0.5
    const t = new Float32Array([0, 0, 1]);
    within(
      seg.crossEntropy({ data: t, shape: [1, 1, 3] }, { data: p, shape: [1, 1, 3] }, { layout: "NHWC", preset: "keras3" }) as number,
      Math.log(2),
      "ce",
    );
    within(
      seg.focal(
        { data: t, shape: [1, 1, 3] },
        { data: p, shape: [1, 1, 3] },
        { mode: "multiclass", layout: "NHWC", preset: "keras3" },
      ) as number,
      0.25 * 0.25 * Math.log(2),
      "focal",
    );
    // a zero probability is clipped to 1e-7: −ln(float32(1e-7))
    within(
      seg.crossEntropy(
        { data: t, shape: [1, 1, 3] },
        { data: new Float32Array([0.5, 0.5, 0]), shape: [1, 1, 3] },
        { layout: "NHWC" },
      ) as number,
      -Math.log(Math.fround(1e-7)),
      "clip",
    );
  });

  it("a confident logit keeps full relative accuracy in the per-pixel loss", () => {
    const x = new Float32Array([30, 0, -5]);
    const got = seg.crossEntropy(
      new Int32Array([0]),
      { data: x, shape: [1, 1, 3] },
      { layout: "NHWC", fromLogits: true, reduction: "none" },
    ) as Float32Array;
    const exact = Math.log1p(Math.exp(-30) + Math.exp(-35));
    expect(Math.abs(got[0] - exact) / exact).toBeLessThan(1e-5);
  });

  it("smp / monai CE presets ignore label −100 (smp counts it in the mean)", () => {
    const x = new Float32Array([1, 2, 3, 3, 2, 1]);
    const shape = [1, 2, 3];
    const lab = new Int32Array([2, -100]);
    within(
      seg.crossEntropy(lab, { data: x, shape }, { layout: "NHWC", fromLogits: true, preset: "monai" }) as number,
      0.40760596444438,
      "monai",
    );
    within(
      seg.crossEntropy(lab, { data: x, shape }, { layout: "NHWC", fromLogits: true, preset: "smp" }) as number,
      0.40760596444438 / 2,
      "smp",
    );
  });
});

describe.each(builds)("errors ($name)", ({ seg }) => {
  const c = makeMc(11, 2, 4, [3, 5], "NCHW");
  const pred = { data: c.probs, shape: predShape(c) };
  const cases: [string, () => unknown, string, string][] = [
    [
      "label ≥ C",
      () =>
        seg.crossEntropy(
          Int32Array.from(c.cleanLabels, (v, i) => (i === 7 ? 4 : v)),
          pred,
        ),
      "E_RANGE",
      "target",
    ],
    [
      "negative label",
      () =>
        seg.crossEntropy(
          Int32Array.from(c.cleanLabels, (v, i) => (i === 3 ? -1 : v)),
          pred,
        ),
      "E_RANGE",
      "target",
    ],
    [
      "label −100 without ignoreIndex",
      () =>
        seg.crossEntropy(
          Int32Array.from(c.cleanLabels, (v, i) => (i === 3 ? -100 : v)),
          pred,
        ),
      "E_RANGE",
      "target",
    ],
    [
      "non-integer label",
      () =>
        seg.crossEntropy(
          Float32Array.from(c.cleanLabels, (v, i) => (i === 0 ? 1.5 : v)),
          pred,
        ),
      "E_RANGE",
      "target",
    ],
    [
      "soft target > 1",
      () => seg.crossEntropy({ data: Float32Array.from(c.soft, (v, i) => (i === 9 ? 1.2 : v)), shape: predShape(c) }, pred),
      "E_RANGE",
      "target",
    ],
    [
      "soft target < 0",
      () =>
        seg.focal({ data: Float32Array.from(c.soft, (v, i) => (i === 9 ? -0.1 : v)), shape: predShape(c) }, pred, { mode: "multiclass" }),
      "E_RANGE",
      "target",
    ],
    [
      "probability > 1",
      () => seg.crossEntropy(c.cleanLabels, { data: Float32Array.from(c.probs, (v, i) => (i === 2 ? 1.5 : v)), shape: predShape(c) }),
      "E_RANGE",
      "pred",
    ],
    [
      "NaN logit",
      () =>
        seg.crossEntropy(
          c.cleanLabels,
          { data: Float32Array.from(c.logits, (v, i) => (i === 2 ? Number.NaN : v)), shape: predShape(c) },
          { fromLogits: true },
        ),
      "E_NONFINITE",
      "pred",
    ],
    [
      "classWeights length",
      () => seg.crossEntropy(c.cleanLabels, pred, { classWeights: [1, 2, 3] }),
      "E_OPTION_RANGE",
      "opts.classWeights",
    ],
    [
      "negative class weight",
      () => seg.crossEntropy(c.cleanLabels, pred, { classWeights: [1, 2, 3, -1] }),
      "E_OPTION_RANGE",
      "opts.classWeights",
    ],
    ["alpha length", () => seg.focal(c.cleanLabels, pred, { mode: "multiclass", alpha: [0.1, 0.2] }), "E_OPTION_RANGE", "opts.alpha"],
    [
      "sigmoid alpha > 1",
      () => seg.focal(c.cleanLabels, pred, { mode: "multiclass", activation: "sigmoid", alpha: [0.1, 0.2, 2, 0.5] }),
      "E_OPTION_RANGE",
      "opts.alpha",
    ],
    ["labelSmoothing > 1", () => seg.crossEntropy(c.cleanLabels, pred, { labelSmoothing: 1.5 }), "E_OPTION_RANGE", "opts.labelSmoothing"],
    ["unknown option", () => seg.crossEntropy(c.cleanLabels, pred, { smooth: 1 } as never), "E_OPTION", "crossEntropy options"],
    ["mode multilabel for CE", () => seg.crossEntropy(c.cleanLabels, pred, { mode: "multilabel" } as never), "E_OPTION", "opts.mode"],
    [
      "ignoreIndex with a dense target",
      () => seg.crossEntropy({ data: c.onehot, shape: predShape(c) }, pred, { ignoreIndex: 255 }),
      "E_OPTION",
      "opts.ignoreIndex",
    ],
    ["grad with reduction none", () => seg.crossEntropyGrad(c.cleanLabels, pred, { reduction: "none" }), "E_OPTION", "opts.reduction"],
    [
      "focal grad with reduction none",
      () => seg.focalGrad(c.cleanLabels, pred, { mode: "multiclass", reduction: "none" }),
      "E_OPTION",
      "opts.reduction",
    ],
    ["labels of the wrong shape", () => seg.crossEntropy({ data: new Int32Array(10), shape: [2, 5] }, pred), "E_SHAPE", "target"],
    [
      "multilabel with softmax",
      () => seg.focal({ data: c.onehot, shape: predShape(c) }, pred, { mode: "multilabel", activation: "softmax" }),
      "E_OPTION",
      "opts.activation",
    ],
  ];
  cases.push([
    "renormalize with sigmoid",
    () => seg.focal(c.cleanLabels, pred, { mode: "multiclass", activation: "sigmoid", renormalize: true }),
    "E_OPTION",
    "opts.renormalize",
  ]);
  it.each(cases)("%s", (_, f, code, argument) => {
    const e = catchSegLossError(f, "no error") as unknown as { code: string; argument: string };
    expect(e.code).toBe(code);
    expect(e.argument).toBe(argument);
  });

  it("the keras3 preset with activation 'sigmoid' drops its renormalisation", () => {
    const o = { mode: "multiclass", activation: "sigmoid", alpha: 0.25 } as const;
    expect(seg.focal(c.cleanLabels, pred, { ...o, preset: "keras3" })).toBe(seg.focal(c.cleanLabels, pred, o));
  });

  it("a failing gradient call leaves `out` untouched", () => {
    const big = makeMc(12, 2, 21, [64, 64], "NCHW");
    const labels = Int32Array.from(big.cleanLabels);
    labels[labels.length - 1] = 99; // bad label in the last chunk
    const out = new Float32Array(big.logits.length).fill(7);
    catchSegLossError(
      () => seg.crossEntropyGrad(labels, { data: big.logits, shape: predShape(big) }, { fromLogits: true, out }),
      "no error",
    );
    catchSegLossError(
      () => seg.focalGrad(labels, { data: big.logits, shape: predShape(big) }, { mode: "multiclass", fromLogits: true, out }),
      "no error",
    );
    expect(out.every((v) => v === 7)).toBe(true);
  });
});

describe.each(builds)("memory ($name)", ({ seg }) => {
  it("stays flat over many calls, failing ones included", () => {
    const c = makeMc(13, 2, 6, [20, 20], "NHWC");
    const pred = { data: c.logits, shape: predShape(c) };
    const free = seg.largestFree();
    for (let i = 0; i < 150; i++) {
      seg.crossEntropy(c.labels, pred, { layout: "NHWC", fromLogits: true, ignoreIndex: IGN, classWeights: [1, 2, 3, 4, 5, 6] });
      seg.crossEntropyGrad(c.labels, pred, { layout: "NHWC", fromLogits: true, ignoreIndex: IGN, labelSmoothing: 0.1 });
      seg.crossEntropy(c.labels, pred, { layout: "NHWC", fromLogits: true, ignoreIndex: IGN, reduction: "none" });
      seg.focal(c.labels, pred, { mode: "multiclass", layout: "NHWC", fromLogits: true, ignoreIndex: IGN, alpha: [1, 2, 3, 4, 5, 6] });
      seg.focalGrad(c.labels, pred, {
        mode: "multiclass",
        layout: "NHWC",
        fromLogits: true,
        ignoreIndex: IGN,
        activation: "sigmoid",
        alpha: 0.25,
      });
      seg.focal(c.labels, pred, {
        mode: "multiclass",
        layout: "NHWC",
        fromLogits: true,
        ignoreIndex: IGN,
        activation: "sigmoid",
        reduction: "none",
      });
      catchSegLossError(() => seg.crossEntropy(c.labels, pred, { layout: "NHWC", fromLogits: true }), "no error"); // 255 not ignored
    }
    expect(seg.largestFree()).toBe(free);
  });
});

// crossEntropy on probabilities with labels (no weights, smoothing or renormalisation) sums
// −ln clip(p_y) as −ln Π clip(p_y) (assembly/multiclassElementwise.ts): long runs of the smallest
// factors (p_y = 0 → ε), of 1 and of tiny values, ignored pixels in between, a tail past the vectors.
describe("crossEntropy's Σ ln p_y as the logarithm of a product", () => {
  it("matches the oracle over long runs of p_y at 0, ε, tiny and 1, with ignored pixels", async () => {
    const builds = await bothBuilds();
    const r = rng(5);
    const [C, S] = [3, 4099];
    const tiny = [0, 1e-7, 3e-7, 1, 1e-30, 0.5];
    for (const { name, seg } of builds) {
      for (const ignoreIndex of [null, 2]) {
        const labels = new Int32Array(S);
        const pred = new Float32Array(C * S);
        for (let s = 0; s < S; s++) {
          const y = Math.floor(r() * C);
          labels[s] = y;
          const py = tiny[Math.floor(s / 700) % tiny.length];
          for (let k = 0; k < C; k++) pred[k * S + s] = k === y ? py : (1 - py) / 2;
        }
        const input = { N: 1, C, S, layout: "NCHW" as const, pred, labels, dense: null };
        const want = oracleCrossEntropy(input, { ignoreIndex }).value as number;
        const got = seg.crossEntropy({ data: labels, shape: [1, S] }, { data: pred, shape: [1, C, S] }, { ignoreIndex });
        within(got as number, want, `${name} ignore=${ignoreIndex}`);
      }
    }
  });
});
