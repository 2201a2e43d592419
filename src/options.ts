// Options: validation, presets (SPEC §4b) and defaults, per loss. Kernels never
// see these objects; the loss modules read the resolved, flat records.
import { describe, fail } from "./errors";
import { isNumericArray, type NumericArray, type TensorLike } from "./tensor";

export type Reduction = "mean" | "sum" | "none";
export type EmptyTarget = "smooth" | "zero" | "max" | "skip";
export type Preset = "seed" | "keras3" | "tfkeras2";
/** Presets of the multi-class losses (SPEC §4b). */
export type MulticlassPreset = "seed" | "smp" | "monai" | "keras3";
export type EpsilonMode = "clamp" | "add";

/** Options every binary loss takes. */
export interface CommonOptions {
  /** 'binary' (default) here; 'multiclass' and 'multilabel' select the multi-class forms. */
  mode?: "binary";
  /** Shape of bare typed-array inputs (default: one image of data.length elements). */
  shape?: readonly number[];
  reduction?: Reduction;
  /** Predictions are logits: sigmoid inside, gradients w.r.t. the logits. */
  fromLogits?: boolean;
  preset?: Preset;
  /** Target value whose elements are left out of every sum and mean. */
  ignoreIndex?: number | null;
}

export interface BceOptions extends CommonOptions {
  /** Multiplies the positive (t) term: a number or a per-pixel tensor. */
  posWeight?: number | TensorLike;
  /** Per-pixel multiplier of the loss. */
  weight?: TensorLike | null;
  labelSmoothing?: number;
  epsilon?: number;
  epsilonMode?: EpsilonMode;
}

export interface RegionOptions extends CommonOptions {
  perImage?: boolean;
  aggregate?: "perImage" | "batch";
  smooth?: number;
  smoothNumerator?: number;
  smoothDenominator?: number;
  squared?: boolean;
  log?: boolean;
  softLabel?: boolean;
  emptyTarget?: EmptyTarget;
  epsilon?: number | null;
  epsilonMode?: EpsilonMode;
}

export interface TverskyOptions extends RegionOptions {
  /** Weight of false positives. */
  alpha?: number;
  /** Weight of false negatives. */
  beta?: number;
}

export interface FocalTverskyOptions extends TverskyOptions {
  gamma?: number;
}

export interface FocalOptions extends CommonOptions {
  variant?: "seed" | "standard";
  /** α; null drops the α_t factor of the standard form. */
  alpha?: number | null;
  gamma?: number;
  /** The clip ε of the standard form's BCE. */
  epsilon?: number;
}

export type BceDiceOptions = BceOptions & RegionOptions;

/**
 * Whether a call asks for the multi-class form (`mode: 'multiclass' | 'multilabel'`);
 * such calls go to the multi-class modules, which check their own option sets.
 */
export function isMulticlassCall(opts: unknown): boolean {
  if (opts === null || typeof opts !== "object" || !Object.hasOwn(opts, "mode")) return false;
  const mode = (opts as { mode?: unknown }).mode;
  return mode === "multiclass" || mode === "multilabel";
}

/** Options of the …Grad forms: `out` receives the gradient (it may live in WebAssembly memory, and may alias pred). */
export interface GradOptions {
  out?: Float32Array;
}
export type FocalDiceOptions = FocalOptions & RegionOptions & { focalWeight?: number };

/** Validates one option value (throws a SegLossError naming `name`) and returns it. */
export type Check = (v: unknown, name: string) => unknown;

const bool: Check = (v, name) => (typeof v === "boolean" ? v : fail("E_OPTION", name, "true or false", describe(v)));

function num(min: number, max = Number.POSITIVE_INFINITY, what?: string): Check {
  return (v, name) => {
    if (typeof v !== "number") return fail("E_OPTION", name, "a number", describe(v));
    if (!(v >= min && v <= max)) return fail("E_OPTION_RANGE", name, what ?? `a number in [${min}, ${max}]`, describe(v));
    return v;
  };
}

function oneOf(...values: string[]): Check {
  return (v, name) =>
    typeof v === "string" && values.includes(v)
      ? v
      : fail("E_OPTION", name, `one of ${values.map((x) => `'${x}'`).join(", ")}`, describe(v));
}

const orNull =
  (c: Check): Check =>
  (v, name) =>
    v === null ? null : c(v, name);

const finite: Check = (v, name) =>
  typeof v === "number" && Number.isFinite(v) ? v : fail("E_OPTION", name, "a finite number", describe(v));

const tensorOrNumber: Check = (v, name) =>
  typeof v === "number" ? num(0, Number.MAX_VALUE, "a finite number ≥ 0")(v, name) : tensor(v, name);

const tensor: Check = (v, name) => {
  if (isNumericArray(v) || (v !== null && typeof v === "object")) return v;
  return fail("E_OPTION", name, "a tensor (typed array, {data, shape}, …)", describe(v));
};

const float32: Check = (v, name) => (v instanceof Float32Array ? v : fail("E_OPTION", name, "a Float32Array", describe(v)));

/** A non-empty list (array or typed array) of numbers in [min, max], returned as a Float64Array. */
function numberList(min: number, max: number, what: string): Check {
  return (v, name) => {
    if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      return fail("E_OPTION", name, "an array of numbers", describe(v));
    }
    const a = Array.from(v as ArrayLike<unknown>);
    if (a.length === 0) return fail("E_OPTION_RANGE", name, "at least one threshold", "an empty list");
    for (const x of a) {
      if (typeof x !== "number") return fail("E_OPTION", name, "an array of numbers", `an element ${describe(x)}`);
      if (!(x >= min && x <= max)) return fail("E_OPTION_RANGE", name, what, `an element ${describe(x)}`);
    }
    return Float64Array.from(a as number[]);
  };
}

const shape: Check = (v, name) => (Array.isArray(v) ? v : fail("E_OPTION", name, "an array of positive integers", describe(v)));

const CHECKS: Record<string, Check> = {
  shape,
  reduction: oneOf("mean", "sum", "none"),
  fromLogits: bool,
  preset: oneOf("seed", "keras3", "tfkeras2"),
  ignoreIndex: orNull(finite),
  posWeight: tensorOrNumber,
  weight: orNull(tensor),
  labelSmoothing: num(0, 1),
  epsilon: orNull(num(0, 1)),
  epsilonMode: oneOf("clamp", "add"),
  perImage: bool,
  aggregate: oneOf("perImage", "batch"),
  smooth: num(0, Number.MAX_VALUE, "a finite number ≥ 0"),
  smoothNumerator: num(0, Number.MAX_VALUE, "a finite number ≥ 0"),
  smoothDenominator: num(0, Number.MAX_VALUE, "a finite number ≥ 0"),
  squared: bool,
  log: bool,
  softLabel: bool,
  emptyTarget: oneOf("smooth", "zero", "max", "skip"),
  alpha: orNull(num(0, 1)),
  beta: num(0, 1),
  gamma: num(0, 100, "a number in [0, 100]"),
  variant: oneOf("seed", "standard"),
  focalWeight: num(0, Number.MAX_VALUE, "a finite number ≥ 0"),
  out: float32,
  mode: oneOf("binary"),
};

/** Options only the …Grad forms take. */
export const GRAD_OPTIONS = ["out"];

const COMMON = ["shape", "reduction", "fromLogits", "preset", "ignoreIndex", "mode"];
const BCE = [...COMMON, "posWeight", "weight", "labelSmoothing", "epsilon", "epsilonMode"];
/** The region losses' own options (beside COMMON); diceCE passes them to its Dice part. */
export const REGION_OWN = [
  "perImage",
  "aggregate",
  "smooth",
  "smoothNumerator",
  "smoothDenominator",
  "squared",
  "log",
  "softLabel",
  "emptyTarget",
  "epsilon",
  "epsilonMode",
];
const REGION = [...COMMON, ...REGION_OWN];
const FOCAL = [...COMMON, "variant", "alpha", "gamma", "epsilon"];

export type PartName = "bce" | "dice" | "jaccard" | "tversky" | "focalTversky" | "focal";

const ALLOWED: Record<PartName, string[]> = {
  bce: BCE,
  dice: REGION,
  jaccard: REGION,
  tversky: [...REGION.filter((k) => k !== "squared"), "alpha", "beta"],
  focalTversky: [...REGION.filter((k) => k !== "squared" && k !== "log"), "alpha", "beta", "gamma"],
  focal: FOCAL,
};

/** The option checkers, for families that define their own option sets. */
export const checks = { bool, num, oneOf, orNull, finite, tensor, tensorOrNumber, float32, shape, numberList };

/**
 * Checks `raw` against a family's own option table (name → checker): unknown
 * names and bad values throw; returns the checked own fields (no prototype reads).
 */
export function checkOwnOptions(fn: string, raw: unknown, table: Record<string, Check>): Record<string, unknown> {
  const given = ownOptions(raw, fn);
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(table, key))
      fail("E_OPTION", `${fn} options`, `one of ${Object.keys(table).join(", ")}`, `unknown option ${describe(key)}`);
    out[key] = table[key](given[key], `opts.${key}`);
  }
  return out;
}

export const KERAS_EPSILON = Math.fround(1e-7);

/** Resolved options: every field present. */
export interface Resolved {
  shape?: readonly number[];
  reduction: Reduction;
  fromLogits: boolean;
  ignoreIndex: number | null;
  // bce / focal
  posWeight: number | TensorLike;
  weight: TensorLike | null;
  labelSmoothing: number;
  epsilon: number | null;
  epsilonMode: EpsilonMode;
  // region
  perImage: boolean;
  smoothNumerator: number;
  smoothDenominator: number;
  squared: boolean;
  log: boolean;
  softLabel: boolean;
  emptyTarget: EmptyTarget;
  alpha: number | null;
  beta: number;
  gamma: number;
  variant: "seed" | "standard";
}

function defaults(part: PartName, variant: "seed" | "standard"): Resolved {
  const base: Resolved = {
    reduction: "mean",
    fromLogits: false,
    ignoreIndex: null,
    posWeight: 1,
    weight: null,
    labelSmoothing: 0,
    epsilon: null,
    epsilonMode: "clamp",
    perImage: true,
    smoothNumerator: 1,
    smoothDenominator: 1,
    squared: false,
    log: false,
    softLabel: false,
    emptyTarget: "smooth",
    alpha: 0.5,
    beta: 0.5,
    gamma: 0.75,
    variant: "seed",
  };
  if (part === "bce") base.epsilon = KERAS_EPSILON;
  if (part === "focal") {
    base.variant = variant;
    base.epsilon = KERAS_EPSILON;
    if (variant === "seed") Object.assign(base, { reduction: "sum", gamma: 0.75, alpha: 0.25 });
    else Object.assign(base, { reduction: "mean", gamma: 2, alpha: 0.25 });
  }
  return base;
}

/** What each preset pins for one function (SPEC §4b, docs/binary-losses.md). */
function presetFields(preset: Preset, part: PartName): Partial<Resolved> & { smooth?: number } {
  if (preset === "keras3") {
    if (part === "focal") return { variant: "standard", gamma: 2, alpha: null };
    if (part !== "bce") return { perImage: false, smooth: 0, epsilon: 1e-7, epsilonMode: "add" };
  }
  if (preset === "tfkeras2" && part === "bce") return { epsilonMode: "add" };
  return {};
}

/** Own enumerable keys only: inherited or prototype-polluted fields are never read. */
export function ownOptions(raw: unknown, fn: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw) || isNumericArray(raw)) {
    return fail("E_OPTION", `${fn} options`, "an options object", describe(raw));
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(raw)) {
    const v = (raw as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Validates `raw` against the options `fn` accepts (the union over its parts) and returns the checked own fields. */
export function checkOptions(fn: string, raw: unknown, parts: PartName[], extra: string[] = []): Record<string, unknown> {
  const given = ownOptions(raw, fn);
  const allowed = new Set([...parts.flatMap((p) => ALLOWED[p]), ...extra]);
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(given)) {
    if (!allowed.has(key)) {
      fail("E_OPTION", `${fn} options`, `one of ${[...allowed].join(", ")}`, `unknown option ${describe(key)}`);
    }
    out[key] = CHECKS[key](given[key], `opts.${key}`);
  }
  if (out.smooth !== undefined && (out.smoothNumerator !== undefined || out.smoothDenominator !== undefined)) {
    fail("E_OPTION", "opts.smooth", "either smooth or smoothNumerator/smoothDenominator", "both");
  }
  if (out.perImage !== undefined && out.aggregate !== undefined && out.perImage !== (out.aggregate === "perImage")) {
    fail("E_OPTION", "opts.aggregate", `a value agreeing with perImage: ${out.perImage}`, describe(out.aggregate));
  }
  return out;
}

/** Defaults ← preset ← explicit options, for one part of a (possibly combined) loss. */
export function resolve(part: PartName, checked: Record<string, unknown>): Resolved {
  const preset = (checked.preset as Preset | undefined) ?? "seed";
  const fromPreset = presetFields(preset, part);
  const variant = (checked.variant ?? fromPreset.variant ?? "seed") as "seed" | "standard";
  const r = defaults(part, variant);
  const apply = (o: Record<string, unknown>) => {
    for (const key of Object.keys(o)) {
      if (!ALLOWED[part].includes(key) && key !== "smooth" && key !== "variant") continue;
      const v = o[key];
      if (key === "smooth") {
        r.smoothNumerator = v as number;
        r.smoothDenominator = v as number;
      } else if (key === "aggregate") {
        r.perImage = v === "perImage";
      } else if (key !== "preset") {
        (r as unknown as Record<string, unknown>)[key] = v;
      }
    }
  };
  apply(fromPreset);
  apply(checked);
  if (part === "bce" || part === "focal") {
    if (r.epsilon === null) r.epsilon = KERAS_EPSILON;
    if (r.epsilon >= 0.5) fail("E_OPTION_RANGE", "opts.epsilon", "a number in [0, 0.5) for the probability clip", describe(r.epsilon));
  }
  return r;
}

/** The per-pixel tensor form of posWeight, or null for a scalar. */
export function posWeightTensor(r: Resolved): TensorLike | null {
  return typeof r.posWeight === "number" ? null : r.posWeight;
}

export type { NumericArray };
