// Loads segloss under whatever policy the server sent and records the outcome:
// served under /no-wasm-csp/ (no 'wasm-unsafe-eval') compiling must fail.
import { create } from "../../../dist/index.js";

async function run() {
  try {
    const seg = await create();
    return { ok: true, dice: seg.dice(new Float32Array([1, 0]), new Float32Array([0.75, 0.25])) };
  } catch (e) {
    return { ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) };
  }
}

run().then((r) => {
  globalThis.__csp = r;
  document.getElementById("status").textContent = JSON.stringify(r);
});
