#!/usr/bin/env node
// segloss benchmark for the boundary-weighted family: the weight map at three
// window sizes (its cost must not grow with k) and weightedBceDice at the
// seed's k = 50, run by segloss, a plain-JS integral-image version and
// TensorFlow.js (tf.avgPool 'same' + the same formula), in one process;
// medians and ratios, as bench/run.mjs does for the binary losses.
//
//   node bench/weighted.mjs [--quick] [--only map,wbd,wbdGrad,wbce,wdice] [--shape 8,512,512]
//                           [--tfjs-cpu] [--tfjs-k201] [--segloss MODULE] [--out FILE.json]
//
// tfjs runs avgPool in O(k²) per pixel: its k = 50 rows take seconds per call
// and are timed with three repetitions; tfjs-cpu (pure JS, slower still) and
// tfjs at k = 201 run only when asked.

import { writeFileSync } from "node:fs";
import { DEFAULT_SEED, DEFAULT_SHAPE, makeData } from "./data.mjs";
import {
  collectGarbage,
  envLine,
  fail,
  firstLine,
  interleavedStats,
  isMissingFile,
  isOption,
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

const EPS = Math.fround(1e-7); // Keras's ε as float32
const ONE_MINUS_EPS = Math.fround(1 - EPS);
const MAP_KS = [5, 50, 201];
const K = 50; // the seed's window

/** Workloads: id → what it measures. */
const WORKLOADS = {
  "map-k5": { group: "map", k: 5, note: "boundaryWeights, k = 5, exp map, batch-normalised" },
  "map-k50": { group: "map", k: 50, note: "boundaryWeights, k = 50 (the seed's)" },
  "map-k201": { group: "map", k: 201, note: "boundaryWeights, k = 201" },
  wbd: { group: "wbd", k: K, note: "weightedBceDice: weightedBce(t, p, boundaryWeights(t)) + (1 − batch Dice), k = 50" },
  wbdGrad: { group: "wbdGrad", k: K, note: "weightedBceDiceGrad (loss and gradient), k = 50" },
  wbce: { group: "wbce", k: K, note: "weightedBce with a precomputed map (TF pos_weight form)" },
  wdice: { group: "wdice", k: K, note: "weightedDice with a precomputed map" },
};

const TARGETS = { wbd: { "tfjs-wasm": 500, "plain-js": 20 } };

const ROWS = [
  ...SEGLOSS_ROWS,
  { id: "plain-js", label: "plain JS (integral image, f64)" },
  { id: "tfjs-cpu", label: "tfjs-cpu" },
  { id: "tfjs-wasm", label: "tfjs-wasm" },
];

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = {
    quick: false,
    only: null,
    shape: DEFAULT_SHAPE,
    tfjsCpu: false,
    tfjsK201: false,
    segloss: "../dist/index.js",
    out: null, // the JSON is written only when asked
  };
  const usageText =
    "usage: node bench/weighted.mjs [--quick] [--only map,wbd,wbdGrad,wbce,wdice] [--shape N,H,W] [--tfjs-cpu] [--tfjs-k201] [--segloss MODULE] [--out FILE]";
  parseOptions(argv, args, usageText, (a, value) => {
    if (a === "--tfjs-cpu") args.tfjsCpu = true;
    else if (a === "--tfjs-k201") args.tfjsK201 = true;
    else if (isOption(a, "--only")) args.only = value().split(",").filter(Boolean);
    else return false;
    return true;
  });
  if (args.only) {
    const groups = new Set(Object.values(WORKLOADS).map((w) => w.group));
    const bad = args.only.filter((g) => !groups.has(g) && !(g in WORKLOADS));
    if (bad.length) fail(`unknown workload ${bad.join(", ")}; known: ${[...groups].join(", ")}`);
  }
  if (!isShape3(args.shape)) fail("--shape wants N,H,W");
  return args;
}

// ---------------------------------------------------------------- plain JavaScript

/** TF SAME window bounds for stride 1: ⌊(k−1)/2⌋ before, the rest after. */
const before = (k) => Math.floor((k - 1) / 2);

/** The seed's map with a float64 integral image per image: O(H·W) for any k. */
function plainMap(t, [N, H, W], k, out) {
  const b = before(k);
  const a = k - 1 - b;
  const S = new Float64Array((H + 1) * (W + 1));
  let sum = 0;
  for (let n = 0; n < N; n++) {
    const base = n * H * W;
    for (let i = 0; i < H; i++) {
      let row = 0;
      for (let j = 0; j < W; j++) {
        row += t[base + i * W + j];
        S[(i + 1) * (W + 1) + j + 1] = S[i * (W + 1) + j + 1] + row;
      }
    }
    for (let i = 0; i < H; i++) {
      const r0 = Math.max(0, i - b);
      const r1 = Math.min(H, i + a + 1);
      for (let j = 0; j < W; j++) {
        const c0 = Math.max(0, j - b);
        const c1 = Math.min(W, j + a + 1);
        const box = S[r1 * (W + 1) + c1] - S[r0 * (W + 1) + c1] - S[r1 * (W + 1) + c0] + S[r0 * (W + 1) + c0];
        const w = 5 * Math.exp(-5 * Math.abs(box / ((r1 - r0) * (c1 - c0)) - 0.5));
        out[base + i * W + j] = w;
        sum += w;
      }
    }
  }
  const c = t.length / sum;
  for (let i = 0; i < out.length; i++) out[i] *= c;
  return out;
}

/** Σℓ, Σw and the Dice sums of the seed's loss, per SPEC §4, in float64. */
function plainSums(t, p, w) {
  let sl = 0;
  let sw = 0;
  let si = 0;
  let st = 0;
  let sp = 0;
  for (let i = 0; i < t.length; i++) {
    const y = t[i];
    const q = p[i];
    const pc = Math.min(Math.max(q, EPS), ONE_MINUS_EPS);
    const x = Math.log(pc / (1 - pc));
    sl += (1 - y) * x + (1 + (w[i] - 1) * y) * (Math.log1p(Math.exp(-Math.abs(x))) + Math.max(-x, 0));
    sw += w[i];
    si += y * q;
    st += y;
    sp += q;
  }
  return { sl, sw, si, st, sp };
}

function makePlain(shape, n) {
  const map = new Float32Array(n);
  const wbd = (t, p) => {
    const s = plainSums(t, p, plainMap(t, shape, K, map));
    return s.sl / s.sw + 1 - (2 * s.si + 1) / (s.st + s.sp + 1);
  };
  return {
    map: (t, k) => plainMap(t, shape, k, map),
    wbd,
    wbdGrad: (t, p, grad) => {
      const w = plainMap(t, shape, K, map);
      const s = plainSums(t, p, w);
      const num = 2 * s.si + 1;
      const den = s.st + s.sp + 1;
      for (let i = 0; i < t.length; i++) {
        const y = t[i];
        const q = p[i];
        const inside = q >= EPS && q <= ONE_MINUS_EPS;
        const pc = Math.min(Math.max(q, EPS), ONE_MINUS_EPS);
        const dl = inside ? ((1 - y) * pc - w[i] * y * (1 - pc)) / (pc * (1 - pc)) : 0;
        grad[i] = dl / s.sw - (2 * y * den - num) / (den * den);
      }
      return s.sl / s.sw + 1 - num / den;
    },
    wbce: (t, p, w) => {
      const s = plainSums(t, p, w);
      return s.sl / s.sw;
    },
    wdice: (t, p, w) => {
      let si = 0;
      let st = 0;
      let sp = 0;
      for (let i = 0; i < t.length; i++) {
        si += w[i] * t[i] * p[i];
        st += w[i] * t[i];
        sp += w[i] * p[i];
      }
      return 1 - (2 * si + 1) / (st + sp + 1);
    },
  };
}

// ---------------------------------------------------------------- TensorFlow.js

async function loadTfjs(backend) {
  const { loadTf } = await import("./peers/tfjs.mjs");
  const peer = await loadTf(backend); // initialises the backend (wasm paths, ready())
  const tf = await import("@tensorflow/tfjs-core");
  return { peer, tf };
}

function tfWorkloads(tf, [N, H, W]) {
  const map = (t, k) => {
    const a = tf.reshape(tf.avgPool(tf.reshape(t, [N, H, W, 1]), [k, k], 1, "same"), [N, H, W]);
    const w = tf.mul(tf.scalar(5), tf.exp(tf.mul(tf.scalar(-5), tf.abs(tf.sub(a, tf.scalar(0.5))))));
    return tf.mul(w, tf.div(tf.scalar(N * H * W), tf.sum(w)));
  };
  const wbce = (t, p, w) => {
    const pc = tf.clipByValue(p, EPS, ONE_MINUS_EPS);
    const x = tf.log(tf.div(pc, tf.sub(tf.scalar(1), pc)));
    const one = tf.scalar(1);
    const sp = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(x)))), tf.relu(tf.neg(x)));
    const l = tf.add(tf.mul(tf.sub(one, t), x), tf.mul(tf.add(one, tf.mul(tf.sub(w, one), t)), sp));
    return tf.div(tf.sum(l), tf.sum(w));
  };
  const dice = (t, p, w) => {
    const wt = w ? tf.mul(w, t) : t;
    const i = tf.sum(tf.mul(wt, p));
    const den = tf.add(tf.add(tf.sum(wt), tf.sum(w ? tf.mul(w, p) : p)), tf.scalar(1));
    return tf.sub(tf.scalar(1), tf.div(tf.add(tf.mul(tf.scalar(2), i), tf.scalar(1)), den));
  };
  return {
    map,
    wbd: (t, p) => tf.add(wbce(t, p, map(t, K)), dice(t, p, null)),
    wbce,
    wdice: (t, p, w) => dice(t, p, w),
  };
}

// ---------------------------------------------------------------- segloss

async function loadSegloss(spec) {
  const target = seglossTarget(spec);
  if (isMissingFile(target)) return { note: `segloss: not built (${spec} missing)` };
  const mod = await import(target);
  return { seg: await mod.create(), segScalar: await mod.create({ simd: false }) };
}

/** A map's fingerprint (a map is too big to print): Σ w_i·(1 + i mod 7) / n. */
function fingerprint(w) {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * (1 + (i % 7));
  return s / w.length;
}

// ---------------------------------------------------------------- main

const fmtMs = (v) => (v == null ? "—" : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const fmtX = (v) => (v == null ? "—" : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const m = args.quick
    ? { warmupMs: 50, minTimeMs: 250, minReps: 5, maxTimeMs: 800, maxReps: 200 }
    : { warmupMs: 250, minTimeMs: 1000, minReps: 9, maxTimeMs: 3000, maxReps: 500 };
  const slow = { warmupMs: 0, minTimeMs: 0, minReps: 3, maxTimeMs: 0, maxReps: 3 };
  const log = (s) => process.stderr.write(`${s}\n`);
  const wanted = Object.keys(WORKLOADS).filter((id) => !args.only || args.only.includes(id) || args.only.includes(WORKLOADS[id].group));
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const shape = data.shape;
  const n = data.size;
  log(`data: ${shape.join("×")}, fg ${(100 * data.stats.foregroundFraction).toFixed(1)}%, fingerprint ${data.stats.fingerprint}`);

  const results = Object.fromEntries(wanted.map((id) => [id, {}]));
  const notes = [];
  const record = (id, row, fn, mm = m) => {
    collectGarbage();
    try {
      const r = measure(fn, mm);
      // a map is summarised by its fingerprint after the timing (the timed call returns the array)
      if (typeof r.value !== "number") r.value = fingerprint(r.value);
      results[id][row] = r;
      log(`  ${id.padEnd(9)} ${row.padEnd(15)} ${fmtMs(r.medianMs).padStart(8)} ms (${r.reps} reps, first ${fmtMs(r.coldMs)} ms)`);
    } catch (e) {
      notes.push(`${row} ${id}: failed: ${firstLine(e)}`);
    }
  };

  // segloss: copy-in (SIMD) and in-memory (SIMD, scalar); the precomputed map for wbce/wdice
  const sl = await loadSegloss(args.segloss);
  const segRows = [];
  let map50 = null;
  if (sl.note) notes.push(sl.note);
  else {
    segRows.push({ row: "segloss-copy", seg: sl.seg, mem: false });
    segRows.push({ row: "segloss-mem", seg: sl.seg, mem: true });
    segRows.push({ row: "segloss-scalar", seg: sl.segScalar, mem: true });
    map50 = sl.seg.boundaryWeights(data.target, { shape, kernel: K }).data;
  }
  const plain = makePlain(shape, n);
  if (!map50) map50 = plain.map(data.target, K).slice();

  const interleaved = {};
  for (const { row, seg, mem } of segRows) {
    const io = mem
      ? { t: seg.alloc(Float32Array, n), p: seg.alloc(Float32Array, n), w: seg.alloc(Float32Array, n), out: seg.alloc(Float32Array, n) }
      : { t: data.target, p: data.pred, w: map50, out: new Float32Array(n) };
    if (mem) {
      io.t.set(data.target);
      io.p.set(data.pred);
      io.w.set(map50);
    }
    if (row !== "segloss-scalar" && MAP_KS.every((k) => wanted.includes(`map-k${k}`))) {
      // the three windows in interleaved rounds: their costs compared in the same phases of the machine
      const fns = Object.fromEntries(MAP_KS.map((k) => [k, () => seg.boundaryWeights(io.t, { shape, kernel: k, out: io.out })]));
      collectGarbage();
      interleaved[row] = interleavedStats(fns, args.quick ? 15 : 40);
    }
    for (const id of wanted) {
      const { group, k } = WORKLOADS[id];
      const o = { shape };
      if (group === "map") record(id, row, () => seg.boundaryWeights(io.t, { ...o, kernel: k, out: io.out }).data);
      else if (group === "wbd") record(id, row, () => seg.weightedBceDice(io.t, io.p, o));
      else if (group === "wbdGrad") record(id, row, () => seg.weightedBceDiceGrad(io.t, io.p, { ...o, out: io.out }).loss);
      else if (group === "wbce") record(id, row, () => seg.weightedBce(io.t, io.p, io.w, o));
      else if (group === "wdice") record(id, row, () => seg.weightedDice(io.t, io.p, io.w, o));
    }
    if (mem) for (const v of Object.values(io)) seg.free(v);
  }

  // plain JavaScript
  const grad = new Float32Array(n);
  for (const id of wanted) {
    const { group, k } = WORKLOADS[id];
    if (group === "map") record(id, "plain-js", () => plain.map(data.target, k));
    else if (group === "wbd") record(id, "plain-js", () => plain.wbd(data.target, data.pred));
    else if (group === "wbdGrad") record(id, "plain-js", () => plain.wbdGrad(data.target, data.pred, grad));
    else if (group === "wbce") record(id, "plain-js", () => plain.wbce(data.target, data.pred, map50));
    else if (group === "wdice") record(id, "plain-js", () => plain.wdice(data.target, data.pred, map50));
  }

  // paired rounds for weightedBceDice's targets (set up here, run with tfjs-wasm below)
  const paired = [];
  const pairedSubjects = [];
  if (wanted.includes("wbd") && !sl.note) {
    const seg = sl.seg;
    const t = seg.alloc(Float32Array, n);
    const p = seg.alloc(Float32Array, n);
    t.set(data.target);
    p.set(data.pred);
    const o = { shape };
    pairedSubjects.push({
      row: "segloss-mem",
      fn: () => seg.weightedBceDice(t, p, o),
      free: () => {
        seg.free(t);
        seg.free(p);
      },
    });
    pairedSubjects.push({ row: "segloss-copy", fn: () => seg.weightedBceDice(data.target, data.pred, o), free: () => {} });
  }
  const runPaired = (tfWbd) => {
    for (const { row, fn, free } of pairedSubjects) {
      const peers = { "plain-js": { fn: () => plain.wbd(data.target, data.pred), rounds: args.quick ? 7 : 15 } };
      if (tfWbd) peers["tfjs-wasm"] = { fn: tfWbd, rounds: 3 };
      collectGarbage();
      const r = pairedRatios(fn, peers);
      paired.push({ row, ...r });
      log(
        `  wbd paired ${row}: ${Object.entries(r)
          .map(([k, v]) => `${k} ${v.median.toFixed(1)}× (${v.min.toFixed(1)}–${v.max.toFixed(1)})`)
          .join(", ")}`,
      );
      free();
    }
  };

  // TensorFlow.js: wasm always, cpu when asked; O(k²) pools get three timed repetitions
  for (const backend of ["wasm", ...(args.tfjsCpu ? ["cpu"] : [])]) {
    let tfx;
    try {
      tfx = await loadTfjs(backend);
      await tfx.peer.activate();
    } catch (e) {
      notes.push(`tfjs-${backend}: ${firstLine(e)} — rows skipped`);
      continue;
    }
    const { tf } = tfx;
    const f = tfWorkloads(tf, shape);
    const t = tf.tensor(data.target, shape, "float32");
    const p = tf.tensor(data.pred, shape, "float32");
    const w = tf.tensor(map50, shape, "float32");
    const row = `tfjs-${backend}`;
    const scalar = (build) => tfScalar(tf, build);
    for (const id of wanted) {
      const { group, k } = WORKLOADS[id];
      if (group === "wbdGrad") continue; // tfjs gradients need its tape and variables: not the same workload
      if (k === 201 && !args.tfjsK201) {
        notes.push(`${row} ${id}: skipped (an O(k²) pool at k = 201; --tfjs-k201 runs it)`);
        continue;
      }
      const heavy = group === "map" || group === "wbd" ? (k >= 50 ? slow : m) : m;
      if (group === "map") {
        record(
          id,
          row,
          () => {
            const out = tf.tidy(() => f.map(t, k));
            const v = out.dataSync(); // a copy of the map, as a user reads it
            out.dispose();
            return v;
          },
          heavy,
        );
      } else if (group === "wbd") {
        record(id, row, () => scalar(() => f.wbd(t, p)), heavy);
        if (backend === "wasm") runPaired(() => scalar(() => f.wbd(t, p)));
      } else if (group === "wbce") record(id, row, () => scalar(() => f.wbce(t, p, w)));
      else if (group === "wdice") record(id, row, () => scalar(() => f.wdice(t, p, w)));
    }
    t.dispose();
    p.dispose();
    w.dispose();
  }

  if (pairedSubjects.length && !paired.length) runPaired(null);

  // ---------------------------------------------------------------- report
  const lines = [];
  const env = envLine(machine(), { load: "1", date: new Date().toISOString() });
  lines.push("", `Environment: ${env}`, "");
  lines.push(
    `Method: ${shape.join("×")} float32 (${(n / 1e6).toFixed(2)} M elements); ${args.quick ? "quick" : "full"} mode as bench/run.mjs ` +
      "(first call alone, warm-up, medians; tfjs O(k²) pools: one warm-up call and 3 timed calls); ratios = peer median / row median.",
    "",
  );
  const timing = [];
  const json = [];
  for (const id of wanted) {
    const r = results[id];
    const tw = r["tfjs-wasm"]?.medianMs;
    const pj = r["plain-js"]?.medianMs;
    const ref = r["segloss-copy"]?.value ?? r["plain-js"]?.value;
    for (const { id: rowId, label } of ROWS) {
      const x = r[rowId];
      if (!x) continue;
      const vsTf = tw ? tw / x.medianMs : null;
      const vsPlain = pj ? pj / x.medianMs : null;
      const rel = ref == null ? null : Math.abs(x.value - ref) / Math.max(Math.abs(ref), 1e-30);
      const target = rowId === "segloss-mem" || rowId === "segloss-copy" ? TARGETS[id] : null;
      const targetCell = target
        ? Object.entries(target)
            .map(([peer, want]) => {
              const got = peer === "tfjs-wasm" ? vsTf : vsPlain;
              return `≥${want}× ${peer} ${got == null ? "?" : got >= want ? "✓" : "✗"}`;
            })
            .join(", ")
        : "";
      timing.push([
        id,
        label,
        fmtMs(x.medianMs),
        fmtMs(x.minMs),
        String(x.reps),
        fmtX(vsTf),
        fmtX(vsPlain),
        `${Number(x.value).toPrecision(8)}${rel == null || rel === 0 ? "" : ` (${rel.toExponential(1)})`}`,
        targetCell,
      ]);
      json.push({ workload: id, row: rowId, ...x, ratioVsTfjsWasm: vsTf, ratioVsPlainJs: vsPlain, relDiff: rel });
    }
  }
  lines.push(
    table(
      ["workload", "implementation", "median ms", "min ms", "reps", "× vs tfjs-wasm", "× vs plain JS", "value (rel. diff)", "target"],
      timing,
    ),
  );
  // the k-independence of the map
  const flat = [];
  for (const row of ["segloss-mem", "segloss-copy", "segloss-scalar", "plain-js"]) {
    const ms = MAP_KS.map((k) => results[`map-k${k}`]?.[row]?.medianMs);
    if (ms.some((v) => v == null)) continue;
    const spread = Math.max(...ms) / Math.min(...ms);
    flat.push([ROWS.find((r) => r.id === row).label, ...ms.map(fmtMs), spread.toFixed(2)]);
  }
  if (flat.length) {
    lines.push(
      "",
      "boundaryWeights cost against the window, the rows above (measured one after another, so phases of the machine show):",
      "",
    );
    lines.push(table(["implementation", ...MAP_KS.map((k) => `k = ${k} ms`), "max/min"], flat));
  }
  const inter = Object.entries(interleaved).map(([row, st]) => {
    const ms = MAP_KS.map((k) => st[k].medianMs);
    const spread = Math.max(...ms) / Math.min(...ms);
    return [
      ROWS.find((r) => r.id === row).label,
      ...ms.map(fmtMs),
      `${spread.toFixed(2)} ${spread <= 1.2 ? "✓" : "✗"}`,
      String(st[MAP_KS[0]].reps),
    ];
  });
  if (inter.length) {
    lines.push("", "boundaryWeights cost against the window in interleaved rounds (k = 5, 50, 201 in turn; target: max/min ≤ 1.2):", "");
    lines.push(table(["implementation", ...MAP_KS.map((k) => `k = ${k} median ms`), "max/min", "rounds"], inter));
  }
  if (paired.length) {
    lines.push(
      "",
      "weightedBceDice, paired rounds (each peer call between segloss calls, so a noisy machine slows both sides alike); " +
        "median ratio over the rounds (min–max):",
      "",
    );
    const cell = (r, peer) => pairedCell(r[peer], TARGETS.wbd[peer]);
    lines.push(
      table(
        ["implementation", "× vs plain JS", "× vs tfjs-wasm"],
        paired.map((r) => [ROWS.find((x) => x.id === r.row).label, cell(r, "plain-js"), cell(r, "tfjs-wasm")]),
      ),
    );
    for (const r of paired) json.push({ workload: "wbd-paired", row: r.row, plainJs: r["plain-js"], tfjsWasm: r["tfjs-wasm"] ?? null });
  }
  if (
    wanted.some((id) => (results[id]["tfjs-wasm"]?.relDiff ?? json.find((r) => r.workload === id && r.row === "tfjs-wasm")?.relDiff) > 1e-3)
  ) {
    notes.push(
      "tfjs-wasm's values differ from the float64 ones by up to a few 1e-3 (the normalised map by ~2%): its tf.sum adds 2^21 float32 " +
        "values in float32 (8·512·512 × 0.4 sums to 824531 instead of 838861); its avgPool itself matches TF's SAME semantics.",
    );
  }
  if (notes.length) lines.push("", "Notes:", ...notes.map((s) => `- ${s}`));
  console.log(lines.join("\n"));
  if (args.out) {
    writeFileSync(
      args.out,
      `${JSON.stringify({ env, mode: args.quick ? "quick" : "full", shape, rows: json, interleaved, notes }, null, 2)}\n`,
    );
    log(`wrote ${args.out}`);
  }
}

await main();
