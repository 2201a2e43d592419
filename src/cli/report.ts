// The output document (JSON is its plain form; table and CSV are views of the
// same numbers) and the three formatters.
import type { PairFailure, PairRecord } from "./evaluate";
import type { Discovery } from "./files";
import { rowOf } from "./registry";
import type { Settings } from "./settings";
import { OBJECT_THRESHOLDS, type Summary } from "./summaries";
import type { TotalsState } from "./totals";

export const FORMAT_VERSION = 1;

export interface ImageRow {
  index: number;
  name: string;
  target: string;
  pred: string;
  /** Metric values; null where the image has none (NaN). */
  values: Record<string, number | null>;
}

export interface EvalReport {
  tool: "segloss eval";
  formatVersion: number;
  settings: Settings;
  /** The folders as given on the command line (of the first shard, after a merge). */
  folders: { target: string; pred: string };
  /** Which shards this report covers (null: the whole dataset). */
  shards: { count: number; indices: number[] } | null;
  pairs: { total: number; evaluated: number; failed: number };
  unmatched: Discovery["unmatched"];
  ambiguous: Discovery["ambiguous"];
  summary: Record<string, Summary>;
  /** With --per-image. */
  images?: ImageRow[];
  errors: PairFailure[];
  /** What `segloss merge` adds up exactly: exact sums and counts per metric. */
  state: TotalsState;
}

export function imageRow(r: PairRecord): ImageRow {
  const values: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(r.values)) values[k] = Number.isNaN(v) ? null : v;
  return { index: r.index, name: r.name, target: r.target, pred: r.pred, values };
}

// ------------------------------------------------------------------ JSON

export function toJson(report: EvalReport): string {
  return `${JSON.stringify(report, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`;
}

// ------------------------------------------------------------------ CSV

/** Long form, one number per line: scope,name,metric,key,value. */
export function toCsv(report: EvalReport): string {
  const lines = ["scope,name,metric,key,value"];
  const row = (...cells: (string | number | null | undefined)[]) => lines.push(cells.map(csvCell).join(","));
  for (const img of report.images ?? []) {
    for (const [m, v] of Object.entries(img.values)) row("image", img.name, m, "", v);
  }
  for (const [m, s] of Object.entries(report.summary)) {
    for (const [k, v] of Object.entries(s)) {
      const metric = k === "mean" ? m : `${m}.${k}`;
      if (k === "thresholds") continue;
      if (!Array.isArray(v)) row("dataset", "", metric, "", v);
      else for (const [i, x] of v.entries()) row("dataset", "", metric, m === "objectMetrics" ? OBJECT_THRESHOLDS[i] : i, x);
    }
  }
  for (const e of report.errors) row("error", e.name, "message", e.file, e.message);
  return `${lines.join("\n")}\n`;
}

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ------------------------------------------------------------------ table

const fix = (v: number | null | undefined, digits = 4) => (v === null || v === undefined || Number.isNaN(v) ? "—" : v.toFixed(digits));

/** Columns right-aligned (numbers) except those in `left` (default: the first). */
function table(header: string[], rows: string[][], left: readonly number[] = [0]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

/** `engine`: which build ran ('WebAssembly SIMD', 'scalar WebAssembly'), or where the report came from. */
export function toTable(report: EvalReport, engine: string): string {
  const s = report.settings;
  const out: string[] = [];
  const kind = s.mode === "binary" ? `binary, threshold ${s.threshold}` : `${s.classes} classes`;
  const shard = report.shards ? `, shard ${report.shards.indices.join("+")}/${report.shards.count}` : "";
  out.push(`segloss eval: ${report.pairs.evaluated} pairs (${kind}${shard}), ${report.pairs.failed} failed — ${engine}`);
  out.push(`  target ${report.folders.target}`, `  pred   ${report.folders.pred}`);
  if (s.ignoreIndex !== null || s.fromLogits || s.preset) {
    out.push(
      `  options: ${[s.ignoreIndex !== null ? `ignore-index ${s.ignoreIndex}` : "", s.fromLogits ? "from-logits" : "", s.preset ? `preset ${s.preset}` : ""].filter(Boolean).join(", ")}`,
    );
  }
  if (report.images?.length) {
    out.push("", "per image");
    const rows = report.images.map((img) => [img.name, ...s.metrics.map((m) => fix(img.values[m]))]);
    out.push(...table(["image", ...s.metrics], rows));
  }
  out.push("", "dataset (mean over images)");
  // multi-class losses need class scores: with label-map predictions they have no value
  const unscored = s.metrics.filter((m) => report.pairs.evaluated > 0 && report.summary[m].images === 0 && rowOf(m)!.needsScores);
  const rows = s.metrics
    .filter((m) => !unscored.includes(m))
    .map((m) => {
      const row = rowOf(m)!;
      const sm = report.summary[m];
      return [m, fix(sm.mean as number | null), String(sm.images), row.kind === "loss" ? "loss ↓" : "score ↑", row.brief];
    });
  out.push(...table(["metric", "mean", "images", "", "what"], rows, [0, 3, 4]));
  if (unscored.length) out.push(`not computed (they need class scores, the predictions are label maps): ${unscored.join(", ")}`);
  const iou = report.summary.iou;
  if (iou?.iou) {
    out.push("", "per class (one confusion matrix over all pixels)");
    const C = (iou.iou as number[]).length;
    const cls = Array.from({ length: C }, (_, c) => [
      String(c),
      fix((iou.iou as number[])[c]),
      fix((iou.dice as number[])[c]),
      fix((iou.precision as number[])[c]),
      fix((iou.recall as number[])[c]),
      String((iou.pixels as number[])[c]),
    ]);
    out.push(...table(["class", "IoU", "Dice", "precision", "recall", "pixels"], cls));
    out.push(
      `mean IoU ${fix(iou.meanIoU as number)} · mean Dice ${fix(iou.meanDice as number)} · pixel accuracy ${fix(iou.accuracy as number)} · frequency-weighted IoU ${fix(iou.frequencyWeightedIoU as number)}`,
    );
  }
  const miou = report.summary.meanIoU;
  if (miou && miou.batch !== undefined)
    out.push("", `meanIoU of the whole dataset as one batch (seed metric): ${fix(miou.batch as number | null)}`);
  const obj = report.summary.objectMetrics;
  if (obj?.tp) {
    out.push("", `objects (score = mean over images of TP/(TP+FP+FN) averaged over IoU thresholds: ${fix(obj.mean as number | null)})`);
    const th = obj.thresholds as number[];
    const line = (name: string, v: number[], d?: number) => [name, ...v.map((x) => (d === undefined ? String(x) : fix(x, d)))];
    out.push(
      ...table(
        ["IoU >", ...th.map((t) => t.toFixed(2))],
        [
          line("TP", obj.tp as number[]),
          line("FP", obj.fp as number[]),
          line("FN", obj.fn as number[]),
          line("precision", obj.precision as number[], 3),
          line("F1", obj.f1 as number[], 3),
          line("F2", obj.f2 as number[], 3),
        ],
      ),
    );
  }
  const u = report.unmatched;
  if (u.target.length || u.pred.length || report.ambiguous.length) {
    out.push("", `unmatched: ${u.target.length} target file(s) without a prediction, ${u.pred.length} prediction(s) without a target`);
    for (const f of u.target.slice(0, 10)) out.push(`  no prediction for ${f}`);
    for (const f of u.pred.slice(0, 10)) out.push(`  no target for ${f}`);
    for (const a of report.ambiguous.slice(0, 10)) out.push(`  ambiguous stem ${a.name}: ${a.files.join(", ")}`);
  }
  if (report.errors.length) {
    out.push("", `failed pairs: ${report.errors.length}`);
    for (const e of report.errors) out.push(`  ${e.message}`);
  }
  return `${out.join("\n")}\n`;
}
