// Runs the core test vectors in the page: the ESM bundle on the main thread
// (both builds), in a module Worker (both builds), the slim bundle (wasm by
// URL, both builds) and create({ wasm }) with bytes the page fetched itself.
import * as full from "/dist/index.js";
import * as slim from "/dist/slim.js";
import { runVectors } from "../vectors.js";

function inWorker(simd) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./vectors-worker.js", import.meta.url), { type: "module" });
    w.onmessage = (e) => {
      w.terminate();
      resolve(e.data);
    };
    w.onerror = (e) => reject(new Error(`worker: ${e.message}`));
    w.postMessage({ simd });
  });
}

async function run() {
  const out = {};
  for (const simd of [true, false]) {
    const tag = simd ? "simd" : "scalar";
    const seg = await full.create({ simd });
    out[`main ${tag}`] = { simd: seg.simd, results: runVectors(seg) };
    out[`worker ${tag}`] = await inWorker(simd);
    const s = await slim.create({ simd });
    out[`slim ${tag}`] = { simd: s.simd, results: runVectors(s) };
    const bytes = await (await fetch(`/dist/segloss.${tag}.wasm`)).arrayBuffer();
    const own = await full.create({ wasm: bytes, simd });
    out[`wasm bytes ${tag}`] = { simd: own.simd, results: runVectors(own) };
  }
  const auto = await slim.create();
  out.detected = { simd: auto.simd, results: [] };
  return out;
}

run().then(
  (r) => {
    globalThis.__vectors = r;
    document.getElementById("status").textContent = "done";
  },
  (e) => {
    globalThis.__vectors = { error: String(e?.stack ?? e) };
    document.getElementById("status").textContent = `failed: ${e}`;
  },
);
