// Element-wise losses (BCE, focal): one pass for the sum (and optional
// per-element terms) with input ranges folded in; one pass for the gradient.
import { BLOCK, addF64, foldRange, hmax, hmin, hsum64 } from "./simd";
import { log1, log4, logNormal4, pow1, pow4, sigmoid1, sigmoid4, softplusNeg1, softplusNeg4 } from "./math";

export const FLAG_LOGITS: i32 = 1;
export const FLAG_IGNORE: i32 = 8;
export const FLAG_WEIGHT: i32 = 16; // per-pixel weight tensor at w
export const FLAG_POS_WEIGHT: i32 = 32; // per-pixel posWeight tensor at pw
export const FLAG_ADD_EPS: i32 = 64; // tf.keras 2: ε added inside the logs after the clip
export const FLAG_STANDARD: i32 = 128; // focal: Lin et al. form instead of the seed's
export const FLAG_NO_ALPHA: i32 = 256; // focal: no α factor
export const FLAG_GAMMA_075: i32 = 512; // focal γ = 0.75: b^γ = √(b·√b)
export const FLAG_GAMMA_2: i32 = 1024; // focal γ = 2: b^γ = b·b
export const FLAG_HARD: i32 = 2048; // bce: assume t ∈ {0, 1} (one log, no branch); the pass reports soft t

/** f64 slots per segment: Σ loss, kept count. */
export const ELEMENTWISE_SLOTS: i32 = 2;

// ---------------------------------------------------------------- BCE value

// @ts-ignore: decorator
@inline function bce4(t: v128, x: v128, pw: v128, flags: i32, eps: v128, hi: v128): v128 {
  const one = f32x4.splat(1);
  if (flags & FLAG_LOGITS) {
    // (1−t)·x + c·ln(1+e^−x), c = 1 + (pw−1)·t, written without cancellation:
    // [x ≥ 0 ? (1−t)·x : −pw·t·x] + c·ln(1+e^−|x|), both terms ≥ 0
    const c = f32x4.add(one, f32x4.mul(f32x4.sub(pw, one), t));
    const lin = v128.bitselect(f32x4.mul(f32x4.sub(one, t), x), f32x4.neg(f32x4.mul(f32x4.mul(pw, t), x)), f32x4.ge(x, f32x4.splat(0)));
    return f32x4.add(lin, f32x4.mul(c, softplusNeg4(x)));
  }
  // ln p' and ln(1 − p') keep full relative accuracy: the float32 roundings of
  // 1 − p' (and of the + ε of the legacy form) are recovered exactly (Sterbenz,
  // Fast2Sum) and added back to the log — otherwise ln(1 − p) for p ~ 1e-6 is
  // off by several percent.
  const pc = f32x4.pmin(f32x4.pmax(x, eps), hi);
  const u = f32x4.sub(one, pc);
  let a = pc, b = u;
  let ea = f32x4.splat(0);
  let eb = f32x4.sub(f32x4.sub(one, u), pc);
  if (flags & FLAG_ADD_EPS) {
    a = f32x4.add(pc, eps);
    ea = f32x4.add(f32x4.sub(pc, a), eps);
    b = f32x4.add(u, eps);
    eb = f32x4.add(eb, f32x4.add(f32x4.sub(u, b), eps));
  }
  const s = f32x4.sub(one, t);
  if (!(flags & FLAG_HARD) && v128.any_true(f32x4.ne(f32x4.mul(t, s), f32x4.splat(0)))) {
    // soft targets: both logs
    const la = f32x4.add(log4(a), ea), lb = f32x4.add(log4(b), eb);
    return f32x4.neg(f32x4.add(f32x4.mul(f32x4.mul(pw, t), la), f32x4.mul(s, lb)));
  }
  // hard targets: one log per element
  const pos = f32x4.gt(t, f32x4.splat(0.5));
  // a and b are positive normal floats here (p' is clipped to [ε, 1 − ε])
  const q = v128.bitselect(a, b, pos);
  const l = f32x4.add(flags & FLAG_HARD ? logNormal4(q) : log4(q), v128.bitselect(ea, eb, pos));
  return f32x4.neg(f32x4.mul(v128.bitselect(pw, one, pos), l));
}

// @ts-ignore: decorator
@inline function bce1(t: f32, x: f32, pw: f32, flags: i32, eps: f32, hi: f32): f32 {
  if (flags & FLAG_LOGITS) {
    const lin: f32 = x >= 0 ? (<f32>1 - t) * x : -pw * t * x;
    return lin + (1 + (pw - 1) * t) * softplusNeg1(x);
  }
  const pc = min(max(x, eps), hi);
  const u = <f32>1 - pc;
  let a = pc, b = u;
  let ea: f32 = 0;
  let eb: f32 = <f32>1 - u - pc;
  if (flags & FLAG_ADD_EPS) {
    a = pc + eps;
    ea = pc - a + eps;
    b = u + eps;
    eb += u - b + eps;
  }
  if (t == 0) return -(log1(b) + eb);
  if (t == 1) return -pw * (log1(a) + ea);
  return -(pw * t * (log1(a) + ea) + (<f32>1 - t) * (log1(b) + eb));
}

/** ∂ℓ/∂p (∂ℓ/∂x with logits) of bce4's ℓ; zero outside the clip, as TF's clip. */
// @ts-ignore: decorator
@inline function bceGrad4(t: v128, x: v128, pw: v128, flags: i32, eps: v128, hi: v128): v128 {
  // written as (p − t) − (pw − 1)·t·(1 − p) [+ ε(1 − 2t)] over the denominator,
  // so that p ≈ t does not cancel two large terms
  const one = f32x4.splat(1);
  const pw1 = f32x4.sub(pw, one);
  if (flags & FLAG_LOGITS) {
    const s = sigmoid4(x);
    return f32x4.sub(f32x4.sub(s, t), f32x4.mul(f32x4.mul(pw1, t), sigmoid4(f32x4.neg(x))));
  }
  const inside = v128.and(f32x4.ge(x, eps), f32x4.le(x, hi));
  let a = x, b = f32x4.sub(one, x);
  let num = f32x4.sub(f32x4.sub(x, t), f32x4.mul(f32x4.mul(pw1, t), b));
  if (flags & FLAG_ADD_EPS) {
    // (1−t)(p+ε) − pw·t(1−p+ε) = the plain numerator + ε(1 − t − pw·t)
    num = f32x4.add(num, f32x4.mul(eps, f32x4.sub(one, f32x4.mul(t, f32x4.add(one, pw)))));
    a = f32x4.add(a, eps);
    b = f32x4.add(b, eps);
  }
  return v128.and(f32x4.div(num, f32x4.mul(a, b)), inside);
}

// @ts-ignore: decorator
@inline function bceGrad1(t: f32, x: f32, pw: f32, flags: i32, eps: f32, hi: f32): f32 {
  if (flags & FLAG_LOGITS) return (sigmoid1(x) - t) - (pw - 1) * t * sigmoid1(-x);
  if (!(x >= eps && x <= hi)) return 0;
  let a = x, b = <f32>1 - x;
  let num = (x - t) - (pw - 1) * t * b;
  if (flags & FLAG_ADD_EPS) {
    num += eps * (<f32>1 - t * (1 + pw));
    a += eps;
    b += eps;
  }
  return num / (a * b);
}

// -------------------------------------------------------------- focal value

// The seed form, per element: with q = clip(p) where t = 1, 1 − clip(p) where
// t = 0, and b = 1 − q, ℓ = −coef·b^γ·ln q + (the clipped placeholder of the
// other branch); coef = α (t = 1) or 1 − α (t = 0). Soft t: both placeholders.
// `c1` is the placeholder of t ≠ 1 (pt1 = 0.999), `c0` that of t ≠ 0 (pt0 = 1e-3).

// @ts-ignore: decorator
@inline function powPos4(b: v128, gamma: v128, flags: i32): v128 {
  // b^γ for b ≥ 0; the seed's γ = 0.75 and the standard γ = 2 are exact
  // square roots and products instead of exp(γ·ln b)
  if (flags & FLAG_GAMMA_075) return f32x4.sqrt(f32x4.mul(b, f32x4.sqrt(b)));
  if (flags & FLAG_GAMMA_2) return f32x4.mul(b, b);
  return pow4(b, gamma); // 0^γ = 0 for γ > 0 and 1 for γ = 0
}

// @ts-ignore: decorator
@inline function powPos1(b: f32, gamma: f32, flags: i32): f32 {
  if (flags & FLAG_GAMMA_075) return Mathf.sqrt(b * Mathf.sqrt(b));
  if (flags & FLAG_GAMMA_2) return b * b;
  return pow1(b, gamma);
}

// @ts-ignore: decorator
@inline function focal4(
  t: v128, x: v128, flags: i32, alpha: v128, gamma: v128, eps: v128, hi: v128, c0: v128, c1: v128,
): v128 {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const p = flags & FLAG_LOGITS ? sigmoid4(x) : x;
  if (flags & FLAG_STANDARD) {
    const l = bce4(t, x, one, flags, eps, hi);
    const pt = f32x4.add(f32x4.mul(p, t), f32x4.mul(f32x4.sub(one, p), f32x4.sub(one, t)));
    let r = f32x4.mul(l, powPos4(f32x4.pmax(f32x4.sub(one, pt), zero), gamma, flags));
    if (!(flags & FLAG_NO_ALPHA)) {
      r = f32x4.mul(r, f32x4.add(f32x4.mul(alpha, t), f32x4.mul(f32x4.sub(one, alpha), f32x4.sub(one, t))));
    }
    return r;
  }
  const is1 = f32x4.eq(t, one), is0 = f32x4.eq(t, zero);
  const pc = f32x4.pmin(f32x4.pmax(p, f32x4.splat(1e-3)), f32x4.splat(0.999));
  const u = f32x4.sub(one, pc);
  const q = v128.bitselect(pc, u, is1);
  const b = v128.bitselect(u, pc, is1);
  // ln(1 − pc) with the rounding of 1 − pc added back (see bce4)
  const lnq = f32x4.add(logNormal4(q), v128.andnot(f32x4.sub(f32x4.sub(one, u), pc), is1));
  const coef = flags & FLAG_NO_ALPHA ? one : v128.bitselect(alpha, f32x4.sub(one, alpha), is1);
  const main = f32x4.neg(f32x4.mul(f32x4.mul(coef, powPos4(b, gamma, flags)), lnq));
  const hard = v128.or(is1, is0);
  const placeholder = v128.bitselect(c0, v128.bitselect(c1, f32x4.add(c0, c1), is0), is1);
  return f32x4.add(v128.and(main, hard), placeholder);
}

// @ts-ignore: decorator
@inline function focal1(t: f32, x: f32, flags: i32, alpha: f32, gamma: f32, eps: f32, hi: f32, c0: f32, c1: f32): f32 {
  const p = flags & FLAG_LOGITS ? sigmoid1(x) : x;
  if (flags & FLAG_STANDARD) {
    const l = bce1(t, x, 1, flags, eps, hi);
    const pt = p * t + (<f32>1 - p) * (<f32>1 - t);
    let r = l * powPos1(max(<f32>1 - pt, <f32>0), gamma, flags);
    if (!(flags & FLAG_NO_ALPHA)) r *= alpha * t + (<f32>1 - alpha) * (<f32>1 - t);
    return r;
  }
  if (t != 0 && t != 1) return c0 + c1;
  const pc = min(max(p, <f32>1e-3), <f32>0.999);
  const u = <f32>1 - pc;
  const q = t == 1 ? pc : u;
  const b = t == 1 ? u : pc;
  const lnq = log1(q) + (t == 1 ? <f32>0 : <f32>1 - u - pc);
  const coef: f32 = flags & FLAG_NO_ALPHA ? 1 : t == 1 ? alpha : <f32>1 - alpha;
  return -coef * powPos1(b, gamma, flags) * lnq + (t == 1 ? c0 : c1);
}

// @ts-ignore: decorator
@inline function focalGrad4(t: v128, x: v128, flags: i32, alpha: v128, gamma: v128, eps: v128, hi: v128): v128 {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const logits = (flags & FLAG_LOGITS) != 0;
  const p = logits ? sigmoid4(x) : x;
  const dpdx = logits ? f32x4.mul(p, f32x4.sub(one, p)) : one;
  if (flags & FLAG_STANDARD) {
    // ℓ = α_t·bce·m, m = (1 − p_t)^γ; ∂m/∂p = −γ·m/(1 − p_t)·(2t − 1)
    const l = bce4(t, x, one, flags, eps, hi);
    const dl = bceGrad4(t, x, one, flags, eps, hi); // w.r.t. x when logits
    const pt = f32x4.add(f32x4.mul(p, t), f32x4.mul(f32x4.sub(one, p), f32x4.sub(one, t)));
    const u = f32x4.pmax(f32x4.sub(one, pt), zero);
    const m = powPos4(u, gamma, flags);
    const upos = f32x4.gt(u, zero);
    const safeU = v128.bitselect(u, one, upos);
    const dm = v128.and(f32x4.neg(f32x4.mul(f32x4.div(f32x4.mul(gamma, m), safeU), f32x4.sub(f32x4.add(t, t), one))), upos);
    let r = f32x4.add(f32x4.mul(dl, m), f32x4.mul(f32x4.mul(l, dm), dpdx));
    if (!(flags & FLAG_NO_ALPHA)) {
      r = f32x4.mul(r, f32x4.add(f32x4.mul(alpha, t), f32x4.mul(f32x4.sub(one, alpha), f32x4.sub(one, t))));
    }
    return r;
  }
  // seed: ∂ℓ/∂p = −sgn·coef·b^γ·(1/q − γ·ln q / b) inside the clip, sgn = ±1 for t = 1 / 0
  const is1 = f32x4.eq(t, one), is0 = f32x4.eq(t, zero);
  const lo = f32x4.splat(1e-3), up = f32x4.splat(0.999);
  const inside = v128.and(v128.and(f32x4.ge(p, lo), f32x4.le(p, up)), v128.or(is1, is0));
  const pc = f32x4.pmin(f32x4.pmax(p, lo), up);
  const u = f32x4.sub(one, pc);
  const q = v128.bitselect(pc, u, is1);
  const b = v128.bitselect(u, pc, is1);
  const lnq = f32x4.add(logNormal4(q), v128.andnot(f32x4.sub(f32x4.sub(one, u), pc), is1));
  const a1 = flags & FLAG_NO_ALPHA ? one : alpha;
  const a0 = flags & FLAG_NO_ALPHA ? one : f32x4.sub(one, alpha);
  const coef = v128.bitselect(f32x4.neg(a1), a0, is1);
  const bg = powPos4(b, gamma, flags);
  const inner = f32x4.sub(f32x4.div(one, q), f32x4.div(f32x4.mul(gamma, lnq), b));
  return v128.and(f32x4.mul(f32x4.mul(f32x4.mul(coef, bg), inner), dpdx), inside);
}

// @ts-ignore: decorator
@inline function focalGrad1(t: f32, x: f32, flags: i32, alpha: f32, gamma: f32, eps: f32, hi: f32): f32 {
  const logits = (flags & FLAG_LOGITS) != 0;
  const p = logits ? sigmoid1(x) : x;
  const dpdx: f32 = logits ? p * (<f32>1 - p) : 1;
  if (flags & FLAG_STANDARD) {
    const l = bce1(t, x, 1, flags, eps, hi);
    const dl = bceGrad1(t, x, 1, flags, eps, hi);
    const u = max(<f32>1 - (p * t + (<f32>1 - p) * (<f32>1 - t)), <f32>0);
    const m = powPos1(u, gamma, flags);
    const dm: f32 = u > 0 ? (-gamma * m / u) * (2 * t - 1) : 0;
    let r = dl * m + l * dm * dpdx;
    if (!(flags & FLAG_NO_ALPHA)) r *= alpha * t + (<f32>1 - alpha) * (<f32>1 - t);
    return r;
  }
  if ((t != 0 && t != 1) || !(p >= <f32>1e-3 && p <= <f32>0.999)) return 0;
  const u = <f32>1 - p;
  const q = t == 1 ? p : u;
  const b = t == 1 ? u : p;
  const lnq = log1(q) + (t == 1 ? <f32>0 : <f32>1 - u - p);
  const coef: f32 = flags & FLAG_NO_ALPHA ? (t == 1 ? -1 : 1) : t == 1 ? -alpha : <f32>1 - alpha;
  return coef * powPos1(b, gamma, flags) * (1 / q - (gamma * lnq) / b) * dpdx;
}

// ------------------------------------------------------------------ passes

// @ts-ignore: decorator
@inline function loadOr4(ptr: usize, off: usize, fallback: v128): v128 {
  return ptr ? v128.load(ptr + off) : fallback;
}

// @ts-ignore: decorator
@inline function loadOr1(ptr: usize, off: usize, fallback: f32): f32 {
  return ptr ? load<f32>(ptr + off) : fallback;
}

// The two passes are written once as inline bodies; the exported kernels below
// call them with literal `kind` and `flags` for the common forms, so the
// optimiser folds every form test away and each hot loop stays small.

// @ts-ignore: decorator
@inline function sumsBody(
  kind: i32, t: usize, p: usize, w: usize, pw: usize, count: i32, segLen: i32, acc: usize, stats: usize, terms: usize,
  flags: i32, eps: f32, hi: f32, sm: f32, ign: f32, posWeight: f32, a: f32, g: f32, c0: f32, c1: f32,
): void {
  const ignore = (flags & FLAG_IGNORE) != 0;
  const useW = (flags & FLAG_WEIGHT) != 0 ? w : 0;
  const usePw = (flags & FLAG_POS_WEIGHT) != 0 ? pw : 0;
  for (let start = 0; start < count; start += segLen) {
    const n = min(segLen, count - start);
    const base = (<usize>start) << 2;
    let sL: f64 = 0, sN: f64 = 0;
    let tLo: f32 = Infinity, tHi: f32 = -Infinity, pLo: f32 = Infinity, pHi: f32 = -Infinity;
    let wLo: f32 = Infinity, wHi: f32 = -Infinity, qLo: f32 = Infinity, qHi: f32 = -Infinity;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const nv = n >> 2;
      const one = f32x4.splat(1), zero = f32x4.splat(0);
      const epsV = f32x4.splat(eps), hiV = f32x4.splat(hi), ignV = f32x4.splat(ign);
      const keepS = f32x4.splat(<f32>1 - sm), addS = f32x4.splat(sm * 0.5), pwS = f32x4.splat(posWeight);
      const aV = f32x4.splat(a), gV = f32x4.splat(g), c0V = f32x4.splat(c0), c1V = f32x4.splat(c1);
      let tMin = f32x4.splat(Infinity), tMax = f32x4.splat(-Infinity);
      let pMin = tMin, pMax = tMax, wMin = tMin, wMax = tMax, qMin = tMin, qMax = tMax;
      let nanP = zero, nanT = zero, nanW = zero, nanQ = zero, soft = zero;
      let v = 0;
      while (v < nv) {
        const end = min(v + BLOCK, nv);
        let aL = zero, aN = zero;
        for (; v < end; v++) {
          const off = base + ((<usize>v) << 4);
          let tv = v128.load(t + off);
          const xv = v128.load(p + off);
          pMin = f32x4.pmin(pMin, xv);
          pMax = f32x4.pmax(pMax, xv);
          nanP = v128.or(nanP, f32x4.ne(xv, xv));
          nanT = v128.or(nanT, f32x4.ne(tv, tv));
          let keep = f32x4.eq(zero, zero);
          if (ignore) {
            keep = f32x4.ne(tv, ignV);
            tv = v128.and(tv, keep);
            aN = f32x4.add(aN, v128.and(one, keep));
          }
          tMin = f32x4.pmin(tMin, tv);
          tMax = f32x4.pmax(tMax, tv);
          let l: v128;
          if (kind == 0) {
            if (flags & FLAG_HARD) soft = v128.or(soft, f32x4.ne(f32x4.mul(tv, f32x4.sub(one, tv)), zero));
            const ts = f32x4.add(f32x4.mul(tv, keepS), addS);
            const pwv = loadOr4(usePw, off, pwS);
            if (usePw) {
              qMin = f32x4.pmin(qMin, pwv);
              qMax = f32x4.pmax(qMax, pwv);
              nanQ = v128.or(nanQ, f32x4.ne(pwv, pwv));
            }
            l = bce4(ts, xv, pwv, flags, epsV, hiV);
          } else {
            l = focal4(tv, xv, flags, aV, gV, epsV, hiV, c0V, c1V);
          }
          if (useW) {
            const wv = v128.load(useW + off);
            wMin = f32x4.pmin(wMin, wv);
            wMax = f32x4.pmax(wMax, wv);
            nanW = v128.or(nanW, f32x4.ne(wv, wv));
            l = f32x4.mul(l, wv);
          }
          if (ignore) l = v128.and(l, keep);
          if (terms) v128.store(terms + off, l);
          aL = f32x4.add(aL, l);
        }
        sL += hsum64(aL);
        if (ignore) sN += hsum64(aN);
      }
      tLo = hmin(tMin); tHi = hmax(tMax); pLo = hmin(pMin); pHi = hmax(pMax);
      wLo = hmin(wMin); wHi = hmax(wMax); qLo = hmin(qMin); qHi = hmax(qMax);
      if (v128.any_true(nanP)) pLo = NaN;
      if (v128.any_true(nanT)) tLo = NaN;
      if (v128.any_true(soft)) store<f32>(stats, 1, 32);
      if (v128.any_true(nanW)) wLo = NaN;
      if (v128.any_true(nanQ)) qLo = NaN;
      i = nv << 2;
    }
    for (; i < n; i++) {
      const off = base + ((<usize>i) << 2);
      const tv = load<f32>(t + off);
      const xv = load<f32>(p + off);
      pLo = min(pLo, xv);
      pHi = max(pHi, xv);
      const pwv = loadOr1(usePw, off, posWeight);
      if (usePw) {
        qLo = min(qLo, pwv);
        qHi = max(qHi, pwv);
      }
      const wv = loadOr1(useW, off, 1);
      if (useW) {
        wLo = min(wLo, wv);
        wHi = max(wHi, wv);
      }
      if (ignore && tv == ign) {
        if (terms) store<f32>(terms + off, 0);
        continue;
      }
      if (ignore) sN += 1;
      tLo = min(tLo, tv);
      tHi = max(tHi, tv);
      if (kind == 0 && flags & FLAG_HARD && tv != 0 && tv != 1) store<f32>(stats, 1, 32);
      let l: f32 = kind == 0
        ? bce1(tv * (<f32>1 - sm) + sm * 0.5, xv, pwv, flags, eps, hi)
        : focal1(tv, xv, flags, a, g, eps, hi, c0, c1);
      l *= wv;
      if (terms) store<f32>(terms + off, l);
      sL += <f64>l;
    }
    if (!ignore) sN = <f64>n;
    addF64(acc, sL);
    addF64(acc + 8, sN);
    acc += ELEMENTWISE_SLOTS << 3;
    foldRange(stats, tLo, tHi);
    foldRange(stats + 8, pLo, pHi);
    foldRange(stats + 16, wLo, wHi);
    foldRange(stats + 24, qLo, qHi);
  }
}

// @ts-ignore: decorator
@inline function gradBody(
  kind: i32, g: usize, t: usize, p: usize, w: usize, pw: usize, count: i32,
  flags: i32, eps: f32, hi: f32, sm: f32, ign: f32, posWeight: f32, a: f32, gam: f32, scale: f32, accumulate: i32,
): void {
  const ignore = (flags & FLAG_IGNORE) != 0;
  const useW = (flags & FLAG_WEIGHT) != 0 ? w : 0;
  const usePw = (flags & FLAG_POS_WEIGHT) != 0 ? pw : 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = count >> 2;
    const epsV = f32x4.splat(eps), hiV = f32x4.splat(hi), ignV = f32x4.splat(ign);
    const keepS = f32x4.splat(<f32>1 - sm), addS = f32x4.splat(sm * 0.5), pwS = f32x4.splat(posWeight);
    const aV = f32x4.splat(a), gV = f32x4.splat(gam), scaleV = f32x4.splat(scale);
    for (let v = 0; v < nv; v++) {
      const off = (<usize>v) << 4;
      const tv = v128.load(t + off);
      const xv = v128.load(p + off);
      let d = kind == 0
        ? bceGrad4(f32x4.add(f32x4.mul(tv, keepS), addS), xv, loadOr4(usePw, off, pwS), flags, epsV, hiV)
        : focalGrad4(tv, xv, flags, aV, gV, epsV, hiV);
      d = f32x4.mul(d, scaleV);
      if (useW) d = f32x4.mul(d, v128.load(useW + off));
      if (ignore) d = v128.and(d, f32x4.ne(tv, ignV));
      if (accumulate) d = f32x4.add(d, v128.load(g + off));
      v128.store(g + off, d);
    }
    i = nv << 2;
  }
  for (; i < count; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const xv = load<f32>(p + off);
    let d: f32 = kind == 0
      ? bceGrad1(tv * (<f32>1 - sm) + sm * 0.5, xv, loadOr1(usePw, off, posWeight), flags, eps, hi)
      : focalGrad1(tv, xv, flags, a, gam, eps, hi);
    d *= scale * loadOr1(useW, off, 1);
    if (ignore && tv == ign) d = 0;
    if (accumulate) d += load<f32>(g + off);
    store<f32>(g + off, d);
  }
}

/** Per-element options that need the general loop. */
const PER_ELEMENT: i32 = FLAG_IGNORE | FLAG_WEIGHT | FLAG_POS_WEIGHT;

/**
 * The sums pass over `count` elements in segments of `segLen`: adds (Σ loss,
 * kept count) per segment into acc, writes the per-element loss to `terms`
 * when non-zero, and folds the ranges of t (kept elements), x, w and pw into
 * stats (8 f32: t, p, w, pw as [lo, hi]). `sm` is the label smoothing σ
 * (t ← t(1−σ) + σ/2), `posWeight` the scalar posWeight.
 */
export function bceSums(
  t: usize, p: usize, w: usize, pw: usize, count: i32, segLen: i32, acc: usize, stats: usize, terms: usize,
  flags: i32, eps: f32, hi: f32, sm: f32, ign: f32, posWeight: f32,
): void {
  // FLAG_HARD (probabilities, clip ε > 0): the branch-free one-log loop; it
  // flags soft targets in stats[8] and the caller then runs the general form
  if ((flags & PER_ELEMENT) == 0 && sm == 0 && posWeight == 1) {
    if (flags == FLAG_HARD) {
      sumsBody(0, t, p, 0, 0, count, segLen, acc, stats, terms, FLAG_HARD, eps, hi, 0, 0, 1, 0, 0, 0, 0);
      return;
    }
    if (flags == FLAG_LOGITS) {
      sumsBody(0, t, p, 0, 0, count, segLen, acc, stats, terms, FLAG_LOGITS, eps, hi, 0, 0, 1, 0, 0, 0, 0);
      return;
    }
  }
  sumsBody(0, t, p, w, pw, count, segLen, acc, stats, terms, flags & ~FLAG_HARD, eps, hi, sm, ign, posWeight, 0, 0, 0, 0);
}

/** The focal sums pass (see bceSums); `a`, `g` are α and γ, `c0`, `c1` the seed form's placeholders. */
export function focalSums(
  t: usize, p: usize, count: i32, segLen: i32, acc: usize, stats: usize, terms: usize,
  flags: i32, eps: f32, hi: f32, ign: f32, a: f32, g: f32, c0: f32, c1: f32,
): void {
  // the defaults of each form get their own loops: seed (γ 0.75) on probabilities
  // or logits, standard (γ 2) on probabilities
  const G075 = FLAG_GAMMA_075, STD2 = FLAG_STANDARD | FLAG_GAMMA_2;
  if (flags == G075) {
    sumsBody(1, t, p, 0, 0, count, segLen, acc, stats, terms, G075, eps, hi, 0, 0, 1, a, g, c0, c1);
  } else if (flags == (G075 | FLAG_LOGITS)) {
    sumsBody(1, t, p, 0, 0, count, segLen, acc, stats, terms, G075 | FLAG_LOGITS, eps, hi, 0, 0, 1, a, g, c0, c1);
  } else if (flags == STD2) {
    sumsBody(1, t, p, 0, 0, count, segLen, acc, stats, terms, STD2, eps, hi, 0, 0, 1, a, g, c0, c1);
  } else {
    sumsBody(1, t, p, 0, 0, count, segLen, acc, stats, terms, flags, eps, hi, 0, ign, 1, a, g, c0, c1);
  }
}

/** Writes (or adds, with `accumulate`) scale·w·∂ℓ/∂p over `count` elements; ignored elements get 0. */
export function bceGrad(
  g: usize, t: usize, p: usize, w: usize, pw: usize, count: i32,
  flags: i32, eps: f32, hi: f32, sm: f32, ign: f32, posWeight: f32, scale: f32, accumulate: i32,
): void {
  if ((flags & PER_ELEMENT) == 0 && sm == 0 && posWeight == 1 && accumulate == 0) {
    if (flags == 0) {
      gradBody(0, g, t, p, 0, 0, count, 0, eps, hi, 0, 0, 1, 0, 0, scale, 0);
      return;
    }
    if (flags == FLAG_LOGITS) {
      gradBody(0, g, t, p, 0, 0, count, FLAG_LOGITS, eps, hi, 0, 0, 1, 0, 0, scale, 0);
      return;
    }
  }
  gradBody(0, g, t, p, w, pw, count, flags, eps, hi, sm, ign, posWeight, 0, 0, scale, accumulate);
}

/** The focal gradient pass (see bceGrad). */
export function focalGrad(
  g: usize, t: usize, p: usize, count: i32, flags: i32, eps: f32, hi: f32, ign: f32, a: f32, gam: f32, scale: f32, accumulate: i32,
): void {
  const G075 = FLAG_GAMMA_075, STD2 = FLAG_STANDARD | FLAG_GAMMA_2;
  if (flags == G075 && accumulate == 0) {
    gradBody(1, g, t, p, 0, 0, count, G075, eps, hi, 0, 0, 1, a, gam, scale, 0);
  } else if (flags == STD2 && accumulate == 0) {
    gradBody(1, g, t, p, 0, 0, count, STD2, eps, hi, 0, 0, 1, a, gam, scale, 0);
  } else {
    gradBody(1, g, t, p, 0, 0, count, flags, eps, hi, 0, ign, 1, a, gam, scale, accumulate);
  }
}
