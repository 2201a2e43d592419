// `segloss eval` / `segloss merge` end to end: the built CLI (dist/cli.js) in a
// subprocess on files written to a temporary folder; its numbers are checked
// against the library (the same build, dist/index.js) called directly on the
// same arrays.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Segloss } from "../src/index";
import {
  CLI,
  classScores,
  cli,
  cliJson,
  discs,
  labelMap,
  levels,
  type Report,
  ROOT,
  toHwc,
  writeBytes,
  writeNpy,
  writePng,
} from "./cli/fixtures";

const H = 24;
const W = 32;
const N = 5;
const BINARY_LOSSES = [
  "bce",
  "dice",
  "diceCoefficient",
  "jaccard",
  "tversky",
  "focalTversky",
  "focal",
  "bceDice",
  "bceLogDice",
  "focalDice",
  "weightedBceDice",
] as const;

let seg: Segloss;
let tmp: string;
const dir = (...parts: string[]) => join(tmp, ...parts);

beforeAll(async () => {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run npm run build (npm test does)");
  if (!existsSync(CLI)) execFileSync("npx", ["rollup", "-c", "rollup.cli.config.mjs"], { cwd: ROOT, stdio: "ignore" });
  // the library as built: the CLI runs on dist/index.js
  const lib: typeof import("../src/index") = await import(join(ROOT, "dist/index.js"));
  seg = await lib.create();
  tmp = mkdtempSync(join(tmpdir(), "segloss-cli-"));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A small RGB PNG (masks must be grey or palette images). */
function encodeRgb(width: number, height: number): Uint8Array {
  return encode({ width, height, data: new Uint8Array(width * height * 3), depth: 8, channels: 3 });
}

/** The per-image values of a report, by image name. */
const byName = (report: Report) => Object.fromEntries(report.images.map((i: Report) => [i.name, i.values]));

/** Concatenates N images into one batch. */
function batch<T extends Uint8Array | Float32Array>(list: T[], Ctor: new (n: number) => T): T {
  const out = new Ctor(list.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const a of list) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function expectClose(actual: number, expected: number, rel = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

describe("binary masks and probability maps", () => {
  const masks: Uint8Array[] = [];
  const probs: Float32Array[] = [];
  beforeAll(() => {
    for (let k = 0; k < N; k++) {
      const m = discs(10 + k, H, W, k === 3 ? 0 : 3); // image 3: empty target
      const g = levels(20 + k, m, 255) as Uint8Array;
      // a subfolder: stems are paths under the folder
      const name = k === 4 ? "sub/img-4" : `img-${k}`;
      writePng(
        dir("png8", "target", `${name}.png`),
        W,
        H,
        m.map((v) => v * 255),
      );
      writePng(dir("png8", "pred", `${name}.png`), W, H, g);
      masks.push(m);
      probs.push(Float32Array.from(g, (v) => v / 255));
    }
  });

  it("8-bit PNG: every per-image value equals the library's, means and dataset scores too", () => {
    const { run, report } = cliJson(["eval", "-t", dir("png8", "target"), "-p", dir("png8", "pred"), "--per-image"]);
    expect(run.code, run.stderr).toBe(0);
    expect(report.pairs).toEqual({ total: N, evaluated: N, failed: 0 });
    const values = byName(report);
    const names = ["img-0", "img-1", "img-2", "img-3", "sub/img-4"];
    expect(Object.keys(values)).toEqual(names);
    const shape = [1, H, W];
    names.forEach((name, k) => {
      const [t, p] = [masks[k], probs[k]];
      for (const loss of BINARY_LOSSES) expect(values[name][loss], `${name} ${loss}`).toBe(seg[loss](t, p, { shape }));
      const x = Float32Array.from(p, (v) => {
        const q = Math.min(Math.max(v, 1e-7), 1 - 1e-7);
        return Math.log(q / (1 - q));
      });
      expect(values[name].lovasz).toBe(seg.lovaszHinge(t, x, { shape }));
      expect(values[name].meanIoU).toBe(seg.meanIoU(t, p, { shape }));
      expect(values[name].objectMetrics).toBe(seg.objectMetrics(t, p, { shape }).score);
      const iou = seg.confusionMatrix(t, p, { shape }).iou()[1];
      expect(values[name].iou).toBe(Number.isNaN(iou) ? null : iou);
    });
    for (const loss of BINARY_LOSSES) {
      const mean = masks.reduce((a, t, k) => a + (seg[loss](t, probs[k], { shape }) as number), 0) / N;
      expectClose(report.summary[loss].mean, mean);
    }
    // dataset scores = the library on the whole set as one batch
    const T = batch(masks, Uint8Array);
    const P = batch(probs, Float32Array);
    const all = { shape: [N, H, W] };
    const cm = seg.confusionMatrix(T, P, all);
    expect(report.summary.iou.iou).toEqual([...cm.iou()]);
    expect(report.summary.iou.dice).toEqual([...cm.dice()]);
    expect(report.summary.iou.meanIoU).toBe(cm.meanIoU());
    expect(report.summary.iou.accuracy).toBe(cm.accuracy());
    expectClose(report.summary.meanIoU.batch, seg.meanIoU(T, P, all) as number);
    const om = seg.objectMetrics(T, P, all);
    expect(report.summary.objectMetrics.tp).toEqual([...om.tp]);
    expect(report.summary.objectMetrics.fp).toEqual([...om.fp]);
    expect(report.summary.objectMetrics.fn).toEqual([...om.fn]);
    expect(report.summary.objectMetrics.f1).toEqual([...om.f1]);
    expectClose(report.summary.objectMetrics.mean, om.score);
  });

  it("16-bit PNG masks (0/65535) and probability maps (value / 65535)", () => {
    const m = discs(31, H, W);
    const g = levels(32, m, 65535) as Uint16Array;
    writePng(
      dir("png16", "target", "a.png"),
      W,
      H,
      Uint16Array.from(m, (v) => v * 65535),
    );
    writePng(dir("png16", "pred", "a.png"), W, H, g);
    const { run, report } = cliJson([
      "eval",
      "-t",
      dir("png16", "target"),
      "-p",
      dir("png16", "pred"),
      "--per-image",
      "-m",
      "dice,bce,iou",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const p = Float32Array.from(g, (v) => v / 65535);
    expect(report.images[0].values.dice).toBe(seg.dice(m, p, { shape: [1, H, W] }));
    expect(report.images[0].values.bce).toBe(seg.bce(m, p, { shape: [1, H, W] }));
    expect(report.settings.metrics).toEqual(["iou", "bce", "dice"]);
  });

  it(".npy: uint8 / int32 targets, float32 / float64 predictions, [H,W] and [1,H,W]; logits with --from-logits", () => {
    const m = discs(41, H, W);
    const p = probs[0].map((_, i) => 0.2 + 0.6 * m[i]);
    const x = Float32Array.from(p, (v) => Math.log(v / (1 - v)));
    writeNpy(dir("npy", "target", "a.npy"), m, [H, W]);
    writeNpy(dir("npy", "pred", "a.npy"), p, [H, W]);
    writeNpy(dir("npy", "target", "b.npy"), Int32Array.from(m), [1, H, W]);
    writeNpy(dir("npy", "pred", "b.npy"), Float64Array.from(p), [H, W, 1]);
    const { run, report } = cliJson(["eval", "-t", dir("npy", "target"), "-p", dir("npy", "pred"), "--per-image"]);
    expect(run.code, run.stderr).toBe(0);
    const shape = [1, H, W];
    for (const img of report.images) {
      expect(img.values.dice).toBe(seg.dice(m, p, { shape }));
      expect(img.values.focal).toBe(seg.focal(m, p, { shape }));
    }
    writeNpy(dir("logits", "target", "a.npy"), m, [H, W]);
    writeNpy(dir("logits", "pred", "a.npy"), x, [H, W]);
    const lg = cliJson(["eval", "-t", dir("logits", "target"), "-p", dir("logits", "pred"), "--per-image", "--from-logits"]);
    expect(lg.run.code, lg.run.stderr).toBe(0);
    const v = lg.report.images[0].values;
    expect(v.bce).toBe(seg.bce(m, x, { shape, fromLogits: true }));
    expect(v.lovasz).toBe(seg.lovaszHinge(m, x, { shape }));
    expect(v.iou).toBe(seg.confusionMatrix(m, x, { shape, threshold: 0 }).iou()[1]);
  });

  it("--ignore-index: ignored pixels are left out, metrics that cannot ignore are left out of the default set", () => {
    const m = discs(51, H, W);
    const t = m.map((v, i) => (i % 7 === 0 ? 255 : v));
    const g = levels(52, m, 255) as Uint8Array;
    writePng(dir("ign", "target", "a.png"), W, H, t);
    writePng(dir("ign", "pred", "a.png"), W, H, g);
    const { run, report } = cliJson(["eval", "-t", dir("ign", "target"), "-p", dir("ign", "pred"), "--per-image", "--ignore-index", "255"]);
    expect(run.code, run.stderr).toBe(0);
    expect(report.settings.metrics).not.toContain("objectMetrics");
    expect(report.settings.metrics).not.toContain("weightedBceDice");
    const p = Float32Array.from(g, (v) => v / 255);
    expect(report.images[0].values.dice).toBe(seg.dice(t, p, { shape: [1, H, W], ignoreIndex: 255 }));
    const bad = cli(["eval", "-t", dir("ign", "target"), "-p", dir("ign", "pred"), "--ignore-index", "255", "-m", "objectMetrics"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/objectMetrics does not take --ignore-index/);
  });

  it("1-bit grey masks, and grey predictions holding only 0/1, are label maps", () => {
    const m = discs(55, H, W);
    const packed = new Uint8Array((W / 8) * H);
    for (let i = 0; i < m.length; i++) if (m[i]) packed[i >> 3] |= 0x80 >> (i & 7);
    writeBytes(dir("bits", "target", "a.png"), encode({ width: W, height: H, data: packed, depth: 1, channels: 1 }));
    const hard = discs(56, H, W);
    writePng(dir("bits", "pred", "a.png"), W, H, hard);
    const { run, report } = cliJson(["eval", "-t", dir("bits", "target"), "-p", dir("bits", "pred"), "--per-image", "-m", "dice"]);
    expect(run.code, run.stderr).toBe(0);
    expect(report.images[0].values.dice).toBe(seg.dice(m, Float32Array.from(hard), { shape: [1, H, W] }));
  });

  it("--workers 2 gives the same report as --workers 1, byte for byte", () => {
    const args = ["eval", "-t", dir("png8", "target"), "-p", dir("png8", "pred"), "--per-image", "--format", "json"];
    const one = cli([...args, "--workers", "1"]);
    const two = cli([...args, "--workers", "2"]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    // stderr is not a terminal here: no progress bar, and nothing else to say
    expect(two.stderr).toBe("");
  });

  it("--shard i/n + merge gives the single run's report exactly; CSV carries the same numbers", () => {
    const args = ["eval", "-t", dir("png8", "target"), "-p", dir("png8", "pred"), "--per-image"];
    const single = cli([...args, "--format", "json"]);
    const parts = [1, 2, 3].map((i) => {
      const out = dir(`shard-${i}.json`);
      const r = cli([...args, "--shard", `${i}/3`, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      return out;
    });
    const shard2 = JSON.parse(readFileSync(parts[1], "utf8"));
    expect(shard2.images.map((i: Report) => i.name)).toEqual(["img-1", "sub/img-4"]);
    const merged = cli(["merge", ...parts, "--format", "json"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toBe(single.stdout);
    // a shard twice is refused
    const twice = cli(["merge", parts[0], parts[0]]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/shard 1\/3 is in more than one input/);

    const csv = cli([...args, "--format", "csv"])
      .stdout.trim()
      .split("\n");
    const report = JSON.parse(single.stdout);
    expect(csv[0]).toBe("scope,name,metric,key,value");
    expect(csv).toContain(`dataset,,dice,,${report.summary.dice.mean}`);
    expect(csv).toContain(`image,img-2,bce,,${report.images[2].values.bce}`);
    expect(csv).toContain(`dataset,,iou.iou,1,${report.summary.iou.iou[1]}`);
  });

  it("--out writes the report atomically (no temporary file left); the table names every metric", () => {
    const out = dir("out", "report.txt");
    execFileSync("mkdir", ["-p", dir("out")]);
    const r = cli(["eval", "-t", dir("png8", "target"), "-p", dir("png8", "pred"), "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(readdirSync(dir("out"))).toEqual(["report.txt"]);
    const text = readFileSync(out, "utf8");
    for (const m of ["iou", ...BINARY_LOSSES, "lovasz", "meanIoU", "objectMetrics"]) expect(text).toMatch(new RegExp(`^${m} `, "m"));
    expect(text).toMatch(/per class/);
  });
});

describe("multi-class label maps", () => {
  const C = 4;
  const targets: Uint8Array[] = [];
  const scores: Float32Array[] = [];
  const predLabels: Uint8Array[] = [];
  const PALETTE = [
    [0, 0, 0],
    [128, 0, 0],
    [0, 128, 0],
    [128, 128, 0],
  ];
  beforeAll(() => {
    for (let k = 0; k < 3; k++) {
      const t = labelMap(60 + k, H, W, C);
      const s = classScores(70 + k, t, C);
      const l = labelMap(60 + k, H, W, C, 0.2);
      writePng(dir("pal", "target", `m${k}.png`), W, H, t, { palette: PALETTE });
      writePng(dir("pal", "pred", `m${k}.png`), W, H, l, { palette: PALETTE });
      writePng(dir("mcnpy", "target", `m${k}.png`), W, H, t);
      writeNpy(dir("mcnpy", "pred", `m${k}.npy`), s, [C, H, W]);
      writeNpy(dir("hwc", "pred", `m${k}.npy`), toHwc(s, C), [H, W, C]);
      writePng(dir("hwc", "target", `m${k}.png`), W, H, t);
      targets.push(t);
      scores.push(s);
      predLabels.push(l);
    }
  });

  it("palette PNG targets and palette label-map predictions: per-class IoU/Dice from one confusion matrix", () => {
    const { run, report } = cliJson(["eval", "-t", dir("pal", "target"), "-p", dir("pal", "pred"), "--classes", "4", "--per-image"]);
    expect(run.code, run.stderr).toBe(0);
    const T = batch(targets, Uint8Array);
    const L = batch(predLabels, Uint8Array);
    const cm = seg.confusionMatrix({ data: T, shape: [3, H, W] }, { data: L, shape: [3, H, W] }, { numClasses: C });
    expect(report.summary.iou.iou).toEqual([...cm.iou()]);
    expect(report.summary.iou.dice).toEqual([...cm.dice()]);
    expect(report.summary.iou.frequencyWeightedIoU).toBe(cm.frequencyWeightedIoU());
    expect(report.images[0].values.iou).toBe(
      seg.confusionMatrix({ data: targets[0], shape: [1, H, W] }, { data: predLabels[0], shape: [1, H, W] }, { numClasses: C }).meanIoU(),
    );
  });

  it(".npy class scores [C,H,W] and [H,W,C] (--layout hwc) are argmaxed into the same confusion matrix", () => {
    const chw = cliJson(["eval", "-t", dir("mcnpy", "target"), "-p", dir("mcnpy", "pred"), "--classes", "4"]);
    const hwc = cliJson(["eval", "-t", dir("hwc", "target"), "-p", dir("hwc", "pred"), "--classes", "4", "--layout", "hwc"]);
    expect(chw.run.code, chw.run.stderr).toBe(0);
    expect(hwc.run.code, hwc.run.stderr).toBe(0);
    const cm = seg.confusionMatrix(
      { data: batch(targets, Uint8Array), shape: [3, H, W] },
      { data: batch(scores, Float32Array), shape: [3, C, H, W] },
    );
    expect(chw.report.state.metrics.iou.counts.confusion).toEqual([...cm.counts]);
    expect(hwc.report.summary).toEqual(chw.report.summary);
  });
  it("VOC style: palette index 255 with --ignore-index 255 is left out; --preset reaches the library", () => {
    const t = targets[0].map((v, i) => (i % 5 === 0 ? 255 : v));
    writePng(dir("voc", "target", "a.png"), W, H, t, { palette: [...PALETTE, ...Array.from({ length: 252 }, () => [224, 224, 192])] });
    writeNpy(dir("voc", "pred", "a.npy"), scores[0], [C, H, W]);
    const args = ["eval", "-t", dir("voc", "target"), "-p", dir("voc", "pred"), "--classes", "4", "--ignore-index", "255", "--per-image"];
    const { run, report } = cliJson([...args, "--preset", "monai"]);
    expect(run.code, run.stderr).toBe(0);
    const lib = seg as unknown as Record<string, (t: unknown, p: unknown, o: unknown) => number>;
    const T = { data: t, shape: [1, H, W] };
    const P = { data: scores[0], shape: [1, C, H, W] };
    const cm = seg.confusionMatrix(T, P, { ignoreIndex: 255 });
    expect(report.state.metrics.iou.counts.confusion).toEqual([...cm.counts]);
    expect(report.images[0].values.dice).toBe(lib.dice(T, P, { mode: "multiclass", ignoreIndex: 255, preset: "monai" }));
    expect(report.images[0].values.crossEntropy).toBe(lib.crossEntropy(T, P, { ignoreIndex: 255, preset: "monai" }));
    // without --ignore-index, 255 is a label out of range
    const bad = cli(args.filter((a) => a !== "--ignore-index" && a !== "255"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/a\.png: target label 255 out of range .*expected labels in \[0, 4\)/);
  });

  it("multi-class losses on class scores equal the library's, per image", () => {
    const { run, report } = cliJson(["eval", "-t", dir("mcnpy", "target"), "-p", dir("mcnpy", "pred"), "--classes", "4", "--per-image"]);
    expect(run.code, run.stderr).toBe(0);
    const lib = seg as unknown as Record<string, (t: unknown, p: unknown, o: unknown) => number>;
    expect(report.settings.metrics).toEqual(expect.arrayContaining(["iou", "crossEntropy", "dice", "generalizedDice", "focal", "lovasz"]));
    report.images.forEach((img: Report, k: number) => {
      const t = { data: targets[k], shape: [1, H, W] };
      const p = { data: scores[k], shape: [1, C, H, W] };
      expect(img.values.crossEntropy).toBe(lib.crossEntropy(t, p, { layout: "NCHW" }));
      expect(img.values.generalizedDice).toBe(lib.generalizedDice(t, p, { layout: "NCHW" }));
      expect(img.values.lovasz).toBe(lib.lovaszSoftmax(t, p, { layout: "NCHW" }));
      for (const name of ["dice", "diceCoefficient", "jaccard", "tversky", "focalTversky", "focal"]) {
        expect(img.values[name], name).toBe(lib[name](t, p, { mode: "multiclass", layout: "NCHW" }));
      }
    });
    // with label-map predictions the losses have no value; the table says so
    const table = cli(["eval", "-t", dir("pal", "target"), "-p", dir("pal", "pred"), "--classes", "4"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/not computed \(they need class scores, the predictions are label maps\): crossEntropy, dice/);
  });
});

describe("errors name the file and set the exit code", () => {
  beforeAll(() => {
    const m = discs(80, H, W);
    const g = levels(81, m, 255) as Uint8Array;
    for (const name of ["ok-1", "ok-2", "corrupt", "small", "labels"]) {
      writePng(
        dir("bad", "target", `${name}.png`),
        W,
        H,
        m.map((v) => v * 255),
      );
      if (name !== "small") writePng(dir("bad", "pred", `${name}.png`), W, H, g);
    }
    writeFileSync(dir("bad", "pred", "corrupt.png"), Buffer.from("\x89PNG\r\n\x1a\n this is not a png"));
    writePng(dir("bad", "pred", "small.png"), W - 1, H, g.subarray(0, (W - 1) * H));
    writePng(
      dir("bad", "target", "labels.png"),
      W,
      H,
      m.map((v, i) => (i === 5 ? 3 : v * 255)),
    );
    writePng(dir("bad", "pred", "unmatched-pred.png"), W, H, g);
  });

  it("bad pairs are reported (exit 1), the good ones still evaluated", () => {
    const { run, report } = cliJson(["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred")]);
    expect(run.code).toBe(1);
    expect(report.pairs).toEqual({ total: 5, evaluated: 2, failed: 3 });
    const messages = report.errors.map((e: Report) => e.message);
    expect(messages[0]).toMatch(/pred[/\\]corrupt\.png: not a readable PNG/);
    expect(messages[1]).toMatch(/target[/\\]labels\.png: target label 3 out of range at pixel \(x 5, y 0\): expected 0\/1 or 0\/255/);
    expect(messages[2]).toMatch(/pred[/\\]small\.png: size 31×24 does not match the target .*small\.png \(32×24\)/);
    expect(run.stderr).toMatch(/corrupt\.png: not a readable PNG/);
    expect(report.unmatched.pred).toEqual([dir("bad", "pred", "unmatched-pred.png")]);
  });

  it("--strict stops at the first failure", () => {
    const r = cliJson(["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--strict", "--workers", "1"]);
    expect(r.run.code).toBe(1);
    expect(r.report.pairs.failed).toBe(1);
    expect(r.report.pairs.evaluated).toBe(0); // "corrupt" sorts first
  });

  it("multi-class labels out of [0, C) name the file", () => {
    const t = labelMap(90, H, W, 4).map((v, i) => (i === W + 2 ? 7 : v));
    writePng(dir("mcbad", "target", "a.png"), W, H, t);
    writePng(dir("mcbad", "pred", "a.png"), W, H, labelMap(90, H, W, 4));
    const r = cli(["eval", "-t", dir("mcbad", "target"), "-p", dir("mcbad", "pred"), "--classes", "4"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a\.png: target label 7 out of range at pixel \(x 2, y 1\): expected labels in \[0, 4\)/);
  });

  it("probabilities out of [0, 1] in a .npy prediction name the file", () => {
    writeNpy(dir("range", "target", "a.npy"), discs(91, H, W), [H, W]);
    writeNpy(dir("range", "pred", "a.npy"), new Float32Array(H * W).fill(1.5), [H, W]);
    const r = cli(["eval", "-t", dir("range", "target"), "-p", dir("range", "pred"), "-m", "dice"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pred[/\\]a\.npy: pred: expected probabilities in \[0, 1\]/);
  });

  it("RGB PNGs and unreadable .npy files fail with the reason", () => {
    const m = discs(92, H, W);
    writePng(dir("fmt", "target", "rgb.png"), W, H, m);
    const rgb = encodeRgb(W, H);
    writeBytes(dir("fmt", "pred", "rgb.png"), rgb);
    writePng(dir("fmt", "target", "npy.png"), W, H, m);
    writeFileSync(dir("fmt", "pred", "npy.npy"), Buffer.from("\x93NUMPY\x01\x00garbage", "latin1"));
    const { run, report } = cliJson(["eval", "-t", dir("fmt", "target"), "-p", dir("fmt", "pred")]);
    expect(run.code).toBe(1);
    const messages = report.errors.map((e: Report) => e.message).join("\n");
    expect(messages).toMatch(/npy\.npy: not a readable \.npy file/);
    expect(messages).toMatch(/rgb\.png: expected a single-channel PNG \(grey or palette\), got RGB/);
  });

  it("merge refuses reports that are not shards of one run", () => {
    const whole = dir("whole.json");
    expect(cli(["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--out", whole]).code).toBe(1);
    const r = cli(["merge", whole]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/whole\.json: not a shard report/);
  });

  it("usage errors exit 2 and write nothing to --out", () => {
    const out = dir("never.json");
    const cases: [string[], RegExp][] = [
      [["eval", "-t", dir("nope"), "-p", dir("bad", "pred"), "--out", out], /--target .*nope: no such folder/],
      [
        ["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "-m", "dice,fancy", "--out", out],
        /unknown metric "fancy" \(available: iou, bce/,
      ],
      [["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--threshold", "2"], /--threshold: expected a number in \(0, 1\)/],
      [["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--shard", "4/3"], /--shard: expected i\/n/],
      [["eval", "-t", dir("bad", "target")], /give both --target and --pred/],
      [["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--memory", "0"], /--memory: expected MiB/],
      [["eval", "-t", dir("bad", "target"), "-p", dir("bad", "pred"), "--classes", "4", "-m", "bce"], /bce has no multi-class form/],
      [["eval", "--bogus"], /unknown option '--bogus'/],
      [["merge", dir("nope.json")], /nope\.json: cannot read a JSON report/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe("no folders: the bundled samples", () => {
  it("prints a report of every sample set and exits 0", () => {
    const r = cli(["eval"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^segloss eval: \d+ pairs/gm)?.length).toBe(5);
    expect(r.stdout).toMatch(/4 classes/);
    expect(r.stdout).not.toMatch(/failed pairs/);
  });

  it("--help lists the options and examples", () => {
    const r = cli(["eval", "--help"]);
    expect(r.code).toBe(0);
    for (const o of [
      "--target",
      "--pred",
      "--classes",
      "--ignore-index",
      "--metrics",
      "--threshold",
      "--format",
      "--out",
      "--per-image",
      "--preset",
      "--from-logits",
      "--workers",
      "--shard",
    ]) {
      expect(r.stdout).toContain(o);
    }
    expect(r.stdout).toMatch(/segloss merge/);
  });
});

describe("exact sums (what makes workers and shards agree)", () => {
  it("are correctly rounded and independent of the order, state included", async () => {
    const { ExactSum } = await import("../src/cli/fsum");
    const sum = (values: number[]) => values.reduce((s, v) => s.add(v), new ExactSum());
    expect(sum([1e16, 1, -1e16]).value()).toBe(1);
    expect(sum([0.1, 0.2, 0.3]).value()).toBe(0.6);
    const values = Array.from({ length: 500 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const reversed = sum([...values].reverse());
    const forward = sum(values);
    expect(reversed.value()).toBe(forward.value());
    expect(reversed.state()).toEqual(forward.state());
    // merged halves equal the whole
    const merged = sum(values.slice(0, 200)).merge(sum(values.slice(200)).state());
    expect(merged.value()).toBe(forward.value());
    expect(merged.state()).toEqual(forward.state());
  });
});
