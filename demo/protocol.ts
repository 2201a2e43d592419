// Messages between the demo page and its worker.
import type { Maps, Params } from "./compute";

export type ToWorker =
  | { type: "init"; simd?: boolean }
  /** target/base are sent only when they changed (copies; the page keeps its own). */
  | { type: "compute"; seq: number; params: Params; target?: Float32Array; base?: Float32Array };

export type FromWorker =
  | { type: "ready"; simd: boolean }
  | { type: "result"; seq: number; pred: Float32Array; values: [string, number][]; maps: Maps; curve: Float64Array; ms: number }
  | { type: "error"; seq: number; message: string };
