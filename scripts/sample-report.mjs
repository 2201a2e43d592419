// `npm start`: evaluates the bundled samples (samples/binary) with every
// binary loss, per image and over the whole set, using only the public API.
import { readdirSync } from "node:fs";
import { create } from "../dist/index.js";
import { readNpy } from "./npy.mjs";

const dir = new URL("../samples/binary/", import.meta.url);
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".target.npy"))
  .map((f) => f.slice(0, -".target.npy".length))
  .sort();

const seg = await create();
const LOSSES = [
  "bce",
  "dice",
  "jaccard",
  "tversky",
  "focalTversky",
  "focal",
  "bceDice",
  "bceLogDice",
  "focalDice",
  "weightedBceDice",
  "diceCoefficient",
  "meanIoU",
];
/** objectMetrics gives an object: its DSB/TGS score is the column. */
const evaluate = (t, p, shape) => {
  const row = {};
  for (const loss of LOSSES) row[loss] = seg[loss](t, p, { shape });
  row.objectScore = seg.objectMetrics(t, p, { shape }).score;
  return row;
};

const rows = [];
const targets = [];
const preds = [];
for (const name of names) {
  const t = readNpy(new URL(`${name}.target.npy`, dir));
  const p = readNpy(new URL(`${name}.pred.npy`, dir));
  rows.push({ image: name, ...evaluate(t.data, p.data, t.shape) });
  targets.push(t);
  preds.push(p);
}

// the whole set as one batch [N, H, W]
const [H, W] = targets[0].shape;
const all = (list, Ctor) => {
  const out = new Ctor(list.length * H * W);
  for (const [i, a] of list.entries()) out.set(a.data, i * H * W);
  return out;
};
const T = all(targets, Uint8Array);
const P = all(preds, Float32Array);
const total = { image: `all ${names.length} (batch)`, ...evaluate(T, P, [names.length, H, W]) };

const fmt = (v) => (typeof v === "number" ? v.toFixed(4) : String(v));
const cols = ["image", ...LOSSES, "objectScore"];
const table = [...rows, total].map((r) => cols.map((c) => fmt(r[c])));
const widths = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i].length)));
const line = (cells) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join("  ");
console.log(`segloss ${seg.simd ? "(WebAssembly SIMD)" : "(scalar WebAssembly)"} on ${names.length} sample pairs of ${H}×${W}`);
console.log(line(cols));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
table.forEach((r, i) => {
  if (i === table.length - 1) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  console.log(line(r));
});
console.log(
  "\nfocal is the seed's sum over pixels; region losses are per-image means, weightedBceDice, meanIoU and the batch row's objectScore",
  "are over the whole batch (seed preset). Details: docs/.",
);
