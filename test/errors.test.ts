// SPEC §5, table-driven: every kind of bad input gets a SegLossError (also a
// TypeError or a RangeError) with the right `code` and `argument`, and a
// message naming what was expected and what came; a failing call changes
// nothing (inputs unchanged, memory flat).
import { beforeAll, describe, expect, it } from "vitest";
import { create, SegLossError, type Segloss } from "../src/index";
import { type Build, bothBuilds, type Call, GRAD_FNS, makeCase, VALUE_FNS } from "./helpers";

const VALUE: string[] = [...VALUE_FNS];
const GRAD: string[] = [...GRAD_FNS];
const ALL = [...VALUE, ...GRAD];
const BCE_OPTS = ["bce", "bceGrad", "bceDice", "bceDiceGrad", "bceLogDice", "bceLogDiceGrad"];
const FOCAL_OPTS = ["focal", "focalGrad", "focalDice", "focalDiceGrad"];
const REGION_OPTS = ALL.filter((f) => !f.startsWith("bce") || f.includes("Dice")).filter((f) => f !== "focal" && f !== "focalGrad");
const TVERSKY = ["tversky", "tverskyGrad", "focalTversky", "focalTverskyGrad"];
const GAMMA = ["focal", "focalGrad", "focalDice", "focalDiceGrad", "focalTversky", "focalTverskyGrad"];
const COMBINED = ["bceDice", "bceLogDice", "focalDice"];

const TYPE_CODES = new Set(["E_SHAPE", "E_DTYPE", "E_OPTION"]);

interface Inputs {
  t: unknown;
  p: unknown;
  o?: unknown;
}

interface Row {
  name: string;
  fns: string[];
  make: () => Inputs;
  /** The code, or the codes either of which is right (see the notes at the rows). */
  code: string | string[];
  argument: string | ((fn: string) => string);
  /** Fragments the message must contain (what was expected, what came). */
  says?: (string | RegExp)[];
}

// Base data: 2 images of 12 elements, hard targets, probabilities; and a length
// of 23 (a SIMD body plus a scalar tail) for the position tests.
const c = makeCase(7, 2, 12, "hard");
const T = () => c.t.slice();
const P = () => c.p.slice();
const S = [2, 1, 12];
const with1 = (a: Float32Array, i: number, v: number) => {
  const b = a.slice();
  b[i] = v;
  return b;
};

const ROWS: Row[] = [
  // ---------------------------------------------------------------- shapes
  {
    name: "lengths differ",
    fns: ALL,
    make: () => ({ t: T(), p: P().subarray(1) }),
    code: "E_SHAPE",
    argument: "target",
    says: ["[23]", "[24]"],
  },
  {
    name: "shapes differ",
    fns: ALL,
    make: () => ({ t: { data: T(), shape: [2, 3, 4] }, p: { data: P(), shape: [2, 4, 3] } }),
    code: "E_SHAPE",
    argument: "target",
    says: ["[2,4,3]", "[2,3,4]"],
  },
  {
    name: "batch sizes differ",
    fns: ALL,
    make: () => ({ t: { data: T(), shape: [4, 1, 6] }, p: { data: P(), shape: [2, 1, 12] } }),
    code: "E_SHAPE",
    argument: "target",
    says: ["[2,1,12]", "[4,1,6]"],
  },
  {
    name: "shape product ≠ data length",
    fns: ALL,
    make: () => ({ t: T(), p: { data: P(), shape: [5, 5] } }),
    code: "E_SHAPE",
    argument: "pred.shape",
    says: ["24", "[5,5]", "25"],
  },
  ...(
    [
      [[], "[]"],
      [[0, 24], "[0,24]"],
      [[-2, -12], "[-2,-12]"],
      [[2.5, 9.6], "[2.5,9.6]"],
      [[Number.NaN, 24], "NaN"],
      [[Number.POSITIVE_INFINITY], "Infinity"],
      [[2 ** 53, 1], String(2 ** 53)],
    ] as [number[], string][]
  ).map(
    ([shape, shown]): Row => ({
      name: `malformed pred shape ${shown}`,
      fns: ["bce", "diceGrad", "focalDice"],
      make: () => ({ t: T(), p: { data: P(), shape } }),
      code: "E_SHAPE",
      argument: "pred.shape",
      says: ["positive integers", shown],
    }),
  ),
  {
    name: "malformed target shape",
    fns: ["dice", "bceGrad"],
    make: () => ({ t: { data: T(), shape: [24, 0] }, p: P() }),
    code: "E_SHAPE",
    argument: "target.shape",
    says: ["positive integers", "[24,0]"],
  },
  ...(
    [
      ["24", '"24"'],
      [null, "null"],
      [{}, "an object"],
      [24, "24"],
    ] as [unknown, string][]
  ).map(
    ([shape, shown]): Row => ({
      name: `tensor shape that is not a list: ${shown}`,
      fns: ["bce", "dice"],
      make: () => ({ t: T(), p: { data: P(), shape } }),
      code: "E_SHAPE",
      argument: "pred.shape",
      says: [shown],
    }),
  ),
  {
    name: "onnx dims malformed",
    fns: ["jaccard"],
    make: () => ({ t: T(), p: { data: P(), dims: [2, -12] } }),
    code: "E_SHAPE",
    argument: "pred.shape",
    says: ["[2,-12]"],
  },
  {
    name: "opts.shape with a bad entry",
    fns: ["bce", "dice"],
    make: () => ({ t: T(), p: P(), o: { shape: [2, 12.5] } }),
    code: "E_SHAPE",
    argument: "pred.shape",
    says: ["[2,12.5]"],
  },
  {
    name: "opts.shape of the wrong product",
    fns: ["bce", "dice"],
    make: () => ({ t: T(), p: P(), o: { shape: [2, 1, 13] } }),
    code: "E_SHAPE",
    argument: "pred.shape",
    says: ["24", "26"],
  },
  {
    name: "opts.shape not a list",
    fns: ["bce", "dice"],
    make: () => ({ t: T(), p: P(), o: { shape: "2x12" } }),
    code: "E_OPTION",
    argument: "opts.shape",
    says: ['"2x12"'],
  },

  // ---------------------------------------------------------------- dtypes
  {
    name: "plain array prediction",
    fns: ALL,
    make: () => ({ t: T(), p: Array.from(P()) }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["typed array", "an array of length 24"],
  },
  {
    name: "plain array target",
    fns: ALL,
    make: () => ({ t: Array.from(T()), p: P() }),
    code: "E_DTYPE",
    argument: "target",
    says: ["typed array", "an array of length 24"],
  },
  {
    name: "BigInt64Array prediction",
    fns: ALL,
    make: () => ({ t: T(), p: new BigInt64Array(24) }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["BigInt64Array(24)"],
  },
  {
    name: "BigUint64Array target",
    fns: ALL,
    make: () => ({ t: new BigUint64Array(24), p: P() }),
    code: "E_DTYPE",
    argument: "target",
    says: ["BigUint64Array(24)"],
  },
  { name: "string prediction", fns: ALL, make: () => ({ t: T(), p: "0.5,0.5" }), code: "E_DTYPE", argument: "pred", says: ['"0.5,0.5"'] },
  { name: "null prediction", fns: ALL, make: () => ({ t: T(), p: null }), code: "E_DTYPE", argument: "pred", says: ["null"] },
  { name: "null target", fns: ALL, make: () => ({ t: null, p: P() }), code: "E_DTYPE", argument: "target", says: ["null"] },
  {
    name: "undefined target",
    fns: ["dice", "bceGrad"],
    make: () => ({ t: undefined, p: P() }),
    code: "E_DTYPE",
    argument: "target",
    says: ["undefined"],
  },
  {
    name: "number prediction",
    fns: ["dice", "bceGrad"],
    make: () => ({ t: T(), p: 0.5 }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["0.5"],
  },
  {
    name: "boolean prediction",
    fns: ["focal"],
    make: () => ({ t: T(), p: true }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["boolean true"],
  },
  {
    name: "function prediction",
    fns: ["focal"],
    make: () => ({ t: T(), p: () => P() }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["a function"],
  },
  {
    name: "plain object prediction",
    fns: ["tversky"],
    make: () => ({ t: T(), p: { values: P() } }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["an object"],
  },
  {
    name: "DataView prediction",
    fns: ["dice"],
    make: () => ({ t: T(), p: new DataView(P().buffer) }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["DataView"],
  },
  {
    name: "{data: plain array}",
    fns: ["bce", "diceGrad"],
    make: () => ({ t: T(), p: { data: Array.from(P()), shape: S } }),
    code: "E_DTYPE",
    argument: "pred.data",
    says: ["an array of length 24"],
  },
  {
    name: "onnx {data: BigInt64Array, dims}",
    fns: ["bce"],
    make: () => ({ t: { data: new BigInt64Array(24), dims: S }, p: P() }),
    code: "E_DTYPE",
    argument: "target.data",
    says: ["BigInt64Array"],
  },
  {
    name: "dataSync() returning a plain array",
    fns: ["dice"],
    make: () => ({ t: T(), p: { shape: S, dataSync: () => Array.from(P()) } }),
    code: "E_DTYPE",
    argument: "pred.dataSync()",
    says: ["an array of length 24"],
  },
  {
    name: "integer prediction (Uint8Array)",
    fns: ALL,
    make: () => ({ t: T(), p: Uint8Array.from(T()) }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["Float32Array or Float64Array", "Uint8Array(24)"],
  },
  {
    name: "integer prediction (Int32Array)",
    fns: ["dice", "bce"],
    make: () => ({ t: T(), p: Int32Array.from(T()) }),
    code: "E_DTYPE",
    argument: "pred",
    says: ["Int32Array(24)"],
  },
  {
    name: "weight as a plain array",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { weight: Array.from(P()) } }),
    code: "E_DTYPE",
    argument: "opts.weight",
    says: ["an array of length 24"],
  },
  {
    name: "posWeight tensor as a plain array",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { posWeight: { data: [1, 2], shape: [2] } } }),
    code: "E_DTYPE",
    argument: "opts.posWeight.data",
    says: ["an array of length 2"],
  },

  // ---------------------------------------------------------------- zero size
  {
    name: "both empty",
    fns: ALL,
    make: () => ({ t: new Float32Array(0), p: new Float32Array(0) }),
    code: "E_EMPTY",
    argument: "pred",
    says: ["at least one element", "zero-size"],
  },
  {
    name: "empty target",
    fns: ALL,
    make: () => ({ t: new Uint8Array(0), p: P() }),
    code: "E_EMPTY",
    argument: "target",
    says: ["zero-size"],
  },
  {
    name: "empty {data, shape: [0]}",
    fns: ["dice", "bceGrad"],
    make: () => ({ t: T(), p: { data: new Float32Array(0), shape: [0] } }),
    code: "E_EMPTY",
    argument: "pred",
  },
  {
    name: "empty weight",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { weight: new Float32Array(0) } }),
    code: "E_EMPTY",
    argument: "opts.weight",
  },

  // ---------------------------------------------------------------- ranges
  {
    name: "probability above 1",
    fns: ALL,
    make: () => ({ t: T(), p: with1(P(), 5, 1.5) }),
    code: "E_RANGE",
    argument: "pred",
    says: ["[0, 1]", "fromLogits", "1.5"],
  },
  {
    name: "negative probability",
    fns: ALL,
    make: () => ({ t: T(), p: with1(P(), 20, -0.25) }),
    code: "E_RANGE",
    argument: "pred",
    says: ["[0, 1]", "-0.25"],
  },
  {
    name: "Float64Array probability above 1",
    fns: ["dice", "bceGrad"],
    make: () => ({ t: T(), p: Float64Array.from(with1(P(), 23, 1.25)) }),
    code: "E_RANGE",
    argument: "pred",
    says: ["1.25"],
  },
  { name: "target 2", fns: ALL, make: () => ({ t: with1(T(), 3, 2), p: P() }), code: "E_RANGE", argument: "target", says: ["[0, 1]", "2"] },
  {
    name: "target −1 (Int32Array)",
    fns: ALL,
    make: () => ({ t: Int32Array.from(with1(T(), 22, -1)), p: P() }),
    code: "E_RANGE",
    argument: "target",
    says: ["-1"],
  },
  {
    name: "label 255 without ignoreIndex",
    fns: ALL,
    make: () => ({ t: Uint8Array.from(with1(T(), 0, 255)), p: P() }),
    code: "E_RANGE",
    argument: "target",
    says: ["255"],
  },
  {
    name: "label 7 with ignoreIndex 255",
    fns: ALL,
    make: () => ({ t: Uint8Array.from(with1(with1(T(), 0, 255), 9, 7)), p: P(), o: { ignoreIndex: 255 } }),
    code: "E_RANGE",
    argument: "target",
    says: ["ignoreIndex 255", "7"],
  },
  {
    name: "negative weight",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { weight: with1(P(), 4, -1) } }),
    code: "E_RANGE",
    argument: "opts.weight",
    says: ["≥ 0", "-1"],
  },
  {
    name: "negative posWeight tensor",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { posWeight: with1(P(), 4, -2) } }),
    code: "E_RANGE",
    argument: "opts.posWeight",
    says: ["-2"],
  },

  // ---------------------------------------------------------------- options: names
  {
    name: "unknown option name",
    fns: ALL,
    make: () => ({ t: T(), p: P(), o: { bogus: 1 } }),
    code: "E_OPTION",
    argument: (fn) => `${fn} options`,
    says: ['unknown option "bogus"', "reduction"],
  },
  ...(
    [
      ["reductions", "sum"],
      ["from_logits", true],
      ["Smooth", 1],
      ["__proto__", { reduction: "none" }],
    ] as [string, unknown][]
  ).map(
    ([key, v]): Row => ({
      name: `misspelt option ${key}`,
      fns: ALL,
      make: () => ({ t: T(), p: P(), o: key === "__proto__" ? JSON.parse(`{"__proto__": ${JSON.stringify(v)}}`) : { [key]: v } }),
      code: "E_OPTION",
      argument: (fn) => `${fn} options`,
      says: [`unknown option "${key}"`],
    }),
  ),
  ...(
    [
      [["bce", "bceGrad", "bceDice", "bceLogDiceGrad"], "gamma", 2],
      [["bce", "bceGrad"], "perImage", false],
      [FOCAL_OPTS, "posWeight", 2],
      [FOCAL_OPTS, "weight", new Float32Array(24)],
      [FOCAL_OPTS, "labelSmoothing", 0.1],
      [["dice", "diceGrad", "jaccard", "diceCoefficient", "bceDice"], "alpha", 0.3],
      [["dice", "jaccardGrad", "tversky", "diceCoefficient"], "gamma", 2],
      [["tversky", "tverskyGrad", "focalTversky"], "squared", true],
      [["focalTversky", "focalTverskyGrad"], "log", true],
      [["dice", "bceDice", "bceLogDice", "diceCoefficient", "focal"], "focalWeight", 1],
      [["focal", "focalGrad", "bce"], "smooth", 1],
    ] as [string[], string, unknown][]
  ).map(
    ([fns, key, v]): Row => ({
      name: `option ${key} where it does not belong`,
      fns,
      make: () => ({ t: T(), p: P(), o: { [key]: v } }),
      code: "E_OPTION",
      argument: (fn) => `${fn} options`,
      says: [`unknown option "${key}"`],
    }),
  ),

  // ---------------------------------------------------------------- options: types
  ...(
    [
      [ALL, "reduction", 1, "one of 'mean', 'sum', 'none'"],
      [ALL, "fromLogits", "true", "true or false"],
      [ALL, "fromLogits", 1, "true or false"],
      [ALL, "ignoreIndex", "255", "a finite number"],
      [ALL, "ignoreIndex", Number.NaN, "a finite number"],
      [ALL, "preset", 3, "'keras3'"],
      [REGION_OPTS, "perImage", 1, "true or false"],
      [REGION_OPTS, "smooth", "1", "a number"],
      [REGION_OPTS, "smoothNumerator", null, "a number"],
      [REGION_OPTS.filter((f) => !TVERSKY.includes(f)), "squared", "yes", "true or false"],
      [REGION_OPTS.filter((f) => !f.startsWith("focalTversky")), "log", 0, "true or false"],
      [REGION_OPTS, "softLabel", null, "true or false"],
      [GAMMA, "gamma", "2", "a number"],
      [[...TVERSKY, ...FOCAL_OPTS], "alpha", "0.5", "a number"],
      [TVERSKY, "beta", [0.5], "a number"],
      [BCE_OPTS, "labelSmoothing", null, "a number"],
      [BCE_OPTS, "weight", 5, "a tensor"],
      [BCE_OPTS, "posWeight", "2", "a tensor"],
      [[...BCE_OPTS, "focal", "dice"], "epsilon", "1e-7", "a number"],
      [["focalDice", "focalDiceGrad"], "focalWeight", "10", "a number"],
      [FOCAL_OPTS, "variant", true, "'standard'"],
    ] as [string[], string, unknown, string][]
  ).map(
    ([fns, key, v, expected]): Row => ({
      name: `option ${key} of the wrong type (${typeof v})`,
      fns,
      make: () => ({ t: T(), p: P(), o: { [key]: v } }),
      code: "E_OPTION",
      argument: `opts.${key}`,
      says: [expected],
    }),
  ),
  ...(
    [
      ["a string", "mean"],
      ["a number", 5],
      ["a boolean", true],
      ["an array", [1]],
      ["a typed array", new Float32Array(2)],
      ["a function", () => 1],
    ] as [string, unknown][]
  ).map(
    ([what, o]): Row => ({
      name: `options that are ${what}`,
      fns: ALL,
      make: () => ({ t: T(), p: P(), o }),
      code: "E_OPTION",
      argument: (fn) => `${fn} options`,
      says: ["an options object"],
    }),
  ),
  {
    name: "smooth and smoothNumerator together",
    fns: REGION_OPTS,
    make: () => ({ t: T(), p: P(), o: { smooth: 1, smoothNumerator: 2 } }),
    code: "E_OPTION",
    argument: "opts.smooth",
    says: ["both"],
  },
  {
    name: "perImage and aggregate disagree",
    fns: REGION_OPTS,
    make: () => ({ t: T(), p: P(), o: { perImage: true, aggregate: "batch" } }),
    code: "E_OPTION",
    argument: "opts.aggregate",
    says: ['"batch"'],
  },

  // ---------------------------------------------------------------- options: ranges
  ...(
    [
      [GAMMA, "gamma", -1, "-1"],
      [GAMMA, "gamma", 101, "101"],
      [GAMMA, "gamma", Number.NaN, "NaN"],
      [GAMMA, "gamma", Number.POSITIVE_INFINITY, "Infinity"],
      [BCE_OPTS, "labelSmoothing", 1.5, "1.5"],
      [BCE_OPTS, "labelSmoothing", -0.1, "-0.1"],
      [[...TVERSKY, ...FOCAL_OPTS], "alpha", 1.5, "1.5"],
      [[...TVERSKY, ...FOCAL_OPTS], "alpha", -0.5, "-0.5"],
      [TVERSKY, "beta", 2, "2"],
      [REGION_OPTS, "smooth", -1, "-1"],
      [REGION_OPTS, "smooth", Number.POSITIVE_INFINITY, "Infinity"],
      [REGION_OPTS, "smooth", Number.NaN, "NaN"],
      [REGION_OPTS, "smoothNumerator", -1, "-1"],
      [REGION_OPTS, "smoothDenominator", -1e-9, "-1e-9"],
      [[...BCE_OPTS, ...REGION_OPTS], "epsilon", -1, "-1"],
      [[...BCE_OPTS, ...REGION_OPTS], "epsilon", 2, "2"],
      [["bce", "bceGrad", "focal", "bceDice"], "epsilon", 0.5, "0.5"],
      [["focalDice", "focalDiceGrad"], "focalWeight", -1, "-1"],
      [BCE_OPTS, "posWeight", -1, "-1"],
      [BCE_OPTS, "posWeight", Number.NaN, "NaN"],
      [BCE_OPTS, "posWeight", Number.POSITIVE_INFINITY, "Infinity"],
      [BCE_OPTS, "posWeight", Number.NEGATIVE_INFINITY, "-Infinity"],
    ] as [string[], string, unknown, string][]
  ).map(
    ([fns, key, v, shown]): Row => ({
      name: `option ${key} = ${shown} out of range`,
      fns,
      make: () => ({ t: T(), p: P(), o: { [key]: v } }),
      code: "E_OPTION_RANGE",
      argument: `opts.${key}`,
      says: [shown],
    }),
  ),
  // A string outside an enum: the library reports E_OPTION (errors.ts: "an
  // option of the wrong type"); E_OPTION_RANGE ("option value out of range")
  // would be as defensible. Either is accepted; the message must list the choices.
  ...(
    [
      [ALL, "reduction", "avg", "'mean', 'sum', 'none'"],
      [ALL, "preset", "smp", "'seed', 'keras3', 'tfkeras2'"],
      [FOCAL_OPTS, "variant", "lin", "'seed', 'standard'"],
      [REGION_OPTS, "emptyTarget", "foo", "'smooth', 'zero', 'max', 'skip'"],
      [[...BCE_OPTS, ...REGION_OPTS], "epsilonMode", "mul", "'clamp', 'add'"],
      [REGION_OPTS, "aggregate", "images", "'perImage', 'batch'"],
      [ALL, "reduction", "MEAN", "'mean'"],
    ] as [string[], string, string, string][]
  ).map(
    ([fns, key, v, choices]): Row => ({
      name: `option ${key} = '${v}' not one of the choices`,
      fns,
      make: () => ({ t: T(), p: P(), o: { [key]: v } }),
      code: ["E_OPTION", "E_OPTION_RANGE"],
      argument: `opts.${key}`,
      says: [choices, `"${v}"`],
    }),
  ),

  // ---------------------------------------------------------------- reductions
  {
    name: "'none' on a gradient form",
    fns: GRAD,
    make: () => ({ t: T(), p: P(), o: { reduction: "none" } }),
    code: "E_OPTION",
    argument: "opts.reduction",
    says: ["'mean' or 'sum'", "'none'"],
  },
  {
    name: "'none' on a combined loss",
    fns: COMBINED,
    make: () => ({ t: T(), p: P(), o: { reduction: "none" } }),
    code: "E_OPTION",
    argument: "opts.reduction",
    says: ["'mean' or 'sum'", "'none'"],
  },

  // ---------------------------------------------------------------- per-pixel tensors
  {
    name: "weight of the wrong length",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { weight: new Float32Array(23) } }),
    code: "E_SHAPE",
    argument: "opts.weight",
    says: ["24", "23"],
  },
  {
    name: "weight {data, shape} of the wrong length",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { weight: { data: new Float32Array(48), shape: [4, 12] } } }),
    code: "E_SHAPE",
    argument: "opts.weight",
    says: ["24", "48"],
  },
  {
    name: "posWeight tensor of the wrong length",
    fns: BCE_OPTS,
    make: () => ({ t: T(), p: P(), o: { posWeight: new Float64Array(25) } }),
    code: "E_SHAPE",
    argument: "opts.posWeight",
    says: ["24", "25"],
  },

  // ---------------------------------------------------------------- the gradient's `out` buffer
  {
    name: "out of the wrong length",
    fns: GRAD,
    make: () => ({ t: T(), p: P(), o: { out: new Float32Array(23) } }),
    code: "E_SHAPE",
    argument: "opts.out",
    says: ["24", "Float32Array(23)"],
  },
  ...(
    [
      ["a Float64Array", new Float64Array(24), "Float64Array(24)"],
      ["a plain array", new Array(24).fill(0), "an array of length 24"],
      ["null", null, "null"],
    ] as [string, unknown, string][]
  ).map(
    ([what, out, shown]): Row => ({
      name: `out that is ${what}`,
      fns: GRAD,
      make: () => ({ t: T(), p: P(), o: { out } }),
      code: "E_OPTION",
      argument: "opts.out",
      says: ["Float32Array", shown],
    }),
  ),
  {
    name: "out on a value form",
    fns: VALUE,
    make: () => ({ t: T(), p: P(), o: { out: new Float32Array(24) } }),
    code: "E_OPTION",
    argument: (fn) => `${fn} options`,
    says: ['unknown option "out"'],
  },
  // a call that fails after its passes began leaves `out` untouched (checked with every row's inputs)
  {
    name: "NaN prediction with an out buffer",
    fns: GRAD,
    make: () => ({ t: T(), p: with1(P(), 13, Number.NaN), o: { out: new Float32Array(24).fill(42) } }),
    code: "E_NONFINITE",
    argument: "pred",
    says: ["got NaN"],
  },
  {
    name: "target out of range with an out buffer aliasing pred",
    fns: GRAD,
    make: () => {
      const p = P();
      return { t: with1(T(), 2, 3), p, o: { out: p } };
    },
    code: "E_RANGE",
    argument: "target",
  },
];

// NaN and ±Infinity, at the first element, in a SIMD body and in the scalar tail
// (n = 23), in every input: always E_NONFINITE naming that input (not E_RANGE,
// even where the input has a range), and the message says what came.
const NONFINITE: Row[] = [];
const NF_N = 23;
const nfBase = makeCase(9, 1, NF_N, "hard");
{
  const base = nfBase;
  const n = NF_N;
  const bad: [string, number, string][] = [
    ["NaN", Number.NaN, "got NaN"],
    ["+Infinity", Number.POSITIVE_INFINITY, "Infinity"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "Infinity"],
  ];
  for (const [label, v, shown] of bad) {
    for (const at of [0, 9, 22]) {
      const row = (name: string, argument: string, fns: string[], make: () => Inputs): Row => ({
        name: `${label} ${name} at ${at}`,
        fns,
        make,
        code: "E_NONFINITE",
        argument,
        says: [shown],
      });
      NONFINITE.push(
        row("probability", "pred", ALL, () => ({ t: base.t.slice(), p: with1(base.p, at, v) })),
        row("logit", "pred", ALL, () => ({ t: base.t.slice(), p: with1(base.x, at, v), o: { fromLogits: true } })),
        row("Float64Array logit", "pred", ["bce", "diceGrad"], () => ({
          t: base.t.slice(),
          p: Float64Array.from(with1(base.x, at, v)),
          o: { fromLogits: true },
        })),
        row("target", "target", ALL, () => ({ t: with1(base.t, at, v), p: base.p.slice() })),
        row("target with an ignoreIndex", "target", ["dice", "focal", "bceGrad", "focalDiceGrad"], () => ({
          t: with1(base.t, at, v),
          p: base.p.slice(),
          o: { ignoreIndex: 255 },
        })),
        row("weight", "opts.weight", BCE_OPTS, () => ({
          t: base.t.slice(),
          p: base.p.slice(),
          o: { weight: with1(new Float32Array(n).fill(1), at, v) },
        })),
        row("posWeight tensor", "opts.posWeight", BCE_OPTS, () => ({
          t: base.t.slice(),
          p: base.p.slice(),
          o: { posWeight: with1(new Float32Array(n).fill(2), at, v) },
        })),
      );
    }
  }
}

/** Every typed array reachable from the call's arguments, with a copy of its contents. */
function snapshotArrays(x: unknown, out: [ArrayBufferView, unknown[]][] = [], seen = new Set<unknown>()): [ArrayBufferView, unknown[]][] {
  if (x === null || typeof x !== "object" || seen.has(x)) return out;
  seen.add(x);
  if (ArrayBuffer.isView(x)) {
    if (!(x instanceof DataView)) out.push([x, Array.from(x as unknown as ArrayLike<unknown>)]);
    return out;
  }
  for (const k of Object.keys(x)) snapshotArrays((x as Record<string, unknown>)[k], out, seen);
  return out;
}

function expectRowError(seg: Segloss, row: Row, fn: string): void {
  const { t, p, o } = row.make();
  const snap = snapshotArrays([t, p, o]);
  const before = seg.largestFree();
  let caught: unknown;
  let result: unknown;
  try {
    result = (seg[fn as keyof Segloss] as Call)(t, p, o);
  } catch (e) {
    caught = e;
  }
  const what = `${row.name} / ${fn}`;
  expect(caught, `${what}: no error, returned ${String(result)}`).toBeDefined();
  expect(caught instanceof SegLossError, `${what}: not a SegLossError: ${String(caught)}`).toBe(true);
  const e = caught as SegLossError;
  const codes = Array.isArray(row.code) ? row.code : [row.code];
  expect(codes, `${what}: code ${e.code} (${e.message})`).toContain(e.code);
  // a TypeError for the type-like codes, a RangeError for the value-like ones, never both
  if (TYPE_CODES.has(e.code)) expect(e, `${what}: ${e.code} is a TypeError`).toBeInstanceOf(TypeError);
  else expect(e, `${what}: ${e.code} is a RangeError`).toBeInstanceOf(RangeError);
  expect(e instanceof TypeError && e instanceof RangeError).toBe(false);
  expect(e.name).toBe("SegLossError");
  const argument = typeof row.argument === "function" ? row.argument(fn) : row.argument;
  expect(e.argument, what).toBe(argument);
  // "names the argument, what was expected and what came"
  expect(e.message.startsWith(`segloss: ${argument}: expected `), `${what}: ${e.message}`).toBe(true);
  expect(e.message, what).toMatch(/: expected .+, got .+/s);
  for (const s of row.says ?? []) {
    if (typeof s === "string")
      expect(e.message.includes(s), `${what}: message ${JSON.stringify(e.message)} should contain ${JSON.stringify(s)}`).toBe(true);
    else expect(e.message, what).toMatch(s);
  }
  // nothing changed
  for (const [a, copy] of snap) expect(Array.from(a as unknown as ArrayLike<unknown>), `${what}: input mutated`).toEqual(copy);
  expect(seg.largestFree(), `${what}: memory`).toBe(before);
}

let builds: Build[];
beforeAll(async () => {
  builds = await bothBuilds();
});

describe("bad input → SegLossError", () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const seg = builds[0].seg;
      for (const fn of row.fns) expectRowError(seg, row, fn);
    });
  }
});

describe("NaN and ±Infinity anywhere (both builds)", () => {
  for (const row of NONFINITE) {
    it(row.name, () => {
      for (const { seg } of builds) for (const fn of row.fns) expectRowError(seg, row, fn);
    });
  }

  // +Infinity and −Infinity together: the sums are NaN, but the message must still say Infinity.
  it("±Infinity in one input is reported as Infinity, not NaN", () => {
    for (const { seg } of builds) {
      const p = new Float32Array(16).fill(0.5);
      p[0] = Number.POSITIVE_INFINITY;
      p[1] = Number.NEGATIVE_INFINITY;
      const t = new Float32Array(16);
      t[2] = Number.POSITIVE_INFINITY;
      t[3] = Number.NEGATIVE_INFINITY;
      const rows: Row[] = [
        {
          name: "±Infinity probabilities",
          fns: ALL,
          make: () => ({ t: new Float32Array(16), p: p.slice() }),
          code: "E_NONFINITE",
          argument: "pred",
        },
        {
          name: "±Infinity targets",
          fns: ALL,
          make: () => ({ t: t.slice(), p: new Float32Array(16).fill(0.5) }),
          code: "E_NONFINITE",
          argument: "target",
        },
      ];
      for (const row of rows) for (const fn of row.fns) expectRowError(seg, { ...row, says: ["Infinity"] }, fn);
    }
  });

  // An infinite weight where the loss term is 0 (0·∞ = NaN), or an infinite posWeight
  // next to a soft target, is blamed on that option, not on the target.
  it("an infinite weight or posWeight is blamed on that option, also where its term is 0", () => {
    for (const { seg } of builds) {
      const w = new Float32Array(8).fill(1);
      w[2] = Number.POSITIVE_INFINITY;
      const q = new Float32Array(8).fill(1);
      q[0] = Number.POSITIVE_INFINITY;
      const soft = new Float32Array(8);
      soft[1] = 0.5;
      const rows: Row[] = [
        {
          name: "Infinity weight on a zero loss",
          fns: BCE_OPTS,
          make: () => ({ t: new Float32Array(8).fill(1), p: new Float32Array(8).fill(0.5), o: { posWeight: 0, weight: w.slice() } }),
          code: "E_NONFINITE",
          argument: "opts.weight",
          says: ["Infinity"],
        },
        {
          name: "Infinity posWeight next to a soft target",
          fns: BCE_OPTS,
          make: () => ({ t: soft.slice(), p: new Float32Array(8).fill(0.5), o: { posWeight: q.slice() } }),
          code: "E_NONFINITE",
          argument: "opts.posWeight",
          says: ["Infinity"],
        },
      ];
      for (const row of rows) for (const fn of row.fns) expectRowError(seg, row, fn);
    }
  });

  it("in a long input, deep inside the SIMD body and in the last element", () => {
    for (const { seg } of builds) {
      const n = 4099;
      for (const at of [0, 1234, 4095, 4098]) {
        const p = new Float32Array(n).fill(0.5);
        p[at] = Number.NaN;
        const t = new Float32Array(n);
        for (const fn of ["bce", "focal", "dice", "tverskyGrad", "bceDiceGrad"]) {
          expectRowError(
            seg,
            { name: `NaN at ${at} of ${n}`, fns: [fn], make: () => ({ t, p }), code: "E_NONFINITE", argument: "pred" },
            fn,
          );
        }
      }
    }
  });
});

describe("valid edge cases are not errors", () => {
  it("probabilities exactly 0 and 1, targets exactly 0 and 1, huge finite logits", () => {
    for (const { seg } of builds) {
      const t = new Float32Array([0, 1, 0, 1, 1]);
      const p = new Float32Array([0, 1, 1, 0, 0.5]);
      for (const fn of ALL) expect(() => (seg[fn as keyof Segloss] as Call)(t, p)).not.toThrow();
      const x = new Float32Array([-1e30, 1e30, 3e38, -3e38, 0]);
      for (const fn of ALL) {
        const r = (seg[fn as keyof Segloss] as Call)(t, x, { fromLogits: true });
        const loss = typeof r === "number" ? r : (r as { loss: number }).loss;
        expect(typeof loss).toBe("number");
      }
    }
  });

  it("the ignore label may be outside [0, 1]; every pixel ignored is a loss of 0", () => {
    const seg = builds[0].seg;
    const t = new Uint8Array([255, 255, 255]);
    const p = new Float32Array([0.2, 0.3, 0.4]);
    for (const fn of ALL) {
      const r = (seg[fn as keyof Segloss] as Call)(t, p, { ignoreIndex: 255 });
      // an empty term scores 1 (the smooth term decides): the coefficient is 1, every loss 0
      expect(typeof r === "number" ? r : (r as { loss: number }).loss, fn).toBe(fn === "diceCoefficient" ? 1 : 0);
      if (typeof r !== "number") expect(Array.from((r as { grad: Float32Array }).grad), fn).toEqual([0, 0, 0]);
    }
  });

  it("options given as undefined are the defaults; null options are no options", () => {
    const seg = builds[0].seg;
    for (const fn of ALL) {
      const f = seg[fn as keyof Segloss] as Call;
      expect(f(c.t, c.p, { reduction: undefined, bogus: undefined })).toEqual(f(c.t, c.p));
      expect(f(c.t, c.p, null)).toEqual(f(c.t, c.p));
    }
  });

  it("inherited (prototype) option fields are never read", () => {
    const seg = builds[0].seg;
    for (const fn of ALL) {
      const f = seg[fn as keyof Segloss] as Call;
      const want = f(c.t, c.p);
      expect(f(c.t, c.p, Object.create({ reduction: "none", gamma: -1, bogus: 1 }))).toEqual(want);
    }
  });
});

describe("memory and loading errors", () => {
  it("an input that cannot be staged in a full memory is E_MEMORY, and changes nothing", async () => {
    const seg = await create({ memoryBytes: 2 * 65536 });
    const hog = seg.alloc(Uint8Array, seg.largestFree() - 1024);
    const row: Row = {
      name: "no room to stage",
      fns: ["dice", "bce", "bceDiceGrad"],
      make: () => ({ t: new Float32Array(10_000), p: new Float32Array(10_000).fill(0.5) }),
      code: "E_MEMORY",
      argument: "input",
      says: ["4096"],
    };
    for (const fn of row.fns) expectRowError(seg, row, fn);
    seg.free(hog);
    // with the memory back, the same call streams
    expect(seg.dice(new Float32Array(100_000), new Float32Array(100_000).fill(0.5))).toBeCloseTo(1 - 1 / 50_001, 6);
  });

  it("alloc larger than the memory is E_MEMORY", () => {
    const seg = builds[0].seg;
    let caught: unknown;
    try {
      seg.alloc(Float32Array, seg.memoryBytes);
    } catch (e) {
      caught = e;
    }
    expect(caught instanceof SegLossError && (caught as SegLossError).code === "E_MEMORY" && caught instanceof RangeError).toBe(true);
    expect((caught as Error).message).toMatch(/expected .*free bytes.*, got a request for \d+ bytes/);
  });

  it("create() with a bad memoryBytes rejects with E_OPTION_RANGE", async () => {
    for (const memoryBytes of [0, 1000, 65536.5, -65536, Number.NaN, 2 ** 40]) {
      let caught: unknown;
      try {
        await create({ memoryBytes });
      } catch (e) {
        caught = e;
      }
      expect(caught instanceof SegLossError, String(memoryBytes)).toBe(true);
      expect((caught as SegLossError).code).toBe("E_OPTION_RANGE");
      expect((caught as SegLossError).argument).toBe("memoryBytes");
    }
  });
});
