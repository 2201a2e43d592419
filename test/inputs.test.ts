// The data model (SPEC §2): every accepted input form, dtype and binary shape
// gives the same numbers; inputs are never mutated; views at odd offsets work;
// and arrays from `seg.alloc` are read in place (zero-copy), which we prove on
// an instance whose memory has no room left for a staging copy.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { create, SegLossError, type Segloss } from "../src/index";
import { type Build, bothBuilds, type Call, makeCase, VALUE_FNS, type ValueFn, within, withinAll } from "./helpers";
import * as oracle from "./oracle/binary";

type GradFn = Exclude<ValueFn, "diceCoefficient">;
type GradResult = { loss: number; grad: Float32Array };

const GRAD_FNS: GradFn[] = ["bce", "focal", "dice", "jaccard", "tversky", "focalTversky", "bceDice", "bceLogDice", "focalDice"];

const value = (seg: Segloss, fn: ValueFn, t: unknown, p: unknown, o?: object) => (seg[fn] as Call)(t, p, o) as number;
const gradOf = (seg: Segloss, fn: GradFn, t: unknown, p: unknown, o?: object) => (seg[`${fn}Grad`] as Call)(t, p, o) as GradResult;

/** Every value and every gradient of one input pair. */
function evalAll(seg: Segloss, t: unknown, p: unknown, o?: object): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const fn of VALUE_FNS) out[fn] = value(seg, fn, t, p, o);
  for (const fn of GRAD_FNS) {
    const g = gradOf(seg, fn, t, p, o);
    out[`${fn}Grad.loss`] = g.loss;
    out[`${fn}Grad.grad`] = Array.from(g.grad);
  }
  return out;
}

function expectSegError(f: () => unknown, code: string, argument?: string): SegLossError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected a SegLossError, nothing was thrown").toBeDefined();
  expect(caught instanceof SegLossError, `expected a SegLossError, got ${String(caught)}`).toBe(true);
  expect(caught instanceof TypeError || caught instanceof RangeError).toBe(true);
  const e = caught as SegLossError;
  expect(e.code).toBe(code);
  if (argument !== undefined) expect(e.argument).toBe(argument);
  return e;
}

// N = 3 images of 4×5, hard targets (so every integer dtype holds them exactly).
const N = 3;
const H = 4;
const W = 5;
const L = H * W;
const c = makeCase(101, N, L, "hard");
const shape = [N, 1, H, W];

let builds: Build[];
let seg: Segloss;
/** Reference numbers: bare Float32Arrays with opts.shape [N,1,H,W]. */
const ref: Record<string, Record<string, number | number[]>> = {};
beforeAll(async () => {
  builds = await bothBuilds();
  seg = builds[0].seg;
  for (const b of builds) ref[b.name] = evalAll(b.seg, c.t, c.p, { shape: [N, 1, H, W] });
});

describe("reference numbers", () => {
  it("the bare-array form agrees with the float64 oracle (so the comparisons below compare right numbers)", () => {
    for (const b of builds) {
      for (const fn of VALUE_FNS) within(ref[b.name][fn] as number, oracle[fn](c.t, c.p, N).value as number, `${b.name} ${fn}`);
      for (const fn of GRAD_FNS) {
        const want = oracle[fn](c.t, c.p, N);
        within(ref[b.name][`${fn}Grad.loss`] as number, want.value as number, `${b.name} ${fn}Grad loss`);
        withinAll(ref[b.name][`${fn}Grad.grad`] as number[], want.grad as Float64Array, `${b.name} ${fn}Grad grad`);
      }
    }
  });
});

describe("tensor forms", () => {
  const forms: [string, (a: Float32Array | Float64Array) => unknown][] = [
    ["{data, shape}", (a) => ({ data: a, shape })],
    ["onnxruntime {data, dims}", (a) => ({ data: a, dims: shape, type: "float32", size: a.length })],
    ["TF.js-style {shape, dataSync()}", (a) => ({ shape, rank: 4, dtype: "float32", dataSync: () => a })],
    ["shape as a typed array", (a) => ({ data: a, shape: Int32Array.from(shape) })],
  ];

  for (const [name, wrap] of forms) {
    it(`${name} gives the same numbers as a bare array with opts.shape`, () => {
      for (const b of builds) {
        expect(evalAll(b.seg, wrap(c.t), wrap(c.p)), `${b.name} ${name}`).toEqual(ref[b.name]);
      }
    });
  }

  it("forms can be mixed between target and prediction", () => {
    for (const b of builds) {
      for (const [, wt] of forms) {
        for (const [, wp] of forms) expect(evalAll(b.seg, wt(c.t), wp(c.p))).toEqual(ref[b.name]);
      }
      // a bare target takes opts.shape, the prediction brings its own
      expect(evalAll(b.seg, c.t, { data: c.p, dims: shape }, { shape })).toEqual(ref[b.name]);
    }
  });

  it("dataSync() is what is read", () => {
    let calls = 0;
    const tfLike = {
      shape,
      dataSync: () => {
        calls++;
        return c.p;
      },
    };
    expect(value(seg, "dice", { data: c.t, shape }, tfLike)).toBe(ref.simd.dice);
    expect(calls).toBeGreaterThan(0);
  });

  // A tf.Tensor also has an async data() method: it must be read through dataSync(),
  // not mistaken for the {data, shape} form.
  it("a real @tensorflow/tfjs-core tensor is accepted", async () => {
    await tf.setBackend("cpu");
    const tt = tf.tensor(Array.from(c.t), shape, "float32");
    const tp = tf.tensor(Array.from(c.p), shape, "float32");
    try {
      expect(evalAll(seg, tt, tp)).toEqual(ref.simd);
    } finally {
      tt.dispose();
      tp.dispose();
    }
  });
});

describe("dtypes", () => {
  it("Float64Array predictions are converted (exactly representable values: identical numbers)", () => {
    for (const b of builds) {
      expect(evalAll(b.seg, c.t, Float64Array.from(c.p), { shape })).toEqual(ref[b.name]);
      expect(evalAll(b.seg, Float64Array.from(c.t), Float64Array.from(c.p), { shape })).toEqual(ref[b.name]);
    }
  });

  it("Float64Array predictions that float32 cannot hold agree with the oracle", () => {
    const r = makeCase(5, 2, 37, "soft");
    const p64 = Float64Array.from(r.p, (v, i) => Math.min(1, Math.max(0, v + (i % 7) * 1e-9)));
    for (const b of builds) {
      for (const fn of VALUE_FNS) {
        within(value(b.seg, fn, r.t, p64, { shape: [2, 1, 37] }), oracle[fn](r.t, p64, 2).value as number, `${b.name} ${fn}`);
      }
    }
  });

  const TARGET_TYPES = [
    Uint8Array,
    Uint8ClampedArray,
    Int8Array,
    Uint16Array,
    Int16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
  ];
  for (const T of TARGET_TYPES) {
    it(`targets as ${T.name} give the same numbers`, () => {
      for (const b of builds) {
        const t = T.from(c.t);
        expect(evalAll(b.seg, t, c.p, { shape })).toEqual(ref[b.name]);
        expect(evalAll(b.seg, { data: t, shape }, { data: c.p, shape })).toEqual(ref[b.name]);
      }
    });
  }

  it("integer targets with an ignore label (Uint8Array 255) agree with the float form and the oracle", () => {
    const t = Uint8Array.from(c.t, (v, i) => (i % 9 === 4 ? 255 : v));
    const tf32 = Float32Array.from(t);
    for (const b of builds) {
      for (const fn of VALUE_FNS) {
        const got = value(b.seg, fn, t, c.p, { shape, ignoreIndex: 255 });
        expect(got).toBe(value(b.seg, fn, tf32, c.p, { shape, ignoreIndex: 255 }));
        within(got, oracle[fn](tf32, c.p, N, { ignoreIndex: 255 }).value as number, `${b.name} ${fn} ignore`);
      }
    }
  });

  it("per-pixel weight and posWeight take any numeric dtype", () => {
    const w = Float32Array.from({ length: N * L }, (_, i) => i % 4);
    const pw = Float32Array.from({ length: N * L }, (_, i) => 1 + (i % 3));
    const want = gradOf(seg, "bce", c.t, c.p, { shape, weight: w, posWeight: pw });
    for (const T of [Uint8Array, Uint16Array, Int32Array, Uint32Array, Float64Array]) {
      const got = gradOf(seg, "bce", c.t, c.p, { shape, weight: T.from(w), posWeight: { data: T.from(pw), shape } });
      expect(got).toEqual(want);
    }
  });
});

describe("binary shapes", () => {
  it("[N,H,W], [N,H,W,1], [N,1,H,W] and a volume [N,D,H,W] are the same N images", () => {
    const shapes = [
      [N, H, W],
      [N, H, W, 1],
      [N, 1, H, W],
      [N, 2, 2, W],
      [N, L, 1],
    ];
    for (const b of builds) {
      for (const s of shapes) {
        expect(evalAll(b.seg, c.t, c.p, { shape: s }), `${b.name} ${JSON.stringify(s)}`).toEqual(ref[b.name]);
        expect(evalAll(b.seg, { data: c.t, shape: s }, { data: c.p, shape: s })).toEqual(ref[b.name]);
      }
    }
  });

  it("target [N,H,W] with pred [N,1,H,W] or [N,H,W,1] (and the other way round)", () => {
    const pairs = [
      [
        [N, H, W],
        [N, 1, H, W],
      ],
      [
        [N, H, W],
        [N, H, W, 1],
      ],
      [
        [N, 1, H, W],
        [N, H, W],
      ],
      [
        [N, H, W, 1],
        [N, 1, H, W],
      ],
    ];
    for (const b of builds) {
      for (const [st, sp] of pairs) {
        expect(evalAll(b.seg, { data: c.t, shape: st }, { data: c.p, shape: sp }), `${st} vs ${sp}`).toEqual(ref[b.name]);
      }
    }
  });

  it("[H,W] is one image (N = 1), like [1,H,W], [1,1,H,W], [1,H,W,1] and a bare array", () => {
    const one = makeCase(202, 1, L, "hard");
    for (const b of builds) {
      const want = evalAll(b.seg, { data: one.t, shape: [H, W] }, { data: one.p, shape: [H, W] });
      for (const fn of VALUE_FNS) within(want[fn] as number, oracle[fn](one.t, one.p, 1).value as number, `${b.name} ${fn} [H,W]`);
      for (const s of [[1, H, W], [1, 1, H, W], [1, H, W, 1], [L]]) {
        expect(evalAll(b.seg, { data: one.t, shape: s }, { data: one.p, shape: s }), JSON.stringify(s)).toEqual(want);
      }
      expect(evalAll(b.seg, one.t, one.p)).toEqual(want);
      expect(evalAll(b.seg, one.t, one.p, { shape: [H, W] })).toEqual(want);
    }
  });

  it("the first axis is the image axis: [2,2,W] (two images) differs from [4,W] (one image) for per-image Dice", () => {
    const r = makeCase(303, 2, 2 * W, "hard");
    const two = value(seg, "dice", r.t, r.p, { shape: [2, 2, W] });
    const one = value(seg, "dice", r.t, r.p, { shape: [4, W] });
    within(two, oracle.dice(r.t, r.p, 2).value as number, "two images");
    within(one, oracle.dice(r.t, r.p, 1).value as number, "one image");
    expect(two).not.toBe(one);
  });

  it("single elements and N = 1 edge sizes", () => {
    for (const b of builds) {
      for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17]) {
        const r = makeCase(400 + n, 1, n, "hard");
        for (const s of [[n], [1, n], [1, 1, n], [1, n, 1]]) {
          for (const fn of VALUE_FNS) {
            within(
              value(b.seg, fn, { data: r.t, shape: s }, { data: r.p, shape: s }),
              oracle[fn](r.t, r.p, 1).value as number,
              `${b.name} ${fn} ${s}`,
            );
          }
        }
      }
    }
  });

  // [H,W] (rank ≤ 2) and [1,1,H,W] both mean N = 1: the same single image.
  it("target [H,W] with pred [1,1,H,W] is one image", () => {
    const one = makeCase(202, 1, L, "hard");
    const want = evalAll(seg, { data: one.t, shape: [1, H, W] }, { data: one.p, shape: [1, 1, H, W] });
    expect(evalAll(seg, { data: one.t, shape: [H, W] }, { data: one.p, shape: [1, 1, H, W] })).toEqual(want);
  });

  // [2,1,3] is two images of 1×3, [2,3] one image of 2×3 (SPEC §2): the image
  // counts differ, so squeezing size-1 axes must not make them match.
  it("target [2,1,3] with pred [2,3] (N = 2 vs N = 1) is a shape mismatch", () => {
    const t = new Float32Array([0, 1, 1, 0, 1, 0]);
    const p = new Float32Array([0.1, 0.9, 0.8, 0.3, 0.6, 0.2]);
    expectSegError(() => seg.dice({ data: t, shape: [2, 1, 3] }, { data: p, shape: [2, 3] }), "E_SHAPE");
    expectSegError(() => seg.dice({ data: t, shape: [2, 3] }, { data: p, shape: [2, 1, 3] }), "E_SHAPE");
  });
});

describe("inputs are not mutated", () => {
  it("no loss, gradient or option writes to its inputs (frozen wrappers, unchanged data)", () => {
    for (const b of builds) {
      const r = makeCase(505, 2, 33, "soft");
      const t = Float32Array.from(r.t, (v, i) => (i % 11 === 0 ? 255 : v));
      const w = Float32Array.from({ length: 66 }, (_, i) => (i % 5) / 2);
      const pw = Float64Array.from({ length: 66 }, (_, i) => 1 + (i % 3));
      const snap = [t, r.p, r.x, w, pw].map((a) => a.slice());
      const sh = Object.freeze([2, 1, 33]);
      const tt = Object.freeze({ data: t, shape: sh });
      const pt = Object.freeze({ data: r.p, shape: sh });
      const xt = Object.freeze({ data: r.x, shape: sh });
      const optionSets: object[] = [
        { ignoreIndex: 255 },
        { ignoreIndex: 255, preset: "keras3" },
        { ignoreIndex: 255, fromLogits: true },
        { ignoreIndex: 255, reduction: "sum" },
      ];
      for (const base of optionSets) {
        const o = Object.freeze({ ...base });
        const pred = (o as { fromLogits?: boolean }).fromLogits ? xt : pt;
        for (const fn of VALUE_FNS) value(b.seg, fn, tt, pred, o);
        for (const fn of GRAD_FNS) gradOf(b.seg, fn, tt, pred, o);
        for (const fn of ["bce", "focal", "dice", "jaccard", "tversky", "focalTversky", "diceCoefficient"] as const) {
          value(b.seg, fn, tt, pred, Object.freeze({ ...o, reduction: "none" }));
        }
        const wo = Object.freeze({ ...o, weight: w, posWeight: Object.freeze({ data: pw, dims: sh }) });
        value(b.seg, "bce", tt, pred, wo);
        gradOf(b.seg, "bce", tt, pred, wo);
        gradOf(b.seg, "bceDice", tt, pred, wo);
      }
      const inputs = [t, r.p, r.x, w, pw];
      for (let i = 0; i < inputs.length; i++) expect(Array.from(inputs[i]), `input ${i}`).toEqual(Array.from(snap[i]));
      expect(sh).toEqual([2, 1, 33]);
    }
  });

  it("gradients are fresh arrays, never one of the inputs", () => {
    const g = gradOf(seg, "dice", c.t, c.p, { shape });
    expect(g.grad).not.toBe(c.p);
    expect(g.grad.buffer).not.toBe(c.p.buffer);
    const p2 = seg.alloc(Float32Array, c.p.length);
    p2.set(c.p);
    const g2 = gradOf(seg, "bceDice", c.t, p2, { shape });
    expect(g2.grad.buffer).not.toBe(p2.buffer); // a view of WebAssembly memory would be overwritten by the next call
    expect(Array.from(p2)).toEqual(Array.from(c.p));
    seg.free(p2);
  });
});

describe("subarray views", () => {
  it("views at odd and unaligned byteOffsets read the right elements", () => {
    const n = N * L;
    for (const b of builds) {
      for (const off of [1, 3, 5, 7]) {
        // targets as bytes at an odd byte offset, predictions at 4·off (not 16-aligned)
        const tbuf = new Uint8Array(n + 16).fill(7);
        const tView = tbuf.subarray(off, off + n);
        tView.set(c.t);
        const pbuf = new Float32Array(n + 16).fill(0.5);
        const pView = pbuf.subarray(off, off + n);
        pView.set(c.p);
        expect(tView.byteOffset % 2).toBe(1);
        expect(evalAll(b.seg, tView, pView, { shape }), `offset ${off}`).toEqual(ref[b.name]);
        // other element sizes at unaligned offsets
        const t16 = new Int16Array(n + 8).subarray(off, off + n);
        t16.set(c.t);
        const t32 = new Uint32Array(n + 8).subarray(off, off + n);
        t32.set(c.t);
        const p64 = new Float64Array(n + 8).fill(2).subarray(off, off + n);
        p64.set(c.p);
        expect(evalAll(b.seg, t16, p64, { shape })).toEqual(ref[b.name]);
        expect(evalAll(b.seg, { data: t32, dims: shape }, { data: p64, shape })).toEqual(ref[b.name]);
        // the padding around the views is neither read nor written
        expect(tbuf[off - 1]).toBe(7);
        expect(pbuf[off + n]).toBe(0.5);
      }
    }
  });

  it("a DataView-free view into a shared ArrayBuffer with other data around it", () => {
    const n = N * L;
    const buf = new ArrayBuffer(4 * (2 * n + 4));
    const p = new Float32Array(buf, 4, n);
    const t = new Float32Array(buf, 4 * (n + 3), n);
    p.set(c.p);
    t.set(c.t);
    expect(evalAll(seg, t, p, { shape })).toEqual(ref.simd);
  });
});

describe("zero-copy: arrays from seg.alloc", () => {
  const ALLOC_TYPES = [Float32Array, Float64Array, Uint8Array, Uint16Array, Int32Array, Uint32Array] as const;

  it("alloc returns a view of the instance's memory for every listed dtype; free returns it", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      const views = ALLOC_TYPES.map((T) => {
        const v = b.seg.alloc(T as never, 37) as unknown as ArrayLike<number> & ArrayBufferView & { fill(x: number): void };
        expect(v).toBeInstanceOf(T);
        expect(v.length).toBe(37);
        v.fill(1);
        return v;
      });
      // one memory for all of them, never detached, never overlapping
      for (const v of views) {
        expect(v.buffer).toBe(views[0].buffer);
        expect(v.buffer.byteLength).toBe(b.seg.memoryBytes);
      }
      const ranges = views.map((v) => [v.byteOffset, v.byteOffset + v.byteLength]).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
      expect(b.seg.largestFree()).toBeLessThan(before);
      for (const v of views) b.seg.free(v);
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  it("alloc'd Float32Array inputs give the same numbers as ordinary arrays", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      const t = b.seg.alloc(Float32Array, N * L);
      const p = b.seg.alloc(Float32Array, N * L);
      t.set(c.t);
      p.set(c.p);
      expect(evalAll(b.seg, t, p, { shape })).toEqual(ref[b.name]);
      expect(evalAll(b.seg, { data: t, shape }, { data: p, dims: shape })).toEqual(ref[b.name]);
      // mixed: one resident, one copied
      expect(evalAll(b.seg, c.t, p, { shape })).toEqual(ref[b.name]);
      expect(evalAll(b.seg, t, c.p, { shape })).toEqual(ref[b.name]);
      // a resident subarray at an unaligned offset
      const big = b.seg.alloc(Float32Array, N * L + 3);
      const sub = big.subarray(3);
      sub.set(c.p);
      expect(evalAll(b.seg, t, sub, { shape })).toEqual(ref[b.name]);
      // the inputs are untouched
      expect(Array.from(p)).toEqual(Array.from(c.p));
      expect(Array.from(sub)).toEqual(Array.from(c.p));
      for (const v of [t, p, big]) b.seg.free(v);
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  it("alloc'd views of every dtype as targets, Float64Array predictions, and weight tensors", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      for (const T of ALLOC_TYPES) {
        const t = b.seg.alloc(T as never, N * L) as unknown as Float32Array;
        t.set(c.t);
        expect(evalAll(b.seg, t, c.p, { shape }), T.name).toEqual(ref[b.name]);
        b.seg.free(t);
      }
      const p64 = b.seg.alloc(Float64Array, N * L);
      p64.set(c.p);
      expect(evalAll(b.seg, c.t, p64, { shape })).toEqual(ref[b.name]);
      b.seg.free(p64);

      const w = b.seg.alloc(Float32Array, N * L);
      const pw = b.seg.alloc(Uint8Array, N * L);
      w.set(Float32Array.from({ length: N * L }, (_, i) => (i % 4) / 2));
      pw.set(Uint8Array.from({ length: N * L }, (_, i) => 1 + (i % 3)));
      const o = { shape, weight: w, posWeight: pw };
      const want = gradOf(b.seg, "bce", c.t, c.p, { shape, weight: w.slice(), posWeight: pw.slice() });
      expect(gradOf(b.seg, "bce", c.t, c.p, o)).toEqual(want);
      const oo = oracle.bce(c.t, c.p, N, { weight: w, posWeight: pw });
      within(want.loss, oo.value as number, "weighted bce");
      withinAll(want.grad, oo.grad as Float64Array, "weighted bce grad");
      b.seg.free(w);
      b.seg.free(pw);
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  it("alloc'd views are really read in place: a call succeeds where a staging copy would not fit", async () => {
    const small = await create({ memoryBytes: 1 << 20 });
    const F = small.largestFree();
    // leave 24 KiB: room for the accumulators and a streamed gradient output,
    // but not for the smallest staging chunk of two inputs (2 × 4096 float32 = 32 KiB)
    const n = Math.floor((F - 24 * 1024) / 8 / 4) * 4;
    const N2 = 4;
    const L2 = n / N2;
    const r = makeCase(606, N2, L2, "hard");
    const s = [N2, 1, L2];
    const t = small.alloc(Float32Array, n);
    const p = small.alloc(Float32Array, n);
    t.set(r.t);
    p.set(r.p);
    expect(small.largestFree()).toBeLessThan(32 * 1024);

    const fns = VALUE_FNS;
    const zeroCopy: Record<string, number> = {};
    for (const fn of fns) zeroCopy[fn] = value(small, fn, t, p, { shape: s });
    for (const fn of fns) within(zeroCopy[fn], oracle[fn](r.t, r.p, N2).value as number, `zero-copy ${fn}`);
    // gradients too: the inputs stay in place, only the gradient streams out
    for (const fn of ["bce", "dice", "bceDice"] as const) {
      const g = gradOf(small, fn, t, p, { shape: s });
      const want = oracle[fn](r.t, r.p, N2);
      within(g.loss, want.value as number, `zero-copy ${fn}Grad`);
      withinAll(g.grad, want.grad as Float64Array, `zero-copy ${fn}Grad grad`);
    }

    // the same numbers as ordinary arrays need a copy, and there is no room for one
    const tc = r.t.slice();
    const pc = r.p.slice();
    for (const fn of ["bce", "dice", "focal"] as const) expectSegError(() => value(small, fn, tc, pc, { shape: s }), "E_MEMORY");
    // … nor for one copied input next to one resident one? one slice needs 16 KiB: that fits
    within(value(small, "dice", tc, p, { shape: s }), zeroCopy.dice, "one input copied");

    small.free(t);
    small.free(p);
    expect(small.largestFree()).toBe(F);

    // with the views returned, the ordinary arrays fit (one chunk) …
    for (const fn of fns) within(value(small, fn, tc, pc, { shape: s }), zeroCopy[fn], `copied ${fn}`);
    // … and on an instance smaller than the data they stream through in chunks
    const tiny = await create({ memoryBytes: 2 * 65536 });
    expect(8 * n).toBeGreaterThan(4 * tiny.memoryBytes);
    for (const fn of fns) within(value(tiny, fn, tc, pc, { shape: s }), zeroCopy[fn], `streamed ${fn}`);
    const gz = gradOf(tiny, "bceDice", tc, pc, { shape: s });
    withinAll(gz.grad, oracle.bceDice(r.t, r.p, N2).grad as Float64Array, "streamed bceDice grad");
    expect(Array.from(tc.subarray(0, 64))).toEqual(Array.from(r.t.subarray(0, 64)));
  });

  it("opts.out receives the gradient: a fresh array, an alloc'd view, or pred itself", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      for (const fn of GRAD_FNS) {
        const want = ref[b.name][`${fn}Grad.grad`];
        // an ordinary Float32Array, prefilled with junk: overwritten, not added to
        const out = new Float32Array(N * L).fill(7);
        const g = gradOf(b.seg, fn, c.t, c.p, { shape, out });
        expect(g.grad, fn).toBe(out);
        expect(Array.from(out), fn).toEqual(want);
        expect(g.loss).toBe(ref[b.name][`${fn}Grad.loss`]);
        // a view of WebAssembly memory
        const view = b.seg.alloc(Float32Array, N * L);
        view.fill(-3);
        expect(gradOf(b.seg, fn, c.t, c.p, { shape, out: view }).grad).toBe(view);
        expect(Array.from(view), `${fn} alloc'd out`).toEqual(want);
        // pred itself (ordinary and alloc'd): the gradient replaces the predictions
        const p = c.p.slice();
        expect(gradOf(b.seg, fn, c.t, p, { shape, out: p }).grad).toBe(p);
        expect(Array.from(p), `${fn} out = pred`).toEqual(want);
        view.set(c.p);
        gradOf(b.seg, fn, c.t, view, { shape, out: view });
        expect(Array.from(view), `${fn} out = alloc'd pred`).toEqual(want);
        b.seg.free(view);
      }
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  it("with pred, target and out all alloc'd, a gradient needs no free memory at all", async () => {
    const small = await create({ memoryBytes: 4 * 65536 });
    const F = small.largestFree();
    // leave 1 KiB: the accumulators fit, a 4096-element staging slice (16 KiB) does not
    const n = Math.floor((F - 1024) / 12 / 4) * 4;
    const N2 = 2;
    const L2 = n / N2;
    const r = makeCase(607, N2, L2, "hard");
    const s = [N2, 1, L2];
    const t = small.alloc(Float32Array, n);
    const p = small.alloc(Float32Array, n);
    const g = small.alloc(Float32Array, n);
    t.set(r.t);
    p.set(r.p);
    expect(small.largestFree()).toBeLessThan(2048);
    for (const fn of GRAD_FNS) {
      // the same call with ordinary arrays on a default instance (the oracle comparisons live elsewhere)
      const want = gradOf(seg, fn, r.t, r.p, { shape: s });
      const got = gradOf(small, fn, t, p, { shape: s, out: g });
      expect(got.grad).toBe(g);
      within(got.loss, want.loss, `${fn} loss`);
      withinAll(g, want.grad, `${fn} grad`);
      // without `out`, the gradient has to stream through a staging slice: no room
      expectSegError(() => gradOf(small, fn, t, p, { shape: s }), "E_MEMORY");
    }
    for (const v of [t, p, g]) small.free(v);
    expect(small.largestFree()).toBe(F);
  });

  it("views stay attached and valid across many calls and allocations (memory never grows)", () => {
    const before = seg.largestFree();
    const p = seg.alloc(Float32Array, N * L);
    p.set(c.p);
    const buf = p.buffer;
    for (let i = 0; i < 200; i++) {
      const tmp = seg.alloc(Float64Array, 1000 + i);
      value(seg, "dice", c.t, p, { shape });
      seg.free(tmp);
    }
    expect(p.buffer).toBe(buf);
    expect(p.byteLength).toBe(4 * N * L);
    expect(Array.from(p)).toEqual(Array.from(c.p));
    expect(value(seg, "dice", c.t, p, { shape })).toBe(ref.simd.dice);
    seg.free(p);
    expect(seg.largestFree()).toBe(before);
  });
});

describe("alloc and free errors", () => {
  it("free of an array that alloc did not return throws a SegLossError", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      const e = expectSegError(() => b.seg.free(new Float32Array(8)), "E_OPTION", "view");
      expect(e.message).toMatch(/expected .*alloc.*, got Float32Array\(8\)/);
      expectSegError(() => b.seg.free(new Uint8Array(new ArrayBuffer(64), 16, 8)), "E_OPTION", "view");
      expectSegError(() => b.seg.free({} as never), "E_OPTION", "view");
      // a view of this memory at a non-block offset, a double free, and another instance's view
      const v = b.seg.alloc(Float32Array, 16);
      expectSegError(() => b.seg.free(v.subarray(1)), "E_OPTION", "view");
      const other = builds.find((x) => x !== b)?.seg as Segloss;
      expectSegError(() => other.free(v), "E_OPTION", "view");
      b.seg.free(v);
      expectSegError(() => b.seg.free(v), "E_OPTION", "view");
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  it("alloc of a bad length throws and leaks nothing", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      for (const len of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
        expectSegError(() => b.seg.alloc(Float32Array, len), "E_OPTION_RANGE", "length");
      }
      expectSegError(() => b.seg.alloc(Float64Array, b.seg.memoryBytes), "E_MEMORY");
      expectSegError(() => b.seg.alloc(Uint8Array, b.seg.largestFree() + 1), "E_MEMORY");
      expect(b.seg.largestFree()).toBe(before);
      // the largest free block can be taken whole, and given back
      const all = b.seg.alloc(Uint8Array, before);
      expect(b.seg.largestFree()).toBe(0);
      b.seg.free(all);
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  // Only the listed typed arrays can be placed: anything else (no BYTES_PER_ELEMENT,
  // or not a constructor) is E_DTYPE before the heap is touched.
  it("alloc of a type that is not a listed typed array throws E_DTYPE and leaks nothing", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      for (const T of [Array, Object, String, Int8Array, BigInt64Array, DataView, null, undefined, 42, "Float32Array"]) {
        expectSegError(() => b.seg.alloc(T as never, 4), "E_DTYPE");
      }
      expect(b.seg.largestFree()).toBe(before);
    }
  });

  // free() checks its argument before reading view.buffer.
  it("free(null) and free(undefined) throw a SegLossError", () => {
    for (const b of builds) {
      const before = b.seg.largestFree();
      for (const v of [null, undefined, 0, "view"]) expectSegError(() => b.seg.free(v as never), "E_OPTION", "view");
      expect(b.seg.largestFree()).toBe(before);
    }
  });
});
