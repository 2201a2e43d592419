// The multi-class staging layer: chunks reach kernels class-major with the
// right probabilities, labels and log-sum-exp; gradients come back in the
// prediction's layout through the activation's backward pass; bad chunks throw.
import { describe, expect, it } from "vitest";
import { runClassPass } from "../src/losses/classPass";
import { type Layout, multiclassInputs } from "../src/losses/multiclassInputs";
import { instantiate, type Runtime } from "../src/wasm";
import { catchSegLossError, rng } from "./helpers";

/** Index of (image n, class c, pixel s) in a prediction of the given layout. */
function idx(layout: Layout, C: number, S: number, n: number, c: number, s: number): number {
  return layout === "NCHW" ? (n * C + c) * S + s : (n * S + s) * C + c;
}

function oracleActivation(x: Float32Array, layout: Layout, N: number, C: number, S: number, act: string): Float64Array {
  const p = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      if (act === "sigmoid") {
        for (let c = 0; c < C; c++) p[idx(layout, C, S, n, c, s)] = 1 / (1 + Math.exp(-x[idx(layout, C, S, n, c, s)]));
        continue;
      }
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[idx(layout, C, S, n, c, s)]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(x[idx(layout, C, S, n, c, s)] - m);
      for (let c = 0; c < C; c++)
        p[idx(layout, C, S, n, c, s)] = act === "none" ? x[idx(layout, C, S, n, c, s)] : Math.exp(x[idx(layout, C, S, n, c, s)] - m) / z;
    }
  return p;
}

const runtimes = Promise.all([instantiate(), instantiate({ simd: false })]);

describe.each([0, 1])("runClassPass (build %i)", (b) => {
  const shapes: [number, number, number[]][] = [
    [1, 3, [5]],
    [2, 4, [7, 9]],
    [1, 300, [11, 13]], // C large: chunks of a few pixels
    [3, 2, [40, 70]], // many chunks per image when C is small? (cap ≥ S here)
    [1, 21, [64, 64]], // S > cap: several chunks per image
  ];
  for (const layout of ["NCHW", "NHWC"] as Layout[]) {
    for (const act of ["softmax", "sigmoid", "none"] as const) {
      it.each(shapes)(`${layout} ${act}: N=%i C=%i spatial=%j`, async (N, C, spatial) => {
        const rt: Runtime = (await runtimes)[b];
        const S = spatial.reduce((a, x) => a * x, 1);
        const r = rng(N * 1000 + C * 10 + S);
        const shape = layout === "NCHW" ? [N, C, ...spatial] : [N, ...spatial, C];
        const x = new Float32Array(N * C * S).map(() => (act === "none" ? r() : (r() - 0.5) * 20));
        const labels = new Int32Array(N * S).map(() => (r() < 0.1 ? 255 : Math.floor(r() * C)));
        const upstream = new Float32Array(N * C * S).map(() => r() - 0.5);
        const inp = multiclassInputs({ data: labels, shape: [N, ...spatial] }, { data: x, shape }, { layout });
        expect([inp.N, inp.C, inp.S]).toEqual([N, C, S]);
        const seenP = new Float64Array(N * C * S);
        const seenLabel = new Int32Array(N * S);
        const grad = new Float32Array(N * C * S);
        const free = rt.largestFree();
        runClassPass(rt, inp, {
          activation: act,
          ignoreIndex: 255,
          wantLse: true,
          grad,
          run: (ch) => {
            for (let i = 0; i < ch.len; i++) {
              seenLabel[ch.n * S + ch.s0 + i] = rt.f32.buffer && new Int32Array(rt.memory.buffer, ch.labels, ch.len)[i];
              for (let c = 0; c < C; c++) {
                const k = idx(layout, C, S, ch.n, c, ch.s0 + i);
                seenP[k] = rt.f32[(ch.p >>> 2) + c * ch.pStride + i];
                if (act === "softmax") {
                  const lnp = rt.f32[(ch.x >>> 2) + c * ch.xStride + i] - rt.f32[(ch.lse >>> 2) + i];
                  expect(Math.abs(lnp - Math.log(seenP[k]))).toBeLessThan(1e-4 + 1e-6 * Math.abs(lnp));
                }
                rt.f32[(ch.g >>> 2) + c * ch.gStride + i] = upstream[k]; // dL/dp
              }
            }
          },
        });
        expect(rt.largestFree()).toBe(free);
        const p = oracleActivation(x, layout, N, C, S, act);
        for (let k = 0; k < p.length; k++) expect(Math.abs(seenP[k] - p[k])).toBeLessThanOrEqual(2e-7 + 4e-7 * p[k]);
        for (let j = 0; j < labels.length; j++) expect(seenLabel[j]).toBe(labels[j] === 255 ? -1 : labels[j]);
        // the gradient w.r.t. the raw prediction, through the activation's Jacobian
        for (let n = 0; n < N; n++)
          for (let s = 0; s < S; s++) {
            let dot = 0;
            for (let c = 0; c < C; c++) dot += p[idx(layout, C, S, n, c, s)] * upstream[idx(layout, C, S, n, c, s)];
            for (let c = 0; c < C; c++) {
              const k = idx(layout, C, S, n, c, s);
              const want =
                act === "softmax" ? p[k] * (upstream[k] - dot) : act === "sigmoid" ? upstream[k] * p[k] * (1 - p[k]) : upstream[k];
              expect(Math.abs(grad[k] - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(dot)));
            }
          }
      });
    }
  }

  it("reads a prediction that lives in WebAssembly memory in place (NCHW) and transposes it (NHWC)", async () => {
    const rt: Runtime = (await runtimes)[b];
    for (const layout of ["NCHW", "NHWC"] as Layout[]) {
      const [N, C, S] = [2, 5, 3000];
      const x = rt.view(Float32Array, N * C * S);
      const r = rng(7);
      for (let i = 0; i < x.length; i++) x[i] = r();
      const shape = layout === "NCHW" ? [N, C, S] : [N, S, C];
      const inp = multiclassInputs({ data: new Uint8Array(N * S), shape: [N, S] }, { data: x, shape }, { layout });
      const seen = new Float64Array(N * C * S);
      const pointers = new Set<number>();
      runClassPass(rt, inp, {
        activation: "none",
        ignoreIndex: null,
        run: (ch) => {
          pointers.add(ch.p);
          for (let i = 0; i < ch.len; i++)
            for (let c = 0; c < C; c++) seen[idx(layout, C, S, ch.n, c, ch.s0 + i)] = rt.f32[(ch.p >>> 2) + c * ch.pStride + i];
        },
      });
      for (let i = 0; i < x.length; i++) expect(seen[i]).toBe(x[i]);
      if (layout === "NCHW") expect([...pointers].every((at) => at >= x.byteOffset && at < x.byteOffset + x.byteLength)).toBe(true);
      rt.freeView(x);
    }
  });

  it("takes dense targets of the prediction's shape, class-major", async () => {
    const rt: Runtime = (await runtimes)[b];
    const [N, C, S] = [2, 3, 10];
    const r = rng(3);
    const t = new Float64Array(N * C * S).map(() => r());
    const p = new Float32Array(N * C * S).map(() => r());
    const inp = multiclassInputs({ data: t, shape: [N, S, C] }, { data: p, shape: [N, S, C] }, { layout: "NHWC" });
    expect(inp.dense).toBe(t);
    const seen = new Float64Array(N * C * S);
    runClassPass(rt, inp, {
      activation: "none",
      ignoreIndex: null,
      run: (ch) => {
        for (let i = 0; i < ch.len; i++)
          for (let c = 0; c < C; c++) seen[idx("NHWC", C, S, ch.n, c, ch.s0 + i)] = rt.f32[(ch.t >>> 2) + c * ch.tStride + i];
      },
    });
    for (let i = 0; i < t.length; i++) expect(seen[i]).toBe(Math.fround(t[i]));
  });

  it("rejects bad labels, probabilities outside [0, 1], NaN logits and mismatched shapes, and frees its memory", async () => {
    const rt: Runtime = (await runtimes)[b];
    const free = rt.largestFree();
    const shape = [1, 3, 4];
    const p = new Float32Array(12).fill(0.3);
    const run = (labels: ArrayLike<number>, pred: Float32Array, activation: "none" | "softmax", ignoreIndex: number | null = null) =>
      runClassPass(rt, multiclassInputs({ data: Float32Array.from(labels), shape: [1, 4] }, { data: pred, shape }, { layout: "NCHW" }), {
        activation,
        ignoreIndex,
        run: () => {},
      });
    expect(catchSegLossError(() => run([0, 1, 3, 2], p, "none"), "label 3 of 3 classes").code).toBe("E_RANGE");
    expect(catchSegLossError(() => run([0, 1.5, 2, 2], p, "none"), "label 1.5").message).toMatch(/1\.5 at element 1/);
    expect(catchSegLossError(() => run([0, -1, 2, 2], p, "none", 255), "label −1 with ignoreIndex 255").code).toBe("E_RANGE");
    run([0, -1, 2, 2], p, "none", -1);
    const withP5 = (v: number) => p.map((x, i) => (i === 5 ? v : x));
    const code = (f: () => unknown) => catchSegLossError(f, "an error").code;
    expect(code(() => run([0, 1, 2, 2], withP5(1.5), "none"))).toBe("E_RANGE");
    expect(code(() => run([0, 1, 2, 2], withP5(-1e-30), "none"))).toBe("E_RANGE");
    run([0, 1, 2, 2], withP5(-0), "none"); // −0 is a probability (the fast check's exact fallback says so)
    expect(code(() => run([0, 1, 2, 2], withP5(Number.NaN), "none"))).toBe("E_NONFINITE");
    expect(code(() => run([0, 1, 2, 2], withP5(Number.NaN), "softmax"))).toBe("E_NONFINITE");
    expect(code(() => run([0, 1, 2, 2], withP5(Infinity), "softmax"))).toBe("E_NONFINITE");
    expect(code(() => run([0, 1, 2, 2], withP5(-Infinity), "softmax"))).toBe("E_NONFINITE");
    const dense = (t: Float32Array) =>
      runClassPass(rt, multiclassInputs({ data: t, shape }, { data: p, shape }, { layout: "NCHW" }), {
        activation: "none",
        ignoreIndex: null,
        run: () => {},
      });
    expect(code(() => dense(new Float32Array(12).fill(1.0000001)))).toBe("E_RANGE");
    expect(code(() => dense(new Float32Array(12).fill(Number.NaN)))).toBe("E_NONFINITE");
    dense(new Float32Array(12).fill(1));
    expect(
      catchSegLossError(() => multiclassInputs({ data: new Uint8Array(5), shape: [1, 5] }, { data: p, shape }, { layout: "NCHW" }), "shape")
        .code,
    ).toBe("E_SHAPE");
    expect(catchSegLossError(() => multiclassInputs(new Uint8Array(4), { data: p, shape: [12] }, { layout: "NCHW" }), "rank 1").code).toBe(
      "E_SHAPE",
    );
    expect(rt.largestFree()).toBe(free);
  });
});
