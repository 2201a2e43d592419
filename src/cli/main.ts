// `segloss` command line: `eval` scores prediction files against ground-truth
// masks with the library's losses and metrics; `merge` combines shard reports.
// The same bundle is the worker script of `--workers N`.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { Command, CommanderError, Option } from "commander";
import { EXIT_OK, EXIT_PAIR_FAILED, EXIT_USAGE, UsageError } from "./errors";
import { discover, parseShard } from "./files";
import { mergeReports } from "./merge";
import { parseFormat, writeOutput } from "./output";
import { METRIC_NAMES, REGISTRY } from "./registry";
import { type EvalReport, FORMAT_VERSION, imageRow, toCsv, toJson, toTable } from "./report";
import { runPairs, serveWorker, WORKER_ROLE } from "./runner";
import { SAMPLE_SETS, samplesRoot } from "./samples";
import { buildSettings, type Settings, type SettingsInput } from "./settings";

interface EvalFlags extends SettingsInput {
  target?: string;
  pred?: string;
  format?: string;
  out?: string;
  perImage?: boolean;
  workers?: string;
  shard?: string;
  strict?: boolean;
  progress?: boolean;
  memory?: string;
}

const EXAMPLES = `
Examples:
  $ segloss eval                                   # the bundled samples
  $ segloss eval --target masks/ --pred probs/     # binary masks vs probability PNGs
  $ segloss eval --target gt/ --pred out/ --classes 21 --ignore-index 255 --per-image
  $ segloss eval --target gt/ --pred logits/ --from-logits --metrics bce,dice,lovasz --format json --out scores.json
  $ segloss eval --target gt/ --pred out/ --shard 2/8 --format json --out part-2.json
  $ segloss merge part-*.json --out scores.json

Metrics (--metrics, default: every one that applies):
${REGISTRY.map((r) => `  ${r.name.padEnd(16)}${r.about}`).join("\n")}

Files are matched by their path under each folder without the extension.
Exit codes: 0 ok, 1 some pair failed (each failure names its file), 2 usage error.
Details: docs/cli.md`;

/** The version of the package this bundle ships in (dist/../package.json). */
function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
  } catch {
    return "unknown";
  }
}

function program(): Command {
  const p = new Command("segloss")
    .version(packageVersion())
    .description("Score segmentation predictions against ground-truth masks with segloss's losses and metrics")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  p.command("eval")
    .description("evaluate the prediction files in --pred against the masks in --target (no folders: the bundled samples)")
    .option("-t, --target <dir>", "folder of ground-truth masks (.png, .npy), searched recursively")
    .option("-p, --pred <dir>", "folder of predictions (.png, .npy), matched to targets by name")
    .option("-c, --classes <C>", "multi-class run with C classes (label maps 0…C−1); default: binary masks")
    .option("--ignore-index <K>", "target label whose pixels are left out (e.g. 255)")
    .option("-m, --metrics <list>", `comma-separated metric names, or "all" (${METRIC_NAMES.join(", ")})`)
    .option("--threshold <T>", "binary: foreground where p > T (confusion matrix, objects)", "0.5")
    .option("--from-logits", "predictions (.npy) are logits, not probabilities")
    .option("--preset <name>", "library preset for the metrics that take it (seed, keras3, tfkeras2, lovasz, smp)")
    .addOption(new Option("--layout <order>", "axis order of 3-D .npy predictions").choices(["chw", "hwc"]).default("chw"))
    .addOption(
      new Option("-f, --format <format>", "output format (default: from --out's extension, else table)").choices(["table", "json", "csv"]),
    )
    .option("-o, --out <file>", "write the report to a file (atomically) instead of stdout")
    .option("--per-image", "also report every image's values")
    .option("-w, --workers <N>", "worker threads (1: this thread; default: one per CPU for more than 16 pairs)")
    .option("--shard <i/n>", "evaluate the i-th of n deterministic subsets (combine with segloss merge)")
    .option("--strict", "stop at the first failed pair")
    .option("--memory <MiB>", "WebAssembly memory per segloss instance; raise it for very large images", "256")
    .option("--no-progress", "no progress bar (it is shown only on a terminal, for more than 8 pairs)")
    .addHelpText("after", EXAMPLES)
    .action(async (flags: EvalFlags) => {
      process.exitCode = await evalCommand(flags);
    });
  p.command("merge")
    .description("combine the JSON reports of segloss eval --shard i/n runs into the report of the whole dataset")
    .argument("<reports...>", "JSON reports of the shards")
    .addOption(new Option("-f, --format <format>", "output format").choices(["table", "json", "csv"]))
    .option("-o, --out <file>", "write the report to a file (atomically) instead of stdout")
    .action(async (files: string[], flags: { format?: string; out?: string }) => {
      const report = await mergeReports(files);
      const format = parseFormat(flags.format, flags.out);
      await writeOutput(render(report, format, "merged shard reports"), flags.out);
      process.exitCode = report.errors.length ? EXIT_PAIR_FAILED : EXIT_OK;
    });
  return p;
}

async function evalCommand(flags: EvalFlags): Promise<number> {
  if (flags.target === undefined && flags.pred === undefined) return evalSamples(flags);
  if (flags.target === undefined || flags.pred === undefined)
    throw new UsageError("eval: give both --target and --pred (or neither, for the bundled samples)");
  return evalFolders(flags, flags.target, flags.pred);
}

async function evalFolders(flags: EvalFlags, targetDir: string, predDir: string): Promise<number> {
  const settings = buildSettings(flags);
  const format = parseFormat(flags.format, flags.out);
  const shard = flags.shard === undefined ? null : parseShard(flags.shard);
  const found = await discover(targetDir, predDir, shard);
  const workers = flags.workers === undefined ? defaultWorkers(found.pairs.length) : workerCount(flags.workers);
  const progress = flags.progress !== false && !!process.stderr.isTTY && found.pairs.length > 8;
  const run = await runPairs(found.pairs, settings, {
    workers,
    keepRecords: !!flags.perImage,
    strict: !!flags.strict,
    progress,
    workerFile: fileURLToPath(import.meta.url),
    memoryBytes: memoryBytes(flags.memory ?? "256"),
  });
  const report: EvalReport = {
    tool: "segloss eval",
    formatVersion: FORMAT_VERSION,
    settings,
    folders: { target: shown(targetDir), pred: shown(predDir) },
    shards: shard ? { count: shard.count, indices: [shard.index] } : null,
    pairs: { total: found.total, evaluated: run.totals.pairs, failed: run.failures.length },
    unmatched: found.unmatched,
    ambiguous: found.ambiguous,
    summary: run.totals.summary(settings),
    ...(flags.perImage ? { images: run.records.map(imageRow) } : {}),
    errors: run.failures,
    state: run.totals.state(),
  };
  warn(report, format, flags.out);
  await writeOutput(render(report, format, run.simd ? "WebAssembly SIMD" : "scalar WebAssembly"), flags.out);
  if (found.total === 0) {
    process.stderr.write(`segloss eval: no pairs: no file in ${predDir} has the name of a file in ${targetDir}\n`);
    return EXIT_PAIR_FAILED;
  }
  return run.failures.length || found.ambiguous.length ? EXIT_PAIR_FAILED : EXIT_OK;
}

/** No folders: every bundled sample set, one report after the other. */
async function evalSamples(flags: EvalFlags): Promise<number> {
  let code = EXIT_OK;
  const root = samplesRoot(import.meta.url);
  for (const [k, set] of SAMPLE_SETS.entries()) {
    if (k > 0 && !flags.out) process.stdout.write("\n");
    process.stdout.write(flags.format === undefined || flags.format === "table" ? `== ${set.title}\n` : "");
    const f = { ...flags, ...set.flags, out: flags.out ? `${flags.out.replace(/(\.\w+)?$/, `.${set.dir}$1`)}` : undefined };
    code = Math.max(code, await evalFolders(f, `${root}/${set.dir}/target`, `${root}/${set.dir}/pred`));
  }
  return code;
}

function render(report: EvalReport, format: string, engine: string): string {
  return format === "json" ? toJson(report) : format === "csv" ? toCsv(report) : toTable(report, engine);
}

/** Failures always go to stderr too; unmatched files when the table is not on stdout (it lists them). */
function warn(report: EvalReport, format: string, out: string | undefined): void {
  const lines = report.errors.map((e) => `segloss eval: ${e.message}`);
  if (format !== "table" || out !== undefined) {
    const u = report.unmatched;
    if (u.target.length || u.pred.length) {
      lines.push(
        `segloss eval: unmatched: ${u.target.length} target file(s) without a prediction, ${u.pred.length} prediction(s) without a target`,
      );
    }
    for (const a of report.ambiguous) lines.push(`segloss eval: ambiguous name ${a.name}: ${a.files.join(", ")}`);
  }
  if (lines.length) process.stderr.write(`${lines.join("\n")}\n`);
}

/** A folder as the user would type it: relative to the working directory when inside it. */
function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? dir : rel;
}

function defaultWorkers(pairs: number): number {
  return pairs > 16 ? Math.min(availableParallelism(), 8) : 1;
}

function memoryBytes(text: string): number {
  const mib = Number(text);
  if (!Number.isInteger(mib) || mib < 1 || mib > 4095)
    throw new UsageError(`--memory: expected MiB, an integer in [1, 4095], got "${text}"`);
  return mib * 1024 * 1024;
}

function workerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--workers: expected an integer in [1, 256], got "${text}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return (process.exitCode as number | undefined) ?? EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof UsageError) {
      process.stderr.write(`segloss: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`segloss: ${(err as Error).stack ?? err}\n`);
    return EXIT_PAIR_FAILED;
  }
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE) {
  const data = workerData as { settings: Settings; memoryBytes?: number };
  void serveWorker(parentPort!, data.settings, data.memoryBytes);
} else {
  // a closed pipe (segloss eval | head) ends the output quietly
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
