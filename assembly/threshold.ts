// meanIoU at many thresholds in one pass over the data. Each prediction is
// bucketed once against the K sorted cuts (bucket = how many cuts are ≤ p)
// and integer counters per (bucket, target class) are kept; the wrapper's
// suffix sums over the buckets then give every threshold's confusion matrix.
// A cut is the float32 c for which "p ≥ c" is exactly the wrapper's test
// ("p > τ", "p ≥ τ" or "σ(x) > τ" in real arithmetic); the wrapper derives it.
//
// SIMD build, per block of BLOCKV vectors: pass 1 streams the block (target
// checks and counts, prediction checks) and notes, branch-free, the vectors
// with a lane at or above the lowest cut (first by groups of four vectors);
// pass 2 buckets just those while the block is in cache and increments
// per-lane copies of the histogram. Uniform grids (the default τ = 0.5, 0.55,
// …, 0.95) bucket by arithmetic; a block where some lane lay too close to a
// bucket boundary for the float32 arithmetic to decide gets those vectors
// recounted exactly by compares against the cuts.

export const FLAG_IGNORE: i32 = 1;
/** The cuts lie on a near-arithmetic grid: bucket = floor((p − base)·scale) + 1, checked. */
export const FLAG_UNIFORM: i32 = 2;
/** The predictions are logits: they must be finite (probabilities must lie in [0, 1]). */
export const FLAG_LOGITS: i32 = 4;

// acc slots per segment (f64, 2 + 2K): [kept, T1, H0[1], H1[1], …, H0[K], H1[K]]
// with T1 the count of t = 1 and Hc[b] the count of class c in bucket b ≥ 1.
// stats (4-byte slots): [0] i32 index of the first invalid prediction (or −1),
// [1] f32 its value, [2] i32 index of the first invalid target, [3] f32 its value.
// An index is relative to the call's first element; the call stops at the first
// segment with an invalid value (its counts are then incomplete).

/** Vectors per block: pass 2 revisits a block's noted vectors while they are in cache. */
const BLOCKV: i32 = 512;

/** i32 counters per lane copy of the histogram: (K + 1) buckets × 2 classes, plus a trash pair for ignored lanes. */
// @ts-ignore: decorator
@inline function histStride(K: i32): i32 {
  return (K + 2) << 1;
}

/** Bytes of scratch `thresholdCounts` needs for K cuts: four lane copies of the histogram, block accumulators, a block's notes. */
export function thresholdScratchBytes(K: i32): i32 {
  return (histStride(K) << 4) + 80 + BLOCKV + (BLOCKV << 2);
}

/** 1.5·2^23: adding it to a small integer-valued float leaves the integer in the low mantissa bits. */
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;
/** Largest bit pattern (as u32) of a valid probability (1.0), and of a finite |logit|. */
const PROB_LIMIT: u32 = 0x3f800000;
const LOGIT_LIMIT: u32 = 0x7f7fffff;

// ---------------------------------------------------------------- buckets

/** The uniform guess floor(clamp(u, −½, K − ½)) + 1, with the vector code's pmax/pmin (NaN → 0). */
// @ts-ignore: decorator
@inline function guess1(pv: f32, K: i32, base: f32, scale: f32): i32 {
  const u = (pv - base) * scale;
  let uc: f32 = <f32>-0.5 < u ? u : -0.5;
  uc = uc < <f32>K - 0.5 ? uc : <f32>K - 0.5;
  return <i32>Mathf.floor(uc) + 1;
}

/** The exact bucket of one value: the uniform guess moved by compares, or a binary search. */
// @ts-ignore: decorator
@inline function bucket1(pv: f32, cuts: usize, K: i32, uniform: bool, base: f32, scale: f32): i32 {
  if (uniform) {
    let b = guess1(pv, K, base, scale);
    while (b < K && pv >= load<f32>(cuts + (<usize>b << 2))) b++;
    while (b > 0 && !(pv >= load<f32>(cuts + (<usize>(b - 1) << 2)))) b--;
    return b;
  }
  let lo = 0;
  let hi = K;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pv >= load<f32>(cuts + (<usize>mid << 2))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many cuts are ≤ p, lane-wise, by counting compares (branch-free). */
// @ts-ignore: decorator
@inline function compareSum4(pv: v128, cuts: usize, K: i32): v128 {
  let b = i32x4.splat(0);
  for (let k = 0; k < K; k++) b = i32x4.sub(b, f32x4.ge(pv, v128.load32_splat(cuts + (<usize>k << 2))));
  return b;
}

/** Adds one to the i32 counter at each lane's address (through `tmp`: one store and four loads beat four lane extracts). */
// @ts-ignore: decorator
@inline function increment4(at: v128, tmp: usize): void {
  v128.store(tmp, at);
  let a = <usize>load<i32>(tmp);
  store<i32>(a, load<i32>(a) + 1);
  a = <usize>load<i32>(tmp, 4);
  store<i32>(a, load<i32>(a) + 1);
  a = <usize>load<i32>(tmp, 8);
  store<i32>(a, load<i32>(a) + 1);
  a = <usize>load<i32>(tmp, 12);
  store<i32>(a, load<i32>(a) + 1);
}

/**
 * One vector had a lane whose uniform guess may be one off (u within the
 * slack of an integer): moves every lane whose guess differs from its exact
 * bucket. Rare, so scalar and out of line.
 */
function fixLanes(t: usize, p: usize, hist: usize, stride: i32, cuts: usize, K: i32, ignore: bool, ign: f32, base: f32, scale: f32): void {
  for (let lane = 0; lane < 4; lane++) {
    const tv = load<f32>(t + (<usize>lane << 2));
    if (ignore && tv == ign) continue;
    const pv = load<f32>(p + (<usize>lane << 2));
    const guess = guess1(pv, K, base, scale);
    const exact = bucket1(pv, cuts, K, true, base, scale);
    if (guess == exact) continue;
    const one = tv == 1 ? 1 : 0;
    const copy = hist + (<usize>(lane * stride) << 2);
    const from = copy + (<usize>((guess << 1) + one) << 2);
    const to = copy + (<usize>((exact << 1) + one) << 2);
    store<i32>(from, load<i32>(from) - 1);
    store<i32>(to, load<i32>(to) + 1);
  }
}

// ---------------------------------------------------------------- one segment

/** Lane-wise [a, b, c, d]. */
// @ts-ignore: decorator
@inline function i32x4of(a: i32, b: i32, c: i32, d: i32): v128 {
  return i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(a), 1, b), 2, c), 3, d);
}

/** Sum of the four i32 lanes. */
// @ts-ignore: decorator
@inline function lanes(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline function validP(pv: f32, logits: bool): bool {
  return logits ? Mathf.abs(pv) <= F32.MAX_VALUE : pv >= 0 && pv <= 1;
}

/** Records the first invalid prediction or target of a segment that failed a check; false when there is one. */
// @ts-ignore: decorator
@inline function firstInvalid(t: usize, p: usize, n: i32, start: i32, stats: usize, logits: bool, ignore: bool, ign: f32): bool {
  for (let j = 0; j < n; j++) {
    const pv = load<f32>(p + ((<usize>j) << 2));
    if (!validP(pv, logits)) {
      store<i32>(stats, start + j);
      store<f32>(stats, pv, 4);
      return false;
    }
  }
  for (let j = 0; j < n; j++) {
    const tv = load<f32>(t + ((<usize>j) << 2));
    if (!(tv == 0 || tv == 1 || (ignore && tv == ign))) {
      store<i32>(stats, start + j, 8);
      store<f32>(stats, tv, 12);
      return false;
    }
  }
  return true; // only −0 predictions tripped the fast check: they are 0
}

// Block accumulators of pass 1 (in scratch, one v128 each): count of t = 1,
// count of ignored, OR of bad target bits, u32 max of prediction bits.
const ACC_T1: usize = 0;
const ACC_IG: usize = 16;
const ACC_BAD: usize = 32;
const ACC_P: usize = 48;

/**
 * Pass 1 over vectors [v0, v1): target checks and counts, prediction checks
 * (into the block accumulators at `bacc`), and the notes: byte offsets of
 * the vectors with a lane at or above the lowest cut (or NaN), written
 * branch-free. Groups of four vectors are tested at once first (most of a
 * probability map lies below every cut), then the vectors of the groups that
 * reach the cut. Returns the number of notes.
 */
// @ts-ignore: decorator
@inline function notePass(
  t: usize, p: usize, v0: i32, v1: i32, cmin: f32, bacc: usize, groups: usize, notes: usize, ignore: bool, logits: bool, ign: f32,
): i32 {
  const oneF = f32x4.splat(1);
  const ignV = f32x4.splat(ign);
  const cminV = f32x4.splat(cmin);
  const absV = i32x4.splat(0x7fffffff);
  // as u32 bits, a valid probability is ≤ 1.0's and p ≥ cmin ⇔ bits ≥ cmin's bits; the group
  // test compares u32s (as signed after flipping the sign bits), so a −0 (0x80000000) can only
  // add a group to the notes, never hide a larger value of its lane
  const signV = i32x4.splat(0x80000000);
  const cminBits = i32x4.splat((reinterpret<i32>(cmin) - 1) ^ 0x80000000);
  let vT1 = v128.load(bacc, ACC_T1), vIg = v128.load(bacc, ACC_IG), vBad = v128.load(bacc, ACC_BAD), vP = v128.load(bacc, ACC_P);
  let ng = 0;
  const g1 = v0 + ((v1 - v0) & ~3);
  let v = v0;
  for (; v < g1; v += 4) {
    const off = (<usize>v) << 4;
    const p0 = v128.load(p + off), p1 = v128.load(p + off, 16), p2 = v128.load(p + off, 32), p3 = v128.load(p + off, 48);
    let reach: bool;
    if (logits) {
      const a = i32x4.max_u(v128.and(p0, absV), v128.and(p1, absV));
      vP = i32x4.max_u(vP, i32x4.max_u(a, i32x4.max_u(v128.and(p2, absV), v128.and(p3, absV))));
      reach = i32x4.bitmask(f32x4.lt(f32x4.pmax(f32x4.pmax(p0, p1), f32x4.pmax(p2, p3)), cminV)) != 15;
    } else {
      const m = i32x4.max_u(i32x4.max_u(p0, p1), i32x4.max_u(p2, p3));
      vP = i32x4.max_u(vP, m);
      reach = i32x4.bitmask(i32x4.gt_s(v128.xor(m, signV), cminBits)) != 0;
    }
    const t0 = v128.load(t + off), t1 = v128.load(t + off, 16), t2 = v128.load(t + off, 32), t3 = v128.load(t + off, 48);
    let m0 = f32x4.eq(t0, oneF), m1 = f32x4.eq(t1, oneF), m2 = f32x4.eq(t2, oneF), m3 = f32x4.eq(t3, oneF);
    if (ignore) {
      const i0 = f32x4.eq(t0, ignV), i1 = f32x4.eq(t1, ignV), i2 = f32x4.eq(t2, ignV), i3 = f32x4.eq(t3, ignV);
      const b01 = v128.or(v128.andnot(t0, v128.or(m0, i0)), v128.andnot(t1, v128.or(m1, i1)));
      const b23 = v128.or(v128.andnot(t2, v128.or(m2, i2)), v128.andnot(t3, v128.or(m3, i3)));
      vBad = v128.or(vBad, v128.or(b01, b23));
      m0 = v128.andnot(m0, i0);
      m1 = v128.andnot(m1, i1);
      m2 = v128.andnot(m2, i2);
      m3 = v128.andnot(m3, i3);
      vIg = i32x4.sub(vIg, i32x4.add(i32x4.add(i0, i1), i32x4.add(i2, i3)));
    } else {
      // any bits left once the ones are masked out: a target other than ±0 and 1
      vBad = v128.or(vBad, v128.or(v128.or(v128.andnot(t0, m0), v128.andnot(t1, m1)), v128.or(v128.andnot(t2, m2), v128.andnot(t3, m3))));
    }
    vT1 = i32x4.sub(vT1, i32x4.add(i32x4.add(m0, m1), i32x4.add(m2, m3)));
    store<i32>(groups + ((<usize>ng) << 2), <i32>off);
    ng += i32(reach);
  }
  // the vectors of the noted groups that reach the cut (NaN lanes are not below it)
  let w = 0;
  for (let j = 0; j < ng; j++) {
    const off = <usize>load<i32>(groups + ((<usize>j) << 2));
    for (let q: usize = 0; q < 64; q += 16) {
      store<i32>(notes + ((<usize>w) << 2), <i32>(off + q));
      w += i32(i32x4.bitmask(f32x4.lt(v128.load(p + off + q), cminV)) != 15);
    }
  }
  // the block's last vectors, one by one
  for (; v < v1; v++) {
    const off = (<usize>v) << 4;
    const tv = v128.load(t + off);
    const pv = v128.load(p + off);
    vP = i32x4.max_u(vP, logits ? v128.and(pv, absV) : pv);
    let m1 = f32x4.eq(tv, oneF);
    if (ignore) {
      const ig = f32x4.eq(tv, ignV);
      vBad = v128.or(vBad, v128.andnot(tv, v128.or(m1, ig)));
      m1 = v128.andnot(m1, ig);
      vIg = i32x4.sub(vIg, ig);
    } else {
      vBad = v128.or(vBad, v128.andnot(tv, m1));
    }
    vT1 = i32x4.sub(vT1, m1);
    store<i32>(notes + ((<usize>w) << 2), <i32>off);
    w += i32(i32x4.bitmask(f32x4.lt(pv, cminV)) != 15);
  }
  v128.store(bacc, vT1, ACC_T1);
  v128.store(bacc, vIg, ACC_IG);
  v128.store(bacc, vBad, ACC_BAD);
  v128.store(bacc, vP, ACC_P);
  return w;
}

/**
 * Pass 2: buckets the noted vectors into the per-lane histograms. The
 * targets are known valid here (0, ±0 or 1, or the ignore label). Returns
 * whether some lane's uniform guess lay within the slack of a boundary.
 */
// @ts-ignore: decorator
@inline function bucketPass(
  t: usize, p: usize, notes: usize, w: i32, hist: usize, tmp: usize, stride: i32, cuts: usize, K: i32,
  ignore: bool, uniform: bool, ign: f32, base: f32, scale: f32, inner: f32,
): bool {
  const oneF = f32x4.splat(1);
  const ignV = f32x4.splat(ign);
  const baseV = f32x4.splat(base), scaleV = f32x4.splat(scale), innerV = f32x4.splat(inner);
  const loV = f32x4.splat(-0.5), hiV = f32x4.splat(<f32>K - 0.5), halfV = f32x4.splat(0.5);
  const fourF = f32x4.splat(4), eightV = f32x4.splat(8), magicV = f32x4.splat(MAGIC), fourV = i32x4.splat(4);
  // each lane counts into its own copy of the histogram (no two lanes of a vector collide)
  const s4 = stride << 2;
  const h = <i32>hist;
  const lane = i32x4of(h, h + s4, h + 2 * s4, h + 3 * s4);
  const laneU = i32x4.add(lane, i32x4.splat(8 - MAGIC_BITS)); // bits(MAGIC + 8g + 4t) → bucket g + 1, class t
  const trash = i32x4.add(lane, i32x4.splat((K + 1) << 3));
  let vNear = i32x4.splat(0);
  for (let j = 0; j < w; j++) {
    const off = <usize>load<i32>(notes + ((<usize>j) << 2));
    const tv = v128.load(t + off);
    const pv = v128.load(p + off);
    let at: v128;
    if (uniform) {
      // u = (p − base)·scale puts cut k near k; bucket = floor(u) + 1 on [−½, K − ½]
      const uc = f32x4.pmin(hiV, f32x4.pmax(loV, f32x4.mul(f32x4.sub(pv, baseV), scaleV)));
      const g = f32x4.floor(uc);
      at = i32x4.add(f32x4.add(f32x4.add(f32x4.mul(g, eightV), f32x4.mul(tv, fourF)), magicV), laneU);
      // a lane within the slack of a boundary may be one bucket off (recounted after the block)
      vNear = v128.or(vNear, f32x4.ge(f32x4.abs(f32x4.sub(f32x4.sub(uc, g), halfV)), innerV));
    } else {
      at = i32x4.add(i32x4.add(i32x4.shl(compareSum4(pv, cuts, K), 3), lane), v128.and(f32x4.eq(tv, oneF), fourV));
    }
    if (ignore) at = v128.bitselect(trash, at, f32x4.eq(tv, ignV));
    increment4(at, tmp);
  }
  return v128.any_true(vNear);
}

/** After a block with a lane near a boundary: recounts exactly the noted vectors that have one. Rare. */
function recheckPass(
  t: usize, p: usize, notes: usize, w: i32, hist: usize, stride: i32, cuts: usize, K: i32, ignore: bool, ign: f32, base: f32, scale: f32, inner: f32,
): void {
  const baseV = f32x4.splat(base), scaleV = f32x4.splat(scale), innerV = f32x4.splat(inner);
  const loV = f32x4.splat(-0.5), hiV = f32x4.splat(<f32>K - 0.5), halfV = f32x4.splat(0.5);
  for (let j = 0; j < w; j++) {
    const off = <usize>load<i32>(notes + ((<usize>j) << 2));
    const uc = f32x4.pmin(hiV, f32x4.pmax(loV, f32x4.mul(f32x4.sub(v128.load(p + off), baseV), scaleV)));
    const d = f32x4.abs(f32x4.sub(f32x4.sub(uc, f32x4.floor(uc)), halfV));
    if (i32x4.bitmask(f32x4.lt(d, innerV)) != 15) fixLanes(t + off, p + off, hist, stride, cuts, K, ignore, ign, base, scale);
  }
}

// @ts-ignore: decorator
@inline function countSegment(
  t: usize, p: usize, n: i32, start: i32, acc: usize, stats: usize, cuts: usize, K: i32, scratch: usize,
  ignore: bool, uniform: bool, logits: bool, ign: f32, base: f32, scale: f32, inner: f32,
): bool {
  const stride = histStride(K);
  const hist = scratch;
  memory.fill(hist, 0, <usize>stride << 4);
  const cmin: f32 = K > 0 ? load<f32>(cuts) : Infinity;
  let t1 = 0, ignored = 0, suspect = false;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = n >> 2;
    const bacc = hist + (<usize>stride << 4);
    const groups = bacc + 80; // after the accumulators and increment4's 16 bytes
    const notes = groups + (<usize>BLOCKV); // BLOCKV / 4 group offsets, then BLOCKV vector offsets
    memory.fill(bacc, 0, 64);
    for (let v0 = 0; v0 < nv; v0 += BLOCKV) {
      const v1 = min(v0 + BLOCKV, nv);
      const w = notePass(t, p, v0, v1, cmin, bacc, groups, notes, ignore, logits, ign);
      // a bad target fails the call: stop counting, find it below
      if (v128.any_true(v128.and(v128.load(bacc, ACC_BAD), i32x4.splat(0x7fffffff)))) break;
      if (bucketPass(t, p, notes, w, hist, bacc + 64, stride, cuts, K, ignore, uniform, ign, base, scale, inner)) {
        recheckPass(t, p, notes, w, hist, stride, cuts, K, ignore, ign, base, scale, inner);
      }
    }
    t1 = lanes(v128.load(bacc, ACC_T1));
    ignored = lanes(v128.load(bacc, ACC_IG));
    const limit = i32x4.splat(logits ? LOGIT_LIMIT : PROB_LIMIT);
    const vP = v128.load(bacc, ACC_P);
    suspect =
      v128.any_true(v128.and(v128.load(bacc, ACC_BAD), i32x4.splat(0x7fffffff))) || i32x4.bitmask(i32x4.eq(i32x4.max_u(vP, limit), limit)) != 15;
    i = nv << 2;
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const tv = load<f32>(t + off);
    const pv = load<f32>(p + off);
    if (!validP(pv, logits)) suspect = true;
    if (ignore && tv == ign) {
      ignored++;
      continue;
    }
    const one: i32 = tv == 1 ? 1 : 0;
    if (!one && tv != 0) suspect = true;
    t1 += one;
    if (pv < cmin) continue;
    const b = bucket1(pv, cuts, K, uniform, base, scale);
    const a = hist + ((<usize>((b << 1) + one)) << 2);
    store<i32>(a, load<i32>(a) + 1);
  }
  if (suspect && !firstInvalid(t, p, n, start, stats, logits, ignore, ign)) return false;
  store<f64>(acc, load<f64>(acc) + <f64>(n - ignored));
  store<f64>(acc, load<f64>(acc, 8) + <f64>t1, 8);
  for (let slot = 2; slot < stride - 2; slot++) {
    let s = load<i32>(hist + (<usize>slot << 2));
    s += load<i32>(hist + (<usize>(slot + stride) << 2));
    s += load<i32>(hist + (<usize>(slot + 2 * stride) << 2));
    s += load<i32>(hist + (<usize>(slot + 3 * stride) << 2));
    const a = acc + (<usize>slot << 3);
    store<f64>(a, load<f64>(a) + <f64>s);
  }
  return true;
}

// ------------------------------------------------- one function per form

// Each form gets its own function, so every hot loop is compiled with its
// options folded away (see elementwise.ts).
function segPlain(t: usize, p: usize, n: i32, s: i32, acc: usize, st: usize, cuts: usize, K: i32, h: usize, ign: f32, b: f32, sc: f32, inn: f32): bool {
  return countSegment(t, p, n, s, acc, st, cuts, K, h, false, false, false, ign, b, sc, inn);
}
function segUniform(t: usize, p: usize, n: i32, s: i32, acc: usize, st: usize, cuts: usize, K: i32, h: usize, ign: f32, b: f32, sc: f32, inn: f32): bool {
  return countSegment(t, p, n, s, acc, st, cuts, K, h, false, true, false, ign, b, sc, inn);
}
function segGeneral(
  t: usize, p: usize, n: i32, s: i32, acc: usize, st: usize, cuts: usize, K: i32, h: usize, flags: i32, ign: f32, b: f32, sc: f32, inn: f32,
): bool {
  // ignore labels and logits: the rarer forms share one loop per (ignore, uniform) pair
  const ignore = (flags & FLAG_IGNORE) != 0;
  const logits = (flags & FLAG_LOGITS) != 0;
  if (flags & FLAG_UNIFORM) {
    if (ignore) return countSegment(t, p, n, s, acc, st, cuts, K, h, true, true, logits, ign, b, sc, inn);
    return countSegment(t, p, n, s, acc, st, cuts, K, h, false, true, logits, ign, b, sc, inn);
  }
  if (ignore) return countSegment(t, p, n, s, acc, st, cuts, K, h, true, false, logits, ign, b, sc, inn);
  return countSegment(t, p, n, s, acc, st, cuts, K, h, false, false, logits, ign, b, sc, inn);
}

/**
 * Adds the bucket counts of `count` elements, cut into segments of `segLen`,
 * into `acc` (2 + 2K f64 per segment, slot order above). t, p: f32; cuts: K
 * ascending distinct f32; scratch: thresholdScratchBytes(K) bytes; stats: the
 * error record above. FLAG_UNIFORM: bucket by u = (p − base)·scale, trusted
 * where |frac(u) − ½| < inner (the wrapper proves that bound).
 */
export function thresholdCounts(
  t: usize, p: usize, count: i32, segLen: i32, acc: usize, stats: usize, cuts: usize, K: i32, scratch: usize,
  flags: i32, ign: f32, base: f32, scale: f32, inner: f32,
): void {
  const slots = (K + 1) << 1;
  for (let start = 0; start < count; start += segLen) {
    const n = min(segLen, count - start);
    const off = (<usize>start) << 2;
    let ok: bool;
    if (flags == FLAG_UNIFORM) ok = segUniform(t + off, p + off, n, start, acc, stats, cuts, K, scratch, ign, base, scale, inner);
    else if (flags == 0) ok = segPlain(t + off, p + off, n, start, acc, stats, cuts, K, scratch, ign, base, scale, inner);
    else ok = segGeneral(t + off, p + off, n, start, acc, stats, cuts, K, scratch, flags, ign, base, scale, inner);
    if (!ok) return;
    acc += <usize>slots << 3;
  }
}
