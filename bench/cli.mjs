// `segloss eval` on 1000 pairs of 512×512 PNGs (8-bit masks, 8-bit probability
// maps) in a temporary folder: the wall time of the built CLI, once per
// worker count. 50 distinct pairs are encoded and each is written 20 times
// under different names (decoding and scoring still happen per file).
// Run: node bench/cli.mjs [--pairs 1000] [--workers 1,2]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const PAIRS = Number(arg("pairs", 1000));
const WORKERS = arg("workers", `1,${availableParallelism()}`).split(",").map(Number);
const S = 512;
const TIME = "/usr/bin/time";
const DISTINCT = 50;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A mask of discs and a probability map: the discs shifted, with soft edges and a gradient of noise. */
function pair(seed) {
  const r = rng(seed);
  const t = new Uint8Array(S * S);
  const p = new Uint8Array(S * S);
  const discs = Array.from({ length: 1 + Math.floor(r() * 6) }, () => [r() * S, r() * S, 15 + r() * 60, (r() - 0.5) * 16]);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let inT = 0;
      let score = 0;
      for (const [cx, cy, rad, sh] of discs) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= rad * rad) inT = 255;
        const d = Math.hypot(x - cx - sh, y - cy) - rad;
        score = Math.max(score, 1 / (1 + Math.exp(d / 4)));
      }
      t[y * S + x] = inT;
      p[y * S + x] = Math.round(255 * Math.min(1, Math.max(0, score + 0.1 * Math.sin((x + y) / 37))));
    }
  return [encode({ width: S, height: S, data: t, depth: 8, channels: 1 }), encode({ width: S, height: S, data: p, depth: 8, channels: 1 })];
}

const dir = mkdtempSync(join(tmpdir(), "segloss-cli-bench-"));
try {
  mkdirSync(join(dir, "target"));
  mkdirSync(join(dir, "pred"));
  const made = Array.from({ length: DISTINCT }, (_, k) => pair(k + 1));
  for (let i = 0; i < PAIRS; i++) {
    const [t, p] = made[i % DISTINCT];
    const name = `img-${String(i).padStart(5, "0")}.png`;
    writeFileSync(join(dir, "target", name), t);
    writeFileSync(join(dir, "pred", name), p);
  }
  const cli = new URL("../dist/cli.js", import.meta.url).pathname;
  // other processes share the machine: the load average says how much of it this run had
  console.log(`segloss eval on ${PAIRS} pairs of ${S}×${S} PNG (${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)})`);
  let first = null;
  for (const w of WORKERS) {
    const args = [cli, "eval", "--target", join(dir, "target"), "--pred", join(dir, "pred"), "--workers", String(w), "--format", "json"];
    // CPU seconds (all threads) say what the run costs whatever else the machine is doing
    const timed = existsSync(TIME) ? [TIME, ["-f", "cpu %U %S", process.execPath, ...args]] : [process.execPath, args];
    const t0 = performance.now();
    const run = spawnSync(timed[0], timed[1], { encoding: "utf8", maxBuffer: 1 << 26 });
    const s = (performance.now() - t0) / 1000;
    if (run.status !== 0) throw new Error(`segloss eval failed (${run.status}): ${run.stderr}`);
    const report = JSON.parse(run.stdout);
    const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(run.stderr);
    const cpuText = cpu ? `, ${(Number(cpu[1]) + Number(cpu[2])).toFixed(1)} s CPU` : "";
    const differ =
      first === null
        ? []
        : Object.keys(report.summary).filter((m) => JSON.stringify(report.summary[m]) !== JSON.stringify(first.summary[m]));
    const same = first === null ? "" : differ.length === 0 ? ", same numbers as the first run" : `, NUMBERS DIFFER: ${differ.join(", ")}`;
    first ??= report;
    console.log(
      `  --workers ${w}: ${s.toFixed(1)} s wall${cpuText} (${((s * 1000) / PAIRS).toFixed(1)} ms per pair, ${report.settings.metrics.length} metrics${same})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
