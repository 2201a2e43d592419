// Files for the CLI tests: seeded masks and predictions written as PNG
// (8/16-bit grey, palette) and .npy, plus a runner for the built CLI.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { encode } from "fast-png";
import { rng } from "../helpers";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const CLI = join(ROOT, "dist/cli.js");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js …args` and waits for it. */
export function cli(args: string[], cwd = ROOT): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI with --format json and parses the report. */
export function cliJson(args: string[]): { run: Run; report: Report } {
  const run = cli([...args, "--format", "json"]);
  return { run, report: run.stdout ? JSON.parse(run.stdout) : null };
}

// biome-ignore lint/suspicious/noExplicitAny: the report is checked field by field
export type Report = any;

/** Writes bytes, making the folders on the way. */
export function writeBytes(file: string, bytes: Uint8Array): void {
  ensureDir(file);
  writeFileSync(file, bytes);
}

function ensureDir(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
}

export function writePng(
  file: string,
  width: number,
  height: number,
  data: Uint8Array | Uint16Array,
  opts: { palette?: number[][] } = {},
): void {
  ensureDir(file);
  const depth = data instanceof Uint16Array ? 16 : 8;
  writeFileSync(file, encode({ width, height, data, depth, channels: 1, palette: opts.palette }));
}

type NpyArray = Uint8Array | Int32Array | Float32Array | Float64Array;
const DESCR = new Map<unknown, string>([
  [Uint8Array, "|u1"],
  [Int32Array, "<i4"],
  [Float32Array, "<f4"],
  [Float64Array, "<f8"],
]);

/** NumPy format 1.0, C order (header padded to 64 bytes as np.save does). */
export function writeNpy(file: string, data: NpyArray, shape: number[]): void {
  ensureDir(file);
  let header = `{'descr': '${DESCR.get(data.constructor)}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += `${" ".repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** A 0/1 mask of a few discs. */
export function discs(seed: number, H: number, W: number, count = 3): Uint8Array {
  const r = rng(seed);
  const m = new Uint8Array(H * W);
  for (let k = 0; k < count; k++) {
    const cx = r() * W;
    const cy = r() * H;
    const rad = 2 + r() * Math.min(H, W) * 0.3;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= rad * rad) m[y * W + x] = 1;
  }
  return m;
}

/** Grey levels 0…max of a noisy prediction of `mask`. */
export function levels(seed: number, mask: Uint8Array, max: number): Uint8Array | Uint16Array {
  const r = rng(seed);
  const out = max > 255 ? new Uint16Array(mask.length) : new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = Math.round(max * Math.min(1, Math.max(0, 0.15 + 0.7 * mask[i] + (r() - 0.5) * 0.6)));
  return out;
}

/** A label map 0…C−1: bands of classes with seeded jitter. */
export function labelMap(seed: number, H: number, W: number, C: number, noise = 0): Uint8Array {
  const r = rng(seed);
  const m = new Uint8Array(H * W);
  const phase = r() * 10;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = Math.floor(((x + y + phase) / (H + W)) * C);
      m[y * W + x] = r() < noise ? Math.floor(r() * C) : Math.min(C - 1, v);
    }
  return m;
}

/** Softmax-like class scores [C, H·W] that mostly agree with `labels`. */
export function classScores(seed: number, labels: Uint8Array, C: number): Float32Array {
  const r = rng(seed);
  const n = labels.length;
  const out = new Float32Array(C * n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    const e: number[] = [];
    for (let c = 0; c < C; c++) {
      e.push(Math.exp((c === labels[i] ? 1.5 : 0) + r() * 1.5));
      z += e[c];
    }
    for (let c = 0; c < C; c++) out[c * n + i] = e[c] / z;
  }
  return out;
}

/** [C, H·W] → [H·W, C]. */
export function toHwc(chw: Float32Array, C: number): Float32Array {
  const n = chw.length / C;
  const out = new Float32Array(chw.length);
  for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) out[i * C + c] = chw[c * n + i];
  return out;
}
