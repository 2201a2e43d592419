// Shared test fixtures: seeded inputs, both builds, and the SPEC §3 tolerance.
import { expect } from "vitest";
import { create, SegLossError, type Segloss } from "../src/index";

/** A loss function called by name: target, prediction, options. */
export type Call = (t: unknown, p: unknown, o?: unknown) => unknown;

/** Every value function, in the order the tests run them. */
export const VALUE_FNS = [
  "bce",
  "focal",
  "dice",
  "jaccard",
  "tversky",
  "focalTversky",
  "bceDice",
  "bceLogDice",
  "focalDice",
  "diceCoefficient",
] as const;
export type ValueFn = (typeof VALUE_FNS)[number];

/** Every …Grad function, in the order the tests run them. */
export const GRAD_FNS = [
  "bceGrad",
  "focalGrad",
  "diceGrad",
  "jaccardGrad",
  "tverskyGrad",
  "focalTverskyGrad",
  "bceDiceGrad",
  "bceLogDiceGrad",
  "focalDiceGrad",
] as const;

/** [N images, L elements] pairs: single elements, SIMD bodies with scalar tails, up to 4097 elements. */
export const LENGTHS: [number, number][] = [
  [1, 1],
  [1, 3],
  [2, 5],
  [3, 7],
  [1, 16],
  [2, 17],
  [4, 255],
  [2, 4097],
];

/** A small seeded PRNG (mulberry32), so every failure reproduces. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type TargetKind = "hard" | "soft" | "empty" | "full";

export interface Case {
  t: Float32Array;
  p: Float32Array;
  x: Float32Array; // logits
  N: number;
  L: number;
}

/**
 * N images of L elements: targets hard/soft/empty/all-ones, probabilities in
 * [0, 1] that include exact 0 and 1 now and then, and logits in [−8, 8].
 */
export function makeCase(seed: number, N: number, L: number, kind: TargetKind = "hard"): Case {
  const r = rng(seed);
  const n = N * L;
  const t = new Float32Array(n);
  const p = new Float32Array(n);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = kind === "hard" ? (r() < 0.4 ? 1 : 0) : kind === "soft" ? r() : kind === "empty" ? 0 : 1;
    const u = r();
    p[i] = u < 0.02 ? 0 : u > 0.98 ? 1 : Math.min(1, Math.max(0, 0.55 * t[i] + 0.45 * r()));
    x[i] = (r() - 0.5) * 16;
  }
  return { t, p, x, N, L };
}

/** One build of the library under test, named "simd" or "scalar". */
export interface Build {
  name: string;
  seg: Segloss;
}

let builds: Promise<Build[]> | undefined;
/** The SIMD and the scalar build, created once per test file. */
export function bothBuilds(): Promise<Build[]> {
  builds ??= Promise.all([create(), create({ simd: false })]).then(([a, b]) => [
    { name: "simd", seg: a },
    { name: "scalar", seg: b },
  ]);
  return builds;
}

/** SPEC §3: within 1e-5 relative or 1e-7 absolute of the float64 value. */
export function within(actual: number, expected: number, what = ""): void {
  const ok = (Number.isNaN(expected) && Number.isNaN(actual)) || Math.abs(actual - expected) <= Math.max(1e-5 * Math.abs(expected), 1e-7);
  if (!ok) expect.fail(`${what}: got ${actual}, expected ${expected} (rel ${Math.abs(actual - expected) / Math.abs(expected)})`);
}

/** Element-wise `within` over arrays, reporting the first bad index. */
export function withinAll(actual: ArrayLike<number>, expected: ArrayLike<number>, what = ""): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) within(actual[i], expected[i], `${what}[${i}]`);
}

/**
 * Calls f and returns the SegLossError it throws. Fails with `noError` when f
 * returns, and rethrows any other error.
 */
export function catchSegLossError(f: () => unknown, noError: string): SegLossError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof SegLossError)) throw e;
    return e as SegLossError;
  }
  return expect.fail(noError) as never;
}
