// Accuracy of assembly/math.ts (log, log1p, exp, pow, sigmoid, softplusNeg,
// softplus) against float64 Math.*. The probe module is compiled here with the
// asc Node API, once with SIMD (v128 path for groups of four, scalar twin for
// the tail) and once without (scalar twins only), and both are swept densely.
//
// Criterion per element, r = exact float64 value, g = float32 result:
//   |r| rounds to ±Inf in float32   → g must be that infinity;
//   |r| < 2^-126 (subnormal result) → |g − r| ≤ bound·|r| + 2^-150 (the
//                                     final rounding to the subnormal grid);
//   otherwise                       → |g − r| / |r| ≤ the function's bound.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Probe kinds (assembly/math-probe.ts); +16 forces the scalar twin. */
const K = {
  log: 0,
  exp: 1,
  pow: 2,
  sigmoid: 3,
  softplusNeg: 4,
  log1p: 5,
  softplus: 6,
} as const;
const SCALAR = 16;

/** Max relative error allowed (measured maxima are in the report / math.ts). */
const TOL = {
  log: 1.2e-7,
  log1p: 1.2e-7,
  exp: 1.2e-7,
  powFocal: 1.2e-7, // x ∈ [1e-3, 1], y ∈ [0, 3]
  powWide: 4e-7, // any |y·ln x| up to overflow
  sigmoid: 2e-7,
  softplusNeg: 1.5e-7,
  softplus: 1.5e-7,
};

const FLT_MIN = 2 ** -126;
const DENORM_MIN = 2 ** -149;
const FLT_MAX = 3.4028234663852886e38;

async function compileProbe(simd: boolean): Promise<Uint8Array> {
  const outputs: Record<string, Uint8Array | string> = {};
  const stderr = asc.createMemoryStream();
  const args = [
    "assembly/math-probe.ts",
    "--baseDir",
    ROOT,
    "--config",
    "__math_test_no_asconfig__.json", // ignore the repo's asconfig
    "--outFile",
    "math-probe.wasm",
    "--runtime",
    "stub",
    "--noAssert",
    "-O3",
    "--importMemory",
    ...(simd ? ["--enable", "simd"] : []),
  ];
  const { error } = await asc.main(args, {
    stderr,
    writeFile: (name, contents) => {
      outputs[name] = contents;
    },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
  const bin = outputs["math-probe.wasm"];
  if (!(bin instanceof Uint8Array)) throw new Error("asc produced no binary");
  return bin;
}

type ProbeFn = (kind: number, inPtr: number, in2Ptr: number, outPtr: number, n: number) => void;

class Probe {
  private memory: WebAssembly.Memory;
  private probeFn: ProbeFn;
  private static readonly BASE = 65536;

  private constructor(memory: WebAssembly.Memory, probeFn: ProbeFn) {
    this.memory = memory;
    this.probeFn = probeFn;
  }

  static async create(bytes: Uint8Array): Promise<Probe> {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const module = await WebAssembly.compile(new Uint8Array(bytes));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return new Probe(memory, instance.exports.probe as ProbeFn);
  }

  /** Applies `kind` to xs (and ys for pow); returns a fresh Float32Array. */
  run(kind: number, xs: Float32Array, ys?: Float32Array): Float32Array {
    const n = xs.length;
    const bytes = n * 4;
    const a = Probe.BASE;
    const b = a + bytes;
    const o = b + bytes;
    const need = Math.ceil((o + bytes) / 65536);
    const have = this.memory.buffer.byteLength / 65536;
    if (need > have) this.memory.grow(need - have);
    const buf = this.memory.buffer;
    new Float32Array(buf, a, n).set(xs);
    if (ys) new Float32Array(buf, b, n).set(ys);
    this.probeFn(kind, a, b, o, n);
    return new Float32Array(this.memory.buffer, o, n).slice();
  }
}

interface ErrStats {
  maxRel: number;
  at: number[];
  failures: string[];
}

/** Checks every element; collects the max relative error and hard failures. */
function errors(got: Float32Array, xs: Float32Array, ref: (x: number, y: number) => number, tol: number, ys?: Float32Array): ErrStats {
  const st: ErrStats = { maxRel: 0, at: [], failures: [] };
  for (let i = 0; i < got.length; i++) {
    const x = xs[i];
    const y = ys ? ys[i] : 0;
    const r = ref(x, y);
    const g = got[i];
    const fail = (why: string) => {
      if (st.failures.length < 5) st.failures.push(`x=${x} y=${y}: got ${g}, want ${r} (${why})`);
    };
    if (Number.isNaN(r)) {
      if (!Number.isNaN(g)) fail("NaN expected");
      continue;
    }
    const rf = Math.fround(r);
    if (!Number.isFinite(rf)) {
      if (g !== rf) fail("overflow");
      continue;
    }
    const ae = Math.abs(g - r);
    if (Math.abs(r) < FLT_MIN) {
      if (!(ae <= tol * Math.abs(r) + DENORM_MIN / 2)) fail("subnormal abs error");
      continue;
    }
    const re = ae / Math.abs(r);
    if (!(re <= st.maxRel)) {
      if (Number.isNaN(re)) {
        fail("NaN");
        continue;
      }
      st.maxRel = re;
      st.at = ys ? [x, y] : [x];
    }
  }
  return st;
}

// ------------------------------------------------------------- input sweeps

/** n+3 values (so the 0–3 scalar tail is always hit). */
const linspace = (lo: number, hi: number, n: number): Float32Array => {
  const a = new Float32Array(n + 3);
  for (let i = 0; i < a.length; i++) a[i] = lo + ((hi - lo) * i) / (a.length - 1);
  return a;
};
const logspace = (lo: number, hi: number, n: number): Float32Array => {
  const a = new Float32Array(n + 3);
  const l0 = Math.log(lo);
  const l1 = Math.log(hi);
  for (let i = 0; i < a.length; i++) a[i] = Math.exp(l0 + ((l1 - l0) * i) / (a.length - 1));
  return a;
};
/** Every float32 within `count` ulps either side of v (v itself included). */
const around = (v: number, count: number): Float32Array => {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const bits = new Uint32Array(2 * count + 1);
  for (let i = 0; i < bits.length; i++) bits[i] = u - count + i;
  return new Float32Array(bits.buffer);
};
const concat = (...parts: ArrayLike<number>[]): Float32Array => {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const neg = (a: Float32Array): Float32Array => a.map((v) => -v);

const N = 1 << 19;

const LOG_IN = concat(
  logspace(1e-38, 3e38, N), // starts in the subnormals (1e-38 < 2^-126)
  linspace(1e-3, 1, N),
  around(1, 1 << 14),
  around(0.99999988, 4096),
  around(0.5, 1024),
  around(2, 1024),
  around(Math.SQRT1_2, 1024),
  around(Math.SQRT2, 1024),
  [1e-7, 0.99999988, 1 - 2 ** -24, 1 + 2 ** -23, 1 - 2 ** -23, FLT_MIN, DENORM_MIN, 1e-45, FLT_MAX, 1],
);
const LOG1P_IN = concat(
  neg(logspace(1e-7, 0.99999988, N)), // ln(1 − p) for clipped probabilities
  logspace(1e-30, 3e38, N),
  neg(logspace(1e-30, 1 - 2 ** -24, N >> 2)),
  around(0.4142135623730951, 2048),
  around(-0.2928932188134524, 2048),
  around(1, 2048),
  around(-0.5, 2048),
  [-1e-7, -0.99999988, 0, -0, 1e-45, -1e-45, FLT_MAX, -(1 - 2 ** -24)],
);
const EXP_IN = concat(
  linspace(-104, 89, 2 * N),
  linspace(-1, 1, N >> 2),
  around(88.72283935546875, 512), // overflow threshold
  around(-87.33654022216797, 512), // normal/subnormal boundary
  around(-103.27892303466797, 512), // smallest subnormal
  around(0, 64),
  [0, -0, 1, -1, -1000, 1000, -FLT_MAX, FLT_MAX],
);
const LOGISTIC_IN = concat(linspace(-100, 100, 2 * N), logspace(1e-30, 1, N >> 2), neg(logspace(1e-30, 1, N >> 2)), around(0, 64), [
  1e4,
  -1e4,
  1e30,
  -1e30,
  FLT_MAX,
  -FLT_MAX,
  0,
  -0,
]);

function powGrid(xs: Float32Array, ys: Float32Array): [Float32Array, Float32Array] {
  const gx = new Float32Array(xs.length * ys.length);
  const gy = new Float32Array(xs.length * ys.length);
  let k = 0;
  for (const x of xs)
    for (const y of ys) {
      gx[k] = x;
      gy[k++] = y;
    }
  return [gx, gy];
}
const [POW_X, POW_Y] = (() => {
  const a = powGrid(linspace(1e-3, 1, 509), linspace(0, 3, 1021));
  const b = powGrid(logspace(1e-3, 1, 509), linspace(0, 3, 1021));
  const c = powGrid(around(1, 256), linspace(0, 3, 61));
  return [concat(a[0], b[0], c[0]), concat(a[1], b[1], c[1])];
})();
const [POWW_X, POWW_Y] = (() => {
  // Whole range: x log-spaced over the normals and subnormals, y such that
  // y·ln x spans [−110, 95] (so both underflow and overflow occur).
  const xs = logspace(1e-44, 3e38, 2047);
  const ts = linspace(-110, 95, 511);
  const gx = new Float32Array(xs.length * ts.length);
  const gy = new Float32Array(xs.length * ts.length);
  let k = 0;
  for (const x of xs) {
    const l = Math.log(x);
    for (const t of ts) {
      gx[k] = x;
      gy[k++] = l === 0 ? t : t / l;
    }
  }
  return [gx, gy];
})();

// ------------------------------------------------------------------ oracles

const REF = {
  log: (x: number) => Math.log(x),
  log1p: (x: number) => Math.log1p(x),
  exp: (x: number) => Math.exp(x),
  pow: (x: number, y: number) => x ** y,
  sigmoid: (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  softplusNeg: (x: number) => Math.log1p(Math.exp(-Math.abs(x))),
  softplus: (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
};

const sameBits = (a: Float32Array, b: Float32Array): number => {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) diff++;
  return diff;
};

const binaries: Record<string, Uint8Array> = {};
const measured: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  binaries.simd = await compileProbe(true);
  binaries.scalar = await compileProbe(false);
}, 120_000);

describe.each(["simd", "scalar"])("math.ts via %s build", (build) => {
  let p: Probe;
  beforeAll(async () => {
    p = await Probe.create(binaries[build]);
    measured[build] = {};
  });

  const check = (name: string, kind: number, ref: (x: number, y: number) => number, tol: number, xs: Float32Array, ys?: Float32Array) => {
    const st = errors(p.run(kind, xs, ys), xs, ref, tol, ys);
    measured[build][name] = `${st.maxRel.toExponential(2)} at ${st.at.join(", ")}`;
    expect(st.failures, `${name}: hard failures`).toEqual([]);
    expect(st.maxRel, `${name}: max rel error at ${st.at.join(", ")}`).toBeLessThanOrEqual(tol);
  };

  it("log: [1e-38, 3e38] log-spaced, [1e-3, 1], every float near 1, √½, √2", () => {
    check("log", K.log, REF.log, TOL.log, LOG_IN);
    const r = p.run(K.log, new Float32Array([1, 0, -0, -1, Infinity, 0.99999988, 1e-7]));
    expect(r[0]).toBe(0);
    expect(r[1]).toBe(-Infinity);
    expect(r[2]).toBe(-Infinity);
    expect(r[3]).toBeNaN();
    expect(r[4]).toBe(Infinity);
    // Keras's clip: p = 1, t = 0 gives −ln(1 − 0.99999988) = 15.942385.
    expect(Math.abs(-r[6] - 16.11809565095832)).toBeLessThan(2e-6);
  });

  it("log1p: ln(1−p) for p in [1e-7, 0.99999988], x in (−1, 3e38], tiny x", () => {
    check("log1p", K.log1p, REF.log1p, TOL.log1p, LOG1P_IN);
    const r = p.run(K.log1p, new Float32Array([0, -1, -2, Infinity, 1e-30, -1e-7]));
    expect(r[0]).toBe(0);
    expect(r[1]).toBe(-Infinity);
    expect(r[2]).toBeNaN();
    expect(r[3]).toBe(Infinity);
    expect(r[4]).toBe(Math.fround(1e-30));
    expect(Math.abs(r[5] - Math.log1p(Math.fround(-1e-7))) / 1e-7).toBeLessThan(1.2e-7);
  });

  it("exp: [−104, 89], thresholds of overflow and underflow, ±huge", () => {
    check("exp", K.exp, REF.exp, TOL.exp, EXP_IN);
    // e^−103.2 and e^−103.9 round to 2^-149, e^−104 to 0 (below 2^-150).
    const r = p.run(K.exp, new Float32Array([0, -0, 88.72, 88.73, -103.2, -104, -1e30, 1e30, Number.NaN, -103.9]));
    expect(r[0]).toBe(1);
    expect(r[1]).toBe(1);
    expect(Number.isFinite(r[2])).toBe(true);
    expect(r[3]).toBe(Infinity);
    expect(r[4]).toBe(DENORM_MIN);
    expect(r[5]).toBe(0);
    expect(r[6]).toBe(0);
    expect(r[7]).toBe(Infinity);
    expect(r[8]).toBeNaN();
    expect(r[9]).toBe(DENORM_MIN);
  });

  it("pow: x in [1e-3, 1] (linear and log-spaced) × y in [0, 3], x near 1", () => {
    check("pow", K.pow, REF.pow, TOL.powFocal, POW_X, POW_Y);
  });

  it("pow: whole range incl. subnormal x, underflow and overflow", () => {
    check("powWide", K.pow, REF.pow, TOL.powWide, POWW_X, POWW_Y);
    const xs = new Float32Array([0, 0, 0, 1, 1, 0.5, 2, 1e-3, Infinity, Infinity, 0.25]);
    const ys = new Float32Array([0.75, 0, -1, 0, 1e30, 0, -150, 0.75, 2, -2, 0.5]);
    const r = p.run(K.pow, xs, ys);
    expect(Array.from(r.slice(0, 7))).toEqual([0, 1, Infinity, 1, 1, 1, 0]);
    const want = Math.fround(1e-3) ** 0.75;
    expect(Math.abs(r[7] - want) / want).toBeLessThanOrEqual(TOL.powFocal);
    expect(Array.from(r.slice(8))).toEqual([Infinity, 0, 0.5]);
  });

  it("sigmoid: [−100, 100], tiny |x|, ±huge", () => {
    check("sigmoid", K.sigmoid, REF.sigmoid, TOL.sigmoid, LOGISTIC_IN);
    const r = p.run(K.sigmoid, new Float32Array([0, 1e30, -1e30, -FLT_MAX, FLT_MAX]));
    expect(Array.from(r)).toEqual([0.5, 1, 0, 0, 1]);
  });

  it("softplusNeg = ln(1+e^−|x|): [−100, 100], tiny |x|, ±huge", () => {
    check("softplusNeg", K.softplusNeg, REF.softplusNeg, TOL.softplusNeg, LOGISTIC_IN);
    const r = p.run(K.softplusNeg, new Float32Array([0, 1e30, -1e30, 30]));
    expect(r[0]).toBe(Math.fround(Math.LN2));
    expect(r[1]).toBe(0);
    expect(r[2]).toBe(0);
    expect(Math.abs(r[3] - Math.exp(-30)) / Math.exp(-30)).toBeLessThan(TOL.softplusNeg);
  });

  it("softplus = ln(1+e^x): [−100, 100], tiny |x|, ±huge", () => {
    check("softplus", K.softplus, REF.softplus, TOL.softplus, LOGISTIC_IN);
  });

  it("scalar twins are bit-identical to the v128 path", () => {
    const cases: [number, Float32Array, Float32Array?][] = [
      [K.log, LOG_IN],
      [K.log1p, LOG1P_IN],
      [K.exp, EXP_IN],
      [K.pow, POW_X, POW_Y],
      [K.pow, POWW_X, POWW_Y],
      [K.sigmoid, LOGISTIC_IN],
      [K.softplusNeg, LOGISTIC_IN],
      [K.softplus, LOGISTIC_IN],
    ];
    for (const [kind, xs, ys] of cases) {
      expect(sameBits(p.run(kind, xs, ys), p.run(kind + SCALAR, xs, ys)), `kind ${kind}`).toBe(0);
    }
  });
});

describe("simd and scalar builds", () => {
  it("give bit-identical results", async () => {
    const a = await Probe.create(binaries.simd);
    const b = await Probe.create(binaries.scalar);
    for (const [kind, xs, ys] of [
      [K.log, LOG_IN],
      [K.exp, EXP_IN],
      [K.pow, POWW_X, POWW_Y],
      [K.sigmoid, LOGISTIC_IN],
      [K.softplusNeg, LOGISTIC_IN],
    ] as [number, Float32Array, Float32Array?][]) {
      expect(sameBits(a.run(kind, xs, ys), b.run(kind, xs, ys)), `kind ${kind}`).toBe(0);
    }
    // Measured maxima, for the record (not asserted here).
    console.info(JSON.stringify(measured, null, 1));
  });
});
