// Dataset totals: per metric the exact sum of the per-image values and the
// summed integer counts. Adding records in any order, or merging the states
// of workers and shards, gives bit-identical results.
import type { PairRecord } from "./evaluate";
import { ExactSum, type ExactSumState } from "./fsum";
import { rowOf } from "./registry";
import type { Settings } from "./settings";
import type { Summary } from "./summaries";

export interface MetricState {
  /** Exact sum of the image values that are not NaN, and how many there were. */
  sum: ExactSumState;
  images: number;
  counts: Record<string, number[]>;
}

export interface TotalsState {
  pairs: number;
  metrics: Record<string, MetricState>;
}

interface MetricTotal {
  sum: ExactSum;
  images: number;
  counts: Record<string, number[]>;
}

export class Totals {
  pairs = 0;
  private readonly metrics = new Map<string, MetricTotal>();

  constructor(names: readonly string[]) {
    for (const n of names) this.metrics.set(n, { sum: new ExactSum(), images: 0, counts: {} });
  }

  add(r: PairRecord): void {
    this.pairs++;
    for (const [name, t] of this.metrics) {
      const v = r.values[name];
      if (v !== undefined && !Number.isNaN(v)) {
        t.sum.add(v);
        t.images++;
      }
      addCounts(t.counts, r.counts[name]);
    }
  }

  merge(s: TotalsState): void {
    this.pairs += s.pairs;
    for (const [name, t] of this.metrics) {
      const m = s.metrics[name];
      if (!m) continue;
      t.sum.merge(m.sum);
      t.images += m.images;
      addCounts(t.counts, m.counts);
    }
  }

  state(): TotalsState {
    const metrics: Record<string, MetricState> = {};
    for (const [name, t] of this.metrics) metrics[name] = { sum: t.sum.state(), images: t.images, counts: t.counts };
    return { pairs: this.pairs, metrics };
  }

  /** Per metric: the mean over images (NaN values left out), how many counted, and the row's dataset numbers. */
  summary(settings: Settings): Record<string, Summary> {
    const out: Record<string, Summary> = {};
    for (const [name, t] of this.metrics) {
      const row = rowOf(name)!;
      const mean = t.images > 0 ? t.sum.value() / t.images : null;
      out[name] = { mean, images: t.images, ...(row.summarize ? row.summarize(t.counts, settings) : {}) };
    }
    return out;
  }
}

function addCounts(into: Record<string, number[]>, from: Record<string, number[]> | undefined): void {
  if (!from) return;
  for (const [k, v] of Object.entries(from)) {
    const a = (into[k] ??= new Array(v.length).fill(0));
    for (let i = 0; i < v.length; i++) a[i] += v[i];
  }
}
