#!/usr/bin/env node
// segloss benchmark for the binary Lovasz hinge (per image, the reference's
// default): segloss (radix sort in wasm), a plain-JS version (native
// Float32Array.sort of the positives' and the negatives' errors, merged), and
// TensorFlow.js wasm (topk + gather + cumsum), in one process; medians and
// ratios, as the other bench entries do.
//
//   node bench/lovasz.mjs [--quick] [--shape 8,512,512] [--segloss MODULE]

import { DEFAULT_SEED, DEFAULT_SHAPE, makeData } from "./data.mjs";
import {
  collectGarbage,
  envLine,
  fail,
  firstLine,
  isMissingFile,
  isShape3,
  machine,
  measure,
  parseOptions,
  SEGLOSS_ROWS,
  seglossTarget,
  table,
  tfScalar,
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

async function main() {
  const args = parseOptions(
    process.argv.slice(2),
    { quick: false, shape: DEFAULT_SHAPE, segloss: "../dist/index.js", out: null },
    "usage: node bench/lovasz.mjs [--quick] [--shape N,H,W] [--segloss MODULE]",
  );
  if (!isShape3(args.shape)) fail("--shape wants N,H,W");
  const m = args.quick
    ? { warmupMs: 50, minTimeMs: 250, minReps: 5, maxTimeMs: 800, maxReps: 200 }
    : { warmupMs: 250, minTimeMs: 1000, minReps: 9, maxTimeMs: 3000, maxReps: 500 };
  const log = (s) => process.stderr.write(`${s}\n`);
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const shape = data.shape;
  const n = data.size;
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

  const target = seglossTarget(args.segloss);
  if (isMissingFile(target)) notes.push(`segloss: not built (${args.segloss} missing)`);
  else {
    const mod = await import(target);
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
  record("plain-js", () => plainHinge(data.target, data.logits, shape, pos, neg));

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

  const rows = [
    ...SEGLOSS_ROWS,
    { id: "segloss-grad", label: "segloss SIMD lovaszHingeGrad (loss + gradient, copy-in)" },
    { id: "plain-js", label: "plain JS (Float32Array.sort, merge)" },
    { id: "tfjs-wasm", label: "tfjs-wasm (topk + cumsum)" },
  ];
  const ref = results["plain-js"]?.value;
  const cells = rows
    .filter((r) => results[r.id])
    .map(({ id, label }) => {
      const r = results[id];
      const x = (peer) => (results[peer] ? `${(results[peer].medianMs / r.medianMs).toFixed(2)}×` : "—");
      const rel = ref == null ? "—" : (Math.abs(r.value - ref) / Math.abs(ref)).toExponential(1);
      return [label, r.medianMs.toFixed(2), x("plain-js"), x("tfjs-wasm"), String(r.value.toPrecision(8)), rel];
    });
  console.log(`\nEnvironment: ${envLine(machine(), { load: "1" })}\n`);
  console.log(
    `lovaszHinge per image, ${shape.join("×")} (${(n / 1e6).toFixed(2)} M logits), ${args.quick ? "quick" : "full"} mode; ratios = peer median / row median.\n`,
  );
  console.log(table(["row", "median ms", "vs plain JS", "vs tfjs-wasm", "loss", "rel. diff vs plain JS"], cells));
  for (const note of notes) console.log(`\n- ${note}`);
}

main();
