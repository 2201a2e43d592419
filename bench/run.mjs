#!/usr/bin/env node
// segloss benchmark: the same loss workloads run by segloss and by its peers in
// one process, printed as a markdown table of medians and ratios vs tfjs-wasm.
//
//   node bench/run.mjs [--quick] [--only dice,bce] [--shape 8,512,512] [--no-native]
//                      [--segloss MODULE] [--out FILE]
//
// See bench/README.md for what each row means and how the numbers are taken.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_SEED, DEFAULT_SHAPE, makeData, toBinary } from "./data.mjs";
import {
  collectGarbage,
  fail,
  firstLine,
  fmt3,
  fmtMs,
  isMissingFile,
  isOption,
  isShape3,
  machine,
  envLine as machineLine,
  now,
  parseOptions,
  SEGLOSS_ROWS,
  seglossTarget,
  stats,
  table,
  timeReps,
} from "./lib.mjs";
import * as plain from "./peers/plain.mjs";

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));

// ---------------------------------------------------------------- workloads

/** Every loss row: the segloss function, which prediction array it reads, its options. */
const LOSSES = {
  bce: { fn: "bce", input: "pred", opts: {}, note: "Keras clip ε = 1e-7, mean" },
  bceLogits: { fn: "bce", input: "logits", opts: { fromLogits: true }, note: "bce on logits, mean" },
  dice: { fn: "dice", input: "pred", opts: {}, note: "per image, smooth 1, mean" },
  jaccard: { fn: "jaccard", input: "pred", opts: {}, note: "per image, smooth 1, mean" },
  tversky: { fn: "tversky", input: "pred", opts: {}, note: "α = β = 0.5, per image, smooth 1, mean" },
  focal: { fn: "focal", input: "pred", opts: {}, note: "seed focal: clip [1e-3, 0.999], γ 0.75, α 0.25, sum" },
  bceDice: { fn: "bceDice", input: "pred", opts: {}, note: "bce + Dice loss (per image)" },
};
const NATIVE_LOSSES = new Set(["dice", "bce", "focal"]);

/** Speed-up targets vs tfjs-wasm (from the project brief), per segloss row. */
const TARGETS = {
  dice: { "segloss-mem": 16, "segloss-copy": 4 },
  jaccard: { "segloss-mem": 16, "segloss-copy": 4 },
  tversky: { "segloss-mem": 16, "segloss-copy": 4 },
  bce: { "segloss-mem": 8 },
  focal: { "segloss-mem": 25 },
};

const ROWS = [
  ...SEGLOSS_ROWS,
  { id: "plain-js", label: "plain JS (f64 sums)" },
  { id: "tfjs-cpu", label: "tfjs-cpu" },
  { id: "tfjs-wasm", label: "tfjs-wasm" },
  { id: "native-c", label: "native C (gcc -O3 -march=native)" },
];
const BASELINE = "tfjs-wasm";
const AGREE_TOL = 1e-4;
const SPEC_TOL = 1e-5; // SPEC §3: 1e-5 relative (or 1e-7 absolute) of a float64 evaluation

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = {
    quick: false,
    only: null,
    shape: DEFAULT_SHAPE,
    native: true,
    segloss: "../dist/index.js",
    out: here("./results.json"),
  };
  const usageText =
    "usage: node bench/run.mjs [--quick] [--only " +
    Object.keys(LOSSES).join(",") +
    "] [--shape N,H,W] [--no-native] [--segloss MODULE] [--out results.json]\n" +
    "  --segloss: the module to benchmark (default ../dist/index.js; a path, file URL or package name)";
  parseOptions(argv, args, usageText, (a, value) => {
    if (a === "--no-native") args.native = false;
    else if (isOption(a, "--only"))
      args.only = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    else return false;
    return true;
  });
  if (args.only) {
    const bad = args.only.filter((n) => !(n in LOSSES));
    if (bad.length) fail(`unknown loss ${bad.join(", ")}; known: ${Object.keys(LOSSES).join(", ")}`);
  }
  if (!isShape3(args.shape)) {
    fail("--shape wants three positive integers, e.g. 8,512,512");
  }
  return args;
}

// ---------------------------------------------------------------- timing

/** bench/lib.mjs's timeReps with batching for calls under 50 µs; statistics over the repetitions. */
function measure(fn, m) {
  const { coldMs, times, batch, value } = timeReps(fn, m, { batching: true });
  return { coldMs, ...stats(times), batch, value };
}

// ---------------------------------------------------------------- peers

async function loadSegloss(spec) {
  const target = seglossTarget(spec);
  if (isMissingFile(target)) {
    return { note: `segloss: not built (${spec} missing — run \`npm run build\`)` };
  }
  let mod;
  try {
    mod = await import(target);
  } catch (e) {
    return { note: `segloss: ${spec} failed to load: ${firstLine(e)}` };
  }
  if (typeof mod.create !== "function") return { note: `segloss: ${spec} has no create() export` };
  const out = { info: {} };
  try {
    const t0 = now();
    out.seg = await mod.create();
    out.info.createMs = now() - t0;
  } catch (e) {
    return { note: `segloss: create() failed: ${firstLine(e)}` };
  }
  try {
    const t0 = now();
    out.segScalar = await mod.create({ simd: false });
    out.info.createScalarMs = now() - t0;
  } catch (e) {
    out.scalarNote = `segloss: create({ simd: false }) failed: ${firstLine(e)}`;
  }
  for (const key of ["simd", "version", "features"]) {
    if (out.seg[key] !== undefined && typeof out.seg[key] !== "function") out.info[key] = out.seg[key];
  }
  if (mod.version !== undefined) out.info.version = mod.version;
  return out;
}

/** Views of WebAssembly memory holding the inputs, or a note why not. */
function allocViews(seg, data) {
  if (typeof seg.alloc !== "function") return { note: "seg.alloc missing" };
  try {
    const views = {};
    for (const k of ["target", "pred", "logits"]) {
      views[k] = seg.alloc(Float32Array, data.size);
      views[k].set(data[k]);
    }
    return { views };
  } catch (e) {
    return { note: `seg.alloc failed: ${firstLine(e)}` };
  }
}

function freeViews(seg, views) {
  if (!views || typeof seg.free !== "function") return;
  for (const v of Object.values(views)) {
    try {
      seg.free(v);
    } catch {
      /* reported elsewhere if it matters */
    }
  }
}

function nativeBuild(tmp) {
  let version;
  try {
    version = execFileSync("gcc", ["-dumpfullversion"], { encoding: "utf8" }).trim();
  } catch {
    return { note: "native C: gcc not found — skipped" };
  }
  const exe = join(tmp, "losses");
  const flags = ["-O3", "-march=native", "-std=c11"];
  try {
    execFileSync("gcc", [...flags, "-o", exe, here("./native/losses.c"), "-lm"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return { note: `native C: build failed: ${firstLine(e.stderr?.toString() || e)}` };
  }
  return { exe, info: { compiler: `gcc ${version}`, flags: flags.join(" ") } };
}

// ---------------------------------------------------------------- formatting

const fmtRatio = (v) => (v == null ? "—" : `${fmt3(v)}×`);
const fmtVal = (v) => (v == null ? "—" : Number(v).toPrecision(8));
const fmtRel = (v) => (v === 0 ? "0" : v.toExponential(1));
const fmtTol = (v) => v.toExponential(0);
const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

// ---------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const lossNames = args.only ?? Object.keys(LOSSES);
  const m = args.quick
    ? { warmupMs: 50, minTimeMs: 250, minReps: 3, maxTimeMs: 800, maxReps: 200 }
    : { warmupMs: 250, minTimeMs: 1000, minReps: 7, maxTimeMs: 3000, maxReps: 500 };
  const log = (s) => process.stderr.write(`${s}\n`);
  const startedAt = new Date();
  const env = { ...machine("unknown"), date: startedAt.toISOString() };

  const startMs = now();
  const data = makeData({ shape: args.shape, seed: DEFAULT_SEED });
  const dataMs = now() - startMs;
  const n = data.size;
  const bytesRead = 2 * 4 * n; // two float32 input arrays per loss
  log(
    `data: ${data.shape.join("×")} float32, fg ${(100 * data.stats.foregroundFraction).toFixed(1)}%, ` +
      `fingerprint ${data.stats.fingerprint} (${dataMs.toFixed(0)} ms)`,
  );

  const results = {}; // results[loss][rowId] = measurement
  const notes = [];
  const info = {};
  for (const l of lossNames) results[l] = {};
  // measures fn (or takes a finished measurement, for native C) and logs it
  const record = (l, row, fn, done = null) => {
    try {
      if (!done) collectGarbage();
      const r = done ?? measure(fn, m);
      results[l][row] = r;
      log(`  ${l.padEnd(9)} ${row.padEnd(15)} ${fmtMs(r.medianMs).padStart(8)} ms  (${r.reps} reps, first ${fmtMs(r.coldMs)} ms)`);
    } catch (e) {
      notes.push(`${row} ${l}: failed: ${firstLine(e)}`);
      log(`  ${l.padEnd(9)} ${row.padEnd(15)} failed: ${firstLine(e)}`);
    }
  };

  // ---------------------------------------------------------------- set-up (untimed)
  const shapeOpts = { shape: data.shape };

  // segloss: the SIMD build with copy-in, and both builds with inputs already in wasm memory
  const segRows = []; // { row, seg, views }
  const sl = await loadSegloss(args.segloss);
  if (sl.note) {
    console.log(sl.note.startsWith("segloss: not built") ? "segloss: not built" : sl.note);
    notes.push(sl.note);
  } else {
    info.segloss = sl.info;
    if (sl.segScalar && typeof sl.segScalar.simd === "boolean") info.segloss.scalarBuildSimd = sl.segScalar.simd;
    const missing = [...new Set(lossNames.map((l) => LOSSES[l].fn))].filter((f) => typeof sl.seg[f] !== "function");
    if (missing.length) notes.push(`segloss: no ${missing.join(", ")} yet`);
    segRows.push({ row: "segloss-copy", seg: sl.seg, views: null });
    for (const [row, seg, label] of [
      ["segloss-mem", sl.seg, "segloss SIMD"],
      ["segloss-scalar", sl.segScalar, "segloss scalar build"],
    ]) {
      if (!seg) {
        notes.push(sl.scalarNote);
        continue;
      }
      const a = allocViews(seg, data);
      if (a.note) notes.push(`${label}: ${a.note} — in-memory rows skipped`);
      else segRows.push({ row, seg, views: a.views, label });
    }
  }

  // tfjs: both backends initialised up front, activated in turn
  const tfPeers = [];
  let tfModule = null;
  try {
    tfModule = await import("./peers/tfjs.mjs");
  } catch (e) {
    notes.push(`tfjs: failed to load (${firstLine(e)}) — rows skipped`);
  }
  for (const backend of tfModule ? ["cpu", "wasm"] : []) {
    try {
      const peer = await tfModule.loadTf(backend);
      info[peer.name] = peer.info;
      tfPeers.push(peer);
    } catch (e) {
      notes.push(`tfjs-${backend}: ${firstLine(e)} — rows skipped`);
    }
  }
  if (info["tfjs-wasm"]) {
    const w = info["tfjs-wasm"];
    log(`tfjs-wasm: ${w.binary}, threads ${w.threads ? `on (${w.threadsCount})` : "off"}`);
  }

  // native C: built and fed from a temp folder
  let native = null;
  let readCeiling = null; // native C time to just read both input arrays
  const tmp = mkdtempSync(join(os.tmpdir(), "segloss-bench-"));
  if (!args.native) notes.push("native C: skipped (--no-native)");
  else if (lossNames.some((l) => NATIVE_LOSSES.has(l))) {
    const b = nativeBuild(tmp);
    if (b.note) notes.push(b.note);
    else {
      info["native-c"] = b.info;
      native = { exe: b.exe, file: join(tmp, "data.bin") };
      writeFileSync(native.file, toBinary(data));
      log(`native C: ${b.info.compiler} ${b.info.flags}`);
    }
  }
  const runNative = (name) => {
    const argv = [native.file, "--only", name, "--min-time", m.minTimeMs, "--min-reps", m.minReps];
    argv.push("--max-time", m.maxTimeMs, "--warmup", m.warmupMs);
    const out = execFileSync(native.exe, argv.map(String), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 120_000,
    });
    const r = JSON.parse(out).results[name];
    return { coldMs: r.cold_ms, medianMs: r.median_ms, minMs: r.min_ms, reps: r.reps, value: r.value };
  };

  // ---------------------------------------------------------------- measurements
  // Loss-major: every implementation of one loss runs back to back, so a burst of
  // load on the machine hits a row and its tfjs-wasm baseline alike.
  try {
    for (const l of lossNames) {
      const L = LOSSES[l];
      const opts = { ...shapeOpts, ...L.opts };
      log(`${l} (${L.note})`);
      for (const { row, seg, views, label } of segRows) {
        if (typeof seg[L.fn] !== "function") continue;
        if (!views) {
          record(l, row, () => seg[L.fn](data.target, data[L.input], opts));
        } else if (views.target.length !== n || views[L.input].length !== n) {
          notes.push(`${label}: a view of wasm memory was detached before ${l}`);
        } else {
          const t = views.target;
          const p = views[L.input];
          record(l, row, () => seg[L.fn](t, p, opts));
        }
      }
      const f = plain.losses[l];
      const input = data[L.input];
      record(l, "plain-js", () => f(data.target, input, data.shape));
      for (const peer of tfPeers) {
        await peer.activate();
        const inputs = peer.tensors(data);
        const before = peer.numTensors();
        record(l, peer.name, () => peer.run(l, inputs));
        const leaked = peer.numTensors() - before;
        if (leaked) notes.push(`${peer.name} ${l}: ${leaked} tensors leaked by the loss code`);
        peer.dispose(inputs);
      }
      if (native && NATIVE_LOSSES.has(l)) {
        try {
          record(l, "native-c", null, runNative(l));
        } catch (e) {
          notes.push(`native C ${l}: run failed: ${firstLine(e)}`);
        }
      }
    }
    if (native) {
      try {
        const r = runNative("read");
        readCeiling = { medianMs: r.medianMs, minMs: r.minMs, reps: r.reps, gbPerSec: bytesRead / (r.medianMs / 1e3) / 1e9 };
        log(`read ceiling (native C, both arrays, no math): ${fmtMs(r.medianMs)} ms = ${fmt3(readCeiling.gbPerSec)} GB/s`);
      } catch (e) {
        notes.push(`native C read ceiling: run failed: ${firstLine(e)}`);
      }
    }
  } finally {
    for (const { seg, views, label } of segRows) {
      if (!views) continue;
      if (views.target.length !== n) notes.push(`${label}: views were detached after the run`);
      freeViews(seg, views);
    }
    rmSync(tmp, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- report
  const wasmInfo = info["tfjs-wasm"];
  const envLine =
    machineLine(env, { v8: true, platform: true, date: env.date }) +
    (wasmInfo
      ? ` · tfjs ${wasmInfo.version} (wasm: ${wasmInfo.simd ? "SIMD" : "no SIMD"}, threads ${wasmInfo.threads ? `on (${wasmInfo.threadsCount})` : "off"})`
      : "") +
    (info["native-c"] ? ` · ${info["native-c"].compiler}` : "");
  const methodLine =
    `${data.shape.join("×")} float32 (${(n / 1e6).toFixed(2)} M elements, ${(bytesRead / 1e6).toFixed(1)} MB read per call); ` +
    `${args.quick ? "quick" : "full"} mode: first call timed alone, warm-up ≥ ${m.warmupMs} ms, then ≥ ${m.minReps} reps and ≥ ${m.minTimeMs} ms ` +
    `(stop at ${m.maxTimeMs} ms once 3 reps are in); full GC before each row; rows of one loss run back to back; ` +
    "medians; ratio = tfjs-wasm median / row median.";

  const timingRows = [];
  const jsonRows = [];
  for (const l of lossNames) {
    const base = results[l][BASELINE]?.medianMs;
    for (const { id, label } of ROWS) {
      const r = results[l][id];
      if (!r) continue;
      const ratio = base ? base / r.medianMs : null;
      const target = TARGETS[l]?.[id];
      const targetCell = target == null ? "" : ratio == null ? `≥${target}×` : `≥${target}× ${ratio >= target ? "✓" : "✗"}`;
      timingRows.push([
        l,
        label,
        fmtMs(r.medianMs),
        fmtMs(r.coldMs),
        String(r.reps),
        fmt3(n / (r.medianMs / 1e3) / 1e6),
        fmt3(bytesRead / (r.medianMs / 1e3) / 1e9),
        fmtRatio(ratio),
        targetCell,
      ]);
      jsonRows.push({
        loss: l,
        row: id,
        label: label.replace(/\*/g, ""),
        ...r,
        elementsPerSec: n / (r.medianMs / 1e3),
        gbPerSec: bytesRead / (r.medianMs / 1e3) / 1e9,
        ratioVsTfjsWasm: ratio,
        target: target ?? null,
        targetMet: target == null || ratio == null ? null : ratio >= target,
      });
    }
  }

  // value agreement: each row's loss next to segloss's (or plain JS f64 without segloss)
  const refRow = lossNames.some((l) => results[l]["segloss-copy"]) ? "segloss-copy" : "plain-js";
  const valueCols = ROWS.filter(({ id }) => lossNames.some((l) => results[l][id]));
  const flagged = [];
  const valueRows = lossNames.map((l) => {
    const refId = results[l][refRow] ? refRow : "plain-js";
    const ref = results[l][refId]?.value;
    return [
      l,
      ...valueCols.map(({ id }) => {
        const r = results[l][id];
        if (!r) return "—";
        if (id === refId) return `${fmtVal(r.value)} (ref)`;
        if (ref == null) return fmtVal(r.value);
        const rel = Math.abs(r.value - ref) / Math.max(Math.abs(ref), 1e-30);
        r.relDiff = rel;
        const bad = !(rel <= AGREE_TOL);
        if (bad) flagged.push(`${l} ${id}: ${fmtVal(r.value)} vs ${fmtVal(ref)} (rel ${fmtRel(rel)})`);
        return `${fmtVal(r.value)} (${fmtRel(rel)})${bad ? " ⚠" : ""}`;
      }),
    ];
  });
  for (const row of jsonRows) row.relDiff = results[row.loss][row.row].relDiff ?? null;
  // SPEC §3: segloss within 1e-5 relative of an exact float64 evaluation (plain JS sums in f64)
  const specFlags = [];
  for (const l of lossNames) {
    const f64 = results[l]["plain-js"]?.value;
    for (const id of ["segloss-copy", "segloss-mem", "segloss-scalar"]) {
      const r = results[l][id];
      if (!r || f64 == null) continue;
      const rel = Math.abs(r.value - f64) / Math.max(Math.abs(f64), 1e-30);
      if (!(rel <= SPEC_TOL) && !(Math.abs(r.value - f64) <= 1e-7)) {
        specFlags.push(`${l} ${id}: ${fmtVal(r.value)} vs f64 ${fmtVal(f64)} (rel ${fmtRel(rel)})`);
      }
    }
  }

  const geoRows = [];
  const geo = {};
  for (const { id, label } of ROWS) {
    const ratios = lossNames
      .filter((l) => results[l][id] && results[l][BASELINE])
      .map((l) => results[l][BASELINE].medianMs / results[l][id].medianMs);
    if (!ratios.length) continue;
    geo[id] = { geomean: geomean(ratios), losses: ratios.length };
    geoRows.push([label, fmtRatio(geo[id].geomean), String(ratios.length)]);
  }

  const out = [];
  out.push("", `Environment: ${envLine}`, "", `Method: ${methodLine}`, "");
  out.push(
    table(["loss", "implementation", "median ms", "first call ms", "reps", "Melem/s", "GB/s", "× vs tfjs-wasm", "target"], timingRows),
  );
  if (readCeiling) {
    const caps = lossNames
      .filter((l) => results[l][BASELINE])
      .map((l) => `${l} ${fmtRatio(results[l][BASELINE].medianMs / readCeiling.medianMs)}`);
    out.push(
      "",
      `Read ceiling: native C reads both input arrays (no math) in ${fmtMs(readCeiling.medianMs)} ms ` +
        `(${fmt3(readCeiling.gbPerSec)} GB/s; the ${(bytesRead / 1e6).toFixed(1)} MB of inputs are reused between calls, so they may sit in cache). ` +
        (caps.length ? `A kernel that only streams its inputs once is capped at: ${caps.join(", ")} vs tfjs-wasm.` : ""),
    );
  }
  out.push("", "Geometric mean of the speed-ups vs tfjs-wasm:", "");
  out.push(table(["implementation", "geomean ×", "losses"], geoRows));
  out.push(
    "",
    `Loss values (relative difference vs ${ROWS.find((r) => r.id === refRow).label.replace(/\*/g, "")}; ⚠ = more than ${fmtTol(AGREE_TOL)}):`,
    "",
  );
  out.push(table(["loss", ...valueCols.map((c) => c.label.replace(/\*/g, ""))], valueRows));
  out.push(
    "",
    flagged.length
      ? `Value check: ${flagged.length} flagged (> ${fmtTol(AGREE_TOL)} relative):`
      : `Value check: all values agree within ${fmtTol(AGREE_TOL)} relative.`,
  );
  for (const f of flagged) out.push(`- ${f}`);
  if (specFlags.length) {
    out.push(`SPEC §3 check (segloss vs plain JS f64, ${fmtTol(SPEC_TOL)} relative): ${specFlags.length} outside:`);
    for (const f of specFlags) out.push(`- ${f}`);
  } else if (lossNames.some((l) => results[l]["segloss-copy"])) {
    out.push(`SPEC §3 check: segloss within ${fmtTol(SPEC_TOL)} relative of the plain-JS f64 sums everywhere.`);
  }
  if (notes.length) {
    out.push("", "Notes:");
    for (const s of notes) out.push(`- ${s}`);
  }
  console.log(out.join("\n"));

  const json = {
    env,
    mode: args.quick ? "quick" : "full",
    method: { ...m, statistic: "median", baseline: BASELINE, agreeTolerance: AGREE_TOL, bytesReadPerCall: bytesRead },
    data: { shape: data.shape, seed: data.seed, elements: n, generationMs: dataMs, ...data.stats },
    peers: info,
    losses: Object.fromEntries(lossNames.map((l) => [l, LOSSES[l].note])),
    rows: jsonRows,
    geomeanVsTfjsWasm: geo,
    readCeiling,
    valueReference: refRow,
    flagged,
    specFlags,
    notes,
    elapsedSec: (now() - startMs) / 1e3,
  };
  writeFileSync(args.out, `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote ${args.out} (${json.elapsedSec.toFixed(0)} s)`);
}

await main();
