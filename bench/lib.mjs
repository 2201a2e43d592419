// Shared parts of the bench entry scripts (run.mjs, meanIoU.mjs,
// objectMetrics.mjs, weighted.mjs, lovasz.mjs, confusion.mjs): argument
// walking and the single-workload entries' preamble, the timing loop, its
// budgets and statistics, the environment line, loading segloss, and markdown
// tables.

import { existsSync } from "node:fs";
import os from "node:os";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";

// ---------------------------------------------------------------- arguments

/** Prints `bench: msg` to stderr and exits with status 2. */
export function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

/**
 * Calls onArg(a, value) for each argument; value() reads the option's value,
 * from `--name=v` or from the next argument (`--name v`). With `required`
 * (the default) a missing value fails with `--name needs a value`.
 */
export function eachArg(argv, onArg, { required = true } = {}) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (required && v === undefined) fail(`${a} needs a value`);
      return v;
    };
    onArg(a, value);
  }
}

/** Whether `a` is the option `name`, as `--name` or `--name=…`. */
export const isOption = (a, name) => a === name || a.startsWith(`${name}=`);

/** `8,512,512`, `8x512x512` or `8×512×512` as numbers. */
export const parseShape = (s) => s.split(/[,x×]/).map(Number);

/** Whether a shape is three positive integers. */
export const isShape3 = (shape) => shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0);

/** Prints the usage line and exits with status 0. */
export function usage(text) {
  console.log(text);
  process.exit(0);
}

/** The error for an argument no script knows. */
export const unknownArgument = (a) => fail(`unknown argument ${a} (try --help)`);

/**
 * Reads argv into `args`: the options the entries share (--quick, --shape,
 * --segloss, --out), then `extra(a, value)` for the entry's own (it returns
 * whether it took `a`), then --help/-h (prints `usageText`) or an error.
 */
export function parseOptions(argv, args, usageText, extra = () => false) {
  eachArg(argv, (a, value) => {
    if (a === "--quick") args.quick = true;
    else if (isOption(a, "--shape")) args.shape = parseShape(value());
    else if (isOption(a, "--segloss")) args.segloss = value();
    else if (isOption(a, "--out")) args.out = value();
    else if (extra(a, value)) return;
    else if (a === "--help" || a === "-h") usage(usageText);
    else unknownArgument(a);
  });
  return args;
}

/**
 * The argument preamble of a single-workload entry (lovasz.mjs, confusion.mjs):
 * --quick, --segloss, --out and, when `shape` (its default) is given, --shape
 * (checked to be N,H,W). `script` names the entry in the usage line.
 */
export function entryArgs(script, { shape = null } = {}) {
  const usageText = `usage: node bench/${script} [--quick]${shape ? " [--shape N,H,W]" : ""} [--segloss MODULE]`;
  const args = parseOptions(process.argv.slice(2), { quick: false, shape, segloss: "../dist/index.js", out: null }, usageText);
  if (shape && !isShape3(args.shape)) fail("--shape wants N,H,W");
  return args;
}

// ---------------------------------------------------------------- timing

export const now = () => performance.now();

/** A full GC before each row (untimed), so one row's garbage (tfjs) is not collected in the next row's timing. */
export const collectGarbage = (() => {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    if (typeof gc === "function") return gc;
  } catch {
    /* fall through */
  }
  return () => {};
})();

/**
 * Times fn(): one first ("cold") call, warm-up calls for `m.warmupMs` (at least one),
 * then repetitions until both `m.minReps` and `m.minTimeMs` are reached, or until
 * `m.maxTimeMs` has passed with at least 3 repetitions (slow peers get fewer reps),
 * or `m.maxReps` (when given) is reached. With `batching`, a repetition is a batch
 * of calls (time / batch) when one call takes < 50 µs; otherwise it is one call.
 * Returns the cold time, the repetition times (in run order), the batch size and
 * the last value fn returned.
 */
export function timeReps(fn, m, { batching = false } = {}) {
  let t0 = now();
  let value = fn();
  const coldMs = now() - t0;
  t0 = now();
  let calls = 0;
  do {
    fn();
    calls++;
  } while (now() - t0 < m.warmupMs);
  // calls much shorter than the timer's resolution are timed in batches (small --shape)
  const perCall = (now() - t0) / calls;
  const batch = batching && perCall < 0.05 ? Math.ceil(0.5 / Math.max(perCall, 1e-4)) : 1;
  const times = [];
  const start = now();
  for (;;) {
    const a = now();
    for (let k = 0; k < batch; k++) value = fn();
    times.push((now() - a) / batch);
    const el = now() - start;
    if (times.length >= m.minReps && el >= m.minTimeMs) break;
    if (times.length >= 3 && el >= m.maxTimeMs) break;
    if (times.length >= m.maxReps) break;
  }
  return { coldMs, times, batch, value };
}

/**
 * The timing budget of quick and full mode for timeReps/measure; `quickReps` and
 * `fullReps` ([minReps, maxReps]) let an entry ask for more or fewer repetitions.
 */
export function timeBudget(quick, { quickReps = [3, 300], fullReps = [7, 1000] } = {}) {
  const [minReps, maxReps] = quick ? quickReps : fullReps;
  return quick
    ? { warmupMs: 50, minTimeMs: 250, minReps, maxTimeMs: 800, maxReps }
    : { warmupMs: 250, minTimeMs: 1000, minReps, maxTimeMs: 3000, maxReps };
}

/** Median, min and quartiles (linear interpolation) of the repetition times. */
export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (f) => {
    const pos = (s.length - 1) * f;
    const lo = Math.floor(pos);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
  };
  return { medianMs: q(0.5), minMs: s[0], p25Ms: q(0.25), p75Ms: q(0.75), reps: s.length };
}

/** timeReps and stats in one: { coldMs, medianMs, minMs, p25Ms, p75Ms, reps, value }. */
export function measure(fn, m) {
  const { coldMs, times, value } = timeReps(fn, m);
  return { coldMs, ...stats(times), value };
}

/**
 * Ratios that hold on a noisy machine: per round, the subject is timed `reps`
 * times just before and just after one call of a peer, so both see the same
 * state of the machine (a neighbour's burst slows both, not one row of a
 * table); the ratio of the round is the peer's time over the subject's median.
 * The subject is warmed up first, as `measure` does (V8 starts wasm in its
 * baseline compiler and tiers hot functions up after some calls).
 * peers: { name: { fn, rounds } }. Returns per peer the median ratio over
 * its rounds, the smallest and largest, and the rounds.
 */
export function pairedRatios(subject, peers, reps = 5, warmupMs = 250) {
  const start = now();
  for (let i = 0; i < 10 || now() - start < warmupMs; i++) subject();
  const timesOf = (fn, k) => {
    const ts = [];
    for (let i = 0; i < k; i++) {
      const t0 = now();
      fn();
      ts.push(now() - t0);
    }
    return ts;
  };
  const out = {};
  for (const [name, { fn, rounds }] of Object.entries(peers)) {
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const before = timesOf(subject, reps);
      const peerMs = timesOf(fn, 1)[0];
      const after = timesOf(subject, reps);
      ratios.push(peerMs / stats([...before, ...after]).medianMs);
    }
    const st = stats(ratios);
    out[name] = { median: st.medianMs, min: st.minMs, max: Math.max(...ratios), rounds };
  }
  return out;
}

/**
 * One pairedRatios result as a table cell: median ratio (min–max, rounds),
 * and with a `target`, whether the median reaches it. "—" when there is none.
 */
export function pairedCell(v, target = null) {
  if (!v) return "—";
  const goal = target ? ` ${v.median >= target ? "✓" : "✗"} ≥${target}×` : "";
  return `${fmt3(v.median)}× (${fmt3(v.min)}–${fmt3(v.max)}, ${v.rounds} rounds)${goal}`;
}

/**
 * Medians of calls that are to be compared with each other (the same work at
 * different settings): each round calls every function once, the order
 * rotating from round to round, so a phase of the machine touches them all
 * alike. fns: { name: fn }. Returns { name: stats } (stats as above).
 */
export function interleavedStats(fns, rounds) {
  const names = Object.keys(fns);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) fns[k](); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < names.length; j++) {
      const k = names[(r + j) % names.length];
      const t0 = now();
      fns[k]();
      times[k].push(now() - t0);
    }
  }
  return Object.fromEntries(names.map((k) => [k, stats(times[k])]));
}

// ---------------------------------------------------------------- environment

/** Node, V8, platform, CPU model (or `unknownCpu` when os.cpus() has none) and core count. */
export function machine(unknownCpu) {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model?.trim() ?? unknownCpu,
    logicalCores: cpus.length,
  };
}

/**
 * The environment line: `Node v… [(V8 …)] · cpu · n logical cores [· platform] [· load …] [· date]`.
 * `load` is "1" (the 1-minute load average) or "all" (all three); `date` an ISO string.
 */
export function envLine(info, { v8: withV8 = false, platform = false, load = null, date = null } = {}) {
  const parts = [`Node ${info.node}${withV8 ? ` (V8 ${info.v8})` : ""}`, `${info.cpu}`, `${info.logicalCores} logical cores`];
  if (platform) parts.push(info.platform);
  if (load === "1") parts.push(`load ${os.loadavg()[0].toFixed(1)}`);
  else if (load === "all")
    parts.push(
      `load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
  if (date) parts.push(date.slice(0, 10));
  return parts.join(" · ");
}

// ---------------------------------------------------------------- segloss

/** The three segloss rows of every entry's table: SIMD copy-in, SIMD in wasm memory, the scalar build in wasm memory. */
export const SEGLOSS_ROWS = [
  { id: "segloss-copy", label: "**segloss SIMD (copy-in)**" },
  { id: "segloss-mem", label: "**segloss SIMD (in wasm memory)**" },
  { id: "segloss-scalar", label: "segloss scalar build (in wasm memory)" },
];

/** The import specifier of a segloss module: a relative path is relative to bench/; an absolute path, a file URL or a package name as is. */
export function seglossTarget(spec) {
  if (spec.startsWith(".")) return new URL(spec, import.meta.url).href;
  if (isAbsolute(spec)) return pathToFileURL(spec).href;
  return spec;
}

/** Whether a target from seglossTarget is a file that does not exist (dist/ not built). */
export const isMissingFile = (target) => target.startsWith("file:") && !existsSync(fileURLToPath(target));

/** The first line of an error's message. */
export const firstLine = (e) => String(e?.message ?? e).split("\n")[0];

/**
 * Imports the segloss module `spec` (see seglossTarget). Returns { mod } or,
 * when it is a file that does not exist (dist/ not built), { mod: null, note }.
 * A module that exists but fails to load ends the run with the reason.
 */
export async function loadSegloss(spec) {
  const target = seglossTarget(spec);
  if (isMissingFile(target)) return { mod: null, note: `segloss: not built (${spec} missing) — run \`npm run build\`` };
  try {
    return { mod: await import(target) };
  } catch (e) {
    return fail(`segloss: ${spec} failed to load (${firstLine(e)}) — run \`npm run build\``);
  }
}

/** Copies data.target and data.pred into fresh arrays of `seg`'s wasm memory. */
export function copyIntoWasm(seg, data, n) {
  const t = seg.alloc(Float32Array, n);
  const p = seg.alloc(Float32Array, n);
  t.set(data.target);
  p.set(data.pred);
  return { t, p };
}

/** Runs a tfjs graph in tf.tidy and reads back its scalar (one dataSync). */
export function tfScalar(tf, build) {
  const out = tf.tidy(build);
  const v = out.dataSync()[0];
  out.dispose();
  return v;
}

// ---------------------------------------------------------------- formatting

export const fmtMs = (v) => (v == null ? "—" : v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const fmt3 = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));

/** A markdown table. */
export function table(head, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
