// The core test vectors run in Node and in the browser (main thread, Worker,
// slim bundle, both builds): seeded inputs, one call per public function, the
// results as plain numbers so the two sides compare exactly.
// Plain JavaScript so the pages load it unbundled; `create` is passed in.

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hard targets with blobs and a prediction near them; exact 0s and 1s included; odd sizes (SIMD tails). */
function hardCase(seed, n, h, w) {
  const r = rng(seed);
  const t = new Float32Array(n * h * w);
  const p = new Float32Array(n * h * w);
  for (let k = 0; k < n; k++) {
    const cx = w * (0.3 + 0.4 * r());
    const cy = h * (0.3 + 0.4 * r());
    const rad = Math.min(h, w) * (0.15 + 0.2 * r());
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        const inside = Math.hypot(x - cx, y - cy) < rad;
        t[i] = inside ? 1 : 0;
        const u = r();
        p[i] = u < 0.03 ? 0 : u > 0.97 ? 1 : Math.min(1, Math.max(0, (inside ? 0.7 : 0.25) + (r() - 0.5) * 0.6));
      }
    }
  }
  return { t, p, shape: [n, h, w] };
}

function softCase(seed, n, h, w) {
  const r = rng(seed);
  const t = new Float32Array(n * h * w);
  const p = new Float32Array(n * h * w);
  for (let i = 0; i < t.length; i++) {
    t[i] = r();
    p[i] = Math.min(1, Math.max(0, t[i] + (r() - 0.5) * 0.5));
  }
  return { t, p, shape: [n, h, w] };
}

function logitsOf(p) {
  return p.map((v) => {
    const q = Math.min(1 - 1e-4, Math.max(1e-4, v));
    return Math.log(q / (1 - q));
  });
}

const nums = (v) => (typeof v === "number" ? [v] : Array.from(v));

/** Runs every vector on one instance; returns [name, numbers | "error CODE"] pairs. */
export function runVectors(seg) {
  const out = [];
  const put = (name, fn) => {
    try {
      out.push([name, fn()]);
    } catch (e) {
      out.push([name, `error ${e?.code ?? String(e)}`]);
    }
  };
  const cases = { hard: hardCase(1, 2, 23, 29), hardBig: hardCase(2, 1, 64, 61), soft: softCase(3, 2, 17, 19) };
  for (const [name, { t, p, shape }] of Object.entries(cases)) {
    const o = { shape };
    const x = logitsOf(p);
    for (const fn of [
      "bce",
      "focal",
      "dice",
      "jaccard",
      "tversky",
      "focalTversky",
      "bceDice",
      "bceLogDice",
      "focalDice",
      "diceCoefficient",
    ]) {
      put(`${name} ${fn}`, () => nums(seg[fn](t, p, o)));
    }
    for (const fn of ["bce", "focal", "dice", "jaccard"])
      put(`${name} ${fn} none`, () => nums(seg[fn](t, p, { shape, reduction: "none" })));
    put(`${name} bce logits`, () => nums(seg.bce(t, x, { shape, fromLogits: true })));
    put(`${name} focal standard`, () => nums(seg.focal(t, p, { shape, variant: "standard" })));
    put(`${name} dice keras3`, () => nums(seg.dice(t, p, { shape, preset: "keras3" })));
    put(`${name} dice batch squared`, () => nums(seg.dice(t, p, { shape, perImage: false, squared: true })));
    put(`${name} tversky 0.3/0.7`, () => nums(seg.tversky(t, p, { shape, alpha: 0.3, beta: 0.7 })));
    for (const fn of [
      "bceGrad",
      "focalGrad",
      "diceGrad",
      "jaccardGrad",
      "tverskyGrad",
      "focalTverskyGrad",
      "bceDiceGrad",
      "focalDiceGrad",
    ]) {
      put(`${name} ${fn}`, () => {
        const r = seg[fn](t, p, o);
        return [r.loss, ...r.grad];
      });
    }
    for (const k of [5, 50]) put(`${name} boundaryWeights k=${k}`, () => nums(seg.boundaryWeights(t, { shape, kernel: k }).data));
    put(`${name} weightedBceDice`, () => nums(seg.weightedBceDice(t, p, o)));
    put(`${name} weightedBceDiceGrad`, () => {
      const r = seg.weightedBceDiceGrad(t, p, o);
      return [r.loss, ...r.grad];
    });
    put(`${name} meanIoU`, () => nums(seg.meanIoU(t, p, o)));
    put(`${name} meanIoU perImage`, () => nums(seg.meanIoU(t, p, { shape, perImage: true })));
    put(`${name} meanIoUDetails`, () => {
      const d = seg.meanIoUDetails(t, p, o);
      return [d.score, ...d.perThreshold, ...d.tp, ...d.fp, ...d.fn];
    });
    put(`${name} pred out of range`, () =>
      nums(
        seg.dice(
          t,
          p.map((v) => v * 2 - 0.5),
          o,
        ),
      ),
    );
    if (name === "soft") continue;
    put(`${name} lovaszHinge`, () => nums(seg.lovaszHinge(t, x, o)));
    put(`${name} lovaszHingeGrad`, () => {
      const r = seg.lovaszHingeGrad(t, x, o);
      return [r.loss, ...r.grad];
    });
    put(`${name} lovaszGrad`, () => nums(seg.lovaszGrad(t.slice(0, 200).sort().reverse())));
    put(`${name} objectMetrics`, () => {
      const m = seg.objectMetrics(t, p, o);
      return [m.score, ...m.tp, ...m.fp, ...m.fn, ...m.perImage];
    });
    put(`${name} confusionMatrix`, () => {
      const cm = seg.confusionMatrix(t, p, o);
      return [...cm.counts, ...cm.iou(), cm.accuracy()];
    });
    put(`${name} confusionMatrix argmax of 3 scores`, () => {
      const [n, h, w] = shape;
      const r = rng(7);
      const scores = Float32Array.from({ length: n * 3 * h * w }, () => r());
      const cm = seg.confusionMatrix({ data: t, shape }, { data: scores, shape: [n, 3, h, w] }, { numClasses: 3 });
      return [...cm.counts, cm.meanIoU(), cm.frequencyWeightedIoU()];
    });
    put(`${name} lovaszHinge batch`, () => nums(seg.lovaszHinge(t, x, { shape, perImage: false })));
    put(`${name} meanIoU keras3`, () => nums(seg.meanIoU(t, p, { shape, preset: "keras3" })));
  }
  return out;
}
