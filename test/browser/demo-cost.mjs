// The demo worker's cost per update at 256×256 in CPU time (process.cpuUsage),
// which a busy shared machine inflates far less than wall time. Not a test:
//   npm run build:demo && node test/browser/demo-cost.mjs
import { cpuUsage } from "node:process";
import { create } from "../../dist/index.js";

const compute = await import("../../dist-demo/compute.js");
// the shared chunk exports short aliases: find the functions by their names
const byName = Object.fromEntries(
  Object.values(compute)
    .filter((f) => typeof f === "function")
    .map((f) => [f.name, f]),
);
const { evaluate, preparePred, logits, example, boundaryMap } = byName;
if (!evaluate || !preparePred || !logits || !example || !boundaryMap) throw new Error("dist-demo/compute.js changed: rebuild the demo");

const seg = await create();
const { target, pred: base } = example("cells");
const n = target.length;
const T = seg.alloc(Float32Array, n);
const P = seg.alloc(Float32Array, n);
const X = seg.alloc(Float32Array, n);
T.set(target);
const params = { blur: 0, noise: 0.05, threshold: 0.5, kernel: 50 };
const weights = boundaryMap(seg, T, params); // the worker keeps it while only the prediction changes
const update = () => {
  preparePred(base, params, P);
  return evaluate(seg, T, P, params, logits(P, X), weights.slice());
};
for (let i = 0; i < 30; i++) update();
const cpu = [];
const wall = [];
for (let i = 0; i < 60; i++) {
  const c = cpuUsage();
  const w = performance.now();
  update();
  wall.push(performance.now() - w);
  const d = cpuUsage(c);
  cpu.push((d.user + d.system) / 1000);
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(
  `one demo update while painting (prepare + logits + evaluate), 256×256, SIMD: CPU ${med(cpu).toFixed(2)} ms, wall ${med(wall).toFixed(2)} ms (medians of 60)`,
);
