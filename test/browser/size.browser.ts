// Bundle-size budget: gzip (level 9) of what a browser downloads. The numbers
// are printed for the README; raise a budget only on purpose.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const gz = (f: string) => gzipSync(readFileSync(new URL(`../../${f}`, import.meta.url)), { level: 9 }).length;
const KB = 1024;

/**
 * Budgets in gzip bytes, about 1.4× the sizes when set (2026-11-29: 154, 154,
 * 96 and 70 KiB, with the multi-class kernels landing): room for the planned
 * families, not for an accidental second copy of the binary or a bundled
 * dependency. Today's sizes are printed by the test.
 */
const BUDGETS: [string, string[], number][] = [
  ["ESM bundle, both builds embedded (dist/index.js)", ["dist/index.js"], 224 * KB],
  ["CommonJS bundle (dist/index.cjs)", ["dist/index.cjs"], 224 * KB],
  ["slim ESM + SIMD wasm (dist/slim.js + segloss.simd.wasm)", ["dist/slim.js", "dist/segloss.simd.wasm"], 136 * KB],
  ["slim ESM + scalar wasm (dist/slim.js + segloss.scalar.wasm)", ["dist/slim.js", "dist/segloss.scalar.wasm"], 100 * KB],
];

describe("bundle size budget (gzip -9)", () => {
  const lines: string[] = [];
  for (const [what, files, budget] of BUDGETS) {
    it(`${what} ≤ ${budget / KB} KiB`, () => {
      const size = files.reduce((s, f) => s + gz(f), 0);
      lines.push(`${what}: ${(size / KB).toFixed(1)} KiB gzip (budget ${budget / KB} KiB)`);
      console.log(lines.at(-1));
      expect(size).toBeLessThanOrEqual(budget);
    });
  }
});
