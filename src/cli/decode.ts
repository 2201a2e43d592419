// Files → the arrays segloss takes, by the rules of docs/cli.md: binary masks
// (0/1, or 0 and the bit depth's maximum) become 0/1 labels, grey prediction
// images become probabilities (value / maximum), palette indices are labels,
// .npy arrays are read as they are.
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { CliError } from "./errors";
import { type NpyArray, parseNpy } from "./npy";
import { decodePng } from "./png";
import type { Settings } from "./settings";

export type Labels = Uint8Array | Int32Array;

/** A ground-truth label map of one image. */
export interface Target {
  labels: Labels;
  height: number;
  width: number;
}

/** A prediction of one image: probabilities (or logits), or a label map. */
export type Prediction =
  | {
      kind: "scores";
      data: Float32Array | Float64Array;
      height: number;
      width: number;
      channels: number;
      layout: "chw" | "hwc";
      /** For images: the grey levels the scores came from (value / maxValue), so per-level work can use a table. */
      levels?: { values: Uint8Array | Uint16Array; maxValue: number };
    }
  | { kind: "labels"; labels: Labels; height: number; width: number };

/** One decoded file: integer raster (PNG, integer .npy) or float array (.npy). */
interface Raw {
  values: ArrayLike<number>;
  /** Spatial size, and the extra axis of a 3-D .npy (1 for 2-D). */
  height: number;
  width: number;
  channels: number;
  integer: boolean;
  /** Largest value of the bit depth (PNG, unsigned integer .npy), or 0 for floats / signed. */
  maxValue: number;
  palette: boolean;
}

export const SUPPORTED_EXTENSIONS = [".png", ".npy"];

async function readRaw(file: string, settings: Settings): Promise<Raw> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CliError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === ".png") {
    const r = decodePng(bytes, file);
    return {
      values: r.data,
      height: r.height,
      width: r.width,
      channels: 1,
      integer: true,
      maxValue: r.maxValue,
      palette: r.kind === "palette",
    };
  }
  return fromNpy(parseNpy(bytes, file), file, settings);
}

const NPY_MAX: Record<string, number> = { u1: 255, b1: 1, u2: 65535 };

function fromNpy(a: NpyArray, file: string, settings: Settings): Raw {
  const kind = a.dtype.slice(1);
  const integer = kind[0] !== "f";
  const base = { values: a.data, integer, maxValue: NPY_MAX[kind] ?? 0, palette: false };
  const s = a.shape;
  if (s.length === 2) return { ...base, height: s[0], width: s[1], channels: 1 };
  if (s.length === 3) {
    // a binary image may come as [1,H,W] or [H,W,1] whatever --layout says
    const hwc = settings.mode === "binary" && (s[0] === 1) !== (s[2] === 1) ? s[2] === 1 : settings.layout === "hwc";
    return { ...base, height: hwc ? s[0] : s[1], width: hwc ? s[1] : s[2], channels: hwc ? s[2] : s[0] };
  }
  throw new CliError(file, `expected a 2-D [H,W] or 3-D [C,H,W] / [H,W,C] array, got shape [${s.join(", ")}]`);
}

/** Reads a ground-truth file into labels: binary masks map to 0/1, label maps must lie in [0, C). */
export async function readTarget(file: string, settings: Settings): Promise<Target> {
  const raw = await readRaw(file, settings);
  if (raw.channels !== 1) {
    throw new CliError(file, `expected a label map [H,W] as target, got ${raw.channels} channels (one-hot targets: save the argmax)`);
  }
  return { labels: toLabels(raw, file, settings, "target"), height: raw.height, width: raw.width };
}

/** Reads a prediction file: probability images and float arrays are scores, palette images and label maps are labels. */
export async function readPrediction(file: string, settings: Settings): Promise<Prediction> {
  const raw = await readRaw(file, settings);
  const { height, width } = raw;
  if (settings.mode === "binary") {
    if (raw.channels !== 1) throw new CliError(file, `expected one channel for a binary prediction, got ${raw.channels}`);
    if (!raw.integer) return { kind: "scores", data: asFloat(raw.values), height, width, channels: 1, layout: "chw" };
    if (settings.fromLogits) throw new CliError(file, "--from-logits needs float .npy predictions (images hold probabilities)");
    const { data, scaled } = binaryScores(raw, file, settings);
    const v = raw.values;
    const levels = scaled && (v instanceof Uint8Array || v instanceof Uint16Array) ? { values: v, maxValue: raw.maxValue } : undefined;
    return { kind: "scores", data, height, width, channels: 1, layout: "chw", levels };
  }
  if (raw.channels > 1) {
    if (raw.channels !== settings.classes) {
      throw new CliError(
        file,
        `expected ${settings.classes} class channels (--classes), got ${raw.channels} (shape order: --layout ${settings.layout})`,
      );
    }
    return { kind: "scores", data: asFloat(raw.values), height, width, channels: raw.channels, layout: settings.layout };
  }
  if (!raw.integer) {
    throw new CliError(
      file,
      `expected [${settings.classes},H,W] class scores or an integer label map for a multi-class prediction, got a float [H,W] array`,
    );
  }
  return { kind: "labels", labels: toLabels(raw, file, settings, "prediction"), height, width };
}

function asFloat(values: ArrayLike<number>): Float32Array | Float64Array {
  return values instanceof Float64Array ? values : values instanceof Float32Array ? values : Float32Array.from(values);
}

/** The probability a grey level stands for, as stored (float32). */
export const levelToProbability = (value: number, maxValue: number) => Math.fround(value * (1 / maxValue));

/** Grey levels: 8/16-bit rasters, read through per-level tables (one pass, no per-pixel branches). */
type Levels = Uint8Array | Uint16Array;
const isLevels = (v: ArrayLike<number>): v is Levels => v instanceof Uint8Array || v instanceof Uint16Array;

/** Which levels occur in a raster. */
function levelsSeen(v: Levels): Uint8Array {
  const seen = new Uint8Array(v instanceof Uint8Array ? 256 : 65536);
  for (let i = 0; i < v.length; i++) seen[v[i]] = 1;
  return seen;
}

function range(v: ArrayLike<number>): { min: number; max: number } {
  if (isLevels(v)) {
    const seen = levelsSeen(v);
    const max = seen.lastIndexOf(1);
    return { min: seen.indexOf(1), max };
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x > max) max = x;
    if (x < min) min = x;
  }
  return { min, max };
}

/** out[i] = table[v[i]] for rasters, f(v[i]) otherwise. */
function mapValues<T extends Float32Array | Uint8Array | Int32Array>(v: ArrayLike<number>, out: T, f: (x: number) => number): T {
  if (isLevels(v)) {
    const table = Float64Array.from({ length: v instanceof Uint8Array ? 256 : 65536 }, (_, x) => f(x));
    for (let i = 0; i < v.length; i++) out[i] = table[v[i]];
  } else {
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]);
  }
  return out;
}

/** Integer images as binary predictions: 0/1 label maps stay 0/1, anything else is value / maximum. */
function binaryScores(raw: Raw, file: string, settings: Settings): { data: Float32Array; scaled: boolean } {
  const v = raw.values;
  const { min, max } = range(v);
  const out = new Float32Array(v.length);
  if (min >= 0 && max <= 1) return { data: mapValues(v, out, (x) => x), scaled: false };
  if (raw.palette || raw.maxValue === 0 || min < 0) {
    const what = raw.palette ? "a palette prediction" : "an integer prediction";
    throw new CliError(file, `${what} must hold labels 0/1 in a binary run, found values in [${min}, ${max}]${hintClasses(settings)}`);
  }
  return { data: mapValues(v, out, (x) => levelToProbability(x, raw.maxValue)), scaled: true };
}

function hintClasses(settings: Settings): string {
  return settings.mode === "binary" ? " (pass --classes C for multi-class label maps)" : "";
}

/** What `label` gives for a value that is no label (NaN: never a label, and tables hold float64). */
const BAD = Number.NaN;
const isBad = (y: number) => Number.isNaN(y);

/**
 * Label maps: in a binary run 0/1 masks, or masks of 0 and the bit depth's
 * maximum (0/255, 0/65535) mapped to 0/1; in a multi-class run labels in
 * [0, C). The --ignore-index value is kept as it is, in both.
 */
function toLabels(raw: Raw, file: string, settings: Settings, role: "target" | "prediction"): Labels {
  const v = raw.values;
  const ign = settings.ignoreIndex;
  const C = settings.classes;
  const binary = settings.mode === "binary";
  // the bit depth's maximum means foreground, unless it is the ignore value
  const top = binary && !raw.palette && raw.maxValue > 1 && raw.maxValue !== ign ? raw.maxValue : -1;
  const label = (x: number) => (x === ign || (x >= 0 && x < C && Number.isInteger(x)) ? x : x === top ? 1 : BAD);
  // the ignore value may be negative or large: then labels need int32
  const fits = C <= 256 && (ign === null || (ign >= 0 && ign <= 255));
  const out = mapValues(v, fits ? new Uint8Array(v.length) : new Int32Array(v.length), label);
  const { bad, sawOne, sawTop } = isLevels(v) ? checkLevels(v, label, top) : checkValues(v, label, top);
  if (bad >= 0) {
    const x = v[bad];
    const at = `at pixel (x ${bad % raw.width}, y ${Math.floor(bad / raw.width)})`;
    const allowed = binary ? `0/1${top > 1 ? ` or 0/${top}` : ""}` : `labels in [0, ${C})`;
    const extra = ign === null ? "" : ` or the --ignore-index ${ign}`;
    throw new CliError(file, `${role} label ${x} out of range ${at}: expected ${allowed}${extra}${hintClasses(settings)}`);
  }
  if (sawOne && sawTop) throw new CliError(file, `${role} mixes 1 and ${top}: expected a 0/1 or a 0/${top} mask`);
  return out;
}

interface LabelCheck {
  /** First pixel whose value is no label (−1: none). */
  bad: number;
  sawOne: boolean;
  sawTop: boolean;
}

function checkLevels(v: Levels, label: (x: number) => number, top: number): LabelCheck {
  const seen = levelsSeen(v);
  let badLevel = -1;
  for (let x = 0; x < seen.length && badLevel < 0; x++) if (seen[x] && isBad(label(x))) badLevel = x;
  const bad = badLevel < 0 ? -1 : v.indexOf(badLevel);
  return { bad, sawOne: seen[1] === 1, sawTop: top > 1 && seen[top] === 1 };
}

function checkValues(v: ArrayLike<number>, label: (x: number) => number, top: number): LabelCheck {
  let bad = -1;
  let sawOne = false;
  let sawTop = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x === 1) sawOne = true;
    else if (x === top) sawTop = true;
    if (bad < 0 && isBad(label(x))) bad = i;
  }
  return { bad, sawOne, sawTop };
}
