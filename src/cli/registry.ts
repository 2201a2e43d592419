// The metric registry: one row per name a user can put in --metrics, saying
// how to compute it on one binary pair and on one multi-class pair, which of
// the run's options it takes, and what dataset-level numbers its summed
// counts give. A new library function is one new row here.
import type { ConfusionMatrix, Segloss } from "../index";
import type { Prediction, Target } from "./decode";
import { logits } from "./logits";
import type { Settings } from "./settings";
import { confusionSummary, objectSummary, type Summary, thresholdedIoU } from "./summaries";

/** One pair, decoded and checked (same H×W). */
export interface PairInput {
  seg: Segloss;
  target: Target;
  pred: Prediction;
  settings: Settings;
  /** Values of library calls already made on this pair (see `part`). */
  parts: Map<string, number>;
}

/** A row's per-image value, and integer counts that add up exactly over images. */
export interface Contribution {
  value: number;
  counts?: Record<string, number[]>;
}

type Options = Record<string, unknown>;
type Compute = (x: PairInput, opts: Options) => Contribution;

export interface MetricRow {
  name: string;
  /** 'loss': lower is better; 'score': higher is better. */
  kind: "loss" | "score";
  /** What the per-image value is, for --help and docs. */
  about: string;
  /** The same in a few words, for the table. */
  brief: string;
  binary?: Compute;
  multiclass?: Compute;
  /** Multi-class: needs class scores ([C,H,W] .npy), not a predicted label map. */
  needsScores?: boolean;
  /** Takes --ignore-index (rows that do not are left out of the default set when it is given). */
  ignoreIndex: boolean;
  /** Takes --from-logits. */
  fromLogits: boolean;
  /** Per mode, the --preset names it accepts (others leave it at its defaults). */
  presets: { binary?: readonly string[]; multiclass?: readonly string[] };
  /** Dataset-level numbers from the counts summed over every image. */
  summarize?: (counts: Record<string, number[]>, settings: Settings) => Summary;
}

const BINARY_PRESETS = ["seed", "keras3", "tfkeras2"];
const MULTICLASS_PRESETS = ["seed", "keras3", "smp", "monai"];

/** Binary scores of a pair (a binary prediction is always scores after decoding). */
const scores = (x: PairInput) => (x.pred as Extract<Prediction, { kind: "scores" }>).data;
const shape = (x: PairInput) => [1, x.target.height, x.target.width];

/** A library function called by name (the multi-class forms take `mode` and tensors). */
type LibraryCall = (target: unknown, pred: unknown, opts: Options) => unknown;
const call = (x: PairInput, name: string) => (x.seg as unknown as Record<string, LibraryCall>)[name];

/** A binary loss of the library: seg[name](target, pred, opts) on one image. */
const binaryCall =
  (name: string, extra: Options = {}): Compute =>
  (x, o) => ({ value: call(x, name)(x.target.labels, scores(x), { ...extra, ...o, shape: shape(x) }) as number });

/** A multi-class loss of the library on one image: labels [1,H,W] against class scores [1,C,H,W] or [1,H,W,C]. */
const multiclassCall =
  (name: string, extra: Options = { mode: "multiclass" }): Compute =>
  (x, o) => {
    const { target, pred, layout } = multiclassTensors(x);
    return { value: call(x, name)(target, pred, { ...extra, ...o, layout }) as number };
  };

/** A binary loss's value on this pair, computed once per pair and options (composite rows share their parts). */
function part(x: PairInput, name: string, o: Options): number {
  const key = `${name} ${JSON.stringify(o)}`;
  let v = x.parts.get(key);
  if (v === undefined) {
    v = binaryCall(name, o)(x, {}).value;
    x.parts.set(key, v);
  }
  return v;
}

/** A loss row: its binary form, and its multi-class form when the library has one. */
function loss(name: string, about: string, extra: Partial<MetricRow> & { hasMulticlass?: boolean } = {}): MetricRow {
  const { hasMulticlass, ...rest } = extra;
  return {
    name,
    kind: name === "diceCoefficient" ? "score" : "loss",
    about,
    brief: about,
    binary: binaryCall(name),
    ...(hasMulticlass ? { multiclass: multiclassCall(name), needsScores: true } : {}),
    ignoreIndex: true,
    fromLogits: true,
    presets: { binary: BINARY_PRESETS, multiclass: hasMulticlass ? MULTICLASS_PRESETS : [] },
    ...rest,
  };
}

export const REGISTRY: readonly MetricRow[] = [
  {
    name: "iou",
    kind: "score",
    about:
      "confusion matrix: per-image foreground IoU (binary) or mean IoU over present classes; dataset per-class IoU/Dice/precision/recall",
    brief: "IoU from the confusion matrix (binary: foreground; multi-class: mean over classes present)",
    binary: (x, o) => {
      const m = x.seg.confusionMatrix(x.target.labels, scores(x), { ...o, shape: shape(x), threshold: confusionThreshold(x.settings) });
      return confusion(m, true);
    },
    multiclass: (x, o) => confusion(multiclassConfusion(x, o), false),
    ignoreIndex: true,
    // with --from-logits the binary threshold moves to the logit scale; argmax needs nothing
    fromLogits: false,
    presets: {},
    summarize: (c) => confusionSummary(c.confusion),
  },
  loss("bce", "binary cross-entropy, mean over pixels", { binary: (x, o) => ({ value: part(x, "bce", o) }) }),
  {
    name: "crossEntropy",
    kind: "loss",
    about: "softmax cross-entropy, mean over pixels",
    brief: "cross-entropy, mean over pixels",
    multiclass: multiclassCall("crossEntropy", {}),
    needsScores: true,
    ignoreIndex: true,
    fromLogits: true,
    presets: { multiclass: MULTICLASS_PRESETS },
  },
  loss("dice", "1 − Dice (multi-class: mean over classes)", { hasMulticlass: true, binary: (x, o) => ({ value: part(x, "dice", o) }) }),
  loss("diceCoefficient", "soft Dice coefficient", { hasMulticlass: true }),
  loss("jaccard", "1 − soft Jaccard", { hasMulticlass: true }),
  loss("tversky", "1 − Tversky (α = β = 0.5)", { hasMulticlass: true }),
  loss("focalTversky", "(1 − Tversky)^0.75", { hasMulticlass: true }),
  {
    ...loss("generalizedDice", "1 − generalized Dice (Sudre et al., weights 1/(Σt)²)"),
    binary: binaryCall("generalizedDice", { mode: "binary" }),
    multiclass: multiclassCall("generalizedDice", {}),
    needsScores: true,
    presets: { binary: ["seed", "monai"], multiclass: ["seed", "monai"] },
  },
  loss("focal", "focal loss (binary: the seed's sum over pixels; multi-class: softmax, mean over pixels)", {
    hasMulticlass: true,
    binary: (x, o) => ({ value: part(x, "focal", o) }),
  }),
  // the library's sums of losses are these exact float operations on their parts: reuse the parts
  loss("bceDice", "bce + (1 − Dice)", { binary: (x, o) => ({ value: part(x, "bce", o) + part(x, "dice", o) }) }),
  loss("bceLogDice", "bce − ln Dice", { binary: (x, o) => ({ value: part(x, "bce", o) + part(x, "dice", { ...o, log: true }) }) }),
  loss("focalDice", "10·focal − ln Dice", {
    binary: (x, o) => ({ value: 10 * part(x, "focal", o) + part(x, "dice", { ...o, log: true }) }),
  }),
  loss("weightedBceDice", "boundary-weighted bce + (1 − Dice)", { ignoreIndex: false, presets: {} }),
  {
    name: "lovasz",
    kind: "loss",
    about: "Lovász hinge on logits (probabilities are turned into logits, see docs/cli.md); multi-class: Lovász-softmax",
    brief: "Lovász hinge on logits (binary) / Lovász-softmax (multi-class)",
    // the hinge always takes logits: --from-logits only says whether to convert
    binary: (x, { fromLogits: _, ...o }) => ({
      value: x.seg.lovaszHinge(x.target.labels, logits(x.pred, x.settings.fromLogits), { ...o, shape: shape(x) }) as number,
    }),
    multiclass: multiclassCall("lovaszSoftmax", {}),
    needsScores: true,
    ignoreIndex: true,
    fromLogits: true,
    presets: { binary: ["lovasz", "smp"], multiclass: ["lovasz", "smp"] },
  },
  {
    name: "meanIoU",
    kind: "score",
    about: "the seed's thresholded IoU (thresholds 0.50…0.95); dataset value from the summed counts",
    brief: "the seed's IoU averaged over thresholds 0.50…0.95",
    binary: (x, o) => {
      const d = x.seg.meanIoUDetails(x.target.labels, scores(x), { ...o, shape: shape(x) });
      return { value: d.perImage[0], counts: { tp: [...d.tp], fp: [...d.fp], fn: [...d.fn], tn: [...d.tn] } };
    },
    ignoreIndex: true,
    fromLogits: true,
    presets: { binary: BINARY_PRESETS },
    summarize: (c) => ({ batch: thresholdedIoU(c) }),
  },
  {
    name: "objectMetrics",
    kind: "score",
    about: "instance-level score per image (DSB-2018/TGS); dataset TP/FP/FN, precision, F1, F2 per IoU threshold",
    brief: "object-level score (DSB-2018 / TGS)",
    binary: (x, o) => {
      const m = x.seg.objectMetrics(x.target.labels, scores(x), { ...o, shape: shape(x), threshold: x.settings.threshold });
      return { value: m.score, counts: { tp: [...m.tp], fp: [...m.fp], fn: [...m.fn] } };
    },
    ignoreIndex: false,
    fromLogits: true,
    presets: {},
    summarize: (c) => objectSummary(c),
  },
];

export const METRIC_NAMES = REGISTRY.map((r) => r.name);

export function rowOf(name: string): MetricRow | undefined {
  return REGISTRY.find((r) => r.name === name);
}

/** Why a row cannot run under these settings, or null when it can. */
export function unavailable(row: MetricRow, s: Settings): string | null {
  if (!row[s.mode]) return `has no ${s.mode === "binary" ? "binary" : "multi-class"} form`;
  if (s.ignoreIndex !== null && !row.ignoreIndex) return "does not take --ignore-index";
  return null;
}

/** The options a row passes to the library under these settings. */
export function rowOptions(row: MetricRow, s: Settings): Options {
  const o: Options = {};
  if (s.ignoreIndex !== null && row.ignoreIndex) o.ignoreIndex = s.ignoreIndex;
  if (s.fromLogits && row.fromLogits) o.fromLogits = true;
  if (s.preset !== null && row.presets[s.mode]?.includes(s.preset)) o.preset = s.preset;
  return o;
}

// ------------------------------------------------------------ confusion matrix

function confusion(m: ConfusionMatrix, binary: boolean): Contribution {
  return { value: binary ? m.iou()[1] : m.meanIoU(), counts: { confusion: [...m.counts] } };
}

/** The binary threshold on the prediction's own scale (logit of T with --from-logits). */
export function confusionThreshold(s: Settings): number {
  return s.fromLogits ? Math.log(s.threshold / (1 - s.threshold)) : s.threshold;
}

function multiclassConfusion(x: PairInput, o: Options): ConfusionMatrix {
  const { height: H, width: W } = x.target;
  const opts = { ...o, numClasses: x.settings.classes };
  if (x.pred.kind === "labels") {
    return x.seg.confusionMatrix({ data: x.target.labels, shape: [1, H, W] }, { data: x.pred.labels, shape: [1, H, W] }, opts);
  }
  const { target, pred, layout } = multiclassTensors(x);
  return x.seg.confusionMatrix(target, pred, { ...opts, layout });
}

/** One image as the multi-class API takes it: labels [1,H,W], scores [1,C,H,W] (NCHW) or [1,H,W,C] (NHWC). */
function multiclassTensors(x: PairInput) {
  const { height: H, width: W, labels } = x.target;
  const C = x.settings.classes;
  const hwc = x.pred.kind === "scores" && x.pred.layout === "hwc";
  const pred = { data: scores(x), shape: hwc ? [1, H, W, C] : [1, C, H, W] };
  return { target: { data: labels, shape: [1, H, W] }, pred, layout: hwc ? ("NHWC" as const) : ("NCHW" as const) };
}
