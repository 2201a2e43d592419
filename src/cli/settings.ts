// What one evaluation run needs to know, as plain data (it is posted to the
// worker threads and written into the JSON output, so shards can be checked
// for compatibility before they are merged).
import { UsageError } from "./errors";
import { METRIC_NAMES, REGISTRY, rowOf, unavailable } from "./registry";

export type Mode = "binary" | "multiclass";
/** Axis order of 3-D .npy predictions: [C,H,W] ('chw') or [H,W,C] ('hwc'). */
export type Layout = "chw" | "hwc";

export interface Settings {
  mode: Mode;
  /** C: 2 for binary runs. */
  classes: number;
  ignoreIndex: number | null;
  /** Binary: foreground when p > threshold (confusion matrix, object metrics). */
  threshold: number;
  fromLogits: boolean;
  layout: Layout;
  preset: string | null;
  /** Registry names, in registry order. */
  metrics: string[];
}

/** The command-line values settings are made from (commander's parsed options). */
export interface SettingsInput {
  classes?: string;
  ignoreIndex?: string;
  threshold?: string;
  fromLogits?: boolean;
  layout?: string;
  preset?: string;
  metrics?: string;
}

const PRESETS = [...new Set(REGISTRY.flatMap((r) => [...(r.presets.binary ?? []), ...(r.presets.multiclass ?? [])]))];

/** Checks the options and resolves the metric list; a UsageError says what is wrong. */
export function buildSettings(o: SettingsInput): Settings {
  const classes = o.classes === undefined ? 2 : integer(o.classes, "--classes", 2, 65536);
  const mode: Mode = o.classes === undefined ? "binary" : "multiclass";
  const ignoreIndex = o.ignoreIndex === undefined ? null : integer(o.ignoreIndex, "--ignore-index", -(2 ** 31), 2 ** 31 - 1);
  if (ignoreIndex !== null && ignoreIndex >= 0 && ignoreIndex < classes) {
    throw new UsageError(
      `--ignore-index ${ignoreIndex} is a class label (labels are 0…${classes - 1}); pick a value outside [0, ${classes})`,
    );
  }
  const threshold = o.threshold === undefined ? 0.5 : number(o.threshold, "--threshold");
  if (!(threshold > 0 && threshold < 1)) throw new UsageError(`--threshold: expected a number in (0, 1), got ${o.threshold}`);
  const layout = (o.layout ?? "chw").toLowerCase();
  if (layout !== "chw" && layout !== "hwc") throw new UsageError(`--layout: expected chw or hwc, got "${o.layout}"`);
  const preset = o.preset ?? null;
  if (preset !== null && !PRESETS.includes(preset))
    throw new UsageError(`--preset: unknown preset "${preset}" (one of ${PRESETS.join(", ")})`);
  const base = { mode, classes, ignoreIndex, threshold, fromLogits: !!o.fromLogits, layout: layout as Layout, preset, metrics: [] };
  return { ...base, metrics: resolveMetrics(o.metrics, base) };
}

function resolveMetrics(list: string | undefined, s: Settings): string[] {
  if (list === undefined || list.trim() === "all") return METRIC_NAMES.filter((n) => unavailable(rowOf(n)!, s) === null);
  const names = list
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError("--metrics: expected a comma-separated list of metric names");
  for (const n of names) {
    const row = rowOf(n);
    if (!row) throw new UsageError(`--metrics: unknown metric "${n}" (available: ${METRIC_NAMES.join(", ")})`);
    const why = unavailable(row, s);
    if (why) throw new UsageError(`--metrics: ${n} ${why}`);
  }
  // registry order, each once
  return METRIC_NAMES.filter((n) => names.includes(n));
}

function number(text: string, option: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v)) throw new UsageError(`${option}: expected a number, got "${text}"`);
  return v;
}

function integer(text: string, option: string, min: number, max: number): number {
  const v = number(text, option);
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`${option}: expected an integer in [${min}, ${max}], got "${text}"`);
  return v;
}
