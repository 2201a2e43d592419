// confusionMatrix and ConfusionMatrix against the float64 oracle on both
// builds: counts must match exactly; metrics within SPEC §3.
import { describe, expect, it } from "vitest";
import { ConfusionMatrix } from "../src/index";
import { bothBuilds, catchSegLossError, rng, within, withinAll } from "./helpers";
import * as oracle from "./oracle/confusion";

const SHAPES: [number, number, number][] = [
  // [N, H, W]
  [1, 1, 1],
  [1, 1, 3],
  [2, 1, 5],
  [3, 4, 7],
  [2, 16, 17],
  [1, 64, 64],
  [2, 37, 111], // > one staged chunk for larger C
];

type LabelArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

function labels(seed: number, n: number, C: number, Ctor: new (n: number) => LabelArray = Uint8Array): LabelArray {
  const r = rng(seed);
  const a = new Ctor(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * C);
  return a;
}

function scores(seed: number, n: number, ties = false) {
  const r = rng(seed);
  const a = new Float32Array(n);
  // with ties: few distinct values, so equal maxima are common
  for (let i = 0; i < n; i++) a[i] = ties ? Math.floor(r() * 3) : r() * 8 - 4;
  return a;
}

const builds = await bothBuilds();

describe.each(builds)("confusionMatrix ($name build)", ({ seg }) => {
  for (const [N, H, W] of SHAPES) {
    const L = H * W;
    for (const C of [2, 3, 21]) {
      for (const layout of ["NCHW", "NHWC"] as const) {
        it(`argmax ${layout} N=${N} ${H}×${W} C=${C}`, () => {
          const t = labels(N * 7 + C, N * L, C);
          const p = scores(N * 13 + C + L, N * C * L, C === 3);
          const pshape = layout === "NCHW" ? [N, C, H, W] : [N, H, W, C];
          const m = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: pshape }, { layout });
          const want = oracle.confusionCounts(t, oracle.argmaxLabels(p, N, C, L, layout), N, C, null, false) as number[];
          expect(m).toBeInstanceOf(ConfusionMatrix);
          expect(m.numClasses).toBe(C);
          expect(Array.from(m.counts)).toEqual(want);
        });
      }
    }
    it(`label map N=${N} ${H}×${W}, every target dtype, ignoreIndex`, () => {
      const C = 5;
      for (const Ctor of [Uint8Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array]) {
        const t = labels(N + L, N * L, C + 1, Ctor);
        const p = labels(N + L + 1, N * L, C, Uint8Array);
        const m = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, H, W] }, { numClasses: C, ignoreIndex: C });
        expect(Array.from(m.counts), Ctor.name).toEqual(oracle.confusionCounts(t, p, N, C, C, false));
      }
    });
    it(`binary scores N=${N} ${H}×${W}, threshold, perImage`, () => {
      const t = labels(N * 3 + L, N * L, 2);
      const p = new Float32Array(scores(N + 2 * L, N * L).map((v) => (v + 4) / 8));
      for (const threshold of [0.5, 0.25, 0.9]) {
        const ms = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, H, W] }, { threshold, perImage: true });
        const want = oracle.confusionCounts(t, oracle.thresholdLabels(p, threshold), N, 2, null, true) as number[][];
        expect(ms.map((m) => Array.from(m.counts))).toEqual(want);
      }
    });
  }

  it("ties go to the lowest class index (both layouts, SIMD lanes and tail)", () => {
    const N = 1;
    const L = 9;
    const C = 4;
    const p = new Float32Array(N * C * L); // all zero: every pixel ties → class 0
    for (let i = 0; i < L; i++) {
      p[2 * L + i] = 1; // classes 2 and 3 tie at 1 → 2
      p[3 * L + i] = 1;
    }
    const t = new Uint8Array(L).fill(2);
    const m = seg.confusionMatrix({ data: t, shape: [1, 3, 3] }, { data: p, shape: [1, C, 3, 3] });
    expect(m.counts[2 * C + 2]).toBe(L);
    const nhwc = new Float32Array(C * L).fill(-1); // all tie → 0
    const m2 = seg.confusionMatrix({ data: t, shape: [1, 3, 3] }, { data: nhwc, shape: [1, 3, 3, C] }, { layout: "NHWC" });
    expect(m2.counts[2 * C + 0]).toBe(L);
  });

  it("per image matrices merge to the batch matrix exactly; shards merge to one pass", () => {
    const [N, H, W, C] = [4, 20, 23, 6];
    const t = labels(5, N * H * W, C);
    const p = scores(6, N * C * H * W);
    const whole = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, C, H, W] });
    const per = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, C, H, W] }, { perImage: true });
    expect(per.length).toBe(N);
    const merged = new ConfusionMatrix(C);
    for (const m of per) expect(merged.merge(m)).toBe(merged);
    expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
    // two shards of two images each
    const L = H * W;
    const a = seg.confusionMatrix(
      { data: t.subarray(0, 2 * L), shape: [2, H, W] },
      { data: p.subarray(0, 2 * C * L), shape: [2, C, H, W] },
    );
    const b = seg.confusionMatrix({ data: t.subarray(2 * L), shape: [2, H, W] }, { data: p.subarray(2 * C * L), shape: [2, C, H, W] });
    expect(Array.from(a.merge(b).counts)).toEqual(Array.from(whole.counts));
  });

  it("zero-copy inputs give the same counts as copied ones", () => {
    const [N, H, W, C] = [2, 9, 13, 5];
    const t = labels(9, N * H * W, C);
    const p = scores(10, N * C * H * W);
    const tv = seg.alloc(Float32Array, t.length);
    const pv = seg.alloc(Float32Array, p.length);
    try {
      tv.set(t);
      pv.set(p);
      for (const layout of ["NCHW", "NHWC"] as const) {
        const shape = layout === "NCHW" ? [N, C, H, W] : [N, H, W, C];
        const copied = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape }, { layout });
        expect(Array.from(seg.confusionMatrix({ data: tv, shape: [N, H, W] }, { data: pv, shape }, { layout }).counts)).toEqual(
          Array.from(copied.counts),
        );
        expect(Array.from(seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: pv, shape }, { layout }).counts)).toEqual(
          Array.from(copied.counts),
        );
      }
    } finally {
      seg.free(tv);
      seg.free(pv);
    }
  });

  it("u8 label maps in wasm memory read in place, mixed with copied ones", () => {
    const [N, H, W, C] = [3, 17, 19, 7];
    const t = labels(21, N * H * W, C + 1) as Uint8Array;
    const p = labels(22, N * H * W, C) as Uint8Array;
    const want = oracle.confusionCounts(t, p, N, C, C, true) as number[][];
    const tv = seg.alloc(Uint8Array, t.length);
    try {
      tv.set(t);
      const ms = seg.confusionMatrix(
        { data: tv, shape: [N, H, W] },
        { data: p, shape: [N, H, W] },
        { numClasses: C, ignoreIndex: C, perImage: true },
      );
      expect(ms.map((m) => Array.from(m.counts))).toEqual(want);
    } finally {
      seg.free(tv);
    }
  });

  it("bare arrays with opts.shape, [H,W] targets, Float64 scores", () => {
    const [H, W, C] = [5, 6, 3];
    const t = labels(11, H * W, C);
    const p = scores(12, C * H * W);
    const want = oracle.confusionCounts(t, oracle.argmaxLabels(p, 1, C, H * W, "NCHW"), 1, C, null, false);
    expect(Array.from(seg.confusionMatrix(t, p, { shape: [1, H, W] }).counts)).toEqual(want);
    expect(Array.from(seg.confusionMatrix({ data: t, shape: [H, W] }, { data: Float64Array.from(p), shape: [C, H, W] }).counts)).toEqual(
      want,
    );
  });

  it("bad input: labels out of range, NaN scores, shapes, options", () => {
    const t = new Uint8Array([0, 1, 2, 7, 9]);
    const p = new Uint8Array([0, 1, 2, 0, 0]);
    let e = catchSegLossError(() => seg.confusionMatrix(t, p, { numClasses: 3 }), "bad target");
    expect(e.code).toBe("E_RANGE");
    expect(e.message).toMatch(/target/);
    expect(e.message).toMatch(/7 at element 3/);
    // ignored labels are fine, the next bad one is named
    e = catchSegLossError(() => seg.confusionMatrix(t, p, { numClasses: 3, ignoreIndex: 7 }), "bad target");
    expect(e.message).toMatch(/9 at element 4/);
    e = catchSegLossError(() => seg.confusionMatrix(new Float32Array([0, 1.5]), new Uint8Array([0, 0]), { numClasses: 3 }), "non-integer");
    expect(e.message).toMatch(/1\.5/);
    e = catchSegLossError(() => seg.confusionMatrix(new Uint8Array([0, 1]), new Uint8Array([0, 3]), { numClasses: 3 }), "bad pred label");
    expect(e.message).toMatch(/pred/);
    const sc = scores(3, 3 * 40);
    for (const at of [5, 70, 119]) {
      const bad = sc.slice();
      bad[at] = Number.NaN;
      e = catchSegLossError(
        () => seg.confusionMatrix({ data: new Uint8Array(40), shape: [1, 5, 8] }, { data: bad, shape: [1, 3, 5, 8] }),
        "NaN",
      );
      expect(e.code).toBe("E_NONFINITE");
      expect(e.message).toMatch(new RegExp(`element ${at}\\b`));
    }
    catchSegLossError(() => seg.confusionMatrix(new Uint8Array([0, 1]), new Float32Array([0.5, Number.POSITIVE_INFINITY])), "no error");
    expect(() => seg.confusionMatrix(new Uint8Array(4), new Uint8Array(4))).toThrow(/numClasses/);
    expect(() => seg.confusionMatrix(new Uint8Array(4), new Float32Array(4), { numClasses: 3 })).toThrow(/numClasses/);
    catchSegLossError(() => seg.confusionMatrix(new Uint8Array(4), new Float32Array(7)), "no error");
    expect(() =>
      seg.confusionMatrix({ data: new Uint8Array(4), shape: [1, 2, 2] }, { data: new Float32Array(12), shape: [1, 2, 2, 3] }),
    ).toThrow(/pred/);
    expect(() => seg.confusionMatrix(new Uint8Array(4), new Float32Array(12), { numClasses: 4 })).toThrow(/numClasses/);
    expect(() => seg.confusionMatrix(new Uint8Array(4), new Float32Array(4), { layout: "NDHWC" } as never)).toThrow(/layout/);
    catchSegLossError(() => seg.confusionMatrix(new Uint8Array(4), new Float32Array(4), { bogus: 1 } as never), "no error");
  });

  // the u8 kernel: sixteen-pixel SIMD groups (labels checked per group, ignored pixels in a spare slot),
  // four interleaved tables, then the scalar tail; C ≥ 256 skips the label check
  it("u8 label maps: class counts around the SIMD paths, ignore labels in and out of byte range", () => {
    const n = 3 * 16 * 7 + 5;
    for (const C of [1, 2, 3, 16, 21, 200, 255, 256, 300]) {
      for (const ign of [null, 0, C - 1, 255, 1000]) {
        const top = Math.min(C, 256);
        // targets also hold the ignore label when it fits a byte
        const t = labels(C + 1, n, top) as Uint8Array;
        if (ign !== null && ign < 256) for (let i = 3; i < n; i += 7) t[i] = ign;
        const p = labels(C + 2, n, top) as Uint8Array;
        const N = 1;
        const m = seg.confusionMatrix(t, p, { numClasses: C, ignoreIndex: ign, shape: [N, 1, n] });
        expect(Array.from(m.counts), `C=${C} ign=${ign}`).toEqual(oracle.confusionCounts(t, p, N, C, ign, false));
      }
    }
  });

  it("u8 label maps: runs of one pair, many images, chunks larger than the staging", () => {
    const [N, H, W, C] = [3, 300, 301, 19]; // > 65536 pixels per image: several staged chunks
    const t = new Uint8Array(N * H * W);
    const p = new Uint8Array(N * H * W);
    const r = rng(77);
    for (let i = 0; i < t.length; i++) {
      t[i] = Math.floor(i / 5000) % C; // long runs of one pair
      p[i] = r() < 0.9 ? t[i] : Math.floor(r() * C);
    }
    const want = oracle.confusionCounts(t, p, N, C, null, true) as number[][];
    const ms = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, H, W] }, { numClasses: C, perImage: true });
    expect(ms.map((m) => Array.from(m.counts))).toEqual(want);
  });

  it("u8 label maps: the first bad label is named wherever it falls in a sixteen-pixel group", () => {
    const n = 64;
    for (const at of [0, 5, 15, 16, 31, 47, 60, 63]) {
      for (const which of ["target", "pred"] as const) {
        const t = new Uint8Array(n).fill(1);
        const p = new Uint8Array(n).fill(2);
        (which === "target" ? t : p)[at] = 9;
        // a later bad label in the other map must not be named first
        if (at + 1 < n) (which === "target" ? p : t)[at + 1] = 9;
        const e = catchSegLossError(() => seg.confusionMatrix(t, p, { numClasses: 3 }), "no error");
        expect(e.code).toBe("E_RANGE");
        expect(e.message).toMatch(which === "target" ? /target/ : /pred/);
        expect(e.message).toMatch(new RegExp(`9 at element ${at}\\b`));
      }
      // an ignored label that would be out of range is skipped; a bad one after it is found
      const t = new Uint8Array(n).fill(255);
      t[at] = 7;
      const e = catchSegLossError(() => seg.confusionMatrix(t, new Uint8Array(n), { numClasses: 3, ignoreIndex: 255 }), "no error");
      expect(e.message).toMatch(new RegExp(`7 at element ${at}\\b`));
    }
  });

  // NHWC rows: C ≥ 4 vectors with an overlapping last vector; C ≤ 32 takes the lowest index from one
  // mask word, larger C searches vector by vector; four pixels per step, then a scalar tail
  it("NHWC argmax for row widths around the vector paths, with ties", () => {
    const [N, H, W] = [2, 3, 7];
    const L = H * W;
    for (const C of [4, 5, 7, 8, 9, 21, 32, 33, 40, 70]) {
      for (const ties of [false, true]) {
        const t = labels(C, N * L, C);
        const p = scores(C + 100, N * L * C, ties);
        const m = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, H, W, C] }, { layout: "NHWC" });
        const want = oracle.confusionCounts(t, oracle.argmaxLabels(p, N, C, L, "NHWC"), N, C, null, false);
        expect(Array.from(m.counts), `C=${C} ties=${ties}`).toEqual(want);
      }
    }
  });

  it("NCHW argmax in sixteen-pixel steps, with ties and a staged chunk boundary", () => {
    for (const [N, H, W, C] of [
      [2, 5, 13, 4],
      [1, 40, 41, 21], // one staged chunk (2976 pixels at C = 21) with a tail
      [1, 100, 101, 21], // several chunks
    ]) {
      const L = H * W;
      for (const ties of [false, true]) {
        const t = labels(C + L, N * L, C);
        const p = scores(C + L + 1, N * L * C, ties);
        const m = seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: [N, C, H, W] });
        expect(Array.from(m.counts), `${[N, H, W, C]} ties=${ties}`).toEqual(
          oracle.confusionCounts(t, oracle.argmaxLabels(p, N, C, L, "NCHW"), N, C, null, false),
        );
      }
    }
  });

  it("argmax: the first non-finite score is named in either layout, wherever it falls", () => {
    const [H, W, C] = [6, 8, 5];
    const L = H * W;
    const base = scores(8, L * C);
    for (const layout of ["NCHW", "NHWC"] as const) {
      for (const px of [0, 3, 15, 16, 20, 47]) {
        for (const c of [0, 4]) {
          for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
            const p = base.slice();
            const at = layout === "NCHW" ? c * L + px : px * C + c;
            p[at] = bad;
            const shape = layout === "NCHW" ? [1, C, H, W] : [1, H, W, C];
            const e = catchSegLossError(
              () => seg.confusionMatrix({ data: new Uint8Array(L), shape: [1, H, W] }, { data: p, shape }, { layout }),
              "no error",
            );
            expect(e.code).toBe("E_NONFINITE");
            expect(e.message).toMatch(new RegExp(`element ${at}\\b`));
          }
        }
      }
    }
    // huge finite scores whose sum overflows are not an error
    const big = new Float32Array(L * C).fill(3e38);
    for (let i = 0; i < L; i++) big[i * C + (i % C)] = 3.4e38;
    const t = new Uint8Array(L);
    for (let i = 0; i < L; i++) t[i] = i % C;
    for (const layout of ["NCHW", "NHWC"] as const) {
      const p = layout === "NHWC" ? big : Float32Array.from({ length: L * C }, (_, j) => big[(j % L) * C + Math.floor(j / L)]);
      const shape = layout === "NCHW" ? [1, C, H, W] : [1, H, W, C];
      const m = seg.confusionMatrix({ data: t, shape: [1, H, W] }, { data: p, shape }, { layout });
      expect(m.accuracy(), layout).toBe(1);
    }
  });

  it("memory stays flat over many calls, also failing ones", () => {
    const before = seg.largestFree();
    const t = labels(1, 2 * 300, 4);
    const p = scores(2, 2 * 4 * 300);
    for (let i = 0; i < 300; i++) {
      seg.confusionMatrix({ data: t, shape: [2, 15, 20] }, { data: p, shape: [2, 4, 15, 20] });
      catchSegLossError(() => seg.confusionMatrix(t, new Uint8Array(t.length), { numClasses: 2 }), "no error");
    }
    expect(seg.largestFree()).toBe(before);
  });
});

describe("ConfusionMatrix", () => {
  // rows = target, columns = prediction
  const m = ConfusionMatrix.fromJSON({ numClasses: 4, counts: [5, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0] });
  // class 2: never in the target nor predicted → NaN; class 3: in the target, never predicted

  it("per-class metrics against hand-computed values", () => {
    // TP = [5, 3, 0, 0]; rows = [6, 5, 0, 4]; cols = [11, 4, 0, 0]
    withinAll(m.iou(), [5 / 12, 3 / 6, Number.NaN, 0], "iou");
    withinAll(m.dice(), [10 / 17, 6 / 9, Number.NaN, 0], "dice");
    withinAll(m.precision(), [5 / 11, 3 / 4, Number.NaN, Number.NaN], "precision");
    withinAll(m.recall(), [5 / 6, 3 / 5, Number.NaN, 0], "recall");
    within(m.meanIoU(), (5 / 12 + 3 / 6 + 0) / 3, "meanIoU");
    within(m.meanDice(), (10 / 17 + 6 / 9 + 0) / 3, "meanDice");
    within(m.accuracy(), 8 / 15, "accuracy");
    within(m.frequencyWeightedIoU(), (6 / 15) * (5 / 12) + (5 / 15) * (3 / 6), "fwIoU");
    const o = oracle.metricsOf(m.counts, 4);
    withinAll(m.iou(), o.iou, "oracle iou");
    within(m.frequencyWeightedIoU(), o.frequencyWeightedIoU, "oracle fwIoU");
  });

  it("an empty matrix: every metric NaN", () => {
    const e = new ConfusionMatrix(3);
    expect(Array.from(e.iou()).every(Number.isNaN)).toBe(true);
    expect(e.meanIoU()).toBeNaN();
    expect(e.meanDice()).toBeNaN();
    expect(e.accuracy()).toBeNaN();
    expect(e.frequencyWeightedIoU()).toBeNaN();
  });

  it("JSON round trip and validation", () => {
    const back = ConfusionMatrix.fromJSON(JSON.parse(JSON.stringify(m)));
    expect(back.numClasses).toBe(4);
    expect(Array.from(back.counts)).toEqual(Array.from(m.counts));
    catchSegLossError(() => ConfusionMatrix.fromJSON({ numClasses: 2, counts: [1, 2, 3] }), "no error");
    catchSegLossError(() => ConfusionMatrix.fromJSON({ numClasses: 2, counts: [1, 2, 3, -1] }), "no error");
    catchSegLossError(() => ConfusionMatrix.fromJSON({ numClasses: 0, counts: [] }), "no error");
    catchSegLossError(() => ConfusionMatrix.fromJSON(null), "no error");
    catchSegLossError(() => new ConfusionMatrix(2.5), "no error");
  });

  it("merge checks the class count and leaves both alone on error", () => {
    const a = new ConfusionMatrix(2);
    a.counts[0] = 3;
    catchSegLossError(() => a.merge(new ConfusionMatrix(3)), "no error");
    expect(a.counts[0]).toBe(3);
  });

  it("metrics of random matrices match the oracle", async () => {
    const r = rng(42);
    for (let k = 0; k < 20; k++) {
      const C = 1 + Math.floor(r() * 8);
      const x = new ConfusionMatrix(C);
      for (let i = 0; i < C * C; i++) x.counts[i] = r() < 0.3 ? 0 : Math.floor(r() * 1000);
      const o = oracle.metricsOf(x.counts, C);
      withinAll(x.iou(), o.iou, "iou");
      withinAll(x.dice(), o.dice, "dice");
      withinAll(x.precision(), o.precision, "precision");
      withinAll(x.recall(), o.recall, "recall");
      within(x.meanIoU(), o.meanIoU, "meanIoU");
      within(x.meanDice(), o.meanDice, "meanDice");
      within(x.accuracy(), o.accuracy, "accuracy");
      within(x.frequencyWeightedIoU(), o.frequencyWeightedIoU, "fwIoU");
    }
  });
});
