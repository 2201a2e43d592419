#!/usr/bin/env node
// objectMetrics benchmark: segloss's run-length union-find labelling and sparse
// pair counting against a plain-JS flood-fill implementation, in one process,
// on the bench's deterministic masks (bench/data.mjs). Prints medians, pixels/s
// and the ratio to the plain-JS peer, and checks that every row agrees.
//
//   node bench/objectMetrics.mjs [--quick] [--shape 8,512,512] [--connectivity 8] [--segloss MODULE]
//
// Pixels/s counts the pixels of one mask (N·H·W) per call; each call reads the
// target and the prediction.

import { DEFAULT_SEED, DEFAULT_SHAPE, makeData } from "./data.mjs";
import { copyIntoWasm, eachArg, envLine, isMissingFile, machine, parseShape, seglossTarget, table, timeReps } from "./lib.mjs";

const THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

// ---------------------------------------------------------------- plain-JS peer

/** Flood-fill labels (explicit stack) of one mask; returns the object count. */
function floodFill(mask, H, W, conn8, labels, stack) {
  labels.fill(0);
  let count = 0;
  for (let s = 0; s < H * W; s++) {
    if (!mask[s] || labels[s]) continue;
    labels[s] = ++count;
    let top = 0;
    stack[top++] = s;
    while (top > 0) {
      const i = stack[--top];
      const y = (i / W) | 0;
      const x = i - y * W;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (!conn8 && dx !== 0 && dy !== 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= W) continue;
          const j = ny * W + nx;
          if (mask[j] && !labels[j]) {
            labels[j] = count;
            stack[top++] = j;
          }
        }
      }
    }
  }
  return count;
}

/** The whole metric in plain JS: binarise, flood-fill both masks, pair counts in a Map, TP per τ. */
function plainObjectMetrics(t, p, [N, H, W], conn8) {
  const L = H * W;
  const mt = new Uint8Array(L);
  const mp = new Uint8Array(L);
  const lt = new Int32Array(L);
  const lp = new Int32Array(L);
  const stack = new Int32Array(L);
  const T = THRESHOLDS.length;
  const tp = new Float64Array(T);
  const fp = new Float64Array(T);
  const fn = new Float64Array(T);
  let scoreSum = 0;
  for (let n = 0; n < N; n++) {
    const off = n * L;
    for (let i = 0; i < L; i++) {
      mt[i] = t[off + i] === 1 ? 1 : 0;
      mp[i] = p[off + i] > 0.5 ? 1 : 0;
    }
    const kt = floodFill(mt, H, W, conn8, lt, stack);
    const kp = floodFill(mp, H, W, conn8, lp, stack);
    const areaT = new Float64Array(kt + 1);
    const areaP = new Float64Array(kp + 1);
    const inter = new Map();
    for (let i = 0; i < L; i++) {
      const a = lt[i];
      const b = lp[i];
      areaT[a]++;
      areaP[b]++;
      if (a && b) {
        const key = a * (kp + 1) + b;
        inter.set(key, (inter.get(key) ?? 0) + 1);
      }
    }
    const m = new Float64Array(T);
    for (const [key, c] of inter) {
      const a = Math.floor(key / (kp + 1));
      const b = key - a * (kp + 1);
      const iou = c / (areaT[a] + areaP[b] - c);
      for (let k = 0; k < T; k++) if (iou > THRESHOLDS[k]) m[k]++;
    }
    let s = 0;
    for (let k = 0; k < T; k++) {
      tp[k] += m[k];
      fp[k] += kp - m[k];
      fn[k] += kt - m[k];
      s += kt + kp === 0 ? 1 : m[k] / (kt + kp - m[k]);
    }
    scoreSum += s / T;
  }
  return { tp, fp, fn, score: scoreSum / N };
}

// ---------------------------------------------------------------- timing

/** bench/lib.mjs's timing loop (no maxReps here); the median is the lower middle repetition. */
function measure(fn, m) {
  const { coldMs, times, value } = timeReps(fn, m);
  times.sort((a, b) => a - b);
  return { coldMs, medianMs: times[(times.length - 1) >> 1], minMs: times[0], reps: times.length, value };
}

// ---------------------------------------------------------------- main

function parseArgs(argv) {
  const args = { quick: false, shape: DEFAULT_SHAPE, conn: 8, segloss: "../dist/index.js" };
  eachArg(
    argv,
    (a, value) => {
      if (a === "--quick") args.quick = true;
      else if (a.startsWith("--shape")) args.shape = parseShape(value());
      else if (a.startsWith("--connectivity")) args.conn = Number(value());
      else if (a.startsWith("--segloss")) args.segloss = value();
      else {
        console.error(`bench: unknown argument ${a}`);
        process.exit(2);
      }
    },
    { required: false },
  );
  return args;
}

async function loadSegloss(spec) {
  const target = seglossTarget(spec);
  if (isMissingFile(target)) {
    console.error(`bench: ${spec} missing — run \`npm run build\``);
    process.exit(2);
  }
  return import(target);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const m = args.quick
    ? { warmupMs: 50, minTimeMs: 300, minReps: 3, maxTimeMs: 1000 }
    : { warmupMs: 300, minTimeMs: 1500, minReps: 9, maxTimeMs: 5000 };
  const log = (s) => process.stderr.write(`${s}\n`);
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const [N, H, W] = data.shape;
  const pixels = N * H * W;
  const conn8 = args.conn === 8;
  log(`data: ${data.shape.join("×")}, fingerprint ${data.stats.fingerprint}, connectivity ${args.conn}`);

  const mod = await loadSegloss(args.segloss);
  const seg = await mod.create();
  const scalar = await mod.create({ simd: false });
  const opts = { shape: data.shape, connectivity: args.conn };
  const simdViews = copyIntoWasm(seg, data, pixels);
  const scalarViews = copyIntoWasm(scalar, data, pixels);
  const targetU8 = Uint8Array.from(data.target);

  const rows = [
    ["segloss SIMD (copy-in, Float32 target)", () => seg.objectMetrics(data.target, data.pred, opts)],
    ["segloss SIMD (copy-in, Uint8 target)", () => seg.objectMetrics(targetU8, data.pred, opts)],
    ["segloss SIMD (in wasm memory)", () => seg.objectMetrics(simdViews.t, simdViews.p, opts)],
    ["segloss SIMD (in wasm memory, labels: true)", () => seg.objectMetrics(simdViews.t, simdViews.p, { ...opts, labels: true })],
    ["segloss scalar build (in wasm memory)", () => scalar.objectMetrics(scalarViews.t, scalarViews.p, opts)],
    ["plain JS (flood fill + Map)", () => plainObjectMetrics(data.target, data.pred, data.shape, conn8)],
  ];
  const results = [];
  for (const [label, fn] of rows) {
    const r = measure(fn, m);
    results.push({ label, ...r });
    log(`  ${label.padEnd(46)} ${r.medianMs.toFixed(2).padStart(8)} ms (${r.reps} reps, first ${r.coldMs.toFixed(1)} ms)`);
  }
  const peer = results[results.length - 1];
  const ref = peer.value;
  console.log(envLine(machine("cpu"), { load: "all" }));
  const r0 = results[0].value;
  console.log(
    `${data.shape.join("×")}, connectivity ${args.conn}; TP at τ = 0.5: ${r0.tp[0]}, FP ${r0.fp[0]}, FN ${r0.fn[0]}; score ${r0.score.toFixed(6)}\n`,
  );
  const rowsOut = results.map((r) => {
    const v = r.value;
    const agrees =
      ["tp", "fp", "fn"].every((k) => Array.from(v[k]).every((x, i) => x === ref[k][i])) && Math.abs(v.score - ref.score) < 1e-12;
    return [
      r.label,
      r.medianMs.toFixed(2),
      r.minMs.toFixed(2),
      r.coldMs.toFixed(1),
      r.reps,
      (pixels / r.medianMs / 1e3).toFixed(0),
      `${(peer.medianMs / r.medianMs).toFixed(1)}×`,
      agrees ? "✓" : "✗",
    ];
  });
  console.log(table(["implementation", "median ms", "min ms", "first call ms", "reps", "Mpixel/s", "× vs plain JS", "agrees"], rowsOut));
  for (const [s, v] of [
    [seg, simdViews],
    [scalar, scalarViews],
  ]) {
    s.free(v.t);
    s.free(v.p);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
