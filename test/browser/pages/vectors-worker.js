// The core test vectors inside a module Worker, with the ESM bundle.
import { create } from "/dist/index.js";
import { runVectors } from "../vectors.js";

self.onmessage = async (e) => {
  const seg = await create({ simd: e.data.simd });
  postMessage({ simd: seg.simd, results: runVectors(seg) });
};
