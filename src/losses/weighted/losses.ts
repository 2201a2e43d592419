// weightedBce, weightedDice and weightedBceDice: the kernels' sums, the
// formulas and the batch normalisation, and the gradient pass.
import { describe, fail } from "../../errors";
import type { Reduction } from "../../options";
import { runPass, withF64 } from "../../passes";
import { binaryGeometry, type NumericArray, toTensor } from "../../tensor";
import type { Runtime } from "../../wasm";
import { gradBuffer, type LossAndGrad, perPixelData } from "../common";
import { EPS, ONE_MINUS_EPS, SLOTS, W_ALL, W_BCE, W_DICE, W_F64, W_LOGITS, W_TERMS, type WeightedKernels } from "./kernels";
import { BCE, BCE_DICE, DICE, options, type PoolGeom, poolGeom, predTensor } from "./options";
import { pooledRun, pooledWithRetry } from "./staging";
import { checkNoOverlap, checkStats, newStats } from "./validation";

// ---------------------------------------------------------------- the losses

interface Prepared {
  t: NumericArray;
  p: Float32Array | Float64Array;
  /** The weight tensor, or null when the map is pooled from t. */
  w: NumericArray | null;
  weightArg: string;
  geom: PoolGeom | null;
  n: number;
  flags: number;
  logits: boolean;
}

/** The sums of one call and the normaliser c of the weights (w = c·u). */
interface Sums {
  s: Float64Array;
  c: number;
  pool: number;
  /** Some target is neither 0 nor 1: the gradient's terms may cancel, so it is taken in float64. */
  soft: boolean;
  terms: Float32Array | null;
}

function sums(rt: Runtime, prep: Prepared, normalize: boolean, terms: boolean): Sums {
  const k = rt.kernels<WeightedKernels>();
  const { t, p, w, geom, n } = prep;
  const termsOut = terms ? new Float32Array(n) : null;
  let pool = 0;
  let soft = false;
  const s = withF64(rt, SLOTS, (acc) => {
    const stats = newStats(rt);
    try {
      if (w) {
        const flags = prep.flags | (terms ? W_TERMS : 0);
        runPass(rt, {
          inputs: [t, p, w],
          nSeg: 1,
          segLen: n,
          out: termsOut ?? undefined,
          run: (ptrs, out, count) => k.weightedSums(ptrs[0], ptrs[1], ptrs[2], count, acc, stats, out, flags, EPS, ONE_MINUS_EPS),
        });
        soft = checkStats(rt, stats, prep.logits, prep.weightArg).soft;
      } else {
        const g = geom as PoolGeom;
        pool = pooledWithRetry(
          rt,
          g,
          acc,
          stats,
          (pl) =>
            pooledRun(rt, g, t, p, null, (tp, pp, _o, nImg, r0, i0, i1, scratch) =>
              k.pooledSums(
                tp,
                pp,
                nImg,
                g.H,
                g.W,
                r0,
                i0,
                i1,
                g.bh,
                g.ah,
                g.bw,
                g.aw,
                pl,
                prep.flags,
                scratch,
                acc,
                stats,
                EPS,
                ONE_MINUS_EPS,
              ),
            ),
          () => {
            const r = checkStats(rt, stats, prep.logits, prep.weightArg);
            soft = r.soft;
            return r;
          },
        );
      }
    } finally {
      rt.release(stats);
    }
    return rt.f64.slice(acc >>> 3, (acc >>> 3) + SLOTS);
  });
  const c = !w && normalize ? n / s[0] : 1;
  return { s, c, pool, soft, terms: termsOut };
}

/** BCE part: Σℓ and Σw from the sums (w = c·u). */
function bcePart(x: Sums, all: boolean): { sumL: number; sumW: number } {
  const { s, c } = x;
  return { sumL: all ? c * (s[3] + s[2]) : s[1] + c * s[2], sumW: c * s[0] };
}

/** Dice part: loss 1 − D and its derivatives w.r.t. the weighted sums I and P. */
function dicePart(x: Sums, q: number, smooth: number): { loss: number; cI: number; cP: number } {
  const cq = x.c ** q;
  const I = cq * x.s[4];
  const T = cq * x.s[5];
  const P = cq * x.s[6];
  const num = 2 * I + smooth;
  const den = T + P + smooth;
  return { loss: 1 - num / den, cI: -2 / den, cP: num / (den * den) };
}

function writeGrad(rt: Runtime, prep: Prepared, x: Sums, grad: Float32Array, kA: number, cI: number, cP: number): void {
  const k = rt.kernels<WeightedKernels>();
  const { t, p, w, geom, n } = prep;
  const flags = prep.flags | (x.soft ? W_F64 : 0);
  const c = x.c;
  if (w) {
    runPass(rt, {
      inputs: [t, p, w],
      nSeg: 1,
      segLen: n,
      out: grad,
      run: (ptrs, out, count) => k.weightedGrad(out, ptrs[0], ptrs[1], ptrs[2], count, flags, EPS, ONE_MINUS_EPS, c, kA, cI, cP),
    });
    return;
  }
  const g = geom as PoolGeom;
  checkNoOverlap(grad, t);
  pooledRun(rt, g, t, p, grad, (tp, pp, gp, nImg, r0, i0, i1, scratch) =>
    k.pooledGrad(gp, tp, pp, nImg, g.H, g.W, r0, i0, i1, g.bh, g.ah, g.bw, g.aw, x.pool, flags, scratch, EPS, ONE_MINUS_EPS, c, kA, cI, cP),
  );
}

function prepareGiven(
  target: unknown,
  pred: unknown,
  weight: unknown,
  weightArg: string,
  o: Record<string, unknown>,
  flags: number,
): Prepared {
  const pt = predTensor(pred, o.shape);
  const tt = toTensor(target, "target", o.shape as number[] | undefined);
  binaryGeometry(tt, pt);
  const n = pt.data.length;
  const w = perPixelData(weight, weightArg, n);
  const logits = o.fromLogits === true;
  return {
    t: tt.data,
    p: pt.data as Float32Array | Float64Array,
    w,
    weightArg,
    geom: null,
    n,
    flags: flags | (logits ? W_LOGITS : 0),
    logits,
  };
}

export function weightedBce(
  rt: Runtime,
  target: unknown,
  pred: unknown,
  weight: unknown,
  opts: unknown,
  grad: boolean,
): number | Float32Array | LossAndGrad {
  const o = options("weightedBce", opts, BCE, grad);
  const all = o.style === "all";
  const prep = prepareGiven(target, pred, weight, "weight", o, W_BCE | (all ? W_ALL : 0));
  const reduction = (o.reduction as Reduction | undefined) ?? "mean";
  const x = sums(rt, prep, false, reduction === "none");
  if (reduction === "none") return x.terms as Float32Array;
  const { sumL, sumW } = bcePart(x, all);
  if (reduction === "mean" && !(sumW > 0)) fail("E_RANGE", "weight", "weights with a positive sum (the mean divides by Σw)", "Σw = 0");
  const kA = reduction === "mean" ? 1 / sumW : 1;
  const loss = sumL * kA;
  if (!grad) return loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, kA, 0, 0);
  return { loss, grad: g };
}

export function weightedDice(
  rt: Runtime,
  target: unknown,
  pred: unknown,
  weight: unknown,
  opts: unknown,
  grad: boolean,
): number | Float32Array | LossAndGrad {
  const o = options("weightedDice", opts, DICE, grad);
  const q = (o.power as number | undefined) ?? 1;
  const prep = prepareGiven(target, pred, weight, "weight", o, W_DICE[q]);
  const x = sums(rt, prep, false, false);
  const d = dicePart(x, q, (o.smooth as number | undefined) ?? 1);
  if (o.reduction === "none") return Float32Array.of(d.loss);
  if (!grad) return d.loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, 0, d.cI, d.cP);
  return { loss: d.loss, grad: g };
}

export function weightedBceDice(rt: Runtime, target: unknown, pred: unknown, opts: unknown, grad: boolean): number | LossAndGrad {
  const o = options("weightedBceDice", opts, BCE_DICE, grad);
  const all = o.style === "all";
  const q = (o.dicePower as number | undefined) ?? 0;
  const flags = W_BCE | (all ? W_ALL : 0) | W_DICE[q];
  let prep: Prepared;
  if (o.weight !== undefined) {
    for (const key of ["kernel", "mode", "normalize"]) {
      if (o[key] !== undefined) fail("E_OPTION", `opts.${key}`, "no map option together with a precomputed opts.weight", describe(o[key]));
    }
    prep = prepareGiven(target, pred, o.weight, "opts.weight", o, flags);
  } else {
    const pt = predTensor(pred, o.shape);
    const tt = toTensor(target, "target", o.shape as number[] | undefined);
    binaryGeometry(tt, pt);
    const logits = o.fromLogits === true;
    const geom = poolGeom(tt, o);
    prep = {
      t: tt.data,
      p: pt.data as Float32Array | Float64Array,
      w: null,
      weightArg: "target",
      geom,
      n: pt.data.length,
      flags: flags | (logits ? W_LOGITS : 0),
      logits,
    };
  }
  const x = sums(rt, prep, o.normalize !== false, false);
  const { sumL, sumW } = bcePart(x, all);
  const mean = o.reduction !== "sum";
  if (mean && !(sumW > 0)) fail("E_RANGE", "opts.weight", "weights with a positive sum (the mean divides by Σw)", "Σw = 0");
  const kA = mean ? 1 / sumW : 1;
  const d = dicePart(x, q, (o.smooth as number | undefined) ?? 1);
  const loss = sumL * kA + d.loss;
  if (!grad) return loss;
  const g = gradBuffer(o.out, prep.n);
  writeGrad(rt, prep, x, g, kA, d.cI, d.cP);
  return { loss, grad: g };
}
