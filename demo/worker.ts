// The demo's Web Worker: owns the segloss instance, turns the raw prediction
// into the evaluated one (blur, noise) and computes every loss and map, so the
// page never stalls. The library comes from the published ESM bundle.
import { create, type Segloss } from "../src/index";
import { boundaryMap, evaluate, logits, preparePred } from "./compute";
import { SIZE } from "./examples";
import type { ToWorker } from "./protocol";

/** The instance and the inputs, kept in its WebAssembly memory so every call reads them in place. */
interface State {
  seg: Segloss;
  target: Float32Array;
  pred: Float32Array;
  logits: Float32Array;
}

let state: Promise<State> | undefined;
let base: Float32Array | undefined;
let hasTarget = false;
/** The boundary map of the current target and its k (recomputed only when either changes). */
let weights: { kernel: number; map: Float32Array } | undefined;

async function init(simd: boolean | undefined): Promise<State> {
  const seg = await create(simd === undefined ? {} : { simd });
  const n = SIZE * SIZE;
  return { seg, target: seg.alloc(Float32Array, n), pred: seg.alloc(Float32Array, n), logits: seg.alloc(Float32Array, n) };
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === "init") {
    state = init(msg.simd);
    postMessage({ type: "ready", simd: (await state).seg.simd });
    return;
  }
  if (!state) throw new Error("compute before init");
  const s = await state;
  if (msg.target) {
    s.target.set(msg.target);
    hasTarget = true;
    weights = undefined;
  }
  if (msg.base) base = msg.base;
  if (!base || !hasTarget) throw new Error("compute before the inputs");
  const t0 = performance.now();
  preparePred(base, msg.params, s.pred);
  if (weights?.kernel !== msg.params.kernel) weights = { kernel: msg.params.kernel, map: boundaryMap(s.seg, s.target, msg.params) };
  const r = evaluate(s.seg, s.target, s.pred, msg.params, logits(s.pred, s.logits), weights.map.slice());
  const pred = s.pred.slice();
  const ms = performance.now() - t0;
  const m = r.maps;
  const transfer = [pred.buffer, m.weights.buffer, m.bce.buffer, m.focal.buffer, m.diceGrad.buffer, m.lovaszGrad.buffer, r.curve.buffer];
  postMessage({ type: "result", seq: msg.seq, pred, values: r.values, maps: m, curve: r.curve, ms }, { transfer });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err: unknown) => {
    postMessage({ type: "error", seq: e.data.type === "compute" ? e.data.seq : -1, message: String((err as Error)?.message ?? err) });
  });
};
