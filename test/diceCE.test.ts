// diceCE / diceCEGrad (MONAI's DiceCELoss in one pass) on both builds:
// - the defining property: diceCE = λd·dice + λce·crossEntropy of the public
//   calls with the part options, and the gradient the same sum of gradients,
//   over layouts × target forms × probabilities/logits × option sets × sizes;
// - the float64 oracles of both parts composed (test/oracle/multiclassRegion.ts,
//   test/oracle/multiclassElementwise.ts), the gradient by central differences
//   of that composition, and the 'monai' preset against MONAI's own algorithm;
// - errors, untouched `out` on failure, flat memory;
// - softmax's exp for non-positive arguments on every float32 in [−104, 0].
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { beforeAll, describe, expect, it } from "vitest";
import type { DiceCEOptions, Segloss } from "../src/index";
import { type Build, bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import { oracleCrossEntropy } from "./oracle/multiclassElementwise";
import { at, centralGrad, type Layout, type McOpts, mcValue, monaiAnchor } from "./oracle/multiclassRegion";

type Form = "labels" | "onehot" | "soft";

interface Case {
  N: number;
  C: number;
  S: number;
  layout: Layout;
  pred: Float32Array;
  labels: Int32Array | null;
  dense: Float32Array | null;
  target: { data: Int32Array | Float32Array; shape: number[] };
  shape: number[];
}

/** Labels in [0, C) (15 % `ignore` when given), one-hot or soft targets, probabilities (rows summing to 1) or logits in [−6, 6]. */
function makeCase(
  seed: number,
  N: number,
  C: number,
  spatial: number[],
  layout: Layout,
  form: Form,
  logits: boolean,
  ignore: number | null = null,
): Case {
  const r = rng(seed);
  const S = spatial.reduce((a, b) => a * b, 1);
  const labels = new Int32Array(N * S);
  for (let i = 0; i < N * S; i++) labels[i] = ignore !== null && r() < 0.15 ? ignore : Math.floor(r() * C);
  const pred = new Float32Array(N * C * S);
  const dense = new Float32Array(N * C * S);
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const raw = Array.from({ length: C }, () => r() + 1e-3);
      const z = raw.reduce((a, b) => a + b, 0);
      const q = Array.from({ length: C }, () => r());
      const qz = q.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) {
        const i = at(layout, C, S, n, c, s);
        pred[i] = logits ? (r() - 0.5) * 12 : Math.min(1, q[c] / qz);
        dense[i] = form === "soft" ? Math.fround(raw[c] / z) : labels[n * S + s] === c ? 1 : 0;
      }
    }
  const shape = layout === "NCHW" ? [N, C, ...spatial] : [N, ...spatial, C];
  const isLabels = form === "labels";
  return {
    N,
    C,
    S,
    layout,
    pred,
    labels: isLabels ? labels : null,
    dense: isLabels ? null : dense,
    target: isLabels ? { data: labels, shape: [N, ...spatial] } : { data: dense, shape },
    shape,
  };
}

/** The part options diceCE hands to `dice` and `crossEntropy` (docs/multiclass-losses.md "Dice + cross-entropy"). */
function partOptions(o: DiceCEOptions, c: Case): { dice: Record<string, unknown>; ce: Record<string, unknown> } {
  const shared: Record<string, unknown> = {};
  for (const k of ["layout", "reduction", "fromLogits", "preset", "ignoreIndex"] as const) if (o[k] !== undefined) shared[k] = o[k];
  // a preset's ignore label (−100 for 'smp' and 'monai') applies to both parts, for label targets
  if (shared.ignoreIndex === undefined && (o.preset === "monai" || o.preset === "smp") && c.labels) shared.ignoreIndex = -100;
  const dice: Record<string, unknown> = { mode: "multiclass", ...shared };
  const ce: Record<string, unknown> = { ...shared };
  const diceKeys = [
    "perImage",
    "aggregate",
    "smooth",
    "smoothNumerator",
    "smoothDenominator",
    "squared",
    "log",
    "softLabel",
    "emptyTarget",
    "classes",
    "includeBackground",
  ];
  for (const k of diceKeys) if ((o as Record<string, unknown>)[k] !== undefined) dice[k] = (o as Record<string, unknown>)[k];
  for (const k of ["labelSmoothing", "renormalize", "countIgnored"])
    if ((o as Record<string, unknown>)[k] !== undefined) ce[k] = (o as Record<string, unknown>)[k];
  const dw = "diceClassWeights" in o ? o.diceClassWeights : o.classWeights;
  const cw = "ceClassWeights" in o ? o.ceClassWeights : o.classWeights;
  if (dw) dice.classWeights = dw;
  if (cw) ce.classWeights = cw;
  return { dice, ce };
}

const OPTION_SETS: DiceCEOptions[] = [
  {},
  { lambdaDice: 0.25, lambdaCe: 2 },
  { reduction: "sum" },
  { includeBackground: false },
  { classes: [2, 0], perImage: false },
  { classWeights: [1, 2, 0.5, 3] },
  { classWeights: [1, 2, 0.5, 3], diceClassWeights: null, labelSmoothing: 0.1 },
  { ceClassWeights: [0, 1, 1, 2], squared: true, smooth: 0.5 },
  { softLabel: true, log: true, emptyTarget: "skip" },
  { preset: "monai" },
  { preset: "monai", includeBackground: false, lambdaDice: 0.5 },
  { preset: "smp", lambdaCe: 0 },
  { preset: "keras3", lambdaDice: 0 },
];

const SIZES: [number, number[]][] = [
  [1, [1]],
  [2, [3]],
  [1, [2, 3]],
  [3, [17]],
  [2, [4, 5, 3]],
];

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

const sumOf = (a: number, b: number, la: number, lb: number) => la * a + lb * b;

describe("diceCE = λd·dice + λce·crossEntropy (the public calls)", () => {
  for (const opts of OPTION_SETS) {
    it(`${JSON.stringify(opts)}: values and gradients, layouts × target forms × probabilities/logits × sizes`, () => {
      let seed = 1;
      for (const { name, seg } of builds)
        for (const layout of ["NCHW", "NHWC"] as Layout[])
          for (const form of ["labels", "onehot", "soft"] as Form[])
            for (const logits of [false, true])
              for (const [N, spatial] of SIZES) {
                const c = makeCase(seed++, N, 4, spatial, layout, form, logits);
                const o: DiceCEOptions = { ...opts, layout, fromLogits: logits };
                const parts = partOptions(o, c);
                const p = { data: c.pred, shape: c.shape };
                const what = `${name} ${layout} ${form} logits=${logits} N=${N} [${spatial}]`;
                const [ld, lc] = [o.lambdaDice ?? 1, o.lambdaCe ?? 1];
                const d = seg.dice(c.target, p, parts.dice as never) as number;
                const ce = seg.crossEntropy(c.target, p, parts.ce as never) as number;
                within(seg.diceCE(c.target, p, o), sumOf(d, ce, ld, lc), `${what} value`);
                const g = seg.diceCEGrad(c.target, p, o);
                within(g.loss, sumOf(d, ce, ld, lc), `${what} grad loss`);
                const gd = seg.diceGrad(c.target, p, parts.dice as never).grad;
                const gc = seg.crossEntropyGrad(c.target, p, parts.ce as never).grad;
                withinAll(
                  g.grad,
                  gd.map((v, i) => ld * v + lc * gc[i]),
                  `${what} grad`,
                );
              }
    });
  }

  it("ignoreIndex drops the pixels from both parts (labels), several chunks per image (C = 21), in wasm memory too", () => {
    for (const { name, seg } of builds) {
      const c = makeCase(77, 2, 21, [40, 45], "NCHW", "labels", true, 255);
      const o: DiceCEOptions = { fromLogits: true, ignoreIndex: 255, includeBackground: false, labelSmoothing: 0.05 };
      const parts = partOptions(o, c);
      const view = seg.alloc(Float32Array, c.pred.length);
      try {
        view.set(c.pred);
        for (const data of [c.pred, view]) {
          const p = { data, shape: c.shape };
          const want =
            (seg.dice(c.target, p, parts.dice as never) as number) + (seg.crossEntropy(c.target, p, parts.ce as never) as number);
          within(seg.diceCE(c.target, p, o), want, `${name} value`);
          const g = seg.diceCEGrad(c.target, p, o).grad;
          const gd = seg.diceGrad(c.target, p, parts.dice as never).grad;
          const gc = seg.crossEntropyGrad(c.target, p, parts.ce as never).grad;
          withinAll(
            g,
            gd.map((v, i) => v + gc[i]),
            `${name} grad`,
          );
        }
      } finally {
        seg.free(view);
      }
    }
  });

  it("NCHW and NHWC give the same numbers", () => {
    for (const { name, seg } of builds) {
      const a = makeCase(5, 2, 5, [6, 7], "NCHW", "labels", true);
      const b = { ...a, pred: new Float32Array(a.pred.length) };
      for (let n = 0; n < a.N; n++)
        for (let cl = 0; cl < a.C; cl++)
          for (let s = 0; s < a.S; s++) b.pred[at("NHWC", a.C, a.S, n, cl, s)] = a.pred[at("NCHW", a.C, a.S, n, cl, s)];
      const ga = seg.diceCEGrad(a.target, { data: a.pred, shape: [2, 5, 6, 7] }, { fromLogits: true });
      const gb = seg.diceCEGrad(a.target, { data: b.pred, shape: [2, 6, 7, 5] }, { fromLogits: true, layout: "NHWC" });
      within(gb.loss, ga.loss, `${name} loss`);
      const back = new Float32Array(a.pred.length);
      for (let n = 0; n < a.N; n++)
        for (let cl = 0; cl < a.C; cl++)
          for (let s = 0; s < a.S; s++) back[at("NCHW", a.C, a.S, n, cl, s)] = gb.grad[at("NHWC", a.C, a.S, n, cl, s)];
      withinAll(back, ga.grad, `${name} grad`);
    }
  });
});

// --------------------------------------------------------------- oracles

/** λd·(oracle Dice) + λce·(oracle CE) in float64, for `pred` in the case's layout. */
function oracleDiceCE(c: Case, o: DiceCEOptions, pred: ArrayLike<number> = c.pred): number {
  const parts = partOptions(o, c);
  const d = mcValue("dice", { ...c, pred }, parts.dice as unknown as McOpts, pred) as number;
  const ce = oracleCrossEntropy({ ...c, pred }, parts.ce as never).value as number;
  return (o.lambdaDice ?? 1) * d + (o.lambdaCe ?? 1) * ce;
}

describe("against the float64 oracles of both parts", () => {
  const sets: DiceCEOptions[] = [
    {},
    { lambdaDice: 0.7, lambdaCe: 1.3, includeBackground: false },
    { classWeights: [2, 1, 1], labelSmoothing: 0.2, smooth: 0.1 },
    { reduction: "sum", perImage: false, ignoreIndex: 9 },
  ];
  for (const opts of sets) {
    it(`${JSON.stringify(opts)}: values, and gradients by central differences`, () => {
      let seed = 100;
      for (const { name, seg } of builds)
        for (const layout of ["NCHW", "NHWC"] as Layout[])
          for (const form of ["labels", "soft"] as Form[])
            for (const logits of [false, true]) {
              if (opts.ignoreIndex !== undefined && form !== "labels") continue;
              const c = makeCase(seed++, 2, 3, [2, 3], layout, form, logits, opts.ignoreIndex ?? null);
              const o: DiceCEOptions = { ...opts, layout, fromLogits: logits };
              const p = { data: c.pred, shape: c.shape };
              const what = `${name} ${layout} ${form} logits=${logits}`;
              within(seg.diceCE(c.target, p, o), oracleDiceCE(c, o), `${what} value`);
              const g = seg.diceCEGrad(c.target, p, o);
              const want = centralGrad((x) => oracleDiceCE(c, o, x), c.pred, logits);
              for (let i = 0; i < want.length; i++) {
                const err = Math.abs(g.grad[i] - want[i]);
                if (!(err <= 1e-4 * Math.abs(want[i]) + 2e-6)) expect.fail(`${what} grad[${i}]: got ${g.grad[i]}, want ${want[i]}`);
              }
            }
    });
  }

  // the fused probabilities kernel sums −ln clip(p_y) as −ln Π clip(p_y) (assembly/diceCE.ts): long
  // runs of the smallest factors (p_y = 0 → ε) and of 1, ignored pixels in between, a tail past the vectors
  it("the cross-entropy part over long runs of p_y at 0, ε, tiny and 1, with ignored pixels", () => {
    const tiny = [0, 1e-7, 3e-7, 1, 1e-30, 0.5];
    for (const { name, seg } of builds) {
      for (const ignoreIndex of [null, 2]) {
        const c = makeCase(7, 1, 3, [4099], "NCHW", "labels", false, ignoreIndex);
        for (let s = 0; s < c.S; s++) {
          const y = (c.labels as Int32Array)[s];
          const py = tiny[Math.floor(s / 700) % tiny.length];
          for (let k = 0; k < 3; k++) c.pred[k * c.S + s] = k === y ? py : (1 - py) / 2;
        }
        const o: DiceCEOptions = { ignoreIndex, reduction: "sum" };
        within(seg.diceCE(c.target, { data: c.pred, shape: c.shape }, o), oracleDiceCE(c, o), `${name} ignore=${ignoreIndex}`);
      }
    }
  });

  // from logits the fused kernel keeps u = s − 1 apart from the max's 1 and takes −ln p_y = (m − x_y) + ln(1 + u)
  // (assembly/diceCE.ts logitSums): confident pixels whose loss is far below 1e-7, classes tied at the max,
  // gaps beyond exp's range both ways, huge magnitudes; each part alone (λ = 0 for the other), vectors and a tail
  it("from logits: confident pixels, ties at the max, gaps past exp's range, with ignored pixels (and crossEntropy alone)", () => {
    const rows: ((y: number, k: number) => number)[] = [
      (y, k) => (k === y ? 30 : 0), // −ln p_y ≈ 4·e^−30
      (y, k) => (k === y ? 17 : -1),
      (y, k) => (k === y || k === (y + 1) % 5 ? 2 : -k), // p_y shares the max with another class
      () => 0.25, // all five tied
      (y, k) => (k === y ? 0 : -200), // the others underflow to 0
      (y, k) => (k === y ? -200 : 0), // p_y underflows: −ln p_y = 200 + ln 4
      (y, k) => (k === y ? 1e30 : -1e30),
      (y, k) => (k === y ? -3e30 : k),
    ];
    // one kind of row per case (a sum over mixed rows would hide the small terms), then all mixed
    for (const { name, seg } of builds)
      for (const ignoreIndex of [null, 3])
        for (let kind = 0; kind <= rows.length; kind++) {
          const c = makeCase(11 + kind, 1, 5, [1027], "NCHW", "labels", true, ignoreIndex);
          for (let s = 0; s < c.S; s++) {
            const y = (c.labels as Int32Array)[s];
            const row = rows[kind < rows.length ? kind : s % rows.length];
            for (let k = 0; k < 5; k++) c.pred[k * c.S + s] = row(y === ignoreIndex ? 0 : y, k);
          }
          // the cross-entropy summed (its small terms add up); the Dice terms as a mean: with p_y near 1, 1 − D is at
          // float32's resolution of p (6e-8 per term), so a sum over classes would test p's rounding, not the kernel
          for (const o of [{ lambdaDice: 0, reduction: "sum" }, { lambdaCe: 0 }, {}] as DiceCEOptions[]) {
            const oo: DiceCEOptions = { ...o, ignoreIndex, fromLogits: true };
            const what = `${name} rows ${kind} ${JSON.stringify(oo)}`;
            within(seg.diceCE(c.target, { data: c.pred, shape: c.shape }, oo), oracleDiceCE(c, oo), what);
          }
          // crossEntropy's plain form from logits runs the same kernel without the Dice sums
          const ceOpts = { ignoreIndex, fromLogits: true, reduction: "sum" as const };
          const ce = seg.crossEntropy(c.target, { data: c.pred, shape: c.shape }, ceOpts) as number;
          within(ce, oracleCrossEntropy(c, ceOpts as never).value as number, `${name} rows ${kind} crossEntropy`);
        }
  });

  it("preset 'monai' (logits) is MONAI's DiceCELoss: DiceLoss(softmax) + torch CrossEntropyLoss; includeBackground affects the Dice part only", () => {
    for (const { name, seg } of builds)
      for (const includeBackground of [true, false]) {
        const c = makeCase(31, 3, 4, [5, 6], "NCHW", "labels", true);
        const dice = monaiAnchor("dice", { ...c }, { mode: "multiclass", fromLogits: true, includeBackground } as never);
        const ce = oracleCrossEntropy(c, { fromLogits: true }).value as number; // torch CE: every class, mean over pixels
        const o: DiceCEOptions = { preset: "monai", fromLogits: true, includeBackground, lambdaDice: 0.6, lambdaCe: 1.5 };
        within(
          seg.diceCE(c.target, { data: c.pred, shape: c.shape }, o),
          0.6 * dice + 1.5 * ce,
          `${name} includeBackground=${includeBackground}`,
        );
      }
  });
});

// ---------------------------------------------------------------- errors

describe("errors", () => {
  let seg: Segloss;
  let c: Case;
  beforeAll(() => {
    seg = builds[0].seg;
    c = makeCase(9, 2, 3, [4, 4], "NCHW", "labels", false);
  });
  const p = () => ({ data: c.pred, shape: c.shape });

  it("unknown options, bad λ, reduction 'none', mode 'multilabel'", () => {
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { lambda: 1 } as never), "no error").code).toBe("E_OPTION");
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { gamma: 2 } as never), "no error").message).toMatch(/unknown option/);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = catchSegLossError(() => seg.diceCE(c.target, p(), { lambdaDice: bad }), "no error");
      expect(e.code).toBe("E_OPTION_RANGE");
      expect(e.message).toMatch(/lambdaDice/);
    }
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { lambdaCe: "1" } as never), "no error").code).toBe("E_OPTION");
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { reduction: "none" } as never), "no error").message).toMatch(/reduction/);
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { mode: "multilabel" } as never), "no error").code).toBe("E_OPTION");
  });

  it("part options are checked as the parts check them", () => {
    const e1 = catchSegLossError(() => seg.diceCE(c.target, p(), { classWeights: [1, 2] }), "no error");
    expect(e1.message).toMatch(/classWeights/);
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { labelSmoothing: 2 }), "no error").message).toMatch(/labelSmoothing/);
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { classes: [5] }), "no error").message).toMatch(/classes/);
    expect(catchSegLossError(() => seg.diceCE(c.target, p(), { emptyTarget: "never" } as never), "no error").message).toMatch(
      /emptyTarget/,
    );
    const d = makeCase(9, 2, 3, [4, 4], "NCHW", "onehot", false);
    expect(catchSegLossError(() => seg.diceCE(d.target, p(), { ignoreIndex: 1 }), "no error").message).toMatch(/ignoreIndex/);
  });

  it("bad inputs (SPEC §5), and a failing diceCEGrad leaves `out` untouched", () => {
    const badLabels = Int32Array.from(c.labels as Int32Array);
    badLabels[7] = 3;
    const e = catchSegLossError(() => seg.diceCE({ data: badLabels, shape: [2, 4, 4] }, p()), "no error");
    expect(e.code).toBe("E_RANGE");
    expect(e.message).toMatch(/element 7/);
    const badP = Float32Array.from(c.pred);
    badP[badP.length - 1] = Number.NaN;
    expect(catchSegLossError(() => seg.diceCE(c.target, { data: badP, shape: c.shape }, { fromLogits: true }), "no error").code).toBe(
      "E_NONFINITE",
    );
    badP[badP.length - 1] = 1.5;
    expect(catchSegLossError(() => seg.diceCE(c.target, { data: badP, shape: c.shape }), "no error").code).toBe("E_RANGE");
    const out = new Float32Array(c.pred.length).fill(7);
    catchSegLossError(() => seg.diceCEGrad(c.target, { data: badP, shape: c.shape }, { out }), "no error");
    expect(out.every((v) => v === 7)).toBe(true);
    expect(catchSegLossError(() => seg.diceCEGrad(c.target, p(), { out: new Float32Array(3) }), "no error").code).toBe("E_SHAPE");
    const g = seg.diceCEGrad(c.target, p(), { out });
    expect(g.grad).toBe(out);
  });

  it("memory stays flat over many calls, failing ones included", () => {
    for (const { seg: s } of builds) {
      const big = makeCase(3, 2, 21, [30, 60], "NHWC", "labels", true, 255);
      const pred = { data: big.pred, shape: big.shape };
      // probabilities with labels take the fused kernel, whose range check runs inside it
      const probs = makeCase(4, 2, 21, [30, 60], "NCHW", "labels", false, 255);
      const bad = Float32Array.from(probs.pred);
      bad[bad.length - 5] = 2;
      const free = s.largestFree();
      for (let i = 0; i < 60; i++) {
        s.diceCEGrad(probs.target, { data: probs.pred, shape: probs.shape }, { ignoreIndex: 255 });
        catchSegLossError(() => s.diceCE(probs.target, { data: bad, shape: probs.shape }, { ignoreIndex: 255 }), "no error");
        s.diceCE(big.target, pred, { layout: "NHWC", fromLogits: true, ignoreIndex: 255, classWeights: new Array(21).fill(1) });
        s.diceCEGrad(big.target, pred, { layout: "NHWC", fromLogits: true, ignoreIndex: 255, includeBackground: false });
        catchSegLossError(() => s.diceCEGrad(big.target, pred, { layout: "NHWC", fromLogits: true }), "no error"); // 255 not ignored
      }
      expect(s.largestFree()).toBe(free);
    }
  });
});

// ---------------------------------------------------- softmax's exp (x ≤ 0)

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PROBE = `import { expNonPos1, expNonPos4 } from "./activation";
export function probe(src: usize, dst: usize, n: i32, scalar: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && !scalar) {
    for (; i + 4 <= n; i += 4) v128.store(dst + ((<usize>i) << 2), expNonPos4(v128.load(src + ((<usize>i) << 2))));
  }
  for (; i < n; i++) store<f32>(dst + ((<usize>i) << 2), expNonPos1(load<f32>(src + ((<usize>i) << 2))));
}
`;

/** Compiles the probe (a virtual file next to assembly/activation.ts) with the asc Node API. */
async function compileProbe(simd: boolean): Promise<Uint8Array> {
  const outputs: Record<string, Uint8Array | string> = {};
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(
    [
      "assembly/__exp_probe__.ts",
      "--baseDir",
      ROOT,
      "--config",
      "__exp_test_no_asconfig__.json",
      "--outFile",
      "probe.wasm",
      "--runtime",
      "stub",
      "--noAssert",
      "-O3",
      "--importMemory",
      ...(simd ? ["--enable", "simd"] : []),
    ],
    {
      stderr,
      readFile: (name: string, baseDir: string) => {
        if (name.endsWith("__exp_probe__.ts")) return PROBE;
        try {
          return readFileSync(resolve(baseDir, name), "utf8");
        } catch {
          return null;
        }
      },
      writeFile: (name: string, contents: Uint8Array | string) => {
        outputs[name] = contents;
      },
    } as never,
  );
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
  return outputs["probe.wasm"] as Uint8Array;
}

interface ExpStats {
  maxRel: number;
  worst: number;
  bad: string;
}

/**
 * Checks `n` results g against e^x. Consecutive float32 inputs (x ≤ 0, one
 * binade per 4096-aligned block): Math.exp at each block's first x, then
 * float64 steps r ← r·e^(−ulp) (≤ 1e-12 relative drift over a block), so the
 * sweep costs one multiply per input; otherwise Math.exp of every input.
 */
function checkExp(xs: Float32Array, g: Float32Array, n: number, consecutive: boolean, st: ExpStats): void {
  const FLT_MIN = 2 ** -126;
  for (let b = 0; b < n; b += 4096) {
    const end = Math.min(n, b + 4096);
    let r = Math.exp(xs[b]);
    const step = b + 1 < end ? Math.exp(xs[b + 1] - xs[b]) : 1;
    for (let i = b; i < end; i++) {
      if (!consecutive) r = Math.exp(xs[i]);
      if (r >= FLT_MIN) {
        const rel = Math.abs(g[i] - r) / r;
        if (rel > st.maxRel) {
          st.maxRel = rel;
          st.worst = xs[i];
        }
      } else if (!(Math.abs(g[i] - r) <= FLT_MIN)) st.bad ||= `x=${xs[i]}: got ${g[i]}, want ${r}`;
      r *= step;
    }
  }
}

/** The first index where two bit patterns differ, or −1. */
function firstDiff(a: Uint32Array, b: Uint32Array, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Bit patterns [from, to] and the stride between checked ones. Every float32
 * in [−104, −2^-40] (391 M inputs); below 2^-40 in magnitude e^x rounds to 1
 * and the products of subnormals take ~100× longer in hardware, so there
 * every 257th pattern (every binade is hit) unless SEGLOSS_EXHAUSTIVE=1
 * (then all 1.12·10^9, ~3 minutes).
 */
const EXP_RANGES: [number, number, number][] = [
  [0xab800000, 0xc2d00000, 1], // −2^-40 … −104
  [0x80000000, 0xab7fffff, process.env.SEGLOSS_EXHAUSTIVE === "1" ? 1 : 257], // −0 … just above −2^-40
];

describe("softmax's exp for x ≤ 0", () => {
  it("every float32 in [−104, −2^-40] (and a sample closer to 0): ≤ 2e-7 relative where e^x ≥ 2^-126, else within 2^-126; scalar twin and scalar build bit-identical to the lanes", async () => {
    const CHUNK = 1 << 22;
    const memory = new WebAssembly.Memory({ initial: 2 + (2 * CHUNK * 4) / 65536 });
    const mods = await Promise.all([compileProbe(true), compileProbe(false)]);
    const [simdBuild, scalarBuild] = await Promise.all(
      mods.map(async (bin) => {
        const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(bin)), {
          env: { memory, abort: () => {} },
        });
        return instance.exports.probe as (...a: number[]) => void;
      }),
    );
    const base = 65536;
    const bits = new Uint32Array(memory.buffer, base, CHUNK);
    const xs = new Float32Array(memory.buffer, base, CHUNK);
    const out = new Float32Array(memory.buffer, base + CHUNK * 4, CHUNK);
    const outBits = new Uint32Array(memory.buffer, base + CHUNK * 4, CHUNK);
    const lanes = new Float32Array(CHUNK);
    const laneBits = new Uint32Array(lanes.buffer);
    const st: ExpStats = { maxRel: 0, worst: 0, bad: "" };
    for (const [from, to, stride] of EXP_RANGES) {
      for (let start = from; start <= to; start += CHUNK * stride) {
        const n = Math.min(CHUNK, Math.floor((to - start) / stride) + 1);
        for (let i = 0; i < n; i++) bits[i] = start + i * stride;
        simdBuild(base, base + CHUNK * 4, n, 0);
        lanes.set(out.subarray(0, n));
        checkExp(xs, lanes, n, stride === 1, st);
        for (const [what, run] of [
          ["SIMD build's scalar twin", () => simdBuild(base, base + CHUNK * 4, n, 1)],
          ["scalar build", () => scalarBuild(base, base + CHUNK * 4, n, 1)],
        ] as const) {
          run();
          const i = firstDiff(laneBits, outBits, n);
          if (i >= 0) st.bad ||= `x=${xs[i]}: lanes ${lanes[i]}, ${what} ${out[i]}`;
        }
      }
    }
    expect(st.bad).toBe("");
    expect(st.maxRel, `worst at x = ${st.worst}`).toBeLessThanOrEqual(2e-7);
  }, 600_000);
});
