// TensorFlow.js peers: the same formulas written with tf ops, as a tfjs user
// would write them (Keras-style), run on the 'cpu' and the 'wasm' backends.
//
//   const peer = await loadTf('wasm');          // or 'cpu'; initialises the backend
//   await peer.activate();                      // make it tfjs's active backend
//   const inputs = peer.tensors(data);          // created once, outside the timing
//   peer.run('dice', inputs) -> number          // tf.tidy(loss) + dataSync() of the scalar
//   peer.dispose(inputs);
//
// Only one backend is active at a time in tfjs: activate() a peer before making
// its tensors, and dispose them before activating the other peer.

import { createRequire } from "node:module";
import { dirname, sep } from "node:path";

const require = createRequire(import.meta.url);

const EPS = Math.fround(1e-7);
const ONE_MINUS_EPS = Math.fround(1 - EPS); // 0.99999988
const SMOOTH = 1;

let tf = null;
let wasmModule = null;

async function importTf() {
  if (tf) return tf;
  tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-cpu");
  return tf;
}

/** Loss builders: (tf, inputs) => scalar tensor. inputs: { t, p, x, n } (t, p, x of shape [N, H, W]). */
function buildLosses(tf) {
  const bce = ({ t, p }) => {
    const q = tf.clipByValue(p, EPS, ONE_MINUS_EPS);
    const one = tf.scalar(1);
    return tf.neg(tf.mean(tf.add(tf.mul(t, tf.log(q)), tf.mul(tf.sub(one, t), tf.log(tf.sub(one, q))))));
  };
  const bceLogits = ({ t, x }) => tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
  // per-image sums: reshape to [N, L] and reduce axis 1
  const sums = ({ t, p, n }) => {
    const t2 = tf.reshape(t, [n, -1]);
    const p2 = tf.reshape(p, [n, -1]);
    return { i: tf.sum(tf.mul(t2, p2), 1), st: tf.sum(t2, 1), sp: tf.sum(p2, 1) };
  };
  const s = () => tf.scalar(SMOOTH);
  const dice = (inp) => {
    const { i, st, sp } = sums(inp);
    const d = tf.div(tf.add(tf.mul(tf.scalar(2), i), s()), tf.add(tf.add(st, sp), s()));
    return tf.mean(tf.sub(tf.scalar(1), d));
  };
  const jaccard = (inp) => {
    const { i, st, sp } = sums(inp);
    const j = tf.div(tf.add(i, s()), tf.add(tf.sub(tf.add(st, sp), i), s()));
    return tf.mean(tf.sub(tf.scalar(1), j));
  };
  const tversky = (inp, alpha = 0.5, beta = 0.5) => {
    const { i, st, sp } = sums(inp);
    const fp = tf.sub(sp, i);
    const fn = tf.sub(st, i);
    const den = tf.add(tf.add(tf.add(i, tf.mul(tf.scalar(alpha), fp)), tf.mul(tf.scalar(beta), fn)), s());
    return tf.mean(tf.sub(tf.scalar(1), tf.div(tf.add(i, s()), den)));
  };
  // the seed's focal loss (Keras form), γ = 0.75, α = 0.25, sum
  const focal = ({ t, p }, gamma = 0.75, alpha = 0.25) => {
    const pt1 = tf.clipByValue(tf.where(tf.equal(t, 1), p, tf.onesLike(p)), 1e-3, 0.999);
    const pt0 = tf.clipByValue(tf.where(tf.equal(t, 0), p, tf.zerosLike(p)), 1e-3, 0.999);
    const a = tf.sum(tf.mul(tf.mul(tf.scalar(alpha), tf.pow(tf.sub(tf.scalar(1), pt1), tf.scalar(gamma))), tf.log(pt1)));
    const b = tf.sum(tf.mul(tf.mul(tf.scalar(1 - alpha), tf.pow(pt0, tf.scalar(gamma))), tf.log(tf.sub(tf.scalar(1), pt0))));
    return tf.neg(tf.add(a, b));
  };
  const bceDice = (inp) => tf.add(bce(inp), dice(inp));
  return { bce, bceLogits, dice, jaccard, tversky, focal, bceDice };
}

/**
 * Activates `backend` ('cpu' | 'wasm') and returns the peer. Throws if the
 * packages are missing or the backend fails to start.
 */
export async function loadTf(backend) {
  const tfm = await importTf();
  const info = { backend, version: tfm.version_core };
  if (backend === "wasm") {
    if (!wasmModule) {
      wasmModule = await import("@tensorflow/tfjs-backend-wasm");
      // In Node the Emscripten glue reads the binary with fs: give it the folder.
      const distDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + sep;
      wasmModule.setWasmPaths(distDir);
    }
  }
  const t0 = performance.now();
  const ok = await tfm.setBackend(backend);
  await tfm.ready();
  if (!ok || tfm.getBackend() !== backend) throw new Error(`tfjs backend '${backend}' did not start`);
  info.initMs = performance.now() - t0;
  if (backend === "wasm") {
    const simd = await tfm.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tfm.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    info.simd = simd;
    info.threads = threads;
    info.threadsCount = threads ? wasmModule.getThreadsCount() : 1;
    // the same choice as getPathToWasmBinary() in tfjs-backend-wasm/dist/backend_wasm.js
    info.binary =
      simd && threads ? "tfjs-backend-wasm-threaded-simd.wasm" : simd ? "tfjs-backend-wasm-simd.wasm" : "tfjs-backend-wasm.wasm";
  }
  const losses = buildLosses(tfm);
  return {
    name: `tfjs-${backend}`,
    info,
    losses: Object.keys(losses),
    async activate() {
      if (tfm.getBackend() !== backend && !(await tfm.setBackend(backend))) {
        throw new Error(`tfjs backend '${backend}' did not start`);
      }
    },
    /** Tensors as a tf user holds them: created once, on the active backend. */
    tensors(data) {
      return {
        t: tfm.tensor(data.target, data.shape, "float32"),
        p: tfm.tensor(data.pred, data.shape, "float32"),
        x: tfm.tensor(data.logits, data.shape, "float32"),
        n: data.shape[0],
      };
    },
    /** One timed evaluation: build the graph in tf.tidy, read the scalar back with dataSync(). */
    run(name, inputs) {
      const out = tfm.tidy(() => losses[name](inputs));
      const v = out.dataSync()[0];
      out.dispose();
      return v;
    },
    numTensors: () => tfm.memory().numTensors,
    dispose(inputs) {
      inputs.t.dispose();
      inputs.p.dispose();
      inputs.x.dispose();
    },
  };
}
