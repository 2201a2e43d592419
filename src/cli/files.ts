// Finding the pairs: every .png / .npy file under each folder (recursively),
// matched by its path relative to the folder without the extension (the stem),
// in sorted order; --shard i/n keeps every n-th pair starting at the i-th.
import { readdir, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { SUPPORTED_EXTENSIONS } from "./decode";
import { UsageError } from "./errors";
import type { PairTask } from "./evaluate";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface Discovery {
  /** The pairs this run evaluates (this shard's, with --shard). */
  pairs: PairTask[];
  /** Matched pairs in the whole dataset (all shards). */
  total: number;
  unmatched: { target: string[]; pred: string[] };
  /** Stems that name two files in one folder (e.g. a.png and a.npy): left out. */
  ambiguous: { name: string; files: string[] }[];
}

export async function discover(targetDir: string, predDir: string, shard: Shard | null): Promise<Discovery> {
  const [targets, preds] = await Promise.all([listByStem(targetDir, "--target"), listByStem(predDir, "--pred")]);
  const ambiguous: Discovery["ambiguous"] = [];
  const single = (m: Map<string, string[]>) => {
    const out = new Map<string, string>();
    for (const [stem, files] of m) {
      if (files.length === 1) out.set(stem, files[0]);
      else ambiguous.push({ name: stem, files });
    }
    return out;
  };
  const t = single(targets);
  const p = single(preds);
  const names = [...t.keys()].filter((k) => p.has(k)).sort(byCodePoint);
  const all = names.map((name, index) => ({ index, name, target: t.get(name)!, pred: p.get(name)! }));
  const pairs = shard ? all.filter((_, k) => k % shard.count === shard.index - 1) : all;
  const unmatched = {
    target: [...t.keys()]
      .filter((k) => !p.has(k))
      .map((k) => t.get(k)!)
      .sort(byCodePoint),
    pred: [...p.keys()]
      .filter((k) => !t.has(k))
      .map((k) => p.get(k)!)
      .sort(byCodePoint),
  };
  ambiguous.sort((a, b) => byCodePoint(a.name, b.name));
  return { pairs, total: all.length, unmatched, ambiguous };
}

/** Code-point order: the same on every machine and locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function listByStem(root: string, option: string): Promise<Map<string, string[]>> {
  const info = await stat(root).catch(() => null);
  if (!info) throw new UsageError(`${option} ${root}: no such folder`);
  if (!info.isDirectory()) throw new UsageError(`${option} ${root}: not a folder`);
  const out = new Map<string, string[]>();
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => byCodePoint(a.name, b.name));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (SUPPORTED_EXTENSIONS.includes(extname(e.name).toLowerCase())) {
        const rel = relative(root, path);
        const stem = rel
          .slice(0, rel.length - extname(rel).length)
          .split(sep)
          .join("/");
        out.set(stem, [...(out.get(stem) ?? []), path]);
      }
    }
  };
  await walk(root);
  return out;
}

/** Parses --shard i/n (1 ≤ i ≤ n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : 0;
  const count = m ? Number(m[2]) : 0;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard: expected i/n with 1 ≤ i ≤ n (e.g. 2/4), got "${text}"`);
  return { index, count };
}
