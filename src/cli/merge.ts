// `segloss merge`: shard reports (JSON) → the report of the whole dataset,
// bit-identical to a single run: the states hold exact sums and integer
// counts, and per-image rows and errors are put back in pair order.
import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { UsageError } from "./errors";
import { type EvalReport, FORMAT_VERSION } from "./report";
import { Totals } from "./totals";

export async function mergeReports(files: string[]): Promise<EvalReport> {
  if (files.length === 0) throw new UsageError("merge: expected one or more JSON reports of `segloss eval --shard i/n --format json`");
  const reports = await Promise.all(files.map(load));
  const first = reports[0];
  const seen = new Set<number>();
  for (const [k, r] of reports.entries()) {
    const file = files[k];
    if (!isDeepStrictEqual(r.settings, first.settings))
      throw new UsageError(`${file}: evaluated with other settings than ${files[0]} (classes, metrics, threshold, …)`);
    if (!r.shards) throw new UsageError(`${file}: not a shard report (run segloss eval with --shard i/n)`);
    if (r.shards.count !== first.shards!.count)
      throw new UsageError(`${file}: made with --shard …/${r.shards.count}, ${files[0]} with …/${first.shards!.count}`);
    if (!!r.images !== !!first.images) throw new UsageError(`${file}: --per-image differs from ${files[0]}`);
    for (const i of r.shards.indices) {
      if (seen.has(i)) throw new UsageError(`${file}: shard ${i}/${r.shards.count} is in more than one input`);
      seen.add(i);
    }
  }
  const totals = new Totals(first.settings.metrics);
  for (const r of reports) totals.merge(r.state);
  const count = first.shards!.count;
  const indices = [...seen].sort((a, b) => a - b);
  const byIndex = <T extends { index: number }>(list: T[]) => list.sort((a, b) => a.index - b.index);
  return {
    tool: "segloss eval",
    formatVersion: FORMAT_VERSION,
    settings: first.settings,
    folders: first.folders,
    shards: indices.length === count ? null : { count, indices },
    pairs: {
      total: first.pairs.total,
      evaluated: reports.reduce((a, r) => a + r.pairs.evaluated, 0),
      failed: reports.reduce((a, r) => a + r.pairs.failed, 0),
    },
    unmatched: first.unmatched,
    ambiguous: first.ambiguous,
    summary: totals.summary(first.settings),
    ...(first.images ? { images: byIndex(reports.flatMap((r) => r.images!)) } : {}),
    errors: byIndex(reports.flatMap((r) => r.errors)),
    state: totals.state(),
  };
}

async function load(file: string): Promise<EvalReport> {
  let r: EvalReport;
  try {
    r = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file}: cannot read a JSON report (${(err as Error).message})`);
  }
  if (r?.tool !== "segloss eval" || r.formatVersion !== FORMAT_VERSION || !r.state) {
    throw new UsageError(`${file}: not a report of segloss eval --format json (format ${FORMAT_VERSION})`);
  }
  return r;
}
