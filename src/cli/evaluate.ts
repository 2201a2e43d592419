// One pair: read both files, check they fit together, run every chosen row of
// the registry on it. A bad pair becomes a failure record naming the file; it
// never stops the run.
import type { Segloss } from "../index";
import { type Prediction, readPrediction, readTarget, type Target } from "./decode";
import { CliError } from "./errors";
import { rowOf, rowOptions } from "./registry";
import type { Settings } from "./settings";

/** A pair to evaluate: the stem both files share and their paths. */
export interface PairTask {
  /** Position in the sorted pair list (the deterministic order). */
  index: number;
  name: string;
  target: string;
  pred: string;
}

export interface PairRecord {
  index: number;
  name: string;
  target: string;
  pred: string;
  /** Per metric: the image's value (NaN when it has none, e.g. IoU of an empty pair). */
  values: Record<string, number>;
  /** Per metric: integer counts to add up over images. */
  counts: Record<string, Record<string, number[]>>;
}

export interface PairFailure {
  index: number;
  name: string;
  file: string;
  message: string;
}

export type PairResult = { ok: true; record: PairRecord } | { ok: false; failure: PairFailure };

export async function evaluatePair(seg: Segloss, settings: Settings, task: PairTask): Promise<PairResult> {
  try {
    const target = await readTarget(task.target, settings);
    const pred = await readPrediction(task.pred, settings);
    checkSizes(task, target, pred);
    return { ok: true, record: runMetrics(seg, settings, task, target, pred) };
  } catch (err) {
    return { ok: false, failure: describeFailure(task, err) };
  }
}

function checkSizes(task: PairTask, t: Target, p: Prediction): void {
  if (t.height !== p.height || t.width !== p.width) {
    throw new CliError(task.pred, `size ${p.width}×${p.height} does not match the target ${task.target} (${t.width}×${t.height})`);
  }
}

function runMetrics(seg: Segloss, settings: Settings, task: PairTask, target: Target, pred: Prediction): PairRecord {
  const held: ArrayBufferView[] = [];
  try {
    return runRows(seg, settings, task, stageTarget(seg, target, held), stagePrediction(seg, pred, held));
  } finally {
    for (const v of held) seg.free(v);
  }
}

/**
 * Copies an array into the instance's WebAssembly memory once, so that every
 * metric reads it in place instead of copying it again; keeps the array as it
 * is when it would take more than 1/8 of the memory (the metrics' own scratch
 * space comes first; the library streams large inputs) or memory is short.
 */
function stage<T extends Uint8Array | Int32Array | Float32Array>(
  seg: Segloss,
  a: T | Float64Array,
  type: (new (n: number) => T) & { BYTES_PER_ELEMENT: number },
  held: ArrayBufferView[],
): T | Float64Array {
  if (a.length * type.BYTES_PER_ELEMENT > seg.memoryBytes / 8) return a;
  let view: T;
  try {
    view = seg.alloc(type as never, a.length) as T;
  } catch {
    return a;
  }
  held.push(view);
  view.set(a);
  return view;
}

function stageTarget(seg: Segloss, t: Target, held: ArrayBufferView[]): Target {
  return { ...t, labels: stage(seg, t.labels, t.labels instanceof Uint8Array ? Uint8Array : Int32Array, held) as Target["labels"] };
}

function stagePrediction(seg: Segloss, p: Prediction, held: ArrayBufferView[]): Prediction {
  if (p.kind === "labels")
    return { ...p, labels: stage(seg, p.labels, p.labels instanceof Uint8Array ? Uint8Array : Int32Array, held) as Target["labels"] };
  // float64 scores are read as float32 by the library anyway
  return { ...p, data: stage(seg, p.data, Float32Array, held) };
}

function runRows(seg: Segloss, settings: Settings, task: PairTask, target: Target, pred: Prediction): PairRecord {
  const record: PairRecord = { index: task.index, name: task.name, target: task.target, pred: task.pred, values: {}, counts: {} };
  const x = { seg, target, pred, settings, parts: new Map<string, number>() };
  for (const name of settings.metrics) {
    const row = rowOf(name)!;
    if (settings.mode === "multiclass" && row.needsScores && pred.kind === "labels") {
      record.values[name] = Number.NaN;
      continue;
    }
    const c = row[settings.mode]!(x, rowOptions(row, settings));
    record.values[name] = c.value;
    if (c.counts) record.counts[name] = c.counts;
  }
  return record;
}

/** Names the file a library error is about: its `argument` says target or prediction. */
function describeFailure(task: PairTask, err: unknown): PairFailure {
  const base = { index: task.index, name: task.name };
  if (err instanceof CliError) return { ...base, file: err.file, message: err.message };
  const e = err as Error & { argument?: string };
  const arg = e.argument ?? "";
  const file = arg.startsWith("target") ? task.target : arg.startsWith("pred") ? task.pred : `${task.target} | ${task.pred}`;
  const memory = (e as { code?: string }).code === "E_MEMORY" ? " (give the instances more memory: --memory MiB)" : "";
  const reason = (e.message ?? String(err)).replace(/^segloss: /, "") + memory;
  return { ...base, file, message: `${file}: ${reason}` };
}
