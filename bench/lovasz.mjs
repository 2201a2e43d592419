#!/usr/bin/env node
// segloss benchmark for the binary Lovasz hinge (per image, the reference's
// default): segloss (radix sort in wasm), two plain-JS versions (the issue's
// typed-array sort of packed keys, and a faster one that sorts the positives'
// and the negatives' errors separately and merges them), and TensorFlow.js
// wasm (topk + gather + cumsum), in one process; medians and ratios, as the
// other bench entries do. Then Lovasz-Softmax on 4×21×256×256 probabilities
// (classes 'present', one loss over the batch): segloss, a plain-JS version
// (per class a Uint32Array.sort of packed error/foreground keys) and tfjs-wasm
// (topk per class row + cumsum).
//
//   node bench/lovasz.mjs [--quick] [--shape 8,512,512] [--segloss MODULE]
//   LOVASZ_BENCH=hinge|softmax limits the run to one section.
//   LOVASZ_BASELINE=/path/to/other/dist/index.js instead times the segloss rows
//   of that build and this one alternately in this process (before/after a
//   change on a shared machine: medians and minima of each, side by side).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_SEED, DEFAULT_SHAPE, makeData, mulberry32 } from "./data.mjs";
import {
  collectGarbage,
  entryArgs,
  envLine,
  firstLine,
  loadSegloss,
  machine,
  measure,
  SEGLOSS_ROWS,
  table,
  tfScalar,
  timeBudget,
} from "./lib.mjs";

/** One image's hinge loss: the Lovasz gradient depends only on the label sequence, so two sorted runs (native sort) merge into it. */
function plainImage(t, x, off, L, pos, neg) {
  // as segloss does, only errors e > 0 are sorted (the rest add 0); G counts every positive
  let np = 0;
  let nn = 0;
  let G = 0;
  for (let i = off; i < off + L; i++) {
    const e = t[i] === 1 ? 1 - x[i] : 1 + x[i];
    G += t[i];
    if (!(e > 0)) continue;
    if (t[i] === 1) pos[np++] = e;
    else neg[nn++] = e;
  }
  const a = pos.subarray(0, np).sort(); // ascending: walk from the end
  const b = neg.subarray(0, nn).sort();
  let i = np - 1;
  let j = nn - 1;
  let cumT = 0;
  let cumF = 0;
  let J = 0;
  let loss = 0;
  while (i >= 0 || j >= 0) {
    const takePos = j < 0 || (i >= 0 && a[i] >= b[j]);
    const e = takePos ? a[i--] : b[j--];
    if (takePos) cumT++;
    else cumF++;
    const Jn = 1 - (G - cumT) / (G + cumF);
    loss += e * (Jn - J);
    J = Jn;
  }
  return loss;
}

/**
 * One image's hinge loss from one sort of packed keys: for e > 0 an exact
 * integer (2^31 − 1 − bits(e))·2^20 + (index << 1 | target) in a Float64Array
 * (ascending = descending error, ties by index), sorted natively.
 */
function packedImage(t, x, off, L, keys, f32, u32) {
  let k = 0;
  let G = 0;
  for (let i = 0; i < L; i++) {
    const ti = t[off + i];
    f32[0] = ti === 1 ? 1 - x[off + i] : 1 + x[off + i];
    G += ti;
    if (!(f32[0] > 0)) continue;
    keys[k++] = (0x7fffffff - u32[0]) * 1048576 + i * 2 + ti;
  }
  const sorted = keys.subarray(0, k).sort();
  let cumT = 0;
  let J = 0;
  let loss = 0;
  for (let r = 0; r < k; r++) {
    const v = sorted[r];
    const hi = Math.floor(v / 1048576);
    const bit = (v - hi * 1048576) & 1;
    u32[0] = 0x7fffffff - hi;
    cumT += bit;
    const Jn = 1 - (G - cumT) / (G + r + 1 - cumT);
    loss += f32[0] * (Jn - J);
    J = Jn;
  }
  return loss;
}

/**
 * The literal form of the issue's plain-JS peer: like packedImage, but every
 * pixel's error is packed and sorted, as the reference sorts every error
 * (relu applies in the walk). A float32 error's bits map to an unsigned key
 * whose ascending order is descending error (sign-flip trick); the key
 * (2^32 − 1 − ordered(bits(e)))·2^20 + (index << 1 | target) stays an exact integer.
 */
function packedAllImage(t, x, off, L, keys, f32, u32) {
  let G = 0;
  for (let i = 0; i < L; i++) {
    const ti = t[off + i];
    f32[0] = ti === 1 ? 1 - x[off + i] : 1 + x[off + i];
    G += ti;
    const b = u32[0];
    const ordered = b >= 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - ordered) * 1048576 + i * 2 + ti;
  }
  keys.sort();
  let cumT = 0;
  let J = 0;
  let loss = 0;
  for (let r = 0; r < L; r++) {
    const v = keys[r];
    const hi = Math.floor(v / 1048576);
    const bit = (v - hi * 1048576) & 1;
    const ordered = 0xffffffff - hi;
    u32[0] = ordered >= 0x80000000 ? ordered & 0x7fffffff : ~ordered >>> 0;
    cumT += bit;
    const Jn = 1 - (G - cumT) / (G + r + 1 - cumT);
    loss += Math.max(f32[0], 0) * (Jn - J);
    J = Jn;
  }
  return loss;
}

/** Mean over images of `image` (packedImage or packedAllImage) on a Float64Array of packed keys. */
function packedHinge(t, x, [N, H, W], image) {
  const L = H * W;
  if (L > 1 << 19) throw new Error("packed keys hold at most 2^19 pixels per image");
  const keys = new Float64Array(L);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let sum = 0;
  for (let n = 0; n < N; n++) sum += image(t, x, n * L, L, keys, f32, u32);
  return sum / N;
}

function plainHinge(t, x, [N, H, W], pos, neg) {
  const L = H * W;
  let sum = 0;
  for (let n = 0; n < N; n++) sum += plainImage(t, x, n * L, L, pos, neg);
  return sum / N;
}

/** The reference's hinge in tfjs ops, per image: topk sorts each row. */
function tfHinge(tf, t, x, [N, H, W]) {
  const L = H * W;
  const t2 = tf.reshape(t, [N, L]);
  const s = tf.sub(tf.mul(t2, tf.scalar(2)), tf.scalar(1));
  const e = tf.sub(tf.scalar(1), tf.mul(tf.reshape(x, [N, L]), s));
  const { values, indices } = tf.topk(e, L, true);
  // gather with batchDims = 1 returns wrong rows on tfjs-backend-wasm 4.x (seen here): gather flat indices instead
  const rowStart = tf.reshape(tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(L, "int32")), [N, 1]);
  const gt = tf.gather(tf.reshape(t, [N * L]), tf.add(indices, rowStart));
  const G = tf.sum(gt, 1, true);
  const inter = tf.sub(G, tf.cumsum(gt, 1));
  const union = tf.add(G, tf.cumsum(tf.sub(tf.scalar(1), gt), 1));
  const J = tf.sub(tf.scalar(1), tf.div(inter, union));
  const g = tf.concat([tf.slice(J, [0, 0], [N, 1]), tf.sub(tf.slice(J, [0, 1], [N, L - 1]), tf.slice(J, [0, 0], [N, L - 1]))], 1);
  return tf.mean(tf.sum(tf.mul(tf.relu(values), g), 1));
}

const log = (s) => process.stderr.write(`${s}\n`);

/** A timing recorder: results by row id, notes for rows that failed. */
function recorder(m) {
  const results = {};
  const notes = [];
  const record = (row, fn) => {
    collectGarbage();
    try {
      results[row] = measure(fn, m);
      log(`  ${row.padEnd(15)} ${results[row].medianMs.toFixed(2).padStart(8)} ms (${results[row].reps} reps)`);
    } catch (e) {
      notes.push(`${row}: failed: ${firstLine(e)}`);
    }
  };
  return { results, notes, record };
}

/** Markdown rows: median, ratios to each peer, value and its relative difference from the first peer. */
function cellsOf(rows, results, peers) {
  const ref = results[peers[0]]?.value;
  return rows
    .filter((r) => results[r.id])
    .map(({ id, label }) => {
      const r = results[id];
      const x = (peer) => (results[peer] ? `${(results[peer].medianMs / r.medianMs).toFixed(2)}×` : "—");
      const rel = ref == null ? "—" : (Math.abs(r.value - ref) / Math.abs(ref)).toExponential(1);
      return [label, r.medianMs.toFixed(2), ...peers.map(x), String(r.value.toPrecision(8)), rel];
    });
}

// ---------------------------------------------------------------- PyTorch (subprocess)

const PYTHON = "/usr/bin/python3";
const TORCH_PEER = fileURLToPath(new URL("./peers/lovasz_torch.py", import.meta.url));

/** Whether Debian's Python imports torch (checked once). */
let torchOk;
function hasTorch() {
  torchOk ??= spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
  return torchOk;
}

/**
 * Runs bench/peers/lovasz_torch.py (torch.set_num_threads(1)) on the very
 * arrays of this run, written raw to a temporary directory: `section` is
 * "softmax" or "hinge", `arrays` its float32 arrays by name and `shape`.
 * Records the row `torch-cpu` (median of `reps` after a warm-up) or a note.
 */
function torchRow(section, arrays, shape, reps, { results, notes }) {
  if (!hasTorch()) {
    notes.push(`torch-cpu: skipped (\`${PYTHON} -c "import torch"\` fails; Debian: apt install python3-torch)`);
    return;
  }
  const dir = mkdtempSync(join(os.tmpdir(), "segloss-lovasz-"));
  try {
    const spec = { shape };
    for (const [name, a] of Object.entries(arrays)) {
      writeFileSync(join(dir, `${name}.f32`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      spec[name] = `${name}.f32`;
    }
    writeFileSync(join(dir, "spec.json"), JSON.stringify({ [section]: spec }));
    collectGarbage();
    const run = spawnSync(PYTHON, [TORCH_PEER, dir, String(reps)], { encoding: "utf8", timeout: 600_000 });
    if (run.status !== 0) {
      notes.push(`torch-cpu: failed: ${firstLine(run.stderr || run.error || `exit ${run.status}`)}`);
      return;
    }
    const out = JSON.parse(run.stdout);
    results["torch-cpu"] = out[section];
    log(
      `  ${"torch-cpu".padEnd(15)} ${out[section].medianMs.toFixed(2).padStart(8)} ms (${reps} reps, torch ${out.torch}, ${out.threads} thread)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function hingeSection(args, m, mod, note) {
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const shape = data.shape;
  const n = data.size;
  const { results, notes, record } = recorder(m);
  if (!mod) notes.push(note);
  else {
    const seg = await mod.create();
    const segScalar = await mod.create({ simd: false });
    const o = { shape };
    record("segloss-copy", () => seg.lovaszHinge(data.target, data.logits, o));
    for (const [row, s] of [
      ["segloss-mem", seg],
      ["segloss-scalar", segScalar],
    ]) {
      const t = s.alloc(Float32Array, n);
      const x = s.alloc(Float32Array, n);
      t.set(data.target);
      x.set(data.logits);
      record(row, () => s.lovaszHinge(t, x, o));
      s.free(t);
      s.free(x);
    }
    const out = new Float32Array(n);
    record("segloss-grad", () => seg.lovaszHingeGrad(data.target, data.logits, { ...o, out }).loss);
  }
  const L = shape[1] * shape[2];
  const pos = new Float32Array(L);
  const neg = new Float32Array(L);
  record("plain-js", () => packedHinge(data.target, data.logits, shape, packedImage));
  record("plain-js-all", () => packedHinge(data.target, data.logits, shape, packedAllImage));
  record("plain-merge", () => plainHinge(data.target, data.logits, shape, pos, neg));

  try {
    const { loadTf } = await import("./peers/tfjs.mjs");
    const peer = await loadTf("wasm");
    await peer.activate?.();
    const tf = await import("@tensorflow/tfjs-core");
    const t = tf.tensor(data.target, shape, "float32");
    const x = tf.tensor(data.logits, shape, "float32");
    record("tfjs-wasm", () => tfScalar(tf, () => tfHinge(tf, t, x, shape)));
    t.dispose();
    x.dispose();
  } catch (e) {
    notes.push(`tfjs-wasm: ${firstLine(e)}`);
  }
  torchRow("hinge", { target: data.target, logits: data.logits }, shape, args.quick ? 3 : 7, { results, notes });

  const rows = [
    ...SEGLOSS_ROWS,
    { id: "segloss-grad", label: "segloss SIMD lovaszHingeGrad (loss + gradient, copy-in)" },
    { id: "plain-js", label: "plain JS (Float64Array.sort of packed keys, errors > 0 only, as segloss)" },
    { id: "plain-js-all", label: "plain JS, literal (Float64Array.sort of packed keys of every pixel, as the reference)" },
    { id: "plain-merge", label: "plain JS (two Float32Array.sorts, merged)" },
    { id: "tfjs-wasm", label: "tfjs-wasm (topk + cumsum)" },
    { id: "torch-cpu", label: "PyTorch CPU, 1 thread (reference algorithm: torch.sort per image)" },
  ];
  const cells = cellsOf(rows, results, ["plain-js", "plain-js-all", "tfjs-wasm", "torch-cpu"]);
  console.log(
    `\nlovaszHinge per image, ${shape.join("×")} (${(n / 1e6).toFixed(2)} M logits), ${args.quick ? "quick" : "full"} mode; ratios = peer median / row median.\n`,
  );
  console.log(
    table(["row", "median ms", "vs plain JS", "vs plain JS (literal)", "vs tfjs-wasm", "vs torch", "loss", "rel. diff vs plain JS"], cells),
  );
  for (const line of notes) console.log(`\n- ${line}`);
}

// ---------------------------------------------------------------- Lovasz-Softmax

/**
 * Labels: nearest of 12 random centres per image, each with a random class;
 * probabilities: softmax of uniform noise in [−2, 2] plus 2.5 on the label's
 * class (float32, NCHW). Deterministic (mulberry32).
 */
function makeMulticlass([N, C, H, W], seed) {
  const r = mulberry32(seed);
  const S = H * W;
  const labels = new Float32Array(N * S);
  const probs = new Float32Array(N * C * S);
  const e = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const centres = Array.from({ length: 12 }, () => [r() * H, r() * W, Math.floor(r() * C)]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let best = 0;
        let bestD = Number.POSITIVE_INFINITY;
        centres.forEach(([cy, cx], k) => {
          const d = (y - cy) ** 2 + (x - cx) ** 2;
          if (d < bestD) [best, bestD] = [k, d];
        });
        const label = centres[best][2];
        const s = y * W + x;
        labels[n * S + s] = label;
        let z = 0;
        for (let c = 0; c < C; c++) {
          e[c] = Math.exp((r() - 0.5) * 4 + (c === label ? 2.5 : 0));
          z += e[c];
        }
        for (let c = 0; c < C; c++) probs[(n * C + c) * S + s] = e[c] / z;
      }
    }
  }
  return { labels, probs };
}

/** A copy of the probabilities with p = 1 at the first foreground pixel of every present class. */
function sureCopy(labels, probs, [N, C, H, W]) {
  const S = H * W;
  const sure = Float32Array.from(probs);
  const done = new Set();
  for (let i = 0; i < N * S; i++) {
    const c = labels[i];
    if (done.has(c)) continue;
    done.add(c);
    const n = Math.floor(i / S);
    sure[(n * C + c) * S + (i % S)] = 1;
  }
  return sure;
}

/** Plain JS: per present class, one native Uint32Array.sort of keys packing the error and the foreground bit, then the walk. */
function plainSoftmax(labels, probs, [N, C, H, W], keys) {
  const S = H * W;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let sum = 0;
  let used = 0;
  for (let c = 0; c < C; c++) {
    let G = 0;
    let k = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const fg = labels[n * S + s] === c ? 1 : 0;
        const p = probs[(n * C + c) * S + s];
        f32[0] = fg ? 1 - p : p;
        G += fg;
        keys[k++] = 0x7fffffff - ((u32[0] << 1) | fg); // ascending = descending error
      }
    }
    if (G === 0) continue;
    keys.sort();
    let cumT = 0;
    let J = 0;
    let loss = 0;
    for (let i = 0; i < k; i++) {
      const v = 0x7fffffff - keys[i];
      u32[0] = v >>> 1;
      cumT += v & 1;
      const Jn = 1 - (G - cumT) / (G + i + 1 - cumT);
      loss += f32[0] * (Jn - J);
      J = Jn;
    }
    sum += loss;
    used++;
  }
  return used === 0 ? 0 : sum / used;
}

/** The reference's Lovasz-Softmax in tfjs ops over the flattened batch: one topk per class row. */
function tfSoftmax(tf, labels, probs, [N, C, H, W]) {
  const L = N * H * W;
  const p = tf.reshape(tf.transpose(tf.reshape(probs, [N, C, H * W]), [1, 0, 2]), [C, L]);
  const fg = tf.transpose(tf.oneHot(tf.cast(tf.reshape(labels, [L]), "int32"), C)); // [C, L]
  const errors = tf.abs(tf.sub(fg, p));
  const { values, indices } = tf.topk(errors, L, true);
  const rowStart = tf.reshape(tf.mul(tf.range(0, C, 1, "int32"), tf.scalar(L, "int32")), [C, 1]);
  const fgSorted = tf.gather(tf.reshape(fg, [C * L]), tf.add(indices, rowStart));
  const G = tf.sum(fgSorted, 1, true);
  const inter = tf.sub(G, tf.cumsum(fgSorted, 1));
  const union = tf.add(G, tf.cumsum(tf.sub(tf.scalar(1), fgSorted), 1));
  const J = tf.sub(tf.scalar(1), tf.div(inter, union));
  const g = tf.concat([tf.slice(J, [0, 0], [C, 1]), tf.sub(tf.slice(J, [0, 1], [C, L - 1]), tf.slice(J, [0, 0], [C, L - 1]))], 1);
  const perClass = tf.sum(tf.mul(values, g), 1);
  const present = tf.cast(tf.greater(tf.reshape(G, [C]), tf.scalar(0)), "float32");
  return tf.div(tf.sum(tf.mul(perClass, present)), tf.maximum(tf.sum(present), tf.scalar(1)));
}

async function softmaxSection(m, quick, mod, note) {
  const shape = [4, 21, 256, 256];
  const [N, , H, W] = shape;
  const { labels, probs } = makeMulticlass(shape, DEFAULT_SEED);
  const { results, notes, record } = recorder(m);
  const t = { data: labels, shape: [N, H, W] };
  if (!mod) notes.push(note);
  else {
    const seg = await mod.create();
    const segScalar = await mod.create({ simd: false });
    record("segloss-copy", () => seg.lovaszSoftmax(t, { data: probs, shape }));
    for (const [row, s] of [
      ["segloss-mem", seg],
      ["segloss-scalar", segScalar],
    ]) {
      const pm = s.alloc(Float32Array, probs.length);
      const tm = s.alloc(Float32Array, labels.length);
      pm.set(probs);
      tm.set(labels);
      record(row, () => s.lovaszSoftmax({ data: tm, shape: [N, H, W] }, { data: pm, shape }));
      s.free(pm);
      s.free(tm);
    }
    const out = new Float32Array(probs.length);
    record("segloss-grad", () => seg.lovaszSoftmaxGrad(t, { data: probs, shape }, { out }).loss);
    // the loss sorts only the keys up to each class's last foreground pixel; one
    // foreground pixel with p = 1 (error 0) per class makes it sort every key
    const logits = probs.map(Math.log); // softmax(log p) = p: the same problem through fromLogits
    record("segloss-logits", () => seg.lovaszSoftmax(t, { data: logits, shape }, { fromLogits: true }));
    const sure = sureCopy(labels, probs, shape);
    record("segloss-all-keys", () => seg.lovaszSoftmax(t, { data: sure, shape }));
    record("segloss-grad-all-keys", () => seg.lovaszSoftmaxGrad(t, { data: sure, shape }, { out }).loss);
  }
  const keys = new Uint32Array(N * H * W);
  record("plain-js", () => plainSoftmax(labels, probs, shape, keys));
  try {
    const { loadTf } = await import("./peers/tfjs.mjs");
    const peer = await loadTf("wasm");
    await peer.activate?.();
    const tf = await import("@tensorflow/tfjs-core");
    const tl = tf.tensor(labels, [N, H, W], "float32");
    const tp = tf.tensor(probs, shape, "float32");
    record("tfjs-wasm", () => tfScalar(tf, () => tfSoftmax(tf, tl, tp, shape)));
    tl.dispose();
    tp.dispose();
  } catch (e) {
    notes.push(`tfjs-wasm: ${firstLine(e)}`);
  }
  torchRow("softmax", { labels, probs }, shape, quick ? 5 : 9, { results, notes });
  const rows = [
    ...SEGLOSS_ROWS,
    { id: "segloss-grad", label: "segloss SIMD lovaszSoftmaxGrad (loss + gradient, copy-in)" },
    { id: "segloss-logits", label: "segloss SIMD, fromLogits on log p (softmax inside; copy-in)" },
    { id: "segloss-all-keys", label: "segloss SIMD, every key sorted (p = 1 at one foreground pixel per class; copy-in)¹" },
    { id: "segloss-grad-all-keys", label: "segloss SIMD lovaszSoftmaxGrad, every key sorted (as above)¹" },
    { id: "plain-js", label: "plain JS (Uint32Array.sort of packed keys, per class)" },
    { id: "tfjs-wasm", label: "tfjs-wasm (topk per class + cumsum)" },
    { id: "torch-cpu", label: "PyTorch CPU, 1 thread (reference algorithm: torch.sort per class)" },
  ];
  console.log(
    `\nlovaszSoftmax, ${shape.join("×")} NCHW probabilities, classes 'present', one loss over the batch, ${quick ? "quick" : "full"} mode; ratios = peer median / row median.\n`,
  );
  console.log(
    table(
      ["row", "median ms", "vs plain JS", "vs tfjs-wasm", "vs torch", "loss", "rel. diff vs plain JS"],
      cellsOf(rows, results, ["plain-js", "tfjs-wasm", "torch-cpu"]),
    ),
  );
  console.log(
    "\n¹ Other input (the ratios compare different data): after a class's last foreground pixel in the sorted order J stays 1,\n" +
      "so segloss sorts only the keys up to it; these probabilities have no confident foreground pixel, which leaves most\n" +
      "background keys out. A foreground pixel with p = 1 (error 0) sorts last and keeps every key: the cost of confident predictions.",
  );
  for (const line of notes) console.log(`\n- ${line}`);
}

// ---------------------------------------------------------------- before/after

/** Rows of both sections as functions of a segloss instance pair { simd, scalar }. */
function compareRows(args, only) {
  const rows = [];
  if (only !== "softmax") {
    const d = makeData({ shape: args.shape, seed: DEFAULT_SEED });
    const o = { shape: d.shape };
    const out = new Float32Array(d.size);
    const inMem = new Map();
    const resident = (s) => {
      if (!inMem.has(s)) {
        const t = s.alloc(Float32Array, d.size);
        const x = s.alloc(Float32Array, d.size);
        t.set(d.target);
        x.set(d.logits);
        inMem.set(s, { t, x });
      }
      return inMem.get(s);
    };
    rows.push(["lovaszHinge copy-in", (s) => s.simd.lovaszHinge(d.target, d.logits, o)]);
    rows.push(["lovaszHinge in memory", (s) => s.simd.lovaszHinge(resident(s.simd).t, resident(s.simd).x, o)]);
    rows.push(["lovaszHinge scalar, in memory", (s) => s.scalar.lovaszHinge(resident(s.scalar).t, resident(s.scalar).x, o)]);
    rows.push(["lovaszHinge symmetric, copy-in", (s) => s.simd.lovaszHinge(d.target, d.logits, { ...o, symmetric: true })]);
    rows.push(["lovaszHingeGrad copy-in", (s) => s.simd.lovaszHingeGrad(d.target, d.logits, { ...o, out }).loss]);
  }
  if (only !== "hinge") {
    const shape = [4, 21, 256, 256];
    const [N, , H, W] = shape;
    const { labels, probs } = makeMulticlass(shape, DEFAULT_SEED);
    const t = { data: labels, shape: [N, H, W] };
    const sure = sureCopy(labels, probs, shape);
    const out = new Float32Array(probs.length);
    rows.push(["lovaszSoftmax 'present'", (s) => s.simd.lovaszSoftmax(t, { data: probs, shape })]);
    rows.push(["lovaszSoftmax, every key sorted", (s) => s.simd.lovaszSoftmax(t, { data: sure, shape })]);
    rows.push(["lovaszSoftmaxGrad, every key sorted", (s) => s.simd.lovaszSoftmaxGrad(t, { data: sure, shape }, { out }).loss]);
  }
  return rows;
}

async function compare(args, mod, baselinePath, only) {
  const base = await loadSegloss(baselinePath);
  if (!mod || !base.mod) throw new Error(`cannot compare: ${!mod ? "this build" : baselinePath} did not load`);
  const pair = async (m) => ({ simd: await m.create(), scalar: await m.create({ simd: false }) });
  const builds = { baseline: await pair(base.mod), current: await pair(mod) };
  const rows = compareRows(args, only);
  const reps = args.quick ? 11 : 21;
  const times = {};
  const values = {};
  for (let r = 0; r < reps; r++) {
    for (const [row, fn] of rows) {
      for (const name of r % 2 ? ["current", "baseline"] : ["baseline", "current"]) {
        const t0 = performance.now();
        values[`${row}|${name}`] = fn(builds[name]);
        (times[`${row}|${name}`] ??= []).push(performance.now() - t0);
      }
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const cells = rows.map(([row]) => {
    const a = times[`${row}|baseline`];
    const b = times[`${row}|current`];
    const rel = Math.abs(values[`${row}|current`] - values[`${row}|baseline`]) / Math.abs(values[`${row}|baseline`]);
    return [
      row,
      med(a).toFixed(2),
      med(b).toFixed(2),
      `${(med(a) / med(b)).toFixed(2)}×`,
      Math.min(...a).toFixed(2),
      Math.min(...b).toFixed(2),
      rel.toExponential(1),
    ];
  });
  console.log(`\nbaseline ${baselinePath} vs this build, ${reps} reps each, alternating; load after: ${os.loadavg()[0].toFixed(1)}\n`);
  console.log(
    table(
      ["row", "baseline median ms", "current median ms", "baseline/current", "baseline min", "current min", "rel. diff of the value"],
      cells,
    ),
  );
}

async function main() {
  const args = entryArgs("lovasz.mjs", { shape: DEFAULT_SHAPE });
  const m = timeBudget(args.quick, { quickReps: [5, 200], fullReps: [9, 500] });
  const { mod, note } = await loadSegloss(args.segloss);
  const only = process.env.LOVASZ_BENCH;
  console.log(`\nEnvironment: ${envLine(machine(), { load: "1" })}`);
  if (process.env.LOVASZ_BASELINE) return compare(args, mod, process.env.LOVASZ_BASELINE, only);
  if (only !== "softmax") await hingeSection(args, m, mod, note);
  if (only !== "hinge") await softmaxSection(m, args.quick, mod, note);
}

main();
