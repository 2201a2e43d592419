// Multi-class and multi-label Dice, diceCoefficient, Jaccard, Tversky, focal
// Tversky and the generalized Dice against the float64 oracle on both builds:
// modes × layouts × target forms × options, gradients (central differences,
// probabilities and logits), presets against the anchors' own algorithms,
// NCHW = NHWC, edge cases, errors, memory.
import { beforeAll, describe, expect, it } from "vitest";
import type { Segloss } from "../src/index";
import { type Build, bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import {
  at,
  centralGrad,
  type GdOpts,
  gdBinaryValue,
  gdValue,
  keras3Anchor,
  type Layout,
  type McCase,
  type McOpts,
  type McScore,
  mcValue,
  monaiAnchor,
  monaiGeneralizedDice,
  smpAnchor,
} from "./oracle/multiclassRegion";

type Form = "labels" | "onehot" | "soft";
type Mode = "multiclass" | "multilabel";

interface Made extends McCase {
  pred: Float32Array;
  shape: number[];
  target: { data: Float32Array | Int32Array | Uint8Array; shape: number[] };
}

/**
 * A case in `layout`: labels in [0, C) (some `ignore`, class C−1 absent when
 * `absent`), one-hot or soft targets; probabilities (rows summing to 1 for
 * multiclass, with exact 0/1 now and then) or logits in [−6, 6].
 */
function makeCase(
  seed: number,
  N: number,
  C: number,
  spatial: number[],
  layout: Layout,
  form: Form,
  mode: Mode,
  o: { logits?: boolean; ignore?: number | null; absent?: boolean } = {},
): Made {
  const r = rng(seed);
  const S = spatial.reduce((a, b) => a * b, 1);
  const labels = new Int32Array(N * S);
  const top = o.absent && C > 2 ? C - 1 : C;
  for (let i = 0; i < N * S; i++) labels[i] = o.ignore != null && r() < 0.15 ? o.ignore : Math.floor(r() * top);
  const pred = new Float32Array(N * C * S);
  const dense = new Float32Array(N * C * S);
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const raw = Array.from({ length: C }, () => r());
      const z = raw.reduce((a, b) => a + b, 0);
      const softT = mode === "multiclass" ? raw.map((v) => v / z) : raw;
      const l = labels[n * S + s];
      for (let c = 0; c < C; c++) {
        const u = r();
        let p: number;
        if (o.logits) p = (r() - 0.5) * 12;
        else if (mode === "multilabel") p = u < 0.03 ? 0 : u > 0.97 ? 1 : Math.min(1, Math.max(0, 0.5 * (l === c ? 1 : 0) + 0.5 * r()));
        else p = r();
        pred[at(layout, C, S, n, c, s)] = p;
        const hard = l === c ? 1 : 0;
        dense[at(layout, C, S, n, c, s)] = form === "soft" ? Math.fround(softT[c]) : hard;
      }
      if (!o.logits && mode === "multiclass") {
        let sum = 0;
        for (let c = 0; c < C; c++) sum += pred[at(layout, C, S, n, c, s)];
        for (let c = 0; c < C; c++) pred[at(layout, C, S, n, c, s)] = Math.min(1, pred[at(layout, C, S, n, c, s)] / sum);
      }
    }
  if (!o.logits && mode === "multiclass" && N * S > 3) {
    // a pixel with a hard one-hot prediction (exact 0 and 1)
    for (let c = 0; c < C; c++) pred[at(layout, C, S, 0, c, 1)] = c === labels[1] ? 1 : 0;
  }
  const shape = layout === "NCHW" ? [N, C, ...spatial] : [N, ...spatial, C];
  const target =
    form === "labels"
      ? { data: labels, shape: [N, ...spatial] }
      : { data: dense, shape: layout === "NCHW" ? [N, C, ...spatial] : [N, ...spatial, C] };
  return {
    N,
    C,
    S,
    layout,
    pred,
    labels: form === "labels" ? labels : null,
    dense: form === "labels" ? null : dense,
    shape,
    target,
  };
}

const FNS: McScore[] = ["dice", "diceCoefficient", "jaccard", "tversky", "focalTversky"];

/** Option sets per function (each also runs with fromLogits in the gradient sweep). */
const OPTION_SETS: Record<McScore, Partial<McOpts>[]> = {
  dice: [
    {},
    { perImage: false },
    { aggregate: "batch", reduction: "sum" } as Partial<McOpts>,
    { reduction: "none" },
    { reduction: "none", perImage: false, classes: [2, 0] },
    { squared: true },
    { log: true },
    { softLabel: true },
    { smoothNumerator: 0.5, smoothDenominator: 2 },
    { smooth: 0, epsilon: 1e-3 },
    { smooth: 0, epsilon: 1e-3, epsilonMode: "add" },
    { emptyTarget: "zero" },
    { emptyTarget: "max", log: true },
    { emptyTarget: "skip" },
    { emptyTarget: "skip", reduction: "none" },
    { includeBackground: false },
    { classes: [1, 2] },
    { classWeights: [0.5, 2, 1] },
    { classWeights: [0.5, 2, 1], emptyTarget: "skip", perImage: false },
    { average: "micro" },
    { average: "micro", perImage: false, includeBackground: false },
  ],
  diceCoefficient: [
    {},
    { perImage: false },
    { reduction: "none" },
    { emptyTarget: "zero" },
    { emptyTarget: "skip", reduction: "sum" },
    { classWeights: [1, 3, 0] },
  ],
  jaccard: [
    {},
    { perImage: false },
    { squared: true },
    { softLabel: true },
    { log: true },
    { emptyTarget: "skip" },
    { classes: [0, 2], average: "micro" },
  ],
  tversky: [
    {},
    { alpha: 0.7, beta: 0.3 },
    { softLabel: true, alpha: 0.2, beta: 0.9 },
    { perImage: false },
    { emptyTarget: "max" },
    { log: true, includeBackground: false },
    { classWeights: [1, 1, 4], reduction: "sum" },
  ],
  focalTversky: [
    {},
    { gamma: 2 },
    { alpha: 0.3, beta: 0.7, gamma: 1.33 },
    { gammaAt: "mean" },
    { gammaAt: "mean", gamma: 1.5, perImage: false, classWeights: [2, 1, 1] },
    { emptyTarget: "skip", reduction: "sum" },
  ],
};

const SHAPES: [number, number, number[]][] = [
  [1, 3, [5]],
  [2, 3, [3, 7]],
  [3, 4, [9, 11]],
  [2, 3, [2, 3, 5]], // a volume
];

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

type Fn = (t: unknown, p: unknown, o?: unknown) => number | Float32Array;
type GradFn = (t: unknown, p: unknown, o?: unknown) => { loss: number; grad: Float32Array };

function call(seg: Segloss, name: string): Fn {
  return (seg as unknown as Record<string, Fn>)[name];
}

function expectClose(got: number | Float32Array, want: number | Float64Array, what: string): void {
  if (typeof want === "number") within(got as number, want, what);
  else withinAll(got as Float32Array, want, what);
}

/** Options for the oracle: the test's set plus the mode and the ignore label (aggregate → perImage). */
function oracleOpts(o: Record<string, unknown>): McOpts {
  const out = { ...o } as unknown as McOpts & { aggregate?: string };
  if (out.aggregate) {
    out.perImage = out.aggregate === "perImage";
    delete out.aggregate;
  }
  return out;
}

const FORMS: Record<Mode, Form[]> = { multiclass: ["labels", "onehot", "soft"], multilabel: ["onehot", "soft"] };

function widen(opts: Partial<McOpts>, C: number): Partial<McOpts> {
  // class weights and lists are written for C = 3; extend them for larger C
  const o = { ...opts };
  if (o.classWeights) o.classWeights = Array.from({ length: C }, (_, c) => o.classWeights?.[c] ?? 1);
  return o;
}

for (const name of FNS) {
  describe(`${name} (multi-class)`, () => {
    for (const mode of ["multiclass", "multilabel"] as Mode[]) {
      for (const opts of OPTION_SETS[name]) {
        it(`${mode} ${JSON.stringify(opts)} matches the oracle (layouts × forms × shapes)`, () => {
          for (const { name: build, seg } of builds) {
            let seed = 11;
            for (const layout of ["NCHW", "NHWC"] as Layout[]) {
              for (const form of FORMS[mode]) {
                for (const [N, C, spatial] of SHAPES) {
                  for (const ignore of form === "labels" ? [null, 255] : [null]) {
                    const k = makeCase(seed++, N, C, spatial, layout, form, mode, { ignore, absent: seed % 2 === 0 });
                    const o = { ...widen(opts, C), mode, layout, ...(ignore === null ? {} : { ignoreIndex: ignore }) };
                    const want = mcValue(name, k, oracleOpts(o));
                    const got = call(seg, name)(k.target, { data: k.pred, shape: k.shape }, o);
                    expectClose(got, want, `${build} ${name} ${JSON.stringify(o)} ${form} N=${N} C=${C} ${spatial}`);
                  }
                }
              }
            }
          }
        });
      }
    }
  });
}

describe("gradients (central differences of the oracle)", () => {
  const GRADS = ["dice", "jaccard", "tversky", "focalTversky"] as const;
  for (const name of GRADS) {
    for (const mode of ["multiclass", "multilabel"] as Mode[]) {
      it(`${name}Grad ${mode}`, () => {
        for (const { name: build, seg } of builds) {
          let seed = 500;
          for (const opts of OPTION_SETS[name].filter((o) => o.reduction !== "none")) {
            for (const logits of [false, true]) {
              for (const layout of ["NCHW", "NHWC"] as Layout[]) {
                for (const form of FORMS[mode]) {
                  const ignore = form === "labels" && seed % 2 ? 255 : null;
                  const k = makeCase(seed++, 2, 3, [2, 5], layout, form, mode, { logits, ignore, absent: seed % 3 === 0 });
                  const o = { ...opts, mode, layout, fromLogits: logits, ...(ignore === null ? {} : { ignoreIndex: ignore }) };
                  const oo = oracleOpts(o);
                  const want = centralGrad((x) => mcValue(name, k, oo, x) as number, k.pred, logits);
                  const got = (call(seg, `${name}Grad`) as unknown as GradFn)(k.target, { data: k.pred, shape: k.shape }, o);
                  const what = `${build} ${name}Grad ${JSON.stringify(o)} ${form}`;
                  within(got.loss, mcValue(name, k, oo) as number, `${what} loss`);
                  withinAll(got.grad, want, `${what} grad`);
                }
              }
            }
          }
        }
      });
    }
  }
});

describe("layouts", () => {
  it("NCHW and NHWC give the same numbers (values, terms, gradients)", () => {
    for (const { seg } of builds) {
      for (const mode of ["multiclass", "multilabel"] as Mode[]) {
        for (const form of FORMS[mode]) {
          const a = makeCase(77, 2, 5, [13, 17], "NCHW", form, mode, { logits: true });
          // the same numbers, transposed
          const b = { ...a };
          const pred = new Float32Array(a.pred.length);
          const dense = new Float32Array(a.pred.length);
          for (let n = 0; n < a.N; n++)
            for (let c = 0; c < a.C; c++)
              for (let s = 0; s < a.S; s++) {
                pred[at("NHWC", a.C, a.S, n, c, s)] = a.pred[at("NCHW", a.C, a.S, n, c, s)];
                if (a.dense) dense[at("NHWC", a.C, a.S, n, c, s)] = a.dense[at("NCHW", a.C, a.S, n, c, s)];
              }
          const shapeB = [2, 13, 17, 5];
          const tB = form === "labels" ? a.target : { data: dense, shape: shapeB };
          for (const o of [
            { fromLogits: true },
            { fromLogits: true, reduction: "none" },
            { fromLogits: true, softLabel: true, perImage: false },
          ]) {
            const x = seg.dice(a.target, { data: a.pred, shape: a.shape }, { mode, ...o } as never);
            const y = seg.dice(tB, { data: pred, shape: shapeB }, { mode, layout: "NHWC", ...o } as never);
            expectClose(y, x as number | Float64Array as never, `dice ${mode} ${form} ${JSON.stringify(o)}`);
          }
          const gx = seg.tverskyGrad(a.target, { data: a.pred, shape: a.shape }, { mode, fromLogits: true, alpha: 0.3, beta: 0.7 });
          const gy = seg.tverskyGrad(tB, { data: pred, shape: shapeB }, { mode, layout: "NHWC", fromLogits: true, alpha: 0.3, beta: 0.7 });
          within(gy.loss, gx.loss, "tversky loss");
          for (let n = 0; n < a.N; n++)
            for (let c = 0; c < a.C; c++)
              for (let s = 0; s < a.S; s++)
                within(gy.grad[at("NHWC", a.C, a.S, n, c, s)], gx.grad[at("NCHW", a.C, a.S, n, c, s)], `grad ${n},${c},${s}`);
          void b;
        }
      }
    }
  });

  it("one-hot targets give the labels' numbers; uint8 labels and a [N,1,H,W] label tensor work", () => {
    for (const { seg } of builds) {
      const k = makeCase(5, 3, 4, [6, 7], "NCHW", "labels", "multiclass");
      const onehot = makeCase(5, 3, 4, [6, 7], "NCHW", "onehot", "multiclass");
      const pred = { data: k.pred, shape: k.shape };
      const a = seg.dice(k.target, pred, { mode: "multiclass", reduction: "none" }) as Float32Array;
      const b = seg.dice(onehot.target, pred, { mode: "multiclass", reduction: "none" }) as Float32Array;
      withinAll(b, Float64Array.from(a), "one-hot vs labels");
      const u8 = { data: Uint8Array.from(k.labels as Int32Array), shape: [3, 1, 6, 7] };
      withinAll(seg.dice(u8, pred, { mode: "multiclass", reduction: "none" }) as Float32Array, Float64Array.from(a), "uint8 [N,1,H,W]");
    }
  });

  it("a large image (several chunks per image, C = 21) matches the oracle, in place in wasm memory too", () => {
    for (const { seg } of builds) {
      const k = makeCase(9, 1, 21, [40, 50], "NCHW", "labels", "multiclass", { ignore: 255, logits: true });
      const o = { mode: "multiclass" as const, fromLogits: true, ignoreIndex: 255 };
      const want = mcValue("dice", k, o) as number;
      within(seg.dice(k.target, { data: k.pred, shape: k.shape }, o) as number, want, "copied");
      const view = seg.alloc(Float32Array, k.pred.length);
      view.set(k.pred);
      try {
        within(seg.dice(k.target, { data: view, shape: k.shape }, o) as number, want, "resident");
        const g = seg.diceGrad(k.target, { data: view, shape: k.shape }, o);
        within(g.loss, want, "resident grad loss");
      } finally {
        seg.free(view);
      }
    }
  });
});

describe("presets against the anchors' own algorithms", () => {
  const cases = () =>
    [
      makeCase(31, 2, 4, [5, 6], "NCHW", "labels", "multiclass", { absent: true }),
      makeCase(32, 3, 3, [7, 3], "NHWC", "labels", "multiclass", { ignore: 255 }),
      makeCase(33, 2, 3, [4, 4], "NCHW", "soft", "multiclass"),
      makeCase(34, 2, 3, [4, 5], "NCHW", "onehot", "multilabel"),
      makeCase(35, 2, 3, [4, 5], "NHWC", "labels", "multiclass", { logits: true, absent: true }),
    ] as Made[];
  const modeOf = (k: Made) => (k.dense && k === undefined ? "multilabel" : "multiclass");
  void modeOf;

  it("'smp' = segmentation_models_pytorch (batch sums per class, L1 form, empty classes zeroed, focal Tversky mean^γ)", () => {
    for (const { seg } of builds) {
      cases().forEach((k, i) => {
        const mode: Mode = i === 3 ? "multilabel" : "multiclass";
        const fromLogits = i === 4;
        const extra = k.labels && i === 1 ? { ignoreIndex: 255 } : {};
        for (const more of [{}, { classes: [0, 2] }, { log: true }, { classWeights: Array.from({ length: k.C }, (_, c) => c + 1) }]) {
          for (const score of ["dice", "jaccard", "tversky", "focalTversky"] as const) {
            if (score === "focalTversky" && "log" in more) continue;
            const opts = {
              mode,
              preset: "smp",
              layout: k.layout,
              fromLogits,
              ...extra,
              ...more,
              ...(score === "tversky" ? { alpha: 0.3, beta: 0.7 } : {}),
            };
            const want = smpAnchor(score, k, opts as never);
            within(
              call(seg, score)(k.target, { data: k.pred, shape: k.shape }, opts) as number,
              want,
              `smp ${score} case ${i} ${JSON.stringify(more)}`,
            );
          }
        }
      });
    }
  });

  it("'monai' = MONAI DiceLoss / DiceLoss(jaccard) / TverskyLoss / GeneralizedDiceLoss (per image and class, 1e-5)", () => {
    for (const { seg } of builds) {
      cases().forEach((k, i) => {
        const mode: Mode = i === 3 ? "multilabel" : "multiclass";
        const fromLogits = i === 4;
        const extra = k.labels && i === 1 ? { ignoreIndex: 255 } : {};
        for (const more of [{}, { includeBackground: false }]) {
          for (const score of ["dice", "jaccard", "tversky"] as const) {
            const opts = { mode, preset: "monai", layout: k.layout, fromLogits, ...extra, ...more };
            within(
              call(seg, score)(k.target, { data: k.pred, shape: k.shape }, opts) as number,
              monaiAnchor(score, k, opts as never),
              `monai ${score} ${i}`,
            );
          }
          const opts = { mode, preset: "monai", layout: k.layout, fromLogits, ...extra, ...more };
          within(
            seg.generalizedDice(k.target, { data: k.pred, shape: k.shape }, opts as never) as number,
            monaiGeneralizedDice(k, opts as never),
            `monai GD ${i}`,
          );
        }
      });
    }
  });

  it("'keras3' = Keras 3 Dice / Tversky with axis=None on one-hot targets (one sum over everything)", () => {
    for (const { seg } of builds) {
      cases().forEach((k, i) => {
        if (i === 1) return; // Keras has no ignore label
        const mode: Mode = i === 3 ? "multilabel" : "multiclass";
        const fromLogits = i === 4;
        for (const score of ["dice", "tversky"] as const) {
          const opts = { mode, preset: "keras3", layout: k.layout, fromLogits, ...(score === "tversky" ? { alpha: 0.8, beta: 0.2 } : {}) };
          within(
            call(seg, score)(k.target, { data: k.pred, shape: k.shape }, opts) as number,
            keras3Anchor(score, k, opts as never),
            `keras3 ${score} ${i}`,
          );
        }
      });
      // empty target and empty prediction: Keras's 0/(0 + 1e-7) → loss 1
      const t = new Int32Array(8);
      const p = new Float32Array(16);
      for (let i = 0; i < 8; i++) p[i] = 1; // all mass on class 0, target all class 0 → perfect
      within(
        seg.dice(
          { data: t, shape: [1, 2, 4] },
          { data: p, shape: [1, 2, 2, 4] },
          { mode: "multiclass", preset: "keras3", includeBackground: false },
        ) as number,
        1,
        "keras3 empty → 1",
      );
    }
  });

  it("hand-worked numbers: 1 image, 2 classes, 4 pixels", () => {
    // labels [0, 0, 1, 1]; p(class 1) = [.1, .2, .7, .6], p(class 0) = 1 − p(class 1)
    // class 0: I = 1.7, Σt = 2, Σp = 2.4; class 1: I = 1.3, Σt = 2, Σp = 1.6
    const t = { data: new Int32Array([0, 0, 1, 1]), shape: [1, 2, 2] };
    const p = { data: new Float32Array([0.9, 0.8, 0.3, 0.4, 0.1, 0.2, 0.7, 0.6]), shape: [1, 2, 2, 2] };
    const f = Math.fround;
    const [i0, p0, i1, p1] = [f(0.9) + f(0.8), f(0.9) + f(0.8) + f(0.3) + f(0.4), f(0.7) + f(0.6), f(0.1) + f(0.2) + f(0.7) + f(0.6)];
    for (const { seg } of builds) {
      const mc = { mode: "multiclass" as const };
      within(seg.dice(t, p, mc) as number, (1 - (2 * i0 + 1) / (2 + p0 + 1) + 1 - (2 * i1 + 1) / (2 + p1 + 1)) / 2, "seed dice");
      within(seg.dice(t, p, { ...mc, preset: "smp" }) as number, (1 - i0 / ((2 + p0) / 2) + 1 - i1 / ((2 + p1) / 2)) / 2, "smp dice");
      within(
        seg.jaccard(t, p, { ...mc, preset: "monai" }) as number,
        (2 - (2 * i0 + 1e-5) / (2 * (2 + p0 - i0) + 1e-5) - (2 * i1 + 1e-5) / (2 * (2 + p1 - i1) + 1e-5)) / 2,
        "monai jaccard",
      );
      within(seg.dice(t, p, { ...mc, preset: "keras3" }) as number, 1 - (2 * (i0 + i1)) / (4 + p0 + p1 + 1e-7), "keras3 dice");
      // GD: w = 1/4 for both classes
      within(seg.generalizedDice(t, p, mc) as number, 1 - (2 * 0.25 * (i0 + i1) + 1e-5) / (0.25 * (4 + p0 + p1) + 1e-5), "GD");
    }
  });

  it("explicit options override a preset", () => {
    for (const { seg } of builds) {
      const k = cases()[0];
      const o = { mode: "multiclass" as const, preset: "smp" as const, perImage: true, emptyTarget: "smooth" as const, smooth: 1 };
      const want = mcValue("dice", k, { mode: "multiclass", perImage: true, smooth: 1, epsilon: 2e-7, softLabel: true });
      within(seg.dice(k.target, { data: k.pred, shape: k.shape }, o) as number, want as number, "smp overridden");
    }
  });
});

describe("generalizedDice", () => {
  const GD_SETS: GdOpts[] = [
    {},
    { perImage: false },
    { reduction: "sum" },
    { reduction: "none" },
    { includeBackground: false },
    { classes: [1, 2] },
    { softLabel: true },
    { weightType: "simple" },
    { weightType: "uniform", smooth: 1 },
    { smoothNumerator: 0, smoothDenominator: 1e-3 },
  ];
  it("multiclass and multilabel match the oracle, values and gradients", () => {
    for (const { name: build, seg } of builds) {
      let seed = 900;
      for (const mode of ["multiclass", "multilabel"] as Mode[]) {
        for (const opts of GD_SETS) {
          for (const layout of ["NCHW", "NHWC"] as Layout[]) {
            for (const form of FORMS[mode]) {
              for (const logits of [false, true]) {
                const ignore = form === "labels" && seed % 2 ? 255 : null;
                const k = makeCase(seed++, 2, 3, [3, 4], layout, form, mode, { logits, ignore, absent: seed % 3 === 0 });
                const o = { ...opts, mode, layout, fromLogits: logits, ...(ignore === null ? {} : { ignoreIndex: ignore }) };
                const what = `${build} GD ${JSON.stringify(o)} ${form}`;
                const want = gdValue(k, o);
                expectClose(seg.generalizedDice(k.target, { data: k.pred, shape: k.shape }, o as never), want, what);
                if (o.reduction === "none") continue;
                const g = seg.generalizedDiceGrad(k.target, { data: k.pred, shape: k.shape }, o as never);
                within(g.loss, want as number, `${what} loss`);
                withinAll(
                  g.grad,
                  centralGrad((x) => gdValue(k, o, x) as number, k.pred, logits),
                  `${what} grad`,
                );
              }
            }
          }
        }
      }
    }
  });

  it("binary inputs are the two classes foreground (t, p) and background (1 − t, 1 − p)", () => {
    for (const { name: build, seg } of builds) {
      const r = rng(4);
      for (const [N, L] of [
        [1, 7],
        [3, 33],
        [2, 257],
      ]) {
        const t = new Float32Array(N * L).map(() => (r() < 0.3 ? 1 : 0));
        const soft = new Float32Array(N * L).map(() => r());
        const p = new Float32Array(N * L).map(() => r());
        const x = new Float32Array(N * L).map(() => (r() - 0.5) * 10);
        t[0] = 255;
        for (const opts of [
          {},
          { perImage: false },
          { fromLogits: true },
          { ignoreIndex: 255 },
          { softLabel: true },
          { includeBackground: false },
          { reduction: "sum" as const },
        ]) {
          for (const target of [t, soft]) {
            if (target === t && !("ignoreIndex" in opts)) target[0] = 0;
            if (target === t && "ignoreIndex" in opts) target[0] = 255;
            const pred = "fromLogits" in opts ? x : p;
            const o = { ...opts, mode: "binary" as const, shape: [N, 1, L] };
            const what = `${build} binary GD ${JSON.stringify(o)}`;
            const want = gdBinaryValue(target, pred, N, o) as number;
            within(seg.generalizedDice(target, pred, o) as number, want, what);
            const g = seg.generalizedDiceGrad(target, pred, o);
            within(g.loss, want, `${what} loss`);
            withinAll(
              g.grad,
              centralGrad((q) => gdBinaryValue(target, q, N, o) as number, pred, !!o.fromLogits),
              `${what} grad`,
            );
          }
        }
      }
    }
  });
});

describe("edge cases", () => {
  it("N = 1, C = 2; a class absent from every image; an all-ignored image", () => {
    for (const { seg } of builds) {
      const k = makeCase(3, 1, 2, [4, 4], "NCHW", "labels", "multiclass");
      within(
        seg.dice(k.target, { data: k.pred, shape: k.shape }, { mode: "multiclass" }) as number,
        mcValue("dice", k, { mode: "multiclass" }) as number,
        "N=1 C=2",
      );
      // labels only 0 → class 1 empty everywhere
      const t = new Int32Array(16);
      for (const emptyTarget of ["smooth", "zero", "max", "skip"] as const) {
        const o = { mode: "multiclass" as const, emptyTarget, reduction: "none" as const };
        const kk = { ...k, labels: t, target: { data: t, shape: [1, 4, 4] } };
        withinAll(
          seg.dice(kk.target, { data: k.pred, shape: k.shape }, o) as Float32Array,
          mcValue("dice", kk, o) as Float64Array,
          emptyTarget,
        );
        const g = seg.diceGrad(kk.target, { data: k.pred, shape: k.shape }, { ...o, reduction: "mean" });
        within(g.loss, mcValue("dice", kk, { ...o, reduction: "mean" }) as number, `${emptyTarget} grad loss`);
      }
      // image 1 of 2 entirely ignored: its terms see empty sums (smooth → 0 loss; skip → left out)
      const k2 = makeCase(4, 2, 3, [3, 3], "NCHW", "labels", "multiclass", { logits: true });
      const lab = Int32Array.from(k2.labels as Int32Array);
      lab.fill(255, 9, 18);
      const kk2 = { ...k2, labels: lab, target: { data: lab, shape: [2, 3, 3] } };
      for (const o of [
        { mode: "multiclass" as const, ignoreIndex: 255, fromLogits: true },
        { mode: "multiclass" as const, ignoreIndex: 255, fromLogits: true, emptyTarget: "skip" as const },
      ]) {
        within(
          seg.dice(kk2.target, { data: k2.pred, shape: k2.shape }, o) as number,
          mcValue("dice", kk2, o) as number,
          "all-ignored image",
        );
        const g = seg.diceGrad(kk2.target, { data: k2.pred, shape: k2.shape }, o);
        for (let i = 9 * 3; i < 18 * 3; i++) expect(g.grad[i]).toBe(0);
      }
      // smooth 0 and nothing anywhere: 0/0 is NaN, as the binary losses
      const z = seg.dice(
        { data: new Int32Array(4), shape: [1, 4] },
        { data: new Float32Array(8), shape: [1, 2, 4] },
        { mode: "multiclass", smooth: 0, classes: [1] },
      );
      expect(Number.isNaN(z as number)).toBe(true);
    }
  });

  it("without mode, or with mode 'binary', dice stays the binary loss", () => {
    for (const { seg } of builds) {
      const r = rng(21);
      const t = new Float32Array(64).map(() => (r() < 0.4 ? 1 : 0));
      const p = new Float32Array(64).map(() => r());
      const o = { shape: [2, 1, 32] };
      expect(seg.dice(t, p, { ...o, mode: "binary" })).toBe(seg.dice(t, p, o));
      expect(seg.diceGrad(t, p, { ...o, mode: "binary" }).grad).toEqual(seg.diceGrad(t, p, o).grad);
    }
  });

  it("diceCoefficient and dice agree (D = 1 − loss)", () => {
    for (const { seg } of builds) {
      const k = makeCase(8, 2, 4, [5, 5], "NHWC", "soft", "multiclass");
      const o = { mode: "multiclass" as const, layout: "NHWC" as const };
      within(
        seg.diceCoefficient(k.target, { data: k.pred, shape: k.shape }, o) as number,
        1 - (seg.dice(k.target, { data: k.pred, shape: k.shape }, o) as number),
        "D",
      );
    }
  });

  it("out receives the gradient (also in wasm memory)", () => {
    for (const { seg } of builds) {
      const k = makeCase(12, 2, 3, [4, 4], "NCHW", "labels", "multiclass");
      const ref = seg.jaccardGrad(k.target, { data: k.pred, shape: k.shape }, { mode: "multiclass" });
      const out = seg.alloc(Float32Array, k.pred.length);
      try {
        const g = seg.jaccardGrad(k.target, { data: k.pred, shape: k.shape }, { mode: "multiclass", out });
        expect(g.grad).toBe(out);
        expect(Array.from(out)).toEqual(Array.from(ref.grad));
      } finally {
        seg.free(out);
      }
    }
  });
});

describe("errors", () => {
  it("bad options, labels, ranges and shapes throw SegLossError naming the argument, and write nothing", () => {
    for (const { seg } of builds) {
      const k = makeCase(1, 2, 3, [4, 4], "NCHW", "labels", "multiclass");
      const p = { data: k.pred, shape: k.shape };
      const expectError = (f: () => unknown, code: string, arg: string) => {
        const e = catchSegLossError(f, `expected ${code}`);
        expect(e.code).toBe(code);
        expect(e.message).toContain(arg);
      };
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", nope: 1 } as never), "E_OPTION", "nope");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", classes: [3] }), "E_OPTION_RANGE", "opts.classes");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", classes: [0], includeBackground: false }), "E_OPTION", "opts.classes");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", classWeights: [1, 2] }), "E_OPTION", "opts.classWeights");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", classWeights: [1, -2, 1] }), "E_OPTION_RANGE", "opts.classWeights");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", classWeights: [0, 0, 0] }), "E_OPTION_RANGE", "opts.classWeights");
      expectError(
        () => seg.dice(k.target, p, { mode: "multiclass", classWeights: [1, 1, 1], average: "micro" }),
        "E_OPTION",
        "opts.classWeights",
      );
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", preset: "kornia" } as never), "E_OPTION", "opts.preset");
      expectError(() => seg.tversky(k.target, p, { mode: "multiclass", squared: true } as never), "E_OPTION", "squared");
      expectError(() => seg.dice(k.target, p, { mode: "multiclass", smooth: 1, smoothNumerator: 1 }), "E_OPTION", "opts.smooth");
      expectError(() => seg.dice(k.target, p, { mode: "multilabel" }), "E_SHAPE", "target");
      expectError(() => seg.diceGrad(k.target, p, { mode: "multiclass", reduction: "none" }), "E_OPTION", "opts.reduction");
      const onehot = makeCase(1, 2, 3, [4, 4], "NCHW", "onehot", "multiclass");
      expectError(() => seg.dice(onehot.target, p, { mode: "multiclass", ignoreIndex: 255 }), "E_OPTION", "opts.ignoreIndex");
      const bad = Int32Array.from(k.labels as Int32Array);
      bad[5] = 3;
      expectError(() => seg.dice({ data: bad, shape: [2, 4, 4] }, p, { mode: "multiclass" }), "E_RANGE", "target");
      const big = Float32Array.from(k.pred);
      big[7] = 1.5;
      expectError(() => seg.dice(k.target, { data: big, shape: k.shape }, { mode: "multiclass" }), "E_RANGE", "pred");
      big[7] = Number.NaN;
      expectError(() => seg.dice(k.target, { data: big, shape: k.shape }, { mode: "multiclass", fromLogits: true }), "E_NONFINITE", "pred");
      expectError(() => seg.dice({ data: k.labels as Int32Array, shape: [2, 16] }, p, { mode: "multiclass" }), "E_SHAPE", "target");
      expectError(() => seg.generalizedDice(k.target, p, { mode: "multiclass", emptyTarget: "zero" } as never), "E_OPTION", "emptyTarget");
      // a failing gradient call leaves out untouched
      const out = new Float32Array(k.pred.length).fill(7);
      expectError(() => seg.diceGrad({ data: bad, shape: [2, 4, 4] }, p, { mode: "multiclass", out }), "E_RANGE", "target");
      expect(out.every((v) => v === 7)).toBe(true);
      expectError(() => seg.diceGrad(k.target, p, { mode: "multiclass", out: new Float32Array(3) }), "E_SHAPE", "opts.out");
    }
  });
});

describe("memory", () => {
  it("stays flat over many calls, failing ones included", () => {
    for (const { seg } of builds) {
      const k = makeCase(2, 2, 5, [16, 16], "NHWC", "labels", "multiclass", { ignore: 255, logits: true });
      const p = { data: k.pred, shape: k.shape };
      const o = { mode: "multiclass" as const, layout: "NHWC" as const, fromLogits: true, ignoreIndex: 255 };
      const free = seg.largestFree();
      for (let i = 0; i < 200; i++) {
        seg.dice(k.target, p, o);
        seg.focalTverskyGrad(k.target, p, o);
        seg.generalizedDiceGrad(k.target, p, o);
        try {
          seg.dice(k.target, p, { ...o, classes: [9] });
        } catch {
          /* expected */
        }
      }
      expect(seg.largestFree()).toBe(free);
    }
  });
});
