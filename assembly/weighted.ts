// Weighted BCE (TF weighted_cross_entropy_with_logits with a per-pixel
// pos_weight, or every pixel weighted) and weighted / plain Dice: one fused
// pass for the sums, one for the gradient. The weight comes from a tensor, or
// from the boundary map of the target computed on the fly (assembly/pool.ts),
// so weightedBceDice never materialises the map.
//
// With p' = clip(p, ε, 1−ε) (or σ(x) for logits), the per-element BCE splits
// into two non-negative parts, L0 = −ln(1−p') (= x + softplus(−x)) and
// L1 = −ln p' (= softplus(−x)):
//   'positive' (TF):  ℓ = (1−t)·L0 + w·t·L1
//   'all':            ℓ = w·((1−t)·L0 + t·L1)
// Sums per call (f64 slots): Σw, Σ(1−t)L0, Σw·t·L1, Σw·(1−t)L0, and the Dice
// sums Σw^q·t·p, Σw^q·t, Σw^q·p (q = 0, 1 or 2). The wrapper rescales them when
// the map is normalised (w = c·u), so the sums are taken over the raw u.
import { BLOCK, addF64, foldRange, hmax, hmin, hsum64 } from "./simd";
import { PRODUCT_RUN, lnOfProduct, log1, log4, productExponent, productMantissa, sigmoid1, sigmoid4, softplusNeg1, softplusNeg4 } from "./math";
import {
  POOL_BAND, POOL_F64, STAT_SOFT, avg64Of, bandOf, bandRows, fullSpan, mapWeight64, poolRow, poolSetup, tableOf, tableSetup, weightsOfRow,
} from "./pool";

export const W_LOGITS: i32 = 1;
export const W_ALL: i32 = 2; // every pixel weighted (else TF's positives-only pos_weight)
export const W_BCE: i32 = 4; // collect the BCE sums
export const W_DICE0: i32 = 8; // Dice sums unweighted
export const W_DICE1: i32 = 16; // Dice sums weighted by w
export const W_DICE2: i32 = 32; // Dice sums weighted by w²
export const W_TERMS: i32 = 64; // write ℓ per element
export const W_F64: i32 = 128; // gradient in float64 (soft targets: its terms may cancel)
export const W_HARD: i32 = 256; // pooled f32 pass: assume 0/1 targets and p in [+0, 1], only flag others (the pass is then redone)

/** f64 slots per call. */
export const WEIGHTED_SLOTS: i32 = 7;

// ln q for q ∈ [ε, 1] (normal and positive: the clipped probabilities), for
// the hard-target loop: q = 2^k·m with m ∈ [√½, √2), s = (m − 1)/(m + 1) and
// ln m = s·(2 + z·(2/3 + z·(2/5 + z·2/7))), z = s² ≤ 0.0295 (the series of
// 2·atanh s; the first term left out, 2s·z⁴/9, is below 1e-7 of ln m). No
// special values (the inputs are clipped), no high/low split of ln 2: about
// 2 ulp instead of musl logf's 1, relative also near q = 1 (m − 1 is exact),
// at two thirds of its operations. Constants come from static memory (V8
// rebuilds a v128.const inside a loop with three instructions at every use, a
// load is one).
const KLOG: usize = memory.data<f32>(
  [
    1, 1, 1, 1,
    2, 2, 2, 2,
    0.2857142857142857, 0.2857142857142857, 0.2857142857142857, 0.2857142857142857, // 2/7
    0.4, 0.4, 0.4, 0.4, // 2/5
    0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, // 2/3
    0.6931471805599453, 0.6931471805599453, 0.6931471805599453, 0.6931471805599453, // ln 2
  ],
  16,
);
// bits: the offset that moves the exponent boundary to √½, the exponent bias, the mantissa mask, √½'s bits
const KLOGI: usize = memory.data<i32>(
  [
    0x004afb0d, 0x004afb0d, 0x004afb0d, 0x004afb0d,
    0x7f, 0x7f, 0x7f, 0x7f,
    0x007fffff, 0x007fffff, 0x007fffff, 0x007fffff,
    0x3f3504f3, 0x3f3504f3, 0x3f3504f3, 0x3f3504f3,
  ],
  16,
);
const L_ONE = 0, L_TWO = 1, L_C7 = 2, L_C5 = 3, L_C3 = 4, L_LN2 = 5;

// @ts-ignore: decorator
@inline function klog(i: i32): v128 {
  return v128.load(KLOG + ((<usize>i) << 4));
}

// @ts-ignore: decorator
@inline function logClipped4(q: v128): v128 {
  const ix = i32x4.add(q, v128.load(KLOGI));
  const k = i32x4.sub(i32x4.shr_s(ix, 23), v128.load(KLOGI, 16));
  const m = i32x4.add(v128.and(ix, v128.load(KLOGI, 32)), v128.load(KLOGI, 48));
  const f = f32x4.sub(m, klog(L_ONE));
  const s = f32x4.div(f, f32x4.add(klog(L_TWO), f));
  const z = f32x4.mul(s, s);
  let P = f32x4.add(f32x4.mul(z, klog(L_C7)), klog(L_C5));
  P = f32x4.add(f32x4.mul(P, z), klog(L_C3));
  P = f32x4.add(f32x4.mul(P, z), klog(L_TWO));
  return f32x4.add(f32x4.mul(s, P), f32x4.mul(f32x4.convert_i32x4_s(k), klog(L_LN2)));
}

// BACKGROUND: the hard pass's vectors whose four targets are 0 (most of a
// typical mask) need Σ ln q, q = 1 − p' ≥ 1 − hi ≈ 2^−23, unweighted, and
// Σ ln q = ln Π q: a running product instead of a log per vector (math.ts).

// weight source of gradBody64: a tensor, or the exp / band map of the f64 averages row
const SRC_TENSOR: i32 = 0;
const SRC_EXP: i32 = 1;
const SRC_BAND: i32 = 2;

// ---------------------------------------------------------------- the sums

// w: a weight tensor (foldW: an input whose range is checked) or the weight rows a pooled pass computed
// @ts-ignore: decorator
@inline function sumsBody(
  t: usize, p: usize, w: usize, n: i32, acc: usize, stats: usize, terms: usize,
  flags: i32, foldW: bool, eps: f32, hi: f32,
): void {
  const logits = (flags & W_LOGITS) != 0;
  const all = (flags & W_ALL) != 0;
  const bce = (flags & W_BCE) != 0;
  const dice = (flags & (W_DICE0 | W_DICE1 | W_DICE2)) != 0;
  const hard = (flags & W_HARD) != 0;
  // the hard pass sums −ℓ's parts and subtracts them (one negation less per vector)
  const negL = hard && !logits && (flags & W_TERMS) == 0;
  // background vectors of the hard pass (every t = 0, unweighted L0): Σ ln q as
  // the logarithm of a running product (see BACKGROUND above)
  const background = negL && bce && !all;
  let sW: f64 = 0, sA: f64 = 0, sB: f64 = 0, sC: f64 = 0, sI: f64 = 0, sT: f64 = 0, sP: f64 = 0;
  let tLo: f32 = Infinity, tHi: f32 = -Infinity, pLo: f32 = Infinity, pHi: f32 = -Infinity;
  let wLo: f32 = Infinity, wHi: f32 = -Infinity;
  let soft = false;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const one = f32x4.splat(1), zero = f32x4.splat(0), half = f32x4.splat(0.5);
    const epsV = f32x4.splat(eps), hiV = f32x4.splat(hi);
    let tMin = f32x4.splat(Infinity), tMax = f32x4.splat(-Infinity);
    let pMin = tMin, pMax = tMax, wMin = tMin, wMax = tMax;
    let nanT = zero, nanP = zero, nanW = zero, softT = zero;
    let pBits = zero; // hard: the largest bit pattern of p (above 1.0's: p ∉ [+0, 1], or NaN)
    let prod = one, prodExp = i32x4.splat(0); // Π q of the background lanes: prod·2^(prodExp − 127·renorms)
    let sinceRenorm = 0, renorms = 0;
    let v = 0;
    while (v < nv) {
      const end = min(v + BLOCK, nv);
      let aW = zero, aA = zero, aB = zero, aC = zero, aI = zero, aT = zero, aP = zero;
      for (; v < end; v++) {
        const off = (<usize>v) << 4;
        const tv = v128.load(t + off);
        const xv = v128.load(p + off);
        const raw = v128.load(w + off);
        if (hard) pBits = i32x4.max_u(pBits, xv);
        else {
          pMin = f32x4.pmin(pMin, xv);
          pMax = f32x4.pmax(pMax, xv);
          nanP = v128.or(nanP, f32x4.ne(xv, xv));
        }
        if (background && !v128.any_true(tv)) {
          aW = f32x4.add(aW, raw);
          const pc = f32x4.pmin(f32x4.pmax(xv, epsV), hiV);
          const q = f32x4.sub(klog(L_ONE), pc);
          // ℓ0 = −ln q − corr: corr is the float32 rounding of 1 − pc (see bce4)
          aA = f32x4.sub(aA, f32x4.sub(f32x4.sub(klog(L_ONE), q), pc));
          prod = f32x4.mul(prod, q);
          if (++sinceRenorm == PRODUCT_RUN) {
            prodExp = i32x4.add(prodExp, productExponent(prod));
            prod = productMantissa(prod, v128.load(KLOGI, 32), klog(L_ONE));
            sinceRenorm = 0;
            renorms++;
          }
          if (dice) aP = f32x4.add(aP, flags & W_DICE1 ? f32x4.mul(raw, xv) : flags & W_DICE2 ? f32x4.mul(f32x4.mul(raw, raw), xv) : xv);
          continue;
        }
        if (background && i32x4.all_true(f32x4.eq(tv, klog(L_ONE)))) {
          // all foreground: ℓ = u·(−ln p'), no selection between the two logarithms
          aW = f32x4.add(aW, raw);
          aB = f32x4.sub(aB, f32x4.mul(raw, logClipped4(f32x4.pmin(f32x4.pmax(xv, epsV), hiV))));
          if (dice) {
            const wq = flags & W_DICE1 ? raw : flags & W_DICE2 ? f32x4.mul(raw, raw) : klog(L_ONE);
            const wp = flags & (W_DICE1 | W_DICE2) ? f32x4.mul(wq, xv) : xv;
            aI = f32x4.add(aI, wp);
            aT = f32x4.add(aT, wq);
            aP = f32x4.add(aP, wp);
          }
          continue;
        }
        const nonzero = f32x4.ne(tv, zero);
        softT = v128.or(softT, v128.and(nonzero, f32x4.ne(tv, klog(L_ONE))));
        if (!hard) {
          tMin = f32x4.pmin(tMin, tv);
          tMax = f32x4.pmax(tMax, tv);
          nanT = v128.or(nanT, f32x4.ne(tv, tv));
        }
        if (foldW) {
          wMin = f32x4.pmin(wMin, raw);
          wMax = f32x4.pmax(wMax, raw);
          nanW = v128.or(nanW, f32x4.ne(raw, raw));
        }
        const u = raw;
        aW = f32x4.add(aW, u);
        if (bce) {
          let l0: v128, l1: v128; // (1−t)·L0 and t·L1
          const u1 = f32x4.sub(one, tv);
          if (logits) {
            const sp = softplusNeg4(xv);
            l0 = f32x4.mul(u1, f32x4.add(sp, f32x4.pmax(zero, xv)));
            l1 = f32x4.mul(tv, f32x4.add(sp, f32x4.pmax(zero, f32x4.neg(xv))));
          } else if (hard) {
            // 0/1 targets (others only set the soft flag): one log per element
            const pc = f32x4.pmin(f32x4.pmax(xv, epsV), hiV);
            const pos = nonzero;
            // ln(1 − pc) with the float32 rounding of 1 − pc added back (see bce4)
            const q = f32x4.sub(klog(L_ONE), pc);
            const corr = v128.andnot(f32x4.sub(f32x4.sub(klog(L_ONE), q), pc), pos);
            const nl = f32x4.add(logClipped4(v128.bitselect(pc, q, pos)), corr); // −ℓ
            const l = negL ? nl : f32x4.neg(nl);
            l0 = v128.andnot(l, pos);
            l1 = v128.and(l, pos);
          } else {
            const pc = f32x4.pmin(f32x4.pmax(xv, epsV), hiV);
            if (v128.any_true(f32x4.ne(f32x4.mul(tv, u1), zero))) {
              const q = f32x4.sub(one, pc);
              l0 = f32x4.neg(f32x4.mul(u1, f32x4.add(log4(q), f32x4.sub(f32x4.sub(one, q), pc))));
              l1 = f32x4.neg(f32x4.mul(tv, log4(pc)));
            } else {
              // hard targets: one log per element
              const pos = f32x4.gt(tv, half);
              const q = f32x4.sub(one, pc);
              const corr = v128.andnot(f32x4.sub(f32x4.sub(one, q), pc), pos);
              const l = f32x4.neg(f32x4.add(log4(v128.bitselect(pc, q, pos)), corr));
              l0 = v128.andnot(l, pos);
              l1 = v128.and(l, pos);
            }
          }
          if (negL) {
            if (all) aC = f32x4.sub(aC, f32x4.mul(u, l0));
            else aA = f32x4.sub(aA, l0);
            aB = f32x4.sub(aB, f32x4.mul(u, l1));
          } else {
            if (all) aC = f32x4.add(aC, f32x4.mul(u, l0));
            else aA = f32x4.add(aA, l0);
            aB = f32x4.add(aB, f32x4.mul(u, l1));
          }
          if (flags & W_TERMS) {
            v128.store(terms + off, all ? f32x4.mul(u, f32x4.add(l0, l1)) : f32x4.add(l0, f32x4.mul(u, l1)));
          }
        }
        if (dice) {
          const pv = logits ? sigmoid4(xv) : xv;
          let wt = tv, wp = pv; // q = 0: no multiplications by one
          if (flags & (W_DICE1 | W_DICE2)) {
            const wq = flags & W_DICE1 ? u : f32x4.mul(u, u);
            wt = f32x4.mul(wq, tv);
            wp = f32x4.mul(wq, pv);
          }
          aI = f32x4.add(aI, f32x4.mul(wt, pv));
          aT = f32x4.add(aT, wt);
          aP = f32x4.add(aP, wp);
        }
      }
      sW += hsum64(aW);
      if (bce) {
        sA += hsum64(aA);
        sB += hsum64(aB);
        sC += hsum64(aC);
      }
      if (dice) {
        sI += hsum64(aI);
        sT += hsum64(aT);
        sP += hsum64(aP);
      }
    }
    if (background) sA -= lnOfProduct(prod, prodExp, renorms);
    if (hard) {
      // p in [+0, 1]: the range this pass reports; otherwise (also −0) the retry finds the exact range
      pLo = 0; pHi = 1;
      const b01 = max(<u32>i32x4.extract_lane(pBits, 0), <u32>i32x4.extract_lane(pBits, 1));
      const b23 = max(<u32>i32x4.extract_lane(pBits, 2), <u32>i32x4.extract_lane(pBits, 3));
      if (max(b01, b23) > 0x3f800000) soft = true;
    } else {
      pLo = hmin(pMin); pHi = hmax(pMax);
    }
    // hard: no range (every t is 0 or 1 unless the soft flag is set, and then the pass is redone)
    if (!hard) {
      tLo = hmin(tMin); tHi = hmax(tMax);
    }
    if (v128.any_true(nanP)) pLo = NaN;
    if (v128.any_true(nanT)) tLo = NaN;
    if (v128.any_true(softT)) soft = true;
    if (foldW) {
      wLo = hmin(wMin); wHi = hmax(wMax);
      if (v128.any_true(nanW)) wLo = NaN;
    }
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(p + off);
    const raw = load<f32>(w + off);
    pLo = min(pLo, xv);
    pHi = max(pHi, xv);
    tLo = min(tLo, tv);
    tHi = max(tHi, tv);
    if (tv != 0 && tv != 1) soft = true;
    if (foldW) {
      wLo = min(wLo, raw);
      wHi = max(wHi, raw);
    }
    const u = raw;
    sW += <f64>u;
    if (bce) {
      let l0: f32, l1: f32;
      const u1 = <f32>1 - tv;
      if (logits) {
        const sp = softplusNeg1(xv);
        l0 = u1 * (sp + max(<f32>0, xv));
        l1 = tv * (sp + max(<f32>0, -xv));
      } else {
        const pc = min(max(xv, eps), hi);
        const q = <f32>1 - pc;
        const lnq = log1(q) + (<f32>1 - q - pc); // ln(1 − pc), rounding of 1 − pc added back
        if (tv == 0) {
          l0 = -lnq;
          l1 = 0;
        } else if (tv == 1) {
          l0 = 0;
          l1 = -log1(pc);
        } else {
          l0 = -(u1 * lnq);
          l1 = -(tv * log1(pc));
        }
      }
      if (all) sC += <f64>(u * l0);
      else sA += <f64>l0;
      sB += <f64>(u * l1);
      if (flags & W_TERMS) store<f32>(terms + off, all ? u * (l0 + l1) : l0 + u * l1);
    }
    if (dice) {
      const pv = logits ? sigmoid1(xv) : xv;
      const wq: f32 = flags & W_DICE1 ? u : flags & W_DICE2 ? u * u : 1;
      sI += <f64>(wq * tv * pv);
      sT += <f64>(wq * tv);
      sP += <f64>(wq * pv);
    }
  }
  addF64(acc, sW);
  addF64(acc + 8, sA);
  addF64(acc + 16, sB);
  addF64(acc + 24, sC);
  addF64(acc + 32, sI);
  addF64(acc + 40, sT);
  addF64(acc + 48, sP);
  // NaN is skipped by pmin/pmax; the flags above caught it
  foldRange(stats, tLo, tHi);
  foldRange(stats + 8, pLo, pHi);
  if (foldW) foldRange(stats + 16, wLo, wHi);
  if (soft) store<f32>(stats, 1, STAT_SOFT << 2);
}

const BCE_DICE0: i32 = W_BCE | W_DICE0;

/**
 * The sums of `count` elements with a weight tensor: adds the WEIGHTED_SLOTS
 * f64 sums into acc, folds the ranges of t, p and w into stats (f32 pairs at
 * 0, 8, 16), and writes ℓ per element to `terms` with W_TERMS.
 */
export function weightedSums(
  t: usize, p: usize, w: usize, count: i32, acc: usize, stats: usize, terms: usize, flags: i32, eps: f32, hi: f32,
): void {
  if (flags == W_BCE) sumsBody(t, p, w, count, acc, stats, 0, W_BCE, true, eps, hi);
  else if (flags == W_DICE1) sumsBody(t, p, w, count, acc, stats, 0, W_DICE1, true, eps, hi);
  else if (flags == BCE_DICE0) sumsBody(t, p, w, count, acc, stats, 0, BCE_DICE0, true, eps, hi);
  else sumsBody(t, p, w, count, acc, stats, terms, flags, true, eps, hi);
}

const BCE_DICE0_HARD: i32 = BCE_DICE0 | W_HARD;

/** The seed's loss over a band of rows with their weights: the hot loop of weightedBceDice. */
function sumsBandSeed(u: usize, t: usize, p: usize, n: i32, acc: usize, stats: usize, eps: f32, hi: f32): void {
  sumsBody(t, p, u, n, acc, stats, 0, BCE_DICE0_HARD, false, eps, hi);
}

function sumsBandAny(u: usize, t: usize, p: usize, n: i32, acc: usize, stats: usize, flags: i32, eps: f32, hi: f32): void {
  sumsBody(t, p, u, n, acc, stats, 0, flags, false, eps, hi);
}

/**
 * The sums with the weight u taken from the boundary map of t (unnormalised),
 * over output rows i0 … i1−1 of `nImg` H×W images; `t` is the address of row
 * r0 of the first image, `p` that of its row i0 (see boundaryMap in pool.ts).
 * `pool` holds POOL_F64 / POOL_BAND; stats also gets the targets' soft flag.
 * The pool writes the weights of a band of rows, then one sums call covers
 * the band (its t and p rows are contiguous).
 */
export function pooledSums(
  t: usize, p: usize, nImg: i32, H: i32, W: i32, r0: i32, i0: i32, i1: i32,
  bh: i32, ah: i32, bw: i32, aw: i32, pool: i32, flags: i32, scratch: usize, acc: usize, stats: usize, eps: f32, hi: f32,
): void {
  const f64mode = (pool & POOL_F64) != 0;
  const band = (pool & POOL_BAND) != 0;
  const rowBytes = (<usize>W) << 2;
  const rowFlags = f64mode ? flags : flags | W_HARD;
  const cells = tableSetup(scratch, W, bh, ah, bw, aw, pool);
  const span = fullSpan(W, bw, aw, cells);
  const c0 = <i32>span;
  const c1 = <i32>(span >> 32);
  const tab = tableOf(scratch, W, bw, aw);
  const u = bandOf(scratch, W, bh, ah, bw, aw);
  // soft targets (f64 pool) sum row by row: their gradient can cancel, and
  // short f32 blocks keep the sums it is built from closer to exact
  const R = f64mode ? 1 : bandRows(W);
  poolSetup(W, bw, aw, scratch, f64mode);
  for (let m = 0; m < nImg; m++) {
    const tImg = t + <usize>m * <usize>H * rowBytes;
    const pImg = p + <usize>m * <usize>H * rowBytes;
    for (let b0 = i0; b0 < i1; b0 += R) {
      const b1 = min(i1, b0 + R);
      for (let i = b0; i < b1; i++) {
        weightsOfRow(tImg, r0, H, W, i, i0, bh, ah, bw, aw, scratch, f64mode, band, tab, cells, c0, c1, u, i - b0, R);
      }
      const tRows = tImg + <usize>(b0 - r0) * rowBytes;
      const pRows = pImg + <usize>(b0 - i0) * rowBytes;
      const n = (b1 - b0) * W;
      if (rowFlags == BCE_DICE0_HARD) sumsBandSeed(u, tRows, pRows, n, acc, stats, eps, hi);
      else sumsBandAny(u, tRows, pRows, n, acc, stats, rowFlags, eps, hi);
    }
  }
}

// ---------------------------------------------------------------- the gradient

// g = kA·∂ℓ/∂p (w = c·u) + W·(cI·t + cP)·∂p/∂x (W = w^q), with ∂ℓ/∂p inside the clip
//   positive: ((1 − t)·p − w·t·(1 − p)) / (p(1 − p))
//   all:      w·(p − t) / (p(1 − p))
// and on logits ∂ℓ/∂x = (1 − t)·σ(x) − w·t·σ(−x), or w·((1 − t)·σ(x) − t·σ(−x)).
// For 0/1 targets every term of g has the sign of (p − t), so float32 is exact
// to a few ulp; soft targets can cancel, and take the float64 body.

// @ts-ignore: decorator
@inline function gradBody(
  g: usize, t: usize, p: usize, w: usize, n: i32, flags: i32,
  eps: f32, hi: f32, c: f32, kA: f32, cI: f32, cP: f32,
): void {
  const logits = (flags & W_LOGITS) != 0;
  const all = (flags & W_ALL) != 0;
  const bce = (flags & W_BCE) != 0;
  const dice = (flags & (W_DICE0 | W_DICE1 | W_DICE2)) != 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const one = f32x4.splat(1), zero = f32x4.splat(0);
    const epsV = f32x4.splat(eps), hiV = f32x4.splat(hi);
    const cV = f32x4.splat(c), kV = f32x4.splat(kA), ciV = f32x4.splat(cI), cpV = f32x4.splat(cP);
    for (let v = 0; v < nv; v++) {
      const off = (<usize>v) << 4;
      const tv = v128.load(t + off);
      const xv = v128.load(p + off);
      const wv = f32x4.mul(cV, v128.load(w + off));
      const u1 = f32x4.sub(one, tv);
      let gv = zero;
      let s = xv, sn = f32x4.sub(one, xv);
      if (logits) {
        s = sigmoid4(xv);
        sn = sigmoid4(f32x4.neg(xv));
      }
      if (bce) {
        let d: v128;
        if (logits) {
          d = all
            ? f32x4.mul(wv, f32x4.sub(f32x4.mul(u1, s), f32x4.mul(tv, sn)))
            : f32x4.sub(f32x4.mul(u1, s), f32x4.mul(f32x4.mul(wv, tv), sn));
        } else {
          const inside = v128.and(f32x4.ge(xv, epsV), f32x4.le(xv, hiV));
          const num = all ? f32x4.mul(wv, f32x4.sub(xv, tv)) : f32x4.sub(f32x4.mul(u1, xv), f32x4.mul(f32x4.mul(wv, tv), sn));
          d = v128.and(f32x4.div(num, f32x4.mul(xv, sn)), inside);
        }
        gv = f32x4.mul(kV, d);
      }
      if (dice) {
        let dd = f32x4.add(f32x4.mul(ciV, tv), cpV);
        if (flags & W_DICE1) dd = f32x4.mul(wv, dd);
        else if (flags & W_DICE2) dd = f32x4.mul(f32x4.mul(wv, wv), dd);
        if (logits) dd = f32x4.mul(dd, f32x4.mul(s, sn));
        gv = f32x4.add(gv, dd);
      }
      v128.store(g + off, gv);
    }
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(p + off);
    const wv = c * load<f32>(w + off);
    const u1 = <f32>1 - tv;
    let gv: f32 = 0;
    let s = xv, sn = <f32>1 - xv;
    if (logits) {
      s = sigmoid1(xv);
      sn = sigmoid1(-xv);
    }
    if (bce) {
      let d: f32;
      if (logits) {
        d = all ? wv * (u1 * s - tv * sn) : u1 * s - wv * tv * sn;
      } else if (xv >= eps && xv <= hi) {
        const num: f32 = all ? wv * (xv - tv) : u1 * xv - wv * tv * sn;
        d = num / (xv * sn);
      } else {
        d = 0;
      }
      gv = kA * d;
    }
    if (dice) {
      const wq: f32 = flags & W_DICE1 ? wv : flags & W_DICE2 ? wv * wv : 1;
      let dd = wq * (cI * tv + cP);
      if (logits) dd *= s * sn;
      gv += dd;
    }
    store<f32>(g + off, gv);
  }
}

/** The same gradient in float64 (scalar), rounded once; the pooled weight comes from the f64 averages row. */
function gradBody64(
  g: usize, t: usize, p: usize, w: usize, n: i32, flags: i32, src: i32,
  eps: f32, hi: f32, c: f64, kA: f64, cI: f64, cP: f64,
): void {
  const logits = (flags & W_LOGITS) != 0;
  const all = (flags & W_ALL) != 0;
  const bce = (flags & W_BCE) != 0;
  const dice = (flags & (W_DICE0 | W_DICE1 | W_DICE2)) != 0;
  for (let i = 0; i < n; i++) {
    const tv = <f64>load<f32>(t + ((<usize>i) << 2));
    const xf = load<f32>(p + ((<usize>i) << 2));
    const xv = <f64>xf;
    const u = src == SRC_TENSOR ? <f64>load<f32>(w + ((<usize>i) << 2)) : mapWeight64(load<f64>(w + ((<usize>i) << 3)), src == SRC_BAND);
    const wv = c * u;
    const u1 = 1 - tv;
    let s = xv, sn = 1 - xv;
    if (logits) {
      s = 1 / (1 + Math.exp(-xv));
      sn = 1 / (1 + Math.exp(xv));
    }
    let gv: f64 = 0;
    if (bce) {
      if (logits) gv = kA * (all ? wv * (u1 * s - tv * sn) : u1 * s - wv * tv * sn);
      else if (xf >= eps && xf <= hi) gv = (kA * (all ? wv * (xv - tv) : u1 * xv - wv * tv * sn)) / (xv * sn);
    }
    if (dice) {
      const wq: f64 = flags & W_DICE1 ? wv : flags & W_DICE2 ? wv * wv : 1;
      let dd = wq * (cI * tv + cP);
      if (logits) dd *= s * sn;
      gv += dd;
    }
    store<f32>(g + ((<usize>i) << 2), <f32>gv);
  }
}

/**
 * Writes the gradient of kA·Σℓ + (Dice loss) over `count` elements with a
 * weight tensor (w = c·tensor); cI, cP are ∂(Dice loss)/∂I and ∂/∂P.
 * W_F64 in flags selects the float64 body.
 */
export function weightedGrad(
  g: usize, t: usize, p: usize, w: usize, count: i32, flags: i32, eps: f32, hi: f32, c: f64, kA: f64, cI: f64, cP: f64,
): void {
  const c32 = <f32>c, k32 = <f32>kA, i32_ = <f32>cI, p32 = <f32>cP;
  if (flags & W_F64) gradBody64(g, t, p, w, count, flags, SRC_TENSOR, eps, hi, c, kA, cI, cP);
  else if (flags == W_BCE) gradBody(g, t, p, w, count, W_BCE, eps, hi, c32, k32, i32_, p32);
  else if (flags == W_DICE1) gradBody(g, t, p, w, count, W_DICE1, eps, hi, c32, k32, i32_, p32);
  else if (flags == BCE_DICE0) gradBody(g, t, p, w, count, BCE_DICE0, eps, hi, c32, k32, i32_, p32);
  else gradBody(g, t, p, w, count, flags, eps, hi, c32, k32, i32_, p32);
}

/** The seed's gradient over a band of rows with their weights. */
function gradBandSeed(g: usize, u: usize, t: usize, p: usize, n: i32, eps: f32, hi: f32, c: f32, kA: f32, cI: f32, cP: f32): void {
  gradBody(g, t, p, u, n, BCE_DICE0, eps, hi, c, kA, cI, cP);
}

function gradBandAny(g: usize, u: usize, t: usize, p: usize, n: i32, flags: i32, eps: f32, hi: f32, c: f32, kA: f32, cI: f32, cP: f32): void {
  gradBody(g, t, p, u, n, flags, eps, hi, c, kA, cI, cP);
}

/**
 * The gradient with w = c·u from the boundary map of t (rows and pointers as
 * pooledSums, bands of rows as there; g like p). W_F64 needs POOL_F64: that
 * body reads the f64 averages row by row.
 */
export function pooledGrad(
  g: usize, t: usize, p: usize, nImg: i32, H: i32, W: i32, r0: i32, i0: i32, i1: i32,
  bh: i32, ah: i32, bw: i32, aw: i32, pool: i32, flags: i32, scratch: usize,
  eps: f32, hi: f32, c: f64, kA: f64, cI: f64, cP: f64,
): void {
  const f64mode = (pool & POOL_F64) != 0;
  const band = (pool & POOL_BAND) != 0;
  const wide = (flags & W_F64) != 0 && f64mode;
  const avg64 = avg64Of(scratch, W, bw, aw);
  const c32 = <f32>c, k32 = <f32>kA, i32_ = <f32>cI, p32 = <f32>cP;
  const rowBytes = (<usize>W) << 2;
  const cells = tableSetup(scratch, W, bh, ah, bw, aw, pool);
  const span = fullSpan(W, bw, aw, cells);
  const c0 = <i32>span;
  const c1 = <i32>(span >> 32);
  const tab = tableOf(scratch, W, bw, aw);
  const u = bandOf(scratch, W, bh, ah, bw, aw);
  const R = wide ? 1 : bandRows(W);
  poolSetup(W, bw, aw, scratch, f64mode);
  for (let m = 0; m < nImg; m++) {
    const tImg = t + <usize>m * <usize>H * rowBytes;
    const off = <usize>m * <usize>H * rowBytes;
    for (let b0 = i0; b0 < i1; b0 += R) {
      const b1 = min(i1, b0 + R);
      for (let i = b0; i < b1; i++) {
        if (wide) poolRow(tImg, r0, H, W, i, i0, bh, ah, bw, aw, scratch, true, 0, 0);
        else weightsOfRow(tImg, r0, H, W, i, i0, bh, ah, bw, aw, scratch, f64mode, band, tab, cells, c0, c1, u, i - b0, R);
      }
      const tRows = tImg + <usize>(b0 - r0) * rowBytes;
      const rows = off + <usize>(b0 - i0) * rowBytes;
      const n = (b1 - b0) * W;
      if (wide) gradBody64(g + rows, tRows, p + rows, avg64, n, flags, band ? SRC_BAND : SRC_EXP, eps, hi, c, kA, cI, cP);
      else if (flags == BCE_DICE0) gradBandSeed(g + rows, u, tRows, p + rows, n, eps, hi, c32, k32, i32_, p32);
      else gradBandAny(g + rows, u, tRows, p + rows, n, flags, eps, hi, c32, k32, i32_, p32);
    }
  }
}
