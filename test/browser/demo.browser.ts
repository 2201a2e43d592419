// The demo page in Chromium: its numbers equal Node's for the same inputs
// (examples, sliders, PNG files, painting; both builds), the heat maps are
// drawn, painting stays within a frame budget (measured and logged), and a
// screenshot of it is not blank.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, encode } from "fast-png";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, evaluate, formatValue, type Params, preparePred } from "../../demo/compute";
import { example, SIZE } from "../../demo/examples";
import { greyOf, toMask } from "../../demo/png";
import type { Segloss } from "../../src/index";
import { distCreate, lazySession, openPage, outDir } from "./chromium";

const browser = lazySession();
let instances: Promise<{ simd: Segloss; scalar: Segloss }> | undefined;

/** Node's side: the same dist/index.js the page runs, both builds (made by the first test that asks). */
async function node(build: "simd" | "scalar"): Promise<Segloss> {
  instances ??= distCreate().then(async (create) => ({ simd: await create(), scalar: await create({ simd: false }) }));
  return (await instances)[build];
}

afterAll(async () => {
  await browser.close();
});

interface PageState {
  simd: boolean;
  error: string;
  target: number[];
  base: number[];
  pred: number[];
  params: Params;
  values: [string, number][];
  rows: [string, string][];
}

async function settled(page: Page): Promise<PageState> {
  await page.waitForFunction(() => {
    const d = (globalThis as { __demo?: { ready: boolean; pending: boolean; drawnSeq: number; error: string } }).__demo;
    return d !== undefined && (d.error !== "" || (d.ready && !d.pending && d.drawnSeq > 0));
  });
  return page.evaluate(() => {
    const d = (globalThis as unknown as { __demo: Record<string, unknown> }).__demo;
    const rows = Array.from(document.querySelectorAll("#values tr")).map((tr) => [tr.children[0].textContent, tr.children[1].textContent]);
    return {
      simd: d.simd,
      error: d.error,
      target: Array.from(d.target as Float32Array),
      base: Array.from(d.base as Float32Array),
      pred: Array.from(d.pred as Float32Array),
      params: d.params,
      values: d.values,
      rows,
    } as PageState;
  });
}

/**
 * The wasm kernels give bit-identical sums in both engines, but the wrappers'
 * float64 Math.log/Math.pow differ between V8 versions (Node 20 vs Chromium)
 * by a few ulps; 1e-13 relative is far below the 6 printed digits.
 */
function sameNumber(a: number, b: number): boolean {
  return Object.is(a, b) || Math.abs(a - b) <= 1e-13 * Math.max(Math.abs(a), Math.abs(b));
}

/** The page's printed numbers and exact values against Node's for the page's own inputs. */
function expectSameAsNode(state: PageState, seg: Segloss): void {
  expect(state.error).toBe("");
  const target = Float32Array.from(state.target);
  const pred = preparePred(Float32Array.from(state.base), state.params);
  expect(Float32Array.from(state.pred)).toEqual(pred);
  const node = evaluate(seg, target, pred, state.params);
  expect(state.rows).toEqual(node.values.map(([label, v]) => [label, formatValue(v)]));
  expect(state.values.map(([label]) => label)).toEqual(node.values.map(([label]) => label));
  state.values.forEach(([label, v], i) => {
    expect(sameNumber(v, node.values[i][1]), `${label}: ${v} vs ${node.values[i][1]}`).toBe(true);
  });
}

async function setSlider(page: Page, id: string, value: number): Promise<void> {
  await page.locator(`#${id}`).fill(String(value));
}

describe("the demo page", () => {
  const errors: string[] = [];

  it("shows the default example with Node's numbers (SIMD build) and draws every map", async () => {
    const page = await openPage(await browser.get(), "/dist-demo/", errors);
    const state = await settled(page);
    expect(state.simd).toBe(true);
    const ex = example("cells");
    expect(Float32Array.from(state.target)).toEqual(ex.target);
    expect(Float32Array.from(state.base)).toEqual(ex.pred);
    expect(state.params).toEqual(DEFAULT_PARAMS);
    expectSameAsNode(state, await node("simd"));
    const spread = await page.evaluate(() =>
      Array.from(document.querySelectorAll("canvas")).map((c) => {
        const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        return [c.id, seen.size] as const;
      }),
    );
    expect(spread.length).toBe(8);
    for (const [id, colours] of spread) expect(colours, id).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("follows the example picker and the blur, noise, threshold and window sliders", async () => {
    const page = await openPage(await browser.get(), "/dist-demo/", errors);
    await settled(page);
    await page.selectOption("#example", "missed");
    await setSlider(page, "blur", 3);
    await setSlider(page, "noise", 0.15);
    await setSlider(page, "threshold", 0.7);
    await setSlider(page, "kernel", 21);
    const state = await settled(page);
    expect(state.params).toEqual({ blur: 3, noise: 0.15, threshold: 0.7, kernel: 21 });
    expect(Float32Array.from(state.base)).toEqual(example("missed").pred);
    expectSameAsNode(state, await node("simd"));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("runs the scalar build when asked (?simd=0) with Node's scalar numbers", async () => {
    const page = await openPage(await browser.get(), "/dist-demo/?simd=0&example=stripes&blur=2&noise=0.05", errors);
    const state = await settled(page);
    expect(state.simd).toBe(false);
    expect(state.params.blur).toBe(2);
    expectSameAsNode(state, await node("scalar"));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("loads a mask and a prediction from PNG files", async () => {
    const mask = new Uint8Array(SIZE * SIZE);
    const prob = new Uint8Array(SIZE * SIZE);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const inside = Math.hypot(x - 120, y - 130) < 60 || Math.hypot(x - 200, y - 50) < 25;
        mask[y * SIZE + x] = inside ? 255 : 0;
        prob[y * SIZE + x] = Math.round(255 / (1 + Math.exp((Math.hypot(x - 128, y - 126) - 58) / 6)));
      }
    }
    const png = (data: Uint8Array) => Buffer.from(encode({ width: SIZE, height: SIZE, data, channels: 1, depth: 8 }));
    const page = await openPage(await browser.get(), "/dist-demo/", errors);
    await settled(page);
    const grey = (bytes: Uint8Array) => Float32Array.from(decode(bytes).data as Uint8Array, (v) => greyOf(v, v, v, 255));
    const wantTarget = toMask(grey(png(mask)));
    await page.setInputFiles("#mask-file", { name: "mask.png", mimeType: "image/png", buffer: png(mask) });
    await page.setInputFiles("#pred-file", { name: "pred.png", mimeType: "image/png", buffer: png(prob) });
    // the two files are decoded asynchronously and may land in either order: wait for both
    await page.waitForFunction(
      (ones) => {
        const d = (globalThis as unknown as { __demo: { base: Float32Array; target: Float32Array } }).__demo;
        return d.base[0] !== 0.5 && d.target.reduce((a, v) => a + v, 0) === ones;
      },
      wantTarget.reduce((a, v) => a + v, 0),
    );
    const state = await settled(page);
    expect(Float32Array.from(state.target)).toEqual(wantTarget);
    expect(Float32Array.from(state.base)).toEqual(grey(png(prob)));
    expectSameAsNode(state, await node("simd"));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("updates while painting, and measures input → drawn latency at 256×256", async () => {
    const page = await openPage(await browser.get(), "/dist-demo/?example=shifted", errors);
    await settled(page);
    await page.evaluate(() => {
      const g = globalThis as unknown as { __demo: { perf: unknown[] }; __longTasks: number[] };
      g.__demo.perf.length = 0;
      // main-thread tasks over 50 ms while painting (the worker should leave none)
      g.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) g.__longTasks.push(e.duration);
      }).observe({ type: "longtask" });
    });
    const box = (await page.locator("#pred").boundingBox())!;
    await page.mouse.move(box.x + 30, box.y + 40);
    await page.mouse.down();
    const strokes = 120;
    for (let i = 0; i < strokes; i++) {
      const a = (i / strokes) * 4 * Math.PI;
      await page.mouse.move(box.x + 128 + 90 * Math.cos(a) * (1 - i / (2 * strokes)), box.y + 128 + 90 * Math.sin(a));
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    }
    await page.mouse.up();
    const state = await settled(page);
    const perf = await page.evaluate(
      () => (globalThis as unknown as { __demo: { perf: { compute: number; latency: number; draw: number }[] } }).__demo.perf,
    );
    expect(perf.length).toBeGreaterThan(strokes / 8);
    const stat = (k: "compute" | "latency" | "draw") => {
      const v = perf.map((p) => p[k]).sort((a, b) => a - b);
      return { median: v[Math.floor(v.length / 2)], p90: v[Math.floor(v.length * 0.9)], max: v[v.length - 1] };
    };
    const longTasks = await page.evaluate(() => (globalThis as unknown as { __longTasks: number[] }).__longTasks);
    const report = {
      updates: perf.length,
      pointerMoves: strokes,
      compute: stat("compute"),
      latency: stat("latency"),
      draw: stat("draw"),
      mainThreadLongTasks: { count: longTasks.length, max: Math.max(0, ...longTasks) },
    };
    writeFileSync(join(outDir(), "paint-perf.json"), JSON.stringify(report, null, 2));
    console.log(`painting 256×256: ${JSON.stringify(report)}`);
    expectSameAsNode(state, await node("simd"));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("takes a screenshot that is not blank", async () => {
    const page = await openPage(await browser.get(), "/dist-demo/?example=missed&blur=1", errors);
    await settled(page);
    const file = join(outDir(), "demo.png");
    const shot = await page.screenshot({ path: file, fullPage: true });
    const img = decode(shot);
    const ch = img.channels;
    const colours = new Set<number>();
    for (let i = 0; i < img.width * img.height; i++) {
      colours.add((img.data[i * ch] << 16) | (img.data[i * ch + 1] << 8) | img.data[i * ch + 2]);
    }
    expect(img.width).toBeGreaterThanOrEqual(1000);
    expect(colours.size).toBeGreaterThan(500);
    expect(errors).toEqual([]);
    await page.close();
  });
});
