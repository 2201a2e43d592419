// Memory stays flat (SPEC §5): long loops of calls, failing calls and streamed
// calls leave the heap exactly as they found it; and inputs larger than the
// instance's memory stream through in chunks with the same numbers (SPEC §3).
import { beforeAll, describe, expect, it } from "vitest";
import { create, SegLossError, type Segloss } from "../src/index";
import { type Build, bothBuilds, type Call, catchSegLossError, GRAD_FNS, makeCase, rng, within, withinAll } from "./helpers";
import * as oracle from "./oracle/binary";

type GradResult = { loss: number; grad: Float32Array };
type Streamed = "bce" | "focal" | "dice" | "bceDice";

const call = (seg: Segloss, fn: string, t: unknown, p: unknown, o?: object) => (seg[fn as keyof Segloss] as Call)(t, p, o);

/** The instance's WebAssembly memory size, read from a view (the API's own number may be a copy). */
function memorySize(seg: Segloss): number {
  const v = seg.alloc(Uint8Array, 1);
  const size = v.buffer.byteLength;
  seg.free(v);
  return size;
}

interface Snapshot {
  free: number;
  size: number;
}
const snapshot = (seg: Segloss): Snapshot => ({ free: seg.largestFree(), size: memorySize(seg) });

function expectFlat(seg: Segloss, before: Snapshot, what: string): void {
  expect(seg.largestFree(), `${what}: largest free block`).toBe(before.free);
  expect(memorySize(seg), `${what}: memory size`).toBe(before.size);
  expect(seg.memoryBytes, `${what}: memoryBytes`).toBe(before.size);
}

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

describe("memory stays flat over many calls", () => {
  it("100 000 small dice and bce calls leave no heap block behind", () => {
    for (const { name, seg } of builds) {
      const c = makeCase(1, 2, 37, "hard");
      const o = { shape: [2, 1, 37] };
      const before = snapshot(seg);
      let acc = 0;
      for (let i = 0; i < 100_000; i++) {
        acc += seg.dice(c.t, c.p, o) as number;
        acc += seg.bce(c.t, c.p, o) as number;
      }
      expect(Number.isFinite(acc)).toBe(true);
      expectFlat(seg, before, `${name} dice/bce`);
    }
  });

  it("thousands of …Grad calls, 'none' reductions and per-pixel tensors leave no heap block behind", () => {
    for (const { name, seg } of builds) {
      const c = makeCase(2, 3, 101, "soft");
      const o = { shape: [3, 1, 101] };
      const w = c.p.map((v) => v * 2);
      const before = snapshot(seg);
      for (let i = 0; i < 2000; i++) {
        for (const fn of GRAD_FNS) {
          const g = call(seg, fn, c.t, c.p, {
            ...o,
            ...(fn.startsWith("focal") && !fn.includes("Tversky") ? { variant: "standard" } : {}),
          }) as GradResult;
          expect(g.grad.length).toBe(303);
        }
        call(seg, "bce", c.t, c.p, { ...o, reduction: "none" });
        call(seg, "dice", c.t, c.p, { ...o, reduction: "none" });
        call(seg, "diceCoefficient", c.t, c.p, o);
        call(seg, "bceGrad", c.t, c.p, { weight: w, posWeight: w });
      }
      expectFlat(seg, before, `${name} grads`);
    }
  });

  it("calls with zero-copy inputs leave only the user's own blocks", () => {
    for (const { name, seg } of builds) {
      const c = makeCase(3, 2, 64, "hard");
      const before = snapshot(seg);
      const t = seg.alloc(Uint8Array, 128);
      const p = seg.alloc(Float32Array, 128);
      t.set(c.t);
      p.set(c.p);
      const withViews = seg.largestFree();
      for (let i = 0; i < 5000; i++) {
        seg.diceGrad(t, p, { shape: [2, 1, 64] });
        seg.bceDice(t, p, { shape: [2, 1, 64] });
      }
      expect(seg.largestFree(), `${name} with views`).toBe(withViews);
      seg.free(t);
      seg.free(p);
      expectFlat(seg, before, `${name} zero-copy`);
    }
  });
});

describe("errors thrown mid-call leave memory flat", () => {
  const failing: [string, (seg: Segloss) => unknown, string][] = [
    // detected by the kernels' pass (after the accumulators, stats and staging were allocated)
    [
      "NaN in the last prediction",
      (s) => s.dice(new Float32Array(999).fill(0), new Float32Array(999).fill(0.5).fill(Number.NaN, 998)),
      "E_NONFINITE",
    ],
    [
      "probability > 1 in a SIMD block",
      (s) => s.bce(new Float32Array(1000), new Float32Array(1000).fill(0.5).fill(1.5, 500, 501)),
      "E_RANGE",
    ],
    ["target out of range", (s) => s.focal(new Float32Array(77).fill(2), new Float32Array(77).fill(0.5)), "E_RANGE"],
    [
      "NaN weight",
      (s) => s.bceGrad(new Float32Array(40), new Float32Array(40).fill(0.5), { weight: new Float32Array(40).fill(Number.NaN) }),
      "E_NONFINITE",
    ],
    [
      "Infinity logit in a gradient call",
      (s) => s.bceDiceGrad(new Float32Array(40), new Float32Array(40).fill(Number.POSITIVE_INFINITY), { fromLogits: true }),
      "E_NONFINITE",
    ],
    [
      "NaN target in focalDiceGrad",
      (s) => s.focalDiceGrad(new Float32Array(41).fill(Number.NaN), new Float32Array(41).fill(0.5)),
      "E_NONFINITE",
    ],
    // detected before any allocation
    ["weight of the wrong length", (s) => s.bce(new Float32Array(40), new Float32Array(40), { weight: new Float32Array(39) }), "E_SHAPE"],
    ["unknown option", (s) => s.jaccard(new Float32Array(4), new Float32Array(4), { bogus: 1 } as never), "E_OPTION"],
    ["'none' on a gradient", (s) => s.tverskyGrad(new Float32Array(4), new Float32Array(4), { reduction: "none" }), "E_OPTION"],
    ["shape mismatch", (s) => s.dice(new Float32Array(4), new Float32Array(5)), "E_SHAPE"],
  ];

  it("thousands of failing calls of every kind", () => {
    for (const { name, seg } of builds) {
      const before = snapshot(seg);
      for (let i = 0; i < 500; i++) {
        for (const [what, f, code] of failing) {
          const e = catchSegLossError(() => f(seg), `${what}: no error`);
          expect(e.code, what).toBe(code);
        }
      }
      expectFlat(seg, before, `${name} errors`);
    }
  });

  it("a failure in the last chunk of a streamed call, and E_MEMORY, free everything", async () => {
    const seg = await create({ memoryBytes: 1 << 20 });
    const before = snapshot(seg);
    const n = 1 << 20;
    const t = new Float32Array(n);
    const p = new Float32Array(n).fill(0.25);
    p[n - 3] = Number.NaN; // in the last chunk
    for (const fn of ["dice", "bce", "focal", "bceDice", "diceGrad", "bceGrad", "bceDiceGrad"]) {
      let caught: unknown;
      try {
        call(seg, fn, t, p, { shape: [4, 1, n / 4] });
      } catch (e) {
        caught = e;
      }
      expect(caught instanceof SegLossError && (caught as SegLossError).code === "E_NONFINITE", `${fn}: ${String(caught)}`).toBe(true);
    }
    expectFlat(seg, before, "streamed error");

    // almost all of the memory in user views: no room to stage anything
    const hog = seg.alloc(Uint8Array, seg.largestFree() - 256);
    const held = seg.largestFree();
    for (let i = 0; i < 1000; i++) {
      const e = catchSegLossError(() => seg.dice(new Float32Array(5000), new Float32Array(5000)), "no E_MEMORY");
      expect(e.code).toBe("E_MEMORY");
      expect(e).toBeInstanceOf(RangeError);
    }
    expect(seg.largestFree()).toBe(held);
    seg.free(hog);
    expectFlat(seg, before, "after E_MEMORY");
  });
});

describe("streaming: inputs larger than the memory", () => {
  let small: Segloss;
  let big: Segloss;
  beforeAll(async () => {
    small = await create({ memoryBytes: 1 << 20 });
    big = await create();
  });

  /** N images of L elements: hard and soft targets, probabilities and logits. */
  function bigCase(seed: number, N: number, L: number) {
    const r = rng(seed);
    const n = N * L;
    const t = new Float32Array(n);
    const p = new Float32Array(n);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // a few images with structure, some soft targets
      const img = Math.floor(i / L);
      t[i] = img % 3 === 2 ? Math.fround(r()) : r() < 0.3 + 0.1 * (img % 2) ? 1 : 0;
      p[i] = Math.fround(Math.min(1, Math.max(0, 0.6 * t[i] + 0.4 * r())));
      x[i] = Math.fround((r() - 0.5) * 12);
    }
    return { t, p, x };
  }

  const CASES: [string, number, number][] = [
    ["4 images, 2^20 elements", 4, 1 << 18],
    ["one image of 2^21 + 3 elements (larger than a chunk)", 1, (1 << 21) + 3],
    ["3 images of 700 001 elements (chunks cut images)", 3, 700_001],
    ["5000 small images of 257 elements", 5000, 257],
  ];
  const FNS: Streamed[] = ["bce", "focal", "dice", "bceDice"];

  for (const [label, N, L] of CASES) {
    it(`${label}: values and gradients equal the default instance's`, () => {
      const d = bigCase(N * 7 + L, N, L);
      expect(8 * N * L).toBeGreaterThan(small.memoryBytes);
      const before = snapshot(small);
      for (const logits of [false, true]) {
        const pred = logits ? d.x : d.p;
        for (const fn of FNS) {
          // the seed focal is defined for hard targets; soft ones are the standard form's domain
          const opts = { shape: [N, 1, L], fromLogits: logits, ...(fn === "focal" ? { variant: "standard" } : {}) };
          const what = `${label} ${fn} logits=${logits}`;
          within(call(small, fn, d.t, pred, opts) as number, call(big, fn, d.t, pred, opts) as number, `${what} value`);
          const gs = call(small, `${fn}Grad`, d.t, pred, opts) as GradResult;
          const gb = call(big, `${fn}Grad`, d.t, pred, opts) as GradResult;
          within(gs.loss, gb.loss, `${what} loss`);
          withinAll(gs.grad, gb.grad, `${what} grad`);
        }
      }
      // the seed focal (hard targets only) and per-batch Dice
      const hard = d.t.map((v) => (v > 0.5 ? 1 : 0));
      within(
        small.focal(hard, d.p, { shape: [N, 1, L] }) as number,
        big.focal(hard, d.p, { shape: [N, 1, L] }) as number,
        `${label} seed focal`,
      );
      within(
        small.dice(d.t, d.p, { perImage: false, shape: [N, 1, L] }) as number,
        big.dice(d.t, d.p, { perImage: false, shape: [N, 1, L] }) as number,
        `${label} batch dice`,
      );
      expectFlat(small, before, label);
    });
  }

  it("streamed values and gradients agree with the float64 oracle (4 × 2^18)", () => {
    const N = 4;
    const L = 1 << 18;
    const d = bigCase(99, N, L);
    const hard = d.t.map((v) => (v > 0.5 ? 1 : 0));
    for (const fn of FNS) {
      const t = fn === "focal" ? hard : d.t;
      const want = oracle[fn](t, d.p, N);
      const got = call(small, `${fn}Grad`, t, d.p, { shape: [N, 1, L] }) as GradResult;
      within(got.loss, want.value as number, `${fn} loss`);
      withinAll(got.grad, want.grad as Float64Array, `${fn} grad`);
    }
  });

  it("'none' reductions, per-pixel weights and ignore labels stream too", () => {
    const N = 2;
    const L = 600_001;
    const d = bigCase(7, N, L);
    const r = rng(8);
    const t = d.t.map((v) => (r() < 0.05 ? 255 : v));
    const w = d.p.map((v) => 2 * v);
    const pw = d.x.map((v) => Math.abs(v));
    const before = snapshot(small);
    const o = { shape: [N, 1, L], ignoreIndex: 255 };
    withinAll(
      small.bce(t, d.p, { ...o, reduction: "none" }) as Float32Array,
      big.bce(t, d.p, { ...o, reduction: "none" }) as Float32Array,
      "bce none",
    );
    withinAll(
      small.dice(t, d.p, { ...o, reduction: "none" }) as Float32Array,
      big.dice(t, d.p, { ...o, reduction: "none" }) as Float32Array,
      "dice none",
    );
    const ow = { ...o, weight: w, posWeight: pw };
    const gs = small.bceGrad(t, d.p, ow);
    const gb = big.bceGrad(t, d.p, ow);
    within(gs.loss, gb.loss, "weighted bce");
    withinAll(gs.grad, gb.grad, "weighted bce grad");
    const want = oracle.bce(t, d.p, N, { ignoreIndex: 255, weight: w, posWeight: pw });
    within(gs.loss, want.value as number, "weighted bce vs oracle");
    const cs = small.bceDiceGrad(t, d.x, { ...ow, fromLogits: true });
    const cb = big.bceDiceGrad(t, d.x, { ...ow, fromLogits: true });
    within(cs.loss, cb.loss, "bceDice logits weighted");
    withinAll(cs.grad, cb.grad, "bceDice logits weighted grad");
    expectFlat(small, before, "weighted streaming");
  });
});
