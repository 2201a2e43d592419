// The demo page: inputs (examples, PNGs, painting, sliders) on the main
// thread; every loss and map is computed in the worker, one request in flight
// at a time, the latest state sent as soon as the previous result is drawn.
import { drawCurve } from "./chart";
import { CURVE_THRESHOLDS, DEFAULT_PARAMS, formatValue, type Params } from "./compute";
import { EXAMPLES, example, SIZE } from "./examples";
import { DIVERGING, drawMap, GREY, type Palette, SEQUENTIAL } from "./heat";
import { loadGrey, toMask } from "./png";
import type { FromWorker, ToWorker } from "./protocol";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const query = new URLSearchParams(location.search);

/** One update's timings (ms): worker compute, and input → result drawn. */
interface Perf {
  compute: number;
  latency: number;
  draw: number;
}

/** State the browser tests read. */
const demo = {
  ready: false,
  simd: undefined as boolean | undefined,
  seq: 0,
  drawnSeq: -1,
  error: "",
  target: new Float32Array(SIZE * SIZE) as Float32Array,
  base: new Float32Array(SIZE * SIZE) as Float32Array,
  pred: new Float32Array(SIZE * SIZE) as Float32Array,
  params: { ...DEFAULT_PARAMS } as Params,
  values: [] as [string, number][],
  perf: [] as Perf[],
  /** True while a request is in flight or an input change waits to be sent. */
  get pending(): boolean {
    return busy || dirty;
  },
};
(globalThis as unknown as { __demo: typeof demo }).__demo = demo;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (msg: ToWorker, transfer: Transferable[] = []) => worker.postMessage(msg, transfer);

// ------------------------------------------------------------- scheduling

let busy = false;
let dirty = false;
/** Which inputs the worker has not seen yet (the target only when it changed: the worker keeps its boundary map). */
const changed = { target: true, base: true };
let dirtySince = 0;
let sentSince = 0;

function requestUpdate(...inputs: ("target" | "base")[]): void {
  for (const k of inputs) changed[k] = true;
  if (!dirty) dirtySince = performance.now();
  dirty = true;
  if (!busy && demo.ready) flush();
}

function flush(): void {
  dirty = false;
  busy = true;
  sentSince = dirtySince;
  const msg: ToWorker = { type: "compute", seq: ++demo.seq, params: { ...demo.params } };
  const transfer: Transferable[] = [];
  if (changed.target) transfer.push((msg.target = demo.target.slice()).buffer);
  if (changed.base) transfer.push((msg.base = demo.base.slice()).buffer);
  changed.target = changed.base = false;
  send(msg, transfer);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === "ready") {
    demo.ready = true;
    demo.simd = m.simd;
    requestUpdate("target", "base");
    return;
  }
  busy = false;
  // send the next state before drawing this one: the worker computes while the page draws
  const since = sentSince;
  if (dirty) flush();
  if (m.type === "error") {
    demo.error = m.message;
    $("status").textContent = `error: ${m.message}`;
  } else {
    const t0 = performance.now();
    draw(m);
    const now = performance.now();
    demo.perf.push({ compute: m.ms, latency: now - since, draw: now - t0 });
    demo.drawnSeq = m.seq;
    $("status").textContent =
      `${demo.simd ? "SIMD" : "scalar"} build · worker ${m.ms.toFixed(1)} ms · ` + `input → drawn ${(now - since).toFixed(1)} ms`;
  }
};

// ------------------------------------------------------------- drawing

const MAPS: { key: keyof Extract<FromWorker, { type: "result" }>["maps"]; title: string; lut: Palette; scale: "positive" | "signed" }[] = [
  { key: "weights", title: "boundaryWeights (k window)", lut: SEQUENTIAL, scale: "positive" },
  { key: "bce", title: "BCE per pixel (reduction 'none')", lut: SEQUENTIAL, scale: "positive" },
  { key: "focal", title: "focal per pixel (reduction 'none')", lut: SEQUENTIAL, scale: "positive" },
  { key: "diceGrad", title: "diceGrad ∂L/∂p", lut: DIVERGING, scale: "signed" },
  { key: "lovaszGrad", title: "lovaszHingeGrad on logit(p)", lut: DIVERGING, scale: "signed" },
];

const mapCanvas = new Map<string, { canvas: HTMLCanvasElement; caption: HTMLElement }>();
for (const m of MAPS) {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE;
  canvas.id = `map-${m.key}`;
  const caption = document.createElement("figcaption");
  fig.append(canvas, caption);
  $("maps").append(fig);
  mapCanvas.set(m.key, { canvas, caption });
}

function drawValues(values: [string, number][]): void {
  const body = $("values");
  if (body.children.length !== values.length) {
    body.replaceChildren(
      ...values.map(() => {
        const tr = document.createElement("tr");
        tr.append(document.createElement("td"), document.createElement("td"));
        return tr;
      }),
    );
  }
  values.forEach(([label, v], i) => {
    const [a, b] = body.children[i].children;
    a.textContent = label;
    b.textContent = formatValue(v);
    (body.children[i] as HTMLElement).dataset.label = label;
  });
}

function draw(m: Extract<FromWorker, { type: "result" }>): void {
  demo.pred = m.pred;
  demo.values = m.values;
  drawMap($("pred"), m.pred, SIZE, SIZE, GREY, "unit");
  for (const spec of MAPS) {
    const { canvas, caption } = mapCanvas.get(spec.key)!;
    const r = drawMap(canvas, m.maps[spec.key], SIZE, SIZE, spec.lut, spec.scale);
    caption.textContent = `${spec.title}: ${formatValue(r.min)} … ${formatValue(r.max)}`;
  }
  drawValues(m.values);
  drawCurve($("curve"), CURVE_THRESHOLDS, m.curve, demo.params.threshold);
}

function drawTarget(): void {
  drawMap($("mask"), demo.target, SIZE, SIZE, GREY, "unit");
}

// ------------------------------------------------------------- inputs

function useExample(id: string): void {
  const e = example(id);
  demo.target = e.target;
  demo.base = e.pred;
  drawTarget();
  requestUpdate("target", "base");
}

const select = $<HTMLSelectElement>("example");
for (const e of EXAMPLES) select.append(new Option(e.label, e.id));
select.onchange = () => useExample(select.value);

for (const key of ["blur", "noise", "threshold", "kernel"] as const) {
  const input = $<HTMLInputElement>(key);
  const out = input.parentElement!.querySelector("output")!;
  const fromQuery = query.get(key);
  if (fromQuery !== null) input.value = fromQuery;
  const apply = () => {
    demo.params[key] = Number(input.value);
    out.textContent = input.value;
  };
  apply();
  input.oninput = () => {
    apply();
    requestUpdate();
  };
}
const brush = $<HTMLInputElement>("brush");
const brushOut = brush.parentElement!.querySelector("output")!;
brushOut.textContent = brush.value;
brush.oninput = () => (brushOut.textContent = brush.value);

$<HTMLInputElement>("mask-file").onchange = async (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  demo.target = toMask(await loadGrey(f));
  drawTarget();
  requestUpdate("target");
};
$<HTMLInputElement>("pred-file").onchange = async (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  demo.base = await loadGrey(f);
  requestUpdate("base");
};

// Painting: a hard disc (1 with the left button, 0 with the right one or Shift)
// into the raw prediction, interpolated between pointer events.
const predCanvas = $<HTMLCanvasElement>("pred");
let last: { x: number; y: number } | null = null;

function stamp(cx: number, cy: number, value: number): void {
  const r = Number(brush.value) / 2;
  // immediate feedback on the canvas; the worker's result (blur, noise) replaces it
  const ctx = predCanvas.getContext("2d")!;
  ctx.fillStyle = value ? "#fff" : "#000";
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  ctx.fill();
  const b = demo.base;
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(SIZE - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(SIZE - 1, Math.ceil(cx + r)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) b[y * SIZE + x] = value;
    }
  }
}

function paint(e: PointerEvent): void {
  const rect = predCanvas.getBoundingClientRect();
  const x = ((e.clientX - rect.left) / rect.width) * SIZE;
  const y = ((e.clientY - rect.top) / rect.height) * SIZE;
  const value = e.buttons & 2 || e.shiftKey ? 0 : 1;
  const from = last ?? { x, y };
  const steps = Math.max(1, Math.ceil(Math.hypot(x - from.x, y - from.y) / 2));
  for (let i = 1; i <= steps; i++) stamp(from.x + ((x - from.x) * i) / steps, from.y + ((y - from.y) * i) / steps, value);
  last = { x, y };
  requestUpdate("base");
}

predCanvas.addEventListener("contextmenu", (e) => e.preventDefault());
predCanvas.addEventListener("pointerdown", (e) => {
  predCanvas.setPointerCapture(e.pointerId);
  last = null;
  paint(e);
});
predCanvas.addEventListener("pointermove", (e) => {
  if (e.buttons) paint(e);
});
predCanvas.addEventListener("pointerup", () => (last = null));

// ------------------------------------------------------------- start

const simd = query.get("simd");
send({ type: "init", simd: simd === null ? undefined : simd !== "0" });
const first = query.get("example") ?? EXAMPLES[0].id;
select.value = first;
useExample(first);
