// create({ wasmUrl }) and the slim bundle, from Node against the static
// server: folder and file URLs, both builds, and clear errors.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { create as createFn } from "../../src/index";
import { distCreate } from "./chromium";
import { serve } from "./server.mjs";

let server: { url: string; close(): Promise<void> };
let create: typeof createFn;
let slimCreate: typeof createFn;

const t = new Float32Array([1, 0, 1, 1, 0, 0, 1, 0, 1]);
const p = new Float32Array([0.9, 0.2, 0.7, 0.6, 0.1, 0.4, 0.8, 0.3, 0.5]);

beforeAll(async () => {
  server = await serve();
  create = await distCreate();
  slimCreate = ((await import(new URL("../../dist/slim.js", import.meta.url).href)) as { create: typeof createFn }).create;
});

afterAll(async () => {
  await server?.close();
});

describe("loading the binary by URL", () => {
  it("fetches the build picked by detection from a folder URL (with or without the slash)", async () => {
    const embedded = await create();
    for (const folder of [`${server.url}/dist/`, `${server.url}/dist`]) {
      const seg = await create({ wasmUrl: folder });
      expect(seg.simd).toBe(true);
      expect(seg.dice(t, p)).toBe(embedded.dice(t, p));
    }
    const scalar = await create({ wasmUrl: new URL(`${server.url}/dist/`), simd: false });
    expect(scalar.simd).toBe(false);
    expect(scalar.dice(t, p)).toBe((await create({ simd: false })).dice(t, p));
  });

  it("fetches one .wasm file, whose build `simd` names", async () => {
    const seg = await create({ wasmUrl: `${server.url}/dist/segloss.scalar.wasm`, simd: false });
    expect(seg.simd).toBe(false);
    expect(seg.bce(t, p)).toBe((await create({ simd: false })).bce(t, p));
  });

  it("the slim bundle loads by URL and gives the full bundle's numbers", async () => {
    const seg = await slimCreate({ wasmUrl: `${server.url}/dist/` });
    expect(seg.simd).toBe(true);
    expect(seg.focal(t, p)).toBe((await create()).focal(t, p));
  });

  it("fails with E_WASM naming the URL when the file is not there, and can retry", async () => {
    const url = `${server.url}/dist/nothing-here.wasm`;
    await expect(create({ wasmUrl: url })).rejects.toMatchObject({ code: "E_WASM", argument: "wasmUrl" });
    await expect(create({ wasmUrl: url })).rejects.toThrow(/nothing-here\.wasm.*HTTP 404/);
  });

  it("fails with E_WASM when the URL serves something that is not WebAssembly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "segloss-wasm-"));
    const file = join(dir, "not-really.wasm");
    writeFileSync(file, "<!doctype html><p>not found</p>");
    try {
      await expect(create({ wasmUrl: pathToFileURL(file) })).rejects.toMatchObject({ code: "E_WASM", argument: "wasmUrl" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a relative URL where there is no page location (Node)", async () => {
    await expect(create({ wasmUrl: "dist/" })).rejects.toMatchObject({ code: "E_OPTION", argument: "wasmUrl" });
  });

  it("the slim bundle in Node reads the files beside it (file: URLs through node:fs)", async () => {
    const seg = await slimCreate();
    expect(seg.simd).toBe(true);
    expect(seg.dice(t, p)).toBe((await create()).dice(t, p));
    const scalar = await slimCreate({ simd: false });
    expect(scalar.dice(t, p)).toBe((await create({ simd: false })).dice(t, p));
  });

  it("a missing file: URL fails with E_WASM", async () => {
    const url = new URL("../../dist/nothing-here.wasm", import.meta.url);
    await expect(create({ wasmUrl: url })).rejects.toMatchObject({ code: "E_WASM", argument: "wasmUrl" });
  });
});
