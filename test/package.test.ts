// The published package works when installed from its tarball: plain Node
// ESM `import` and CommonJS `require`, with types shipped.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "../src/index";

const root = new URL("..", import.meta.url).pathname;
let dir: string;
let app: string;

const SCRIPT_BODY = `
  const seg = await create();
  const t = new Float32Array([1, 0, 1, 1, 0, 0, 1, 0]);
  const p = new Float32Array([0.9, 0.2, 0.7, 0.6, 0.1, 0.4, 0.8, 0.3]);
  const scalar = await create({ simd: false });
  console.log(JSON.stringify({ simd: seg.simd, dice: seg.dice(t, p), bce: seg.bce(t, p), scalarDice: scalar.dice(t, p) }));
`;

beforeAll(() => {
  if (!existsSync(join(root, "dist/index.js"))) throw new Error("dist/ is missing: run npm run build (npm test does)");
  dir = mkdtempSync(join(tmpdir(), "segloss-pack-"));
  execFileSync("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: root });
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error("npm pack wrote no tarball");
  app = join(dir, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", join(dir, tgz)], { cwd: app });
  writeFileSync(join(app, "esm.mjs"), `import { create } from "segloss";\n${SCRIPT_BODY}`);
  writeFileSync(join(app, "cjs.cjs"), `const { create } = require("segloss");\n(async () => {${SCRIPT_BODY}})();`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("ships the bundles, the types and no sources", () => {
    const files = readdirSync(join(app, "node_modules/segloss/dist"));
    expect(files).toEqual(expect.arrayContaining(["index.js", "index.cjs", "index.d.ts"]));
    expect(existsSync(join(app, "node_modules/segloss/src"))).toBe(false);
  });

  it("imports from plain Node ESM and CommonJS with the same numbers as the sources", async () => {
    const seg = await create();
    const t = new Float32Array([1, 0, 1, 1, 0, 0, 1, 0]);
    const p = new Float32Array([0.9, 0.2, 0.7, 0.6, 0.1, 0.4, 0.8, 0.3]);
    for (const script of ["esm.mjs", "cjs.cjs"]) {
      const out = JSON.parse(execFileSync("node", [script], { cwd: app, encoding: "utf8" }));
      expect(out.simd).toBe(true);
      expect(out.dice).toBe(seg.dice(t, p));
      expect(out.bce).toBe(seg.bce(t, p));
      expect(Math.abs(out.scalarDice - out.dice)).toBeLessThan(1e-6);
    }
  });
});
