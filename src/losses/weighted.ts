// The seed's boundary-weighted losses: the sliding-average weight map
// (TF avg_pool 'SAME'), weighted BCE (Carvana / TF pos_weight form, or every
// pixel weighted), weighted Dice, and weightedBce + Dice with the map built
// inside. Kernels return sums (assembly/weighted.ts, assembly/pool.ts); the
// formulas, the batch normalisation and the gradient coefficients are here.
// docs/weighted-losses.md has the exact semantics.
//
// The code is split by job under weighted/: kernels.ts (kernel signatures and
// flags), options.ts (option types and tables, geometry), validation.ts
// (range records and errors), staging.ts (pooled passes), map.ts
// (boundaryWeights) and losses.ts (the losses and their gradients).
import type { TensorLike } from "../tensor";
import type { Runtime } from "../wasm";
import type { LossAndGrad } from "./common";
import { weightedBce, weightedBceDice, weightedDice } from "./weighted/losses";
import { boundaryWeights } from "./weighted/map";
import type {
  BoundaryWeightsOptions,
  WeightedBceDiceOptions,
  WeightedBceOptions,
  WeightedDiceOptions,
  WeightMap,
} from "./weighted/options";

export { boundaryWeights } from "./weighted/map";
export type {
  BoundaryWeightsOptions,
  PoolKernel,
  WeightedBceDiceOptions,
  WeightedBceOptions,
  WeightedBceStyle,
  WeightedDiceOptions,
  WeightMap,
  WeightMapMode,
} from "./weighted/options";

// ---------------------------------------------------------------- the API

/** The boundary-weighted losses of a segloss instance (docs/weighted-losses.md). */
export interface WeightedApi {
  /** The seed's weight map of a binary target: TF 'SAME' average pool, then 5·e^(−5|a − 0.5|) (or the band map), batch-normalised. */
  boundaryWeights(target: TensorLike, opts?: BoundaryWeightsOptions): WeightMap;
  /** Weighted BCE: Σℓ / Σw with ℓ = (1−t)·x + (1 + (w−1)·t)·softplus(−x) (TF pos_weight), or w·bce with style 'all'. */
  weightedBce(target: TensorLike, pred: TensorLike, weight: TensorLike, opts?: WeightedBceOptions): number | Float32Array;
  weightedBceGrad(
    target: TensorLike,
    pred: TensorLike,
    weight: TensorLike,
    opts?: WeightedBceOptions & { out?: Float32Array },
  ): LossAndGrad;
  /** 1 − (2·Σw·t·p + s) / (Σw·t + Σw·p + s) over the whole batch (w² with power 2). */
  weightedDice(target: TensorLike, pred: TensorLike, weight: TensorLike, opts?: WeightedDiceOptions): number | Float32Array;
  weightedDiceGrad(
    target: TensorLike,
    pred: TensorLike,
    weight: TensorLike,
    opts?: WeightedDiceOptions & { out?: Float32Array },
  ): LossAndGrad;
  /** weightedBce(t, p, boundaryWeights(t)) + (1 − D), D the plain batch Dice (s = 1); the map is built inside. */
  weightedBceDice(target: TensorLike, pred: TensorLike, opts?: WeightedBceDiceOptions): number;
  weightedBceDiceGrad(target: TensorLike, pred: TensorLike, opts?: WeightedBceDiceOptions & { out?: Float32Array }): LossAndGrad;
}

export function weightedApi(rt: Runtime): WeightedApi {
  return {
    boundaryWeights: (t, o) => boundaryWeights(rt, t, o),
    weightedBce: (t, p, w, o) => weightedBce(rt, t, p, w, o, false) as number | Float32Array,
    weightedBceGrad: (t, p, w, o) => weightedBce(rt, t, p, w, o, true) as LossAndGrad,
    weightedDice: (t, p, w, o) => weightedDice(rt, t, p, w, o, false) as number | Float32Array,
    weightedDiceGrad: (t, p, w, o) => weightedDice(rt, t, p, w, o, true) as LossAndGrad,
    weightedBceDice: (t, p, o) => weightedBceDice(rt, t, p, o, false) as number,
    weightedBceDiceGrad: (t, p, o) => weightedBceDice(rt, t, p, o, true) as LossAndGrad,
  };
}
