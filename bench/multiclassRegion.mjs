#!/usr/bin/env node
// segloss multi-class Dice benchmark (issue 4): N=4, C=21, 256×256, int32
// labels, on probabilities and on logits (softmax inside), by segloss (SIMD
// copy-in, SIMD in wasm memory, NHWC, the scalar build), a one-pass plain-JS
// loop, and TensorFlow.js cpu and wasm (oneHot + sums, softmax for logits;
// tfjs gets the data channels-last, its native layout, so it pays no
// transpose). Medians in one process; ratios to plain JS and to tfjs-wasm;
// Melem/s counts N·C·H·W prediction elements.
//
//   node bench/multiclassRegion.mjs [--quick] [--shape N,H,W] [--classes C] [--segloss MODULE]

import { mulberry32 } from "./data.mjs";
import {
  collectGarbage,
  envLine,
  fail,
  firstLine,
  fmt3,
  fmtMs,
  isShape3,
  loadSegloss,
  machine,
  measure,
  parseOptions,
  table,
  timeBudget,
} from "./lib.mjs";
import { loadTf } from "./peers/tfjs.mjs";

const usageText = "usage: node bench/multiclassRegion.mjs [--quick] [--shape N,H,W] [--classes C] [--segloss MODULE]";
const args = parseOptions(
  process.argv.slice(2),
  { quick: false, shape: [4, 256, 256], classes: 21, segloss: "../dist/index.js" },
  usageText,
  (a, value) => {
    if (a === "--classes" || a.startsWith("--classes=")) {
      args.classes = Number(value());
      return true;
    }
    return false;
  },
);
if (!isShape3(args.shape)) fail("--shape wants N,H,W");
if (!(Number.isInteger(args.classes) && args.classes >= 2)) fail("--classes wants an integer ≥ 2");
const m = timeBudget(args.quick);
const [N, H, W] = args.shape;
const C = args.classes;
const S = H * W;
const elems = N * C * S;

// ---------------------------------------------------------------- data

const r = mulberry32(7);
const labels = new Int32Array(N * S);
for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(r() * C);
const logits = new Float32Array(elems);
for (let i = 0; i < elems; i++) logits[i] = (r() - 0.5) * 8;
/** NCHW probabilities: the softmax of the logits over C. */
const probs = new Float32Array(elems);
for (let n = 0; n < N; n++)
  for (let s = 0; s < S; s++) {
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(logits[(n * C + c) * S + s]);
    for (let c = 0; c < C; c++) probs[(n * C + c) * S + s] = Math.exp(logits[(n * C + c) * S + s]) / z;
  }
const toNHWC = (a) => {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) out[(n * S + s) * C + c] = a[(n * C + c) * S + s];
  return out;
};
const probsNHWC = toNHWC(probs);
const logitsNHWC = toNHWC(logits);

// ---------------------------------------------------------------- plain JS

/** Per (image, class) Dice from NCHW planes, s = 1, mean over the N·C terms: one pass per class plane. */
function plainDice(p) {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const lab = labels.subarray(n * S, (n + 1) * S);
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S;
      let tp = 0;
      let sp = 0;
      let st = 0;
      for (let i = 0; i < S; i++) {
        const v = p[base + i];
        sp += v;
        if (lab[i] === c) {
          tp += v;
          st++;
        }
      }
      total += 1 - (2 * tp + 1) / (st + sp + 1);
    }
  }
  return total / (N * C);
}

/** The same from logits: per pixel a stable softmax into a scratch row, then the sums. */
function plainDiceLogits(x) {
  const tp = new Float64Array(C);
  const sp = new Float64Array(C);
  const st = new Float64Array(C);
  const e = new Float64Array(C);
  let total = 0;
  for (let n = 0; n < N; n++) {
    tp.fill(0);
    sp.fill(0);
    st.fill(0);
    for (let i = 0; i < S; i++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < C; c++) mx = Math.max(mx, x[(n * C + c) * S + i]);
      let z = 0;
      for (let c = 0; c < C; c++) {
        e[c] = Math.exp(x[(n * C + c) * S + i] - mx);
        z += e[c];
      }
      for (let c = 0; c < C; c++) sp[c] += e[c] / z;
      const l = labels[n * S + i];
      tp[l] += e[l] / z;
      st[l]++;
    }
    for (let c = 0; c < C; c++) total += 1 - (2 * tp[c] + 1) / (st[c] + sp[c] + 1);
  }
  return total / (N * C);
}

// ---------------------------------------------------------------- tfjs

function tfDice(tf, t, p) {
  const oh = tf.oneHot(t, C); // [N, H, W, C]
  const i = tf.sum(tf.mul(oh, p), [1, 2]);
  const st = tf.sum(oh, [1, 2]);
  const sp = tf.sum(p, [1, 2]);
  const one = tf.scalar(1);
  const d = tf.div(tf.add(tf.mul(tf.scalar(2), i), one), tf.add(tf.add(st, sp), one));
  return tf.mean(tf.sub(one, d));
}

// ---------------------------------------------------------------- runs

const log = (s) => process.stderr.write(`${s}\n`);
const results = {};
const notes = [];
function record(id, fn) {
  collectGarbage();
  try {
    results[id] = measure(fn, m);
    log(`  ${id.padEnd(28)} ${results[id].medianMs.toFixed(2).padStart(8)} ms (${results[id].reps} reps)`);
  } catch (e) {
    notes.push(`${id}: failed: ${firstLine(e)}`);
  }
}

const { mod, note } = await loadSegloss(args.segloss);
if (!mod) fail(note);
const simd = await mod.create({ memoryBytes: 256 * 1024 * 1024 });
const scalar = await mod.create({ simd: false, memoryBytes: 256 * 1024 * 1024 });
const target = { data: labels, shape: [N, H, W] };
const nchw = [N, C, H, W];
const nhwc = [N, H, W, C];
const P = { mode: "multiclass" };
const X = { mode: "multiclass", fromLogits: true };

for (const [form, data, dataNHWC, opts, plain] of [
  ["probabilities", probs, probsNHWC, P, plainDice],
  ["logits", logits, logitsNHWC, X, plainDiceLogits],
]) {
  log(`${form}:`);
  record(`${form}/plain`, () => plain(data));
  record(`${form}/simd-copy`, () => simd.dice(target, { data, shape: nchw }, opts));
  record(`${form}/simd-nhwc`, () => simd.dice(target, { data: dataNHWC, shape: nhwc }, { ...opts, layout: "NHWC" }));
  for (const [id, seg] of [
    ["simd-resident", simd],
    ["scalar-resident", scalar],
  ]) {
    const v = seg.alloc(Float32Array, elems);
    v.set(data);
    const lv = seg.alloc(Int32Array, labels.length);
    lv.set(labels);
    try {
      record(`${form}/${id}`, () => seg.dice({ data: lv, shape: [N, H, W] }, { data: v, shape: nchw }, opts));
      if (id === "simd-resident")
        record(`${form}/simd-grad`, () => seg.diceGrad({ data: lv, shape: [N, H, W] }, { data: v, shape: nchw }, opts).loss);
    } finally {
      seg.free(v);
      seg.free(lv);
    }
  }
}

for (const backend of ["cpu", "wasm"]) {
  let peer;
  try {
    peer = await loadTf(backend);
    await peer.activate();
  } catch (e) {
    notes.push(`tfjs-${backend}: ${firstLine(e)}`);
    continue;
  }
  const tf = await import("@tensorflow/tfjs-core");
  const t = tf.tensor(labels, [N, H, W], "int32");
  const p = tf.tensor(probsNHWC, nhwc, "float32");
  const x = tf.tensor(logitsNHWC, nhwc, "float32");
  const run = (build) => {
    const out = tf.tidy(build);
    const v = out.dataSync()[0];
    out.dispose();
    return v;
  };
  try {
    log(`tfjs-${backend}:`);
    record(`probabilities/tfjs-${backend}`, () => run(() => tfDice(tf, t, p)));
    record(`logits/tfjs-${backend}`, () => run(() => tfDice(tf, t, tf.softmax(x))));
  } finally {
    t.dispose();
    p.dispose();
    x.dispose();
  }
}

// ---------------------------------------------------------------- table

const ROWS = [
  ["plain", "plain JS (one pass)"],
  ["tfjs-cpu", "tfjs-cpu (oneHot + sums)"],
  ["tfjs-wasm", "tfjs-wasm (oneHot + sums)"],
  ["simd-copy", "**segloss SIMD (copy-in, NCHW)**"],
  ["simd-nhwc", "segloss SIMD (copy-in, NHWC)"],
  ["simd-resident", "**segloss SIMD (in wasm memory)**"],
  ["scalar-resident", "segloss scalar build (in wasm memory)"],
  ["simd-grad", "segloss SIMD diceGrad (in wasm memory)"],
];
const out = [];
for (const form of ["probabilities", "logits"]) {
  const ref = results[`${form}/plain`]?.value;
  const base = (id) => results[`${form}/${id}`]?.medianMs;
  for (const [id, label] of ROWS) {
    const res = results[`${form}/${id}`];
    if (!res) continue;
    const x = (peer) => (base(peer) ? `${fmt3(base(peer) / res.medianMs)}×` : "—");
    const rel = ref == null ? "—" : (Math.abs(res.value - ref) / Math.abs(ref)).toExponential(1);
    out.push([form, label, fmtMs(res.medianMs), fmt3(elems / (res.medianMs / 1000) / 1e6), x("plain"), x("tfjs-wasm"), rel]);
  }
}
console.log(envLine(machine("unknown CPU"), { load: "1" }));
console.log(`multi-class Dice, ${N}×${C}×${H}×${W}, int32 labels, smooth 1, per (image, class), mean`);
console.log(table(["input", "row", "median ms", "Melem/s", "× plain JS", "× tfjs-wasm", "rel. diff (value)"], out));
for (const n of notes) console.log(`- ${n}`);
