// The weighted family's kernels as TypeScript sees them (assembly/pool.ts,
// assembly/weighted.ts): their signatures, flag bits and constants.
import { KERAS_EPSILON } from "../../options";

/** assembly/pool.ts and assembly/weighted.ts */
export interface WeightedKernels {
  /** scratch of a pooled call, with the weight table of a full bh + ah + 1 by bw + aw + 1 window */
  poolScratchBytes(W: number, bh: number, ah: number, bw: number, aw: number): number;
  boundaryMap(
    t: number,
    out: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    flags: number,
    scratch: number,
    acc: number,
    stats: number,
  ): void;
  scaleF32(x: number, n: number, s: number): void;
  weightedSums(
    t: number,
    p: number,
    w: number,
    count: number,
    acc: number,
    stats: number,
    terms: number,
    flags: number,
    eps: number,
    hi: number,
  ): void;
  weightedGrad(
    g: number,
    t: number,
    p: number,
    w: number,
    count: number,
    flags: number,
    eps: number,
    hi: number,
    c: number,
    kA: number,
    cI: number,
    cP: number,
  ): void;
  pooledSums(
    t: number,
    p: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    pool: number,
    flags: number,
    scratch: number,
    acc: number,
    stats: number,
    eps: number,
    hi: number,
  ): void;
  pooledGrad(
    g: number,
    t: number,
    p: number,
    nImg: number,
    H: number,
    W: number,
    r0: number,
    i0: number,
    i1: number,
    bh: number,
    ah: number,
    bw: number,
    aw: number,
    pool: number,
    flags: number,
    scratch: number,
    eps: number,
    hi: number,
    c: number,
    kA: number,
    cI: number,
    cP: number,
  ): void;
}

// assembly/pool.ts
export const POOL_F64 = 1;
export const POOL_BAND = 2;
export const POOL_OUT = 4;
// assembly/weighted.ts
export const W_LOGITS = 1;
export const W_ALL = 2;
export const W_BCE = 4;
export const W_DICE = [8, 16, 32]; // Dice sums weighted by w^0, w^1, w^2
export const W_TERMS = 64;
export const W_F64 = 128;
export const SLOTS = 7; // Σw, Σ(1−t)L0, Σw·t·L1, Σw·(1−t)L0, ΣW·t·p, ΣW·t, ΣW·p (W = w^q)

/** The float32 clip of the probabilities (Keras's ε and its float32 complement). */
export const EPS = KERAS_EPSILON;
export const ONE_MINUS_EPS = Math.fround(1 - EPS);
/** f32 box sums stay exact integers below this (0/1 targets). */
export const EXACT_F32 = 2 ** 24;
/** Whole images staged per kernel call are grouped up to about this many elements. */
export const GROUP = 1 << 16;
