#!/usr/bin/env node
// segloss confusionMatrix benchmark: uint8 label maps (4×512×512, prediction
// a label map; also with an ignored label) and class scores (4×21×256×256 NCHW and NHWC, argmax), by
// segloss (copy-in and in wasm memory, SIMD and scalar builds) and by a
// one-pass plain-JS loop; medians, pixels/s and ratios to plain JS.
//
//   node bench/confusion.mjs [--quick] [--segloss MODULE]

import { mulberry32 as rng } from "./data.mjs";
import { entryArgs, envLine, fail, fmt3, fmtMs, loadSegloss, machine, measure, table, timeBudget } from "./lib.mjs";

const args = entryArgs("confusion.mjs");
const m = timeBudget(args.quick);

function labelMap(n, C, seed) {
  const r = rng(seed);
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * C);
  return a;
}

function scoreMap(n, seed) {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
}

/** Plain JS, one pass: the reference row. */
function plainLabels(t, p, C, ignore = -1) {
  const m = new Float64Array(C * C);
  for (let i = 0; i < t.length; i++) if (t[i] !== ignore) m[t[i] * C + p[i]]++;
  return m;
}

function plainArgmax(t, p, N, C, L, nhwc) {
  const m = new Float64Array(C * C);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < L; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let c = 0; c < C; c++) {
        const v = nhwc ? p[(n * L + i) * C + c] : p[(n * C + c) * L + i];
        if (v > best) {
          best = v;
          bi = c;
        }
      }
      m[t[n * L + i] * C + bi]++;
    }
  }
  return m;
}

const { mod: seglossModule, note } = await loadSegloss(args.segloss);
if (!seglossModule) fail(note);
const simd = await seglossModule.create({ memoryBytes: 256 * 1024 * 1024 });
const scalar = await seglossModule.create({ simd: false, memoryBytes: 256 * 1024 * 1024 });

const workloads = [];
{
  const [N, H, W, C] = [4, 512, 512, 21];
  const n = N * H * W;
  const t = labelMap(n, C, 1);
  const p = labelMap(n, C, 2);
  const shape = [N, H, W];
  workloads.push({
    name: `label maps uint8 ${N}×${H}×${W}, C=${C}`,
    pixels: n,
    plain: () => plainLabels(t, p, C),
    copy: (seg) => seg.confusionMatrix({ data: t, shape }, { data: p, shape }, { numClasses: C }),
    resident: (seg) => {
      // u8 label maps in wasm memory are read in place
      const tv = seg.alloc(Uint8Array, n);
      const pv = seg.alloc(Uint8Array, n);
      tv.set(t);
      pv.set(p);
      return {
        run: () => seg.confusionMatrix({ data: tv, shape }, { data: pv, shape }, { numClasses: C }),
        free: () => {
          seg.free(tv);
          seg.free(pv);
        },
      };
    },
  });
}
{
  // Cityscapes-like: 19 classes, label 255 ignored (about 5% of the target pixels)
  const [N, H, W, C] = [4, 512, 512, 19];
  const n = N * H * W;
  const t = labelMap(n, C, 5);
  const r = rng(6);
  for (let i = 0; i < n; i++) if (r() < 0.05) t[i] = 255;
  const p = labelMap(n, C, 7);
  const shape = [N, H, W];
  const o = { numClasses: C, ignoreIndex: 255 };
  workloads.push({
    name: `label maps uint8 ${N}×${H}×${W}, C=${C}, ignoreIndex 255`,
    pixels: n,
    plain: () => plainLabels(t, p, C, 255),
    copy: (seg) => seg.confusionMatrix({ data: t, shape }, { data: p, shape }, o),
    resident: (seg) => {
      const tv = seg.alloc(Uint8Array, n);
      const pv = seg.alloc(Uint8Array, n);
      tv.set(t);
      pv.set(p);
      return {
        run: () => seg.confusionMatrix({ data: tv, shape }, { data: pv, shape }, o),
        free: () => {
          seg.free(tv);
          seg.free(pv);
        },
      };
    },
  });
}
for (const layout of ["NCHW", "NHWC"]) {
  const [N, C, H, W] = [4, 21, 256, 256];
  const L = H * W;
  const t = labelMap(N * L, C, 3);
  const p = scoreMap(N * C * L, 4);
  const pshape = layout === "NCHW" ? [N, C, H, W] : [N, H, W, C];
  workloads.push({
    name: `probabilities ${pshape.join("×")} ${layout}, argmax`,
    pixels: N * L,
    plain: () => plainArgmax(t, p, N, C, L, layout === "NHWC"),
    copy: (seg) => seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: p, shape: pshape }, { layout }),
    resident: (seg) => {
      const pv = seg.alloc(Float32Array, p.length);
      pv.set(p);
      return {
        run: () => seg.confusionMatrix({ data: t, shape: [N, H, W] }, { data: pv, shape: pshape }, { layout }),
        free: () => seg.free(pv),
      };
    },
  });
}

const rows = [];
for (const w of workloads) {
  const base = measure(w.plain, m);
  const line = (label, r) => [
    w.name,
    label,
    fmtMs(r.medianMs),
    fmt3(w.pixels / (r.medianMs / 1000) / 1e6),
    fmt3(base.medianMs / r.medianMs),
  ];
  rows.push(line("plain JS (one pass)", base));
  rows.push(
    line(
      "**segloss SIMD (copy-in)**",
      measure(() => w.copy(simd), m),
    ),
  );
  for (const [label, seg] of [
    ["**segloss SIMD (in wasm memory)**", simd],
    ["segloss scalar build (in wasm memory)", scalar],
  ]) {
    if (!w.resident) continue;
    const r = w.resident(seg);
    try {
      rows.push(line(label, measure(r.run, m)));
    } finally {
      r.free();
    }
  }
}
console.log(envLine(machine("unknown CPU"), { load: "1" }));
console.log(table(["workload", "row", "median ms", "Mpixel/s", "× plain JS"], rows));
