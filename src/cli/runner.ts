// Runs the pairs: in this thread (--workers 1) or spread over worker threads,
// each with its own segloss instance, a bounded number of pairs in flight per
// worker (memory stays flat whatever the dataset size). Results are added to
// the exact totals as they arrive; per-image records are put back in pair
// order, so every worker count gives the same output.
import { type MessagePort, Worker } from "node:worker_threads";
import { SingleBar } from "cli-progress";
import { create } from "../index";
import { evaluatePair, type PairFailure, type PairRecord, type PairResult, type PairTask } from "./evaluate";
import type { Settings } from "./settings";
import { Totals } from "./totals";

export const WORKER_ROLE = "segloss-eval-worker";
/** Pairs queued per worker: one decoding while one is evaluated hides the message latency. */
const IN_FLIGHT = 2;

export interface RunOptions {
  workers: number;
  keepRecords: boolean;
  strict: boolean;
  progress: boolean;
  /** The script the worker threads run (the CLI bundle itself). */
  workerFile: string | URL;
  /** WebAssembly memory of each segloss instance (default: the library's 64 MiB). */
  memoryBytes?: number;
}

export interface RunResult {
  totals: Totals;
  records: PairRecord[];
  failures: PairFailure[];
  simd: boolean;
  /** --strict stopped the run at the first failure. */
  stopped: boolean;
}

export async function runPairs(pairs: PairTask[], settings: Settings, opts: RunOptions): Promise<RunResult> {
  const totals = new Totals(settings.metrics);
  const records: PairRecord[] = [];
  const failures: PairFailure[] = [];
  const bar = opts.progress ? progressBar(pairs.length) : null;
  let stopped = false;
  const take = (r: PairResult): void => {
    if (r.ok) {
      totals.add(r.record);
      if (opts.keepRecords) records.push(r.record);
    } else {
      failures.push(r.failure);
      if (opts.strict) stopped = true;
    }
    bar?.increment();
  };
  let simd: boolean;
  try {
    simd =
      opts.workers <= 1 || pairs.length <= 1
        ? await runHere(pairs, settings, opts.memoryBytes, take, () => stopped)
        : await runWorkers(pairs, settings, opts, take, () => stopped);
  } finally {
    bar?.stop();
  }
  records.sort((a, b) => a.index - b.index);
  failures.sort((a, b) => a.index - b.index);
  return { totals, records, failures, simd, stopped };
}

async function runHere(
  pairs: PairTask[],
  settings: Settings,
  memoryBytes: number | undefined,
  take: (r: PairResult) => void,
  stop: () => boolean,
): Promise<boolean> {
  const seg = await create({ memoryBytes });
  for (const task of pairs) {
    if (stop()) break;
    take(await evaluatePair(seg, settings, task));
  }
  return seg.simd;
}

interface FromWorker {
  ready?: { simd: boolean };
  result?: PairResult;
  fatal?: string;
}

async function runWorkers(
  pairs: PairTask[],
  settings: Settings,
  opts: RunOptions,
  take: (r: PairResult) => void,
  stop: () => boolean,
): Promise<boolean> {
  const count = Math.min(opts.workers, pairs.length);
  let next = 0;
  let simd = true;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(opts.workerFile, { workerData: { role: WORKER_ROLE, settings, memoryBytes: opts.memoryBytes } });
      let busy = 0;
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        void worker.terminate();
        if (err) reject(err);
        else resolve();
      };
      const feed = () => {
        while (busy < IN_FLIGHT && next < pairs.length && !stop()) {
          worker.postMessage(pairs[next++]);
          busy++;
        }
        if (busy === 0) finish();
      };
      worker.on("message", (m: FromWorker) => {
        if (m.fatal) return finish(new Error(m.fatal));
        if (m.ready) simd &&= m.ready.simd;
        if (m.result) {
          busy--;
          take(m.result);
        }
        feed();
      });
      worker.on("error", (err) => finish(err));
      worker.on("exit", (code) => finish(code === 0 ? undefined : new Error(`worker stopped with exit code ${code}`)));
    });
  await Promise.all(Array.from({ length: count }, one));
  return simd;
}

/** The worker side: one segloss instance, evaluates the pairs it is sent. */
export async function serveWorker(port: MessagePort, settings: Settings, memoryBytes?: number): Promise<void> {
  try {
    const seg = await create({ memoryBytes });
    port.on("message", async (task: PairTask) => {
      port.postMessage({ result: await evaluatePair(seg, settings, task) } satisfies FromWorker);
    });
    port.postMessage({ ready: { simd: seg.simd } } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ fatal: (err as Error).message } satisfies FromWorker);
  }
}

function progressBar(total: number): SingleBar {
  const bar = new SingleBar({
    format: "segloss eval [{bar}] {percentage}% | {value}/{total} pairs | {duration_formatted} (eta {eta_formatted})",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0);
  return bar;
}
