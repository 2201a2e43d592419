#!/usr/bin/env node
// segloss meanIoU benchmark: the seed's thresholded mean IoU (10 thresholds
// 0.50…0.95, p > τ, two-class mean IoU of one confusion matrix per threshold,
// then the mean over thresholds) run in one process by segloss and its peers
// (a one-pass plain-JS version; tf ops on the tfjs cpu and wasm backends, two
// formulations on wasm), on the inputs of bench/data.mjs, printed as medians
// and ratios.
//
//   node bench/meanIoU.mjs [--quick] [--shape 8,512,512] [--segloss MODULE] [--out FILE]
//
// Method as bench/run.mjs (bench/README.md): rows of one workload run back to
// back, full GC before each row, first call timed alone, warm-up, then
// repetitions until a count and a time are both reached; medians. Both
// workloads are also measured in paired rounds (each peer call between segloss
// calls, as bench/weighted.mjs does), so a machine that changes speed between
// rows slows both sides of a ratio alike.

import { writeFileSync } from "node:fs";
import os from "node:os";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DEFAULT_SEED, DEFAULT_SHAPE, makeData } from "./data.mjs";
import {
  collectGarbage,
  copyIntoWasm,
  envLine,
  fail,
  firstLine,
  fmt3,
  fmtMs,
  isShape3,
  machine,
  measure,
  pairedCell,
  pairedRatios,
  parseOptions,
  SEGLOSS_ROWS,
  seglossTarget,
  table,
  tfScalar,
} from "./lib.mjs";

const THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** The workloads: segloss options, and whether the score is the batch matrix or the mean over images. */
const WORKLOADS = {
  meanIoU: { opts: {}, perImage: false, note: "10 thresholds, one confusion matrix per threshold over the batch" },
  meanIoUPerImage: { opts: { perImage: true }, perImage: true, note: "10 thresholds, per image (TGS style), mean over images" },
};

/**
 * Speed-up goals (issue 3): vs tfjs-wasm, and vs the plain-JS one-pass row. The tfjs-wasm goal is
 * checked against the seed's metric translated op for op (`greater`); the faster `step` form is
 * printed beside it as a reference (bench/README.md, "Which peer a goal means").
 */
const TARGET_VS_TFJS = 75;
const TARGET_VS_PLAIN = 5;

const ROWS = [
  ...SEGLOSS_ROWS,
  { id: "plain-js", label: "plain JS (one pass, buckets)" },
  { id: "tfjs-cpu", label: "tfjs-cpu (step)" },
  { id: "tfjs-wasm", label: "tfjs-wasm (step)" },
  { id: "tfjs-wasm-greater", label: "tfjs-wasm (greater + cast)" },
];

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = { quick: false, shape: DEFAULT_SHAPE, segloss: "../dist/index.js", out: null };
  parseOptions(argv, args, "usage: node bench/meanIoU.mjs [--quick] [--shape N,H,W] [--segloss MODULE] [--out results.json]");
  if (!isShape3(args.shape)) fail("--shape wants N,H,W");
  return args;
}

// ---------------------------------------------------------------- peers

/**
 * Plain JavaScript, one pass: each prediction is placed in its bucket among
 * the sorted thresholds (linear scan, float64 compares, as segloss's p > τ),
 * counts per (image, bucket, class) in a Float64Array, then suffix sums give
 * each threshold's confusion matrix. What a careful user writes by hand.
 */
function plainMeanIoU(t, p, shape, perImage) {
  const [n] = shape;
  const len = p.length / n;
  const K = THRESHOLDS.length;
  const th = Float64Array.from(THRESHOLDS);
  const hist = new Float64Array(n * (K + 1) * 2);
  for (let img = 0; img < n; img++) {
    const h = img * (K + 1) * 2;
    for (let i = img * len, end = i + len; i < end; i++) {
      const v = p[i];
      let b = 0;
      while (b < K && v > th[b]) b++;
      hist[h + 2 * b + (t[i] === 1 ? 1 : 0)]++;
    }
  }
  const score = (h, k) => {
    let tp = 0;
    let fp = 0;
    let t1 = 0;
    let all = 0;
    for (let b = 0; b <= K; b++) {
      const c0 = h[2 * b];
      const c1 = h[2 * b + 1];
      all += c0 + c1;
      t1 += c1;
      if (b > k) {
        tp += c1;
        fp += c0;
      }
    }
    const fn = t1 - tp;
    const tn = all - t1 - fp;
    const d1 = tp + fp + fn;
    const d0 = tn + fp + fn;
    if (d1 === 0 && d0 === 0) return 1;
    return ((d1 > 0 ? tp / d1 : 0) + (d0 > 0 ? tn / d0 : 0)) / ((d1 > 0) + (d0 > 0));
  };
  const images = perImage ? n : 1;
  const per = new Float64Array((K + 1) * 2);
  let total = 0;
  for (let img = 0; img < images; img++) {
    if (perImage) per.set(hist.subarray(img * per.length, (img + 1) * per.length));
    else for (let j = 0; j < hist.length; j++) per[j % per.length] += hist[j];
    let s = 0;
    for (let k = 0; k < K; k++) s += score(per, k);
    total += s / K;
  }
  return total / images;
}

/**
 * TensorFlow.js, the seed's metric with tf ops: per threshold a 0/1 mask of
 * p > τ (in float32, as tfjs computes), TP = Σ mask·t and the positives
 * Σ mask (per image with perImage), then FP, FN, TN, the IoU of both classes
 * (left out when the union is empty), their mean, and the mean over
 * thresholds; one dataSync. Two ways to build the mask: 'greater' is
 * cast(greater(p, τ)), what the seed's `y_pred > t` becomes in tfjs; 'step'
 * is step(p − τ), the fastest formulation found (about 2× on tfjs-wasm; a
 * broadcast over all thresholds at once and logicalAnd with the target were
 * slower still).
 */
function tfMeanIoU(tf, { t, p, n }, perImage, form) {
  const axis = perImage ? 1 : undefined;
  const t2 = perImage ? tf.reshape(t, [n, -1]) : t;
  const p2 = perImage ? tf.reshape(p, [n, -1]) : p;
  const total = tf.scalar(t2.size / (perImage ? n : 1));
  const t1 = tf.sum(t2, axis);
  const scores = THRESHOLDS.map((tau) => {
    const pos = form === "step" ? tf.step(tf.sub(p2, tau)) : tf.cast(tf.greater(p2, tau), "float32");
    const tp = tf.sum(tf.mul(pos, t2), axis);
    const fp = tf.sub(tf.sum(pos, axis), tp);
    const fn = tf.sub(t1, tp);
    const tn = tf.sub(tf.sub(total, t1), fp);
    const d1 = tf.add(tf.add(tp, fp), fn);
    const d0 = tf.add(tf.add(tn, fp), fn);
    const v1 = tf.greater(d1, 0);
    const v0 = tf.greater(d0, 0);
    const iou1 = tf.where(v1, tf.div(tp, tf.maximum(d1, 1)), tf.zerosLike(d1));
    const iou0 = tf.where(v0, tf.div(tn, tf.maximum(d0, 1)), tf.zerosLike(d0));
    const present = tf.add(tf.cast(v1, "float32"), tf.cast(v0, "float32"));
    return tf.where(tf.greater(present, 0), tf.div(tf.add(iou1, iou0), tf.maximum(present, 1)), tf.onesLike(present));
  });
  return tf.mean(tf.stack(scores));
}

async function loadSegloss(spec) {
  try {
    const mod = await import(seglossTarget(spec));
    return { seg: await mod.create(), segScalar: await mod.create({ simd: false }) };
  } catch (e) {
    return { note: `segloss: ${spec} failed to load (${firstLine(e)}) — run \`npm run build\`` };
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const m = args.quick
    ? { warmupMs: 50, minTimeMs: 250, minReps: 3, maxTimeMs: 800, maxReps: 300 }
    : { warmupMs: 250, minTimeMs: 1000, minReps: 7, maxTimeMs: 3000, maxReps: 1000 };
  const log = (s) => process.stderr.write(`${s}\n`);
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const n = data.size;
  log(`data: ${data.shape.join("×")} float32, fingerprint ${data.stats.fingerprint}`);

  const notes = [];
  const results = {};
  const record = (w, row, fn) => {
    collectGarbage();
    try {
      const r = measure(fn, m);
      results[w][row] = r;
      log(`  ${w.padEnd(16)} ${row.padEnd(15)} ${fmtMs(r.medianMs).padStart(8)} ms (min ${fmtMs(r.minMs)}, ${r.reps} reps)`);
    } catch (e) {
      notes.push(`${row} ${w}: failed: ${firstLine(e)}`);
    }
  };

  const sl = await loadSegloss(args.segloss);
  if (sl.note) notes.push(sl.note);
  const views = [];
  const inMemory = (seg) => {
    const { t, p } = copyIntoWasm(seg, data, n);
    views.push([seg, t, p]);
    return { t, p };
  };
  const segRows = sl.seg
    ? [
        { row: "segloss-copy", seg: sl.seg, inputs: { t: data.target, p: data.pred } },
        { row: "segloss-mem", seg: sl.seg, inputs: inMemory(sl.seg) },
        { row: "segloss-scalar", seg: sl.segScalar, inputs: inMemory(sl.segScalar) },
      ]
    : [];

  // tfjs: both backends through peers/tfjs.mjs (it sets up the wasm binary), the metric built here
  const tfPeers = [];
  let tf = null;
  try {
    const peers = await import("./peers/tfjs.mjs");
    for (const backend of ["cpu", "wasm"]) tfPeers.push(await peers.loadTf(backend));
    tf = await import("@tensorflow/tfjs-core");
  } catch (e) {
    notes.push(`tfjs: ${firstLine(e)} — rows skipped`);
  }

  const paired = [];
  for (const [w, W] of Object.entries(WORKLOADS)) {
    results[w] = {};
    log(`${w} (${W.note})`);
    const opts = { shape: data.shape, ...W.opts };
    for (const { row, seg, inputs } of segRows) record(w, row, () => seg.meanIoU(inputs.t, inputs.p, opts));
    record(w, "plain-js", () => plainMeanIoU(data.target, data.pred, data.shape, W.perImage));
    for (const peer of tfPeers) {
      await peer.activate();
      const x = { t: tf.tensor(data.target, data.shape, "float32"), p: tf.tensor(data.pred, data.shape, "float32"), n: data.shape[0] };
      const before = tf.memory().numTensors;
      const forms =
        peer.name === "tfjs-wasm"
          ? [
              ["step", peer.name],
              ["greater", `${peer.name}-greater`],
            ]
          : [["step", peer.name]];
      for (const [form, row] of forms) {
        record(w, row, () => tfScalar(tf, () => tfMeanIoU(tf, x, W.perImage, form)));
      }
      if (peer.name === "tfjs-wasm") {
        for (const { row, seg, inputs } of segRows.slice(0, 2)) {
          collectGarbage();
          const r = pairedRatios(() => seg.meanIoU(inputs.t, inputs.p, opts), {
            "plain-js": { fn: () => plainMeanIoU(data.target, data.pred, data.shape, W.perImage), rounds: args.quick ? 7 : 15 },
            "tfjs-wasm (greater)": { fn: () => tfScalar(tf, () => tfMeanIoU(tf, x, W.perImage, "greater")), rounds: 5 },
            "tfjs-wasm (step)": { fn: () => tfScalar(tf, () => tfMeanIoU(tf, x, W.perImage, "step")), rounds: 5 },
          });
          paired.push({ w, row, r });
          log(
            `  ${w} paired ${row}: ${Object.entries(r)
              .map(([k, v]) => `${k} ${v.median.toFixed(1)}×`)
              .join(", ")}`,
          );
        }
      }
      if (tf.memory().numTensors !== before) notes.push(`${peer.name} ${w}: tensors leaked`);
      x.t.dispose();
      x.p.dispose();
    }
  }
  for (const [seg, t, p] of views) {
    seg.free(t);
    seg.free(p);
  }

  // ---------------------------------------------------------------- report
  const lines = [];
  lines.push(
    "",
    `Environment: ${envLine(machine("unknown"), { v8: true, load: "1" })}`,
    "",
    `Method: ${data.shape.join("×")} float32 probabilities (${(n / 1e6).toFixed(2)} M elements); ${args.quick ? "quick" : "full"} mode; ` +
      "full GC before each row, first call timed alone, warm-up, then repetitions; medians; ratio = that row's median / this row's median " +
      `(goals, like for like: ≥${TARGET_VS_TFJS}× tfjs-wasm for segloss in wasm memory, as the tfjs tensors are uploaded before timing; ` +
      `≥${TARGET_VS_PLAIN}× plain JS for segloss copy-in, as plain JS reads the JS arrays).`,
    "",
  );
  const rows = [];
  const values = [];
  // like for like: the tfjs goal on the in-memory row, the plain-JS goal on the copy-in row
  const GOAL_ROW = { tfjs: "segloss-mem", plain: "segloss-copy" };
  const ratioCell = (base, r, id, target, goalRow) => {
    if (!base) return "—";
    const ratio = base / r.medianMs;
    return `${fmt3(ratio)}×${id === goalRow ? ` (≥${target}× ${ratio >= target ? "✓" : "✗"})` : ""}`;
  };
  for (const w of Object.keys(WORKLOADS)) {
    const step = results[w]["tfjs-wasm"]?.medianMs;
    const greater = results[w]["tfjs-wasm-greater"]?.medianMs;
    const plain = results[w]["plain-js"]?.medianMs;
    const ref = results[w]["plain-js"]?.value;
    for (const { id, label } of ROWS) {
      const r = results[w][id];
      if (!r) continue;
      rows.push([
        w,
        label,
        fmtMs(r.medianMs),
        fmtMs(r.minMs),
        fmtMs(r.coldMs),
        String(r.reps),
        ratioCell(greater, r, id, TARGET_VS_TFJS, GOAL_ROW.tfjs),
        ratioCell(step, r, id),
        ratioCell(plain, r, id, TARGET_VS_PLAIN, GOAL_ROW.plain),
      ]);
      const diff = ref == null ? null : Math.abs(r.value - ref);
      values.push([w, label.replace(/\*/g, ""), Number(r.value).toPrecision(12), diff == null ? "—" : diff.toExponential(1)]);
    }
  }
  lines.push(
    table(
      [
        "workload",
        "implementation",
        "median ms",
        "min ms",
        "first call ms",
        "reps",
        "× vs tfjs-wasm (greater: the goal's peer)",
        "× vs tfjs-wasm (step: reference)",
        "× vs plain JS",
      ],
      rows,
    ),
  );
  if (paired.length) {
    const label = (id) => SEGLOSS_ROWS.find((r) => r.id === id)?.label ?? id;
    lines.push(
      "",
      "Paired rounds (each peer call between segloss calls); median ratio over the rounds (min–max):",
      "",
      table(
        ["workload", "implementation", "× vs plain JS", "× vs tfjs-wasm (greater)", "× vs tfjs-wasm (step)"],
        paired.map(({ w, row, r }) => [
          w,
          label(row),
          pairedCell(r["plain-js"], row === GOAL_ROW.plain ? TARGET_VS_PLAIN : null),
          pairedCell(r["tfjs-wasm (greater)"], row === GOAL_ROW.tfjs ? TARGET_VS_TFJS : null),
          pairedCell(r["tfjs-wasm (step)"]),
        ]),
      ),
    );
  }
  lines.push("", "Values (absolute difference vs plain JS, which compares in float64 like segloss; tfjs compares in float32):", "");
  lines.push(table(["workload", "implementation", "value", "|Δ| vs plain JS"], values));
  if (notes.length) lines.push("", "Notes:", ...notes.map((s) => `- ${s}`));
  console.log(lines.join("\n"));
  if (args.out) {
    const out = isAbsolute(args.out) ? args.out : fileURLToPath(new URL(args.out, pathToFileURL(`${process.cwd()}/`)));
    writeFileSync(
      out,
      `${JSON.stringify({ shape: data.shape, mode: args.quick ? "quick" : "full", loadavg: os.loadavg(), results, paired, notes }, null, 2)}\n`,
    );
    log(`wrote ${out}`);
  }
}

await main();
