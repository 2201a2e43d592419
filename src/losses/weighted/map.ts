// boundaryWeights: the seed's sliding-average weight map, batch-normalised.
import { checkOwnOptions } from "../../options";
import { runPass, withF64 } from "../../passes";
import { toTensor } from "../../tensor";
import type { Runtime } from "../../wasm";
import { gradBuffer } from "../common";
import { POOL_OUT, SLOTS, type WeightedKernels } from "./kernels";
import { BOUNDARY, poolGeom, type WeightMap } from "./options";
import { pooledRun, pooledWithRetry } from "./staging";
import { checkNoOverlap, checkTarget, newStats } from "./validation";

// ---------------------------------------------------------------- boundaryWeights

export function boundaryWeights(rt: Runtime, target: unknown, opts: unknown): WeightMap {
  const o = checkOwnOptions("boundaryWeights", opts, BOUNDARY);
  const tt = toTensor(target, "target", o.shape as number[] | undefined);
  const g = poolGeom(tt, o);
  const n = tt.data.length;
  const out = gradBuffer(o.out, n);
  checkNoOverlap(out, tt.data);
  const k = rt.kernels<WeightedKernels>();
  withF64(rt, SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      // one pooled pass writes u (and sums it); the batch scale is a second, element-wise pass
      pooledWithRetry(
        rt,
        g,
        acc,
        stats,
        (pool) =>
          pooledRun(rt, g, tt.data, null, out, (t, _p, o2, nImg, r0, i0, i1, scratch) =>
            k.boundaryMap(t, o2, nImg, g.H, g.W, r0, i0, i1, g.bh, g.ah, g.bw, g.aw, pool | POOL_OUT, scratch, acc, stats),
          ),
        () => checkTarget(rt, stats),
      );
    } finally {
      rt.release(stats);
    }
    if (o.normalize === false) return;
    const c = n / rt.f64[acc >>> 3];
    runPass(rt, { inputs: [], nSeg: 1, segLen: n, out, outIsInput: true, run: (_p, x, count) => k.scaleF32(x, count, c) });
  });
  return { data: out, shape: tt.shape.slice() };
}
