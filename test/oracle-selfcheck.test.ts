/**
 * Tests of the float64 oracle itself (test/oracle/binary.ts): anchor numbers,
 * hand-worked examples, option semantics, and every analytic gradient against
 * central finite differences of the oracle's own value.
 */
import { describe, expect, it } from "vitest";
import {
  type BinaryOpts,
  bce,
  bceDice,
  bceLogDice,
  dice,
  diceCoefficient,
  focal,
  focalDice,
  focalTversky,
  jaccard,
  KERAS_EPSILON,
  type OracleResult,
  tversky,
} from "./oracle/binary";

type LossFn = (t: ArrayLike<number>, p: ArrayLike<number>, N: number, opts?: BinaryOpts) => OracleResult;

const num = (r: OracleResult): number => {
  expect(typeof r.value).toBe("number");
  return r.value as number;
};
const arr = (r: OracleResult): Float64Array => {
  expect(r.value).toBeInstanceOf(Float64Array);
  return r.value as Float64Array;
};

// ---------------------------------------------------------------------------
describe("bce anchors (ANCHORS B1)", () => {
  it("float32 constants: ε = fround(1e-7), upper clip fround(1 − ε) = 0.99999988", () => {
    expect(KERAS_EPSILON).toBe(Math.fround(1e-7));
    expect(Math.fround(1 - KERAS_EPSILON)).toBe(1 - 2 ** -23);
    expect(Math.fround(1 - KERAS_EPSILON)).toBeCloseTo(0.99999988, 8);
  });

  it("Keras 3 saturation: p = 1, t = 0 → 15.942385; p = 0, t = 1 → 16.118095", () => {
    // −ln(1 − 0.99999988079) = −ln(1.1920929e-7) = 15.942385
    expect(num(bce([0], [1], 1))).toBeCloseTo(15.942385, 6);
    // −ln(fround(1e-7)) = 16.1180956
    expect(num(bce([1], [0], 1))).toBeCloseTo(16.1180956, 6);
    // keras3 preset leaves bce as it is
    expect(num(bce([0], [1], 1, { preset: "keras3" }))).toBeCloseTo(15.942385, 6);
    // an explicit epsilon 1e-7 is the default exactly (rounded to float32 like it)
    expect(num(bce([0, 1], [1, 0], 1, { epsilon: 1e-7 }))).toBe(num(bce([0, 1], [1, 0], 1)));
  });

  it("tf.keras 2 double ε: 15.3332 and 15.4249", () => {
    // −ln(1 − p' + ε) = −ln(1.1920929e-7 + 1e-7) = 15.3332
    expect(num(bce([0], [1], 1, { preset: "tfkeras2" }))).toBeCloseTo(15.3332, 4);
    // −ln(p' + ε) = −ln(2e-7) = 15.4249
    expect(num(bce([1], [0], 1, { preset: "tfkeras2" }))).toBeCloseTo(15.4249, 4);
    // the same through the explicit option
    expect(num(bce([1], [0], 1, { epsilonMode: "add" }))).toBeCloseTo(15.4249, 4);
    // explicit option overrides the preset
    expect(num(bce([1], [0], 1, { preset: "tfkeras2", epsilonMode: "clamp" }))).toBeCloseTo(16.1180956, 6);
  });

  it("hand examples: probabilities, logits, posWeight, weight, labelSmoothing, ignoreIndex", () => {
    // t = 1, p = 0.5: ln 2;  t = 0, p = 0.25: −ln 0.75
    expect(num(bce([1, 0], [0.5, 0.25], 1))).toBeCloseTo((Math.LN2 - Math.log(0.75)) / 2, 12);
    expect(num(bce([1, 0], [0.5, 0.25], 1, { reduction: "sum" }))).toBeCloseTo(Math.LN2 - Math.log(0.75), 12);
    // logits: x = 0, t = 1 → ln 2; x = 2, t = 0 → 2 + ln(1 + e^−2) = ln(1 + e^2)
    expect(num(bce([1, 0], [0, 2], 1, { fromLogits: true, reduction: "sum" }))).toBeCloseTo(Math.LN2 + Math.log(1 + Math.exp(2)), 12);
    // posWeight 3 triples the t term only: 3·ln 2 − ln 0.75
    expect(num(bce([1, 0], [0.5, 0.25], 1, { posWeight: 3, reduction: "sum" }))).toBeCloseTo(3 * Math.LN2 - Math.log(0.75), 12);
    // posWeight per pixel, logits: x = 0, t = 1, w₊ = 3 → 3·ln 2
    expect(num(bce([1], [0], 1, { fromLogits: true, posWeight: [3] }))).toBeCloseTo(3 * Math.LN2, 12);
    // weight: mean(w·ℓ) over the elements: (2·ln 2 + 0.5·(−ln 0.75))/2
    expect(num(bce([1, 0], [0.5, 0.25], 1, { weight: [2, 0.5] }))).toBeCloseTo((2 * Math.LN2 - 0.5 * Math.log(0.75)) / 2, 12);
    // labelSmoothing 0.2: t = 1 → 0.9: −(0.9·ln 0.8 + 0.1·ln 0.2)
    expect(num(bce([1], [0.8], 1, { labelSmoothing: 0.2 }))).toBeCloseTo(-(0.9 * Math.log(0.8) + 0.1 * Math.log(0.2)), 12);
    // ignoreIndex: the 255 pixel is dropped from the sum and from the count
    const r = bce([1, 255, 0], [0.5, 0.9, 0.25], 1, { ignoreIndex: 255 });
    expect(num(r)).toBeCloseTo((Math.LN2 - Math.log(0.75)) / 2, 12);
    expect(r.grad?.[1]).toBe(0);
    const none = arr(bce([1, 255, 0], [0.5, 0.9, 0.25], 1, { ignoreIndex: 255, reduction: "none" }));
    expect(Array.from(none)).toEqual([Math.LN2, 0, -Math.log(0.75)]);
    // everything ignored: 'mean' is 0 (oracle's choice)
    expect(num(bce([255], [0.5], 1, { ignoreIndex: 255 }))).toBe(0);
  });

  it("probability and logit forms agree away from the clip", () => {
    const t = [0, 0.3, 1, 0.7];
    const x = [-2, -0.5, 0.4, 3];
    const p = x.map((v) => 1 / (1 + Math.exp(-v)));
    expect(num(bce(t, x, 1, { fromLogits: true }))).toBeCloseTo(num(bce(t, p, 1)), 12);
    expect(num(bce(t, x, 1, { fromLogits: true, posWeight: 2.5 }))).toBeCloseTo(num(bce(t, p, 1, { posWeight: 2.5 })), 12);
  });
});

// ---------------------------------------------------------------------------
describe("region losses, hand examples", () => {
  // One image, t = [1, 1, 0, 0], p = [0.9, 0.6, 0.2, 0.1], s = 1:
  //   I = Σtp = 0.9 + 0.6 = 1.5, St = 2, Sp = 1.8, FP = Sp − I = 0.3, FN = St − I = 0.5
  const t = [1, 1, 0, 0];
  const p = [0.9, 0.6, 0.2, 0.1];

  it("dice: D = (2·1.5 + 1)/(2 + 1.8 + 1) = 4/4.8, loss 1/6", () => {
    expect(num(dice(t, p, 1))).toBeCloseTo(1 / 6, 12);
    expect(num(diceCoefficient(t, p, 1))).toBeCloseTo(4 / 4.8, 12);
    // log: −ln(4/4.8) = 0.1823216
    expect(num(dice(t, p, 1, { log: true }))).toBeCloseTo(0.1823216, 7);
    // diceCoefficient ignores log
    expect(num(diceCoefficient(t, p, 1, { log: true }))).toBeCloseTo(4 / 4.8, 12);
  });

  it("dice squared: Σt² = 2, Σp² = 0.81 + 0.36 + 0.04 + 0.01 = 1.22, D = 4/4.22", () => {
    expect(num(dice(t, p, 1, { squared: true }))).toBeCloseTo(1 - 4 / 4.22, 12);
    expect(num(dice(t, p, 1, { squared: true }))).toBeCloseTo(0.0521327, 7);
    // jaccard squared: (1.5 + 1)/(2 + 1.22 − 1.5 + 1) = 2.5/2.72
    expect(num(jaccard(t, p, 1, { squared: true }))).toBeCloseTo(1 - 2.5 / 2.72, 12);
  });

  it("jaccard: J = (1.5 + 1)/(2 + 1.8 − 1.5 + 1) = 2.5/3.3, loss 0.2424242", () => {
    expect(num(jaccard(t, p, 1))).toBeCloseTo(0.24242424, 8);
  });

  it("tversky: α = β = 0.5: T = 2.5/(1.5 + 0.15 + 0.25 + 1) = 2.5/2.9, loss 0.1379310", () => {
    expect(num(tversky(t, p, 1))).toBeCloseTo(0.13793103, 8);
    // α = 0.7 (FP), β = 0.3 (FN): den = 1.5 + 0.21 + 0.15 + 1 = 2.86, loss 1 − 2.5/2.86 = 0.1258741
    expect(num(tversky(t, p, 1, { alpha: 0.7, beta: 0.3 }))).toBeCloseTo(0.12587413, 8);
    // α and β are not symmetric: swapping them gives den = 1.5 + 0.09 + 0.35 + 1 = 2.94
    expect(num(tversky(t, p, 1, { alpha: 0.3, beta: 0.7 }))).toBeCloseTo(1 - 2.5 / 2.94, 12);
    // squared does not apply to Tversky
    expect(num(tversky(t, p, 1, { squared: true }))).toBe(num(tversky(t, p, 1)));
  });

  it("focalTversky: (1 − 2.5/2.9)^0.75 = 0.1379310^0.75 = 0.2263323", () => {
    expect(num(focalTversky(t, p, 1))).toBeCloseTo(0.2263323, 7);
    // γ = 1 is the Tversky loss
    expect(num(focalTversky(t, p, 1, { gamma: 1 }))).toBeCloseTo(num(tversky(t, p, 1)), 12);
  });

  it("softLabel: t = [0.8, 0.3], p = [0.6, 0.5]", () => {
    // St = Sp = 1.1, Σ|t − p| = 0.2 + 0.2 = 0.4 → I = (2.2 − 0.4)/2 = 0.9 (= Σ min(t, p))
    // D = (1.8 + 1)/(2.2 + 1) = 0.875
    expect(num(dice([0.8, 0.3], [0.6, 0.5], 1, { softLabel: true }))).toBeCloseTo(0.125, 12);
    // product form: I = 0.48 + 0.15 = 0.63, D = 2.26/3.2 = 0.70625
    expect(num(dice([0.8, 0.3], [0.6, 0.5], 1))).toBeCloseTo(1 - 0.70625, 12);
    // hard targets: both forms agree
    expect(num(dice(t, p, 1, { softLabel: true }))).toBeCloseTo(num(dice(t, p, 1)), 12);
    // soft Dice reaches 0 at p = t (there 2I = St + Sp, so D = 1 for any s)
    expect(num(dice([0.8, 0.3], [0.8, 0.3], 1, { softLabel: true }))).toBeCloseTo(0, 12);
  });

  it("smoothNumerator / smoothDenominator, epsilon clamp and add", () => {
    // D = (3 + 0.5)/(3.8 + 2) = 3.5/5.8
    expect(num(dice(t, p, 1, { smoothNumerator: 0.5, smoothDenominator: 2 }))).toBeCloseTo(1 - 3.5 / 5.8, 12);
    // s = 0, epsilon 10 clamp: max(3.8, 10) = 10 → D = 0.3
    expect(num(dice(t, p, 1, { smooth: 0, epsilon: 10 }))).toBeCloseTo(0.7, 12);
    // s = 0, epsilon 10 add: D = 3/13.8
    expect(num(dice(t, p, 1, { smooth: 0, epsilon: 10, epsilonMode: "add" }))).toBeCloseTo(1 - 3 / 13.8, 12);
  });

  it("perImage, reductions and emptyTarget", () => {
    // image 0 as above (loss 1/6); image 1: t = [0, 0, 0, 0], p = [0.2, 0.3, 0, 0] (empty target)
    //   'smooth': D = (0 + 1)/(0 + 0.5 + 1) = 2/3, loss 1/3
    const T = [...t, 0, 0, 0, 0];
    const P = [...p, 0.2, 0.3, 0, 0];
    expect(num(dice(T, P, 2))).toBeCloseTo((1 / 6 + 1 / 3) / 2, 12);
    expect(num(dice(T, P, 2, { reduction: "sum" }))).toBeCloseTo(1 / 6 + 1 / 3, 12);
    expect(Array.from(arr(dice(T, P, 2, { reduction: "none" })))).toEqual([expect.closeTo(1 / 6, 12), expect.closeTo(1 / 3, 12)]);
    expect(dice(T, P, 2, { reduction: "none" }).grad).toBeNull();
    expect(num(dice(T, P, 2, { emptyTarget: "zero" }))).toBeCloseTo(1 / 12, 12);
    expect(num(dice(T, P, 2, { emptyTarget: "max" }))).toBeCloseTo((1 / 6 + 1) / 2, 12);
    expect(num(dice(T, P, 2, { emptyTarget: "skip" }))).toBeCloseTo(1 / 6, 12);
    const skipped = arr(dice(T, P, 2, { emptyTarget: "skip", reduction: "none" }));
    expect(skipped[0]).toBeCloseTo(1 / 6, 12);
    expect(skipped[1]).toBeNaN();
    // 'max' with log: −ln 1e-7 = 16.118
    expect(num(dice(T, P, 2, { emptyTarget: "max", log: true, reduction: "sum" }))).toBeCloseTo(-Math.log(4 / 4.8) + 16.118095651, 8);
    // the constant terms have zero gradient
    for (const emptyTarget of ["zero", "max", "skip"] as const) {
      const g = dice(T, P, 2, { emptyTarget }).grad as Float64Array;
      expect(Array.from(g.subarray(4))).toEqual([0, 0, 0, 0]);
      expect(g[0]).not.toBe(0);
    }
    // diceCoefficient: 'zero' term scores 1, 'max' 0, skip leaves it out
    expect(num(diceCoefficient(T, P, 2, { emptyTarget: "zero" }))).toBeCloseTo((4 / 4.8 + 1) / 2, 12);
    expect(num(diceCoefficient(T, P, 2, { emptyTarget: "max" }))).toBeCloseTo(4 / 4.8 / 2, 12);
    expect(num(diceCoefficient(T, P, 2, { emptyTarget: "skip" }))).toBeCloseTo(4 / 4.8, 12);
    // all skipped → 0
    expect(num(dice([0, 0], [0.3, 0.4], 1, { emptyTarget: "skip" }))).toBe(0);
    // batch term (perImage false, also aggregate 'batch'): I = 1.5, St = 2, Sp = 2.3: D = 4/5.3
    expect(num(dice(T, P, 2, { perImage: false }))).toBeCloseTo(1 - 4 / 5.3, 12);
    expect(num(dice(T, P, 2, { aggregate: "batch" }))).toBeCloseTo(1 - 4 / 5.3, 12);
    expect(arr(dice(T, P, 2, { perImage: false, reduction: "none" })).length).toBe(1);
    // empty target, empty prediction, s > 0: loss 0
    expect(num(dice([0, 0], [0, 0], 1))).toBe(0);
  });

  it("ignoreIndex leaves the pixels out of every sum", () => {
    const r = dice([1, 1, 255, 0, 0], [0.9, 0.6, 0.99, 0.2, 0.1], 1, { ignoreIndex: 255 });
    expect(num(r)).toBeCloseTo(1 / 6, 12);
    expect(r.grad?.[2]).toBe(0);
    // an image whose pixels are all ignored is empty
    expect(num(dice([255, 255], [0.5, 0.5], 1, { ignoreIndex: 255, emptyTarget: "max" }))).toBe(1);
  });

  it("log clamps D at 1e-7", () => {
    // s = 0, t = [1, 0], p = [0, 1]: D = 0 → −ln 1e-7, zero gradient
    const r = dice([1, 0], [0, 1], 1, { smooth: 0, log: true });
    expect(num(r)).toBeCloseTo(16.118095651, 8);
    expect(Array.from(r.grad as Float64Array)).toEqual([0, 0]);
  });

  it("fromLogits applies the sigmoid", () => {
    const x = [2.1972245773362196, 0.4054651081081645, -1.3862943611198906, -2.1972245773362196]; // σ = 0.9, 0.6, 0.2, 0.1
    expect(num(dice(t, x, 1, { fromLogits: true }))).toBeCloseTo(1 / 6, 12);
  });
});

// ---------------------------------------------------------------------------
describe("focal, hand examples", () => {
  it("seed form on 4 pixels (γ = 0.75, α = 0.25, sum)", () => {
    // t = [1, 0, 1, 0], p = [0.9, 0.2, 0.3, 0.9995]; placeholders clip to 0.999 (pt1) and 1e-3 (pt0):
    //   placeholder on a t = 1 pixel: −0.75·(1e-3)^0.75·ln(1 − 1e-3) = 0.75·0.0056234·0.0010005 = 4.2197e-6
    //   placeholder on a t = 0 pixel: −0.25·(1 − 0.999)^0.75·ln 0.999 = 0.25·0.0056234·0.0010005 = 1.4066e-6
    // pixel 1 (t = 1, p = 0.9): −0.25·0.1^0.75·ln 0.9 = 0.25·0.1778279·0.1053605 = 0.0046840, + 4.2197e-6 = 0.0046882
    // pixel 2 (t = 0, p = 0.2): −0.75·0.2^0.75·ln 0.8 = 0.75·0.2990698·0.2231436 = 0.0500516, + 1.4066e-6 = 0.0500530
    // pixel 3 (t = 1, p = 0.3): −0.25·0.7^0.75·ln 0.3 = 0.25·0.7653·1.2039728 = 0.2303458, + 4.2197e-6 = 0.2303500
    // pixel 4 (t = 0, p = 0.9995 → 0.999): −0.75·0.999^0.75·ln 0.001 = 0.75·0.99925·6.907755 = 5.1769304, + 1.4066e-6 = 5.1769318
    // sum = 5.462023
    const t = [1, 0, 1, 0];
    const p = [0.9, 0.2, 0.3, 0.9995];
    const r = focal(t, p, 1);
    expect(num(r)).toBeCloseTo(5.462023, 6);
    const none = arr(focal(t, p, 1, { reduction: "none" }));
    expect(none[0]).toBeCloseTo(0.0046882, 7);
    expect(none[1]).toBeCloseTo(0.050053, 6);
    expect(none[2]).toBeCloseTo(0.23035, 5);
    expect(none[3]).toBeCloseTo(5.1769318, 7);
    // the clipped pixel has zero gradient
    expect(r.grad?.[3]).toBe(0);
    // 'mean' divides by 4
    expect(num(focal(t, p, 1, { reduction: "mean" }))).toBeCloseTo(5.462023 / 4, 6);
    // tfkeras2 preset keeps the seed form
    expect(num(focal(t, p, 1, { preset: "tfkeras2" }))).toBe(num(r));
    // a soft target contributes the two clipped constants, with zero gradient
    const soft = focal([0.5], [0.7], 1);
    expect(num(soft)).toBeCloseTo(1.4066e-6 + 4.2197e-6, 9);
    expect(soft.grad?.[0]).toBe(0);
  });

  it("standard form (torchvision): one element worked by hand", () => {
    // t = 1, p = 0.8: bce = −ln 0.8 = 0.2231436, p_t = 0.8, (1 − p_t)² = 0.04, α_t = 0.25 → 0.00223144
    // t = 0, p = 0.8: bce = −ln 0.2 = 1.6094379, p_t = 0.2, (0.8)² = 0.64, α_t = 0.75 → 0.7725302
    const r = focal([1, 0], [0.8, 0.8], 1, { variant: "standard" });
    expect(num(r)).toBeCloseTo((0.00223144 + 0.7725302) / 2, 7);
    // keras3: standard, γ = 2, alpha null, mean
    const k = focal([1, 0], [0.8, 0.8], 1, { preset: "keras3" });
    expect(num(k)).toBeCloseTo((0.2231436 * 0.04 + 1.6094379 * 0.64) / 2, 7);
    // explicit alpha overrides the preset
    expect(num(focal([1, 0], [0.8, 0.8], 1, { preset: "keras3", alpha: 0.25 }))).toBeCloseTo(num(r), 12);
    // γ = 0, alpha null: plain bce
    expect(num(focal([1, 0], [0.8, 0.3], 1, { variant: "standard", gamma: 0, alpha: null }))).toBeCloseTo(
      num(bce([1, 0], [0.8, 0.3], 1)),
      12,
    );
  });
});

// ---------------------------------------------------------------------------
describe("combined losses and presets", () => {
  const t = [1, 0, 1, 1, 0, 0, 1, 0];
  const p = [0.7, 0.2, 0.4, 0.9, 0.35, 0.1, 0.55, 0.6];

  it("bceDice = bce + dice, bceLogDice = bce − ln D, focalDice = 10·focal − ln D", () => {
    expect(num(bceDice(t, p, 2))).toBeCloseTo(num(bce(t, p, 2)) + num(dice(t, p, 2)), 12);
    expect(num(bceLogDice(t, p, 2))).toBeCloseTo(num(bce(t, p, 2)) + num(dice(t, p, 2, { log: true })), 12);
    expect(num(focalDice(t, p, 2))).toBeCloseTo(10 * num(focal(t, p, 2)) + num(dice(t, p, 2, { log: true })), 12);
    expect(num(focalDice(t, p, 2, { focalWeight: 2 }))).toBeCloseTo(2 * num(focal(t, p, 2)) + num(dice(t, p, 2, { log: true })), 12);
    expect(num(bceDice(t, p, 2, { reduction: "sum" }))).toBeCloseTo(
      num(bce(t, p, 2, { reduction: "sum" })) + num(dice(t, p, 2, { reduction: "sum" })),
      12,
    );
    expect(() => bceDice(t, p, 2, { reduction: "none" })).toThrow();
    expect(() => bceLogDice(t, p, 2, { reduction: "none" })).toThrow();
    expect(() => focalDice(t, p, 2, { reduction: "none" })).toThrow();
  });

  it("keras3 Dice: one sum over everything, s = 0, ε 1e-7 added (empty → loss 1)", () => {
    // I = 0.7 + 0.4 + 0.9 + 0.55 = 2.55, St = 4, Sp = 3.8: D = 5.1/(7.8 + 1e-7)
    expect(num(dice(t, p, 2, { preset: "keras3" }))).toBeCloseTo(1 - 5.1 / (7.8 + 1e-7), 12);
    expect(num(dice([0, 0], [0, 0], 1, { preset: "keras3" }))).toBe(1);
    expect(num(dice([0, 0], [0.3, 0], 1, { preset: "keras3" }))).toBe(1);
    // explicit options override the preset
    expect(num(dice(t, p, 2, { preset: "keras3", smooth: 1, perImage: true, epsilon: 0 }))).toBeCloseTo(num(dice(t, p, 2)), 12);
    // Keras 3 Tversky: T = I/(I + α·FP + β·FN + 1e-7), FP = 3.8 − 2.55 = 1.25, FN = 4 − 2.55 = 1.45
    expect(num(tversky(t, p, 2, { preset: "keras3", alpha: 0.7, beta: 0.3 }))).toBeCloseTo(
      1 - 2.55 / (2.55 + 0.7 * 1.25 + 0.3 * 1.45 + 1e-7),
      12,
    );
  });

  it("presets resolve per part of a combined loss", () => {
    // keras3: bce as above (not the Dice ε), Dice batch/s = 0/ε add
    expect(num(bceDice(t, p, 2, { preset: "keras3" }))).toBeCloseTo(num(bce(t, p, 2)) + num(dice(t, p, 2, { preset: "keras3" })), 12);
    // tfkeras2: double-ε bce, seed Dice
    expect(num(bceDice([1, 0], [0, 1], 1, { preset: "tfkeras2" }))).toBeCloseTo(
      (15.424948 + 15.333239) / 2 + num(dice([1, 0], [0, 1], 1)),
      5,
    );
    // keras3 focalDice: standard focal (γ 2, alpha null) + keras3 log-Dice
    expect(num(focalDice(t, p, 2, { preset: "keras3" }))).toBeCloseTo(
      10 * num(focal(t, p, 2, { preset: "keras3" })) + num(dice(t, p, 2, { preset: "keras3", log: true })),
      12,
    );
  });

  it("size checks", () => {
    expect(() => bce([1, 0, 1], [0.5, 0.5], 1)).toThrow();
    expect(() => dice([1, 0, 1], [0.5, 0.5, 0.5], 2)).toThrow();
    expect(() => bce([1, 0], [0.5, 0.5], 1, { weight: [1] })).toThrow();
  });
});

// ---------------------------------------------------------------------------
// Analytic gradients against central finite differences.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const IGNORE = 255;

interface Data {
  t: number[];
  p: number[];
  N: number;
  opts: BinaryOpts;
}

interface DataSpec {
  soft?: boolean; // soft targets
  mixed?: boolean; // hard targets with about a third soft
  emptyImage?: boolean; // image 1 has an all-zero target
  ignore?: boolean; // some pixels carry IGNORE
  weights?: boolean; // per-pixel weight
  posWeights?: boolean; // per-pixel posWeight
}

function makeData(seed: number, opts: BinaryOpts, spec: DataSpec): Data {
  const rnd = mulberry32(seed);
  const N = 3;
  const L = 6;
  const n = N * L;
  const t: number[] = [];
  const p: number[] = [];
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  for (let i = 0; i < n; i++) {
    let ti = spec.soft ? rnd() : rnd() < 0.5 ? 1 : 0;
    if (spec.mixed && rnd() < 0.35) ti = 0.1 + 0.8 * rnd();
    if (spec.emptyImage && i >= L && i < 2 * L) ti = 0;
    if (spec.ignore && i % 5 === 2) ti = IGNORE;
    // predictions away from the clips (1e-7, 1e-3) and from |t − p| = 0
    let pi: number;
    let prob: number;
    do {
      pi = opts.fromLogits ? -3 + 6 * rnd() : 0.02 + 0.96 * rnd();
      prob = opts.fromLogits ? sig(pi) : pi;
    } while (Math.abs(prob - ti) < 0.02);
    t.push(ti);
    p.push(pi);
  }
  const o: BinaryOpts = { ...opts };
  if (spec.ignore) o.ignoreIndex = IGNORE;
  if (spec.weights) o.weight = Array.from({ length: n }, () => 0.2 + 2 * rnd());
  if (spec.posWeights) o.posWeight = Array.from({ length: n }, () => 0.5 + 3 * rnd());
  return { t, p, N, opts: o };
}

function checkGradient(fn: LossFn, d: Data): void {
  const r = fn(d.t, d.p, d.N, d.opts);
  expect(typeof r.value).toBe("number");
  expect(Number.isFinite(r.value as number)).toBe(true);
  const g = r.grad as Float64Array;
  expect(g).toBeInstanceOf(Float64Array);
  expect(g.length).toBe(d.p.length);
  const h = 1e-6;
  let nonzero = 0;
  for (let i = 0; i < d.p.length; i++) {
    const plus = d.p.slice();
    const minus = d.p.slice();
    plus[i] += h;
    minus[i] -= h;
    const fd = ((fn(d.t, plus, d.N, d.opts).value as number) - (fn(d.t, minus, d.N, d.opts).value as number)) / (2 * h);
    const tol = 1e-5 * Math.max(Math.abs(fd), Math.abs(g[i]), 1e-3);
    if (Math.abs(fd - g[i]) > tol) {
      throw new Error(`element ${i}: analytic ${g[i]} vs finite difference ${fd} (t = ${d.t[i]}, p = ${d.p[i]})`);
    }
    if (g[i] !== 0) nonzero++;
  }
  expect(nonzero).toBeGreaterThan(0);
}

interface Case {
  name: string;
  opts: BinaryOpts;
  spec?: DataSpec;
}

const regionCases: Case[] = [
  { name: "defaults (perImage, s = 1)", opts: {} },
  { name: "perImage false", opts: { perImage: false } },
  { name: "sum", opts: { reduction: "sum" } },
  { name: "squared", opts: { squared: true } },
  { name: "squared, perImage false", opts: { squared: true, perImage: false } },
  { name: "softLabel, soft targets", opts: { softLabel: true }, spec: { soft: true } },
  { name: "softLabel, squared, soft targets", opts: { softLabel: true, squared: true }, spec: { soft: true } },
  { name: "product form, soft targets", opts: {}, spec: { soft: true } },
  { name: "log", opts: { log: true } },
  { name: "log, perImage false, sum", opts: { log: true, perImage: false, reduction: "sum" } },
  { name: "emptyTarget 'smooth'", opts: { emptyTarget: "smooth" }, spec: { emptyImage: true } },
  { name: "emptyTarget 'zero'", opts: { emptyTarget: "zero" }, spec: { emptyImage: true } },
  { name: "emptyTarget 'max'", opts: { emptyTarget: "max" }, spec: { emptyImage: true } },
  { name: "emptyTarget 'max', log", opts: { emptyTarget: "max", log: true }, spec: { emptyImage: true } },
  { name: "emptyTarget 'skip'", opts: { emptyTarget: "skip" }, spec: { emptyImage: true } },
  { name: "emptyTarget 'skip', sum", opts: { emptyTarget: "skip", reduction: "sum" }, spec: { emptyImage: true } },
  { name: "ignoreIndex", opts: {}, spec: { ignore: true } },
  { name: "ignoreIndex, softLabel, perImage false", opts: { softLabel: true, perImage: false }, spec: { ignore: true, soft: true } },
  { name: "fromLogits", opts: { fromLogits: true } },
  { name: "fromLogits, squared, softLabel", opts: { fromLogits: true, squared: true, softLabel: true }, spec: { soft: true } },
  { name: "smoothNumerator/Denominator", opts: { smoothNumerator: 0.3, smoothDenominator: 2 } },
  { name: "smooth 0, epsilon add", opts: { smooth: 0, epsilon: 0.01, epsilonMode: "add" } },
  { name: "epsilon clamp, not taken", opts: { epsilon: 0.5 } },
  { name: "epsilon clamp, taken (constant denominator)", opts: { epsilon: 100 } },
  { name: "preset 'keras3'", opts: { preset: "keras3" } },
  { name: "preset 'keras3', empty image", opts: { preset: "keras3", perImage: true }, spec: { emptyImage: true } },
  { name: "preset 'tfkeras2'", opts: { preset: "tfkeras2" } },
  { name: "preset 'seed'", opts: { preset: "seed" } },
];

const tverskyExtra: Case[] = [
  { name: "α = 0.7, β = 0.3", opts: { alpha: 0.7, beta: 0.3 } },
  { name: "α = 0.2, β = 0.9, softLabel", opts: { alpha: 0.2, beta: 0.9, softLabel: true }, spec: { soft: true } },
];

const bceCases: Case[] = [
  { name: "defaults (mean)", opts: {} },
  { name: "sum", opts: { reduction: "sum" } },
  { name: "soft targets", opts: {}, spec: { soft: true } },
  { name: "fromLogits", opts: { fromLogits: true }, spec: { soft: true } },
  { name: "posWeight scalar", opts: { posWeight: 2.5 }, spec: { soft: true } },
  { name: "posWeight per pixel", opts: {}, spec: { posWeights: true, soft: true } },
  { name: "posWeight per pixel, fromLogits", opts: { fromLogits: true }, spec: { posWeights: true, soft: true } },
  { name: "weight", opts: {}, spec: { weights: true } },
  { name: "weight, fromLogits, sum", opts: { fromLogits: true, reduction: "sum" }, spec: { weights: true } },
  { name: "labelSmoothing", opts: { labelSmoothing: 0.1 } },
  { name: "labelSmoothing, fromLogits", opts: { labelSmoothing: 0.2, fromLogits: true } },
  { name: "ignoreIndex", opts: {}, spec: { ignore: true } },
  {
    name: "ignoreIndex, weight, posWeight, labelSmoothing",
    opts: { labelSmoothing: 0.1 },
    spec: { ignore: true, weights: true, posWeights: true },
  },
  { name: "epsilonMode 'add'", opts: { epsilonMode: "add" }, spec: { soft: true } },
  { name: "epsilon 0.01", opts: { epsilon: 0.01 }, spec: { soft: true } },
  { name: "preset 'keras3'", opts: { preset: "keras3" } },
  { name: "preset 'tfkeras2'", opts: { preset: "tfkeras2" }, spec: { soft: true } },
  { name: "preset 'seed'", opts: { preset: "seed" } },
];

const focalCases: Case[] = [
  { name: "seed defaults (sum)", opts: {} },
  { name: "seed, mean", opts: { reduction: "mean" } },
  { name: "seed, fromLogits", opts: { fromLogits: true } },
  { name: "seed, γ = 2, α = 0.6", opts: { gamma: 2, alpha: 0.6 } },
  { name: "seed, alpha null", opts: { alpha: null } },
  { name: "seed, ignoreIndex, weight", opts: {}, spec: { ignore: true, weights: true } },
  { name: "seed, some soft targets (constant placeholders there)", opts: {}, spec: { mixed: true } },
  { name: "standard", opts: { variant: "standard" } },
  { name: "standard, soft targets", opts: { variant: "standard" }, spec: { soft: true } },
  { name: "standard, fromLogits, soft", opts: { variant: "standard", fromLogits: true }, spec: { soft: true } },
  { name: "standard, γ = 0.5, sum", opts: { variant: "standard", gamma: 0.5, reduction: "sum" }, spec: { soft: true } },
  { name: "standard, alpha null", opts: { variant: "standard", alpha: null } },
  {
    name: "standard, labelSmoothing, posWeight, weight",
    opts: { variant: "standard", labelSmoothing: 0.1 },
    spec: { posWeights: true, weights: true },
  },
  { name: "standard, ignoreIndex", opts: { variant: "standard" }, spec: { ignore: true, soft: true } },
  { name: "standard, epsilonMode add", opts: { variant: "standard", epsilonMode: "add" } },
  { name: "preset 'keras3'", opts: { preset: "keras3" }, spec: { soft: true } },
  { name: "preset 'keras3', fromLogits", opts: { preset: "keras3", fromLogits: true }, spec: { soft: true } },
  { name: "preset 'tfkeras2'", opts: { preset: "tfkeras2" } },
  { name: "preset 'seed'", opts: { preset: "seed" } },
];

const combinedCases: Case[] = [
  { name: "defaults", opts: {} },
  { name: "sum", opts: { reduction: "sum" } },
  { name: "perImage false, squared", opts: { perImage: false, squared: true } },
  { name: "softLabel, soft targets", opts: { softLabel: true }, spec: { soft: true } },
  { name: "fromLogits", opts: { fromLogits: true } },
  { name: "ignoreIndex, weight, posWeight", opts: {}, spec: { ignore: true, weights: true, posWeights: true } },
  { name: "labelSmoothing", opts: { labelSmoothing: 0.1 } },
  { name: "emptyTarget 'skip'", opts: { emptyTarget: "skip" }, spec: { emptyImage: true } },
  { name: "emptyTarget 'max'", opts: { emptyTarget: "max" }, spec: { emptyImage: true } },
  { name: "standard focal, γ 2", opts: { variant: "standard", gamma: 2 } },
  { name: "preset 'keras3'", opts: { preset: "keras3" } },
  { name: "preset 'tfkeras2'", opts: { preset: "tfkeras2" } },
  { name: "preset 'seed'", opts: { preset: "seed" } },
];

const suites: { name: string; fn: LossFn; cases: Case[] }[] = [
  { name: "bce", fn: bce, cases: bceCases },
  { name: "focal", fn: focal, cases: focalCases },
  { name: "dice", fn: dice, cases: regionCases },
  { name: "diceCoefficient", fn: diceCoefficient, cases: regionCases },
  { name: "jaccard", fn: jaccard, cases: regionCases },
  { name: "tversky", fn: tversky, cases: [...regionCases, ...tverskyExtra] },
  {
    name: "focalTversky",
    fn: focalTversky,
    cases: [
      ...regionCases,
      ...tverskyExtra,
      { name: "γ = 2", opts: { gamma: 2 } },
      { name: "γ = 1.5, perImage false", opts: { gamma: 1.5, perImage: false } },
    ],
  },
  { name: "bceDice", fn: bceDice, cases: combinedCases },
  { name: "bceLogDice", fn: bceLogDice, cases: combinedCases },
  { name: "focalDice", fn: focalDice, cases: [...combinedCases, { name: "focalWeight 3", opts: { focalWeight: 3 } }] },
];

describe("analytic gradients = central finite differences (h = 1e-6, rel. tol 1e-5)", () => {
  for (const suite of suites) {
    describe(suite.name, () => {
      suite.cases.forEach((c, k) => {
        it(c.name, () => {
          checkGradient(suite.fn, makeData(1000 + 17 * k + suite.name.length, c.opts, c.spec ?? {}));
        });
      });
    });
  }
});
