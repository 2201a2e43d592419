// The library's core test vectors inside Chromium — ESM bundle on the main
// thread and in a module Worker, the slim bundle (wasm fetched by URL) and
// create({ wasm }) with the page's own bytes, each on both builds — equal to
// Node's numbers under the server's strict CSP: the kernels' results are
// bit-identical; the wrappers' float64 Math.log/pow may differ by a few ulps
// between V8 versions, so those compare within 1e-13 relative.
import { afterAll, describe, expect, it } from "vitest";
import { distCreate, lazySession, openPage } from "./chromium";
import { runVectors, type VectorResult } from "./vectors.js";

type FromPage = Record<string, { simd: boolean; results: VectorResult[] }> & { error?: string };

const browser = lazySession();
const errors: string[] = [];
const counts: string[] = [];
let pageRun: Promise<FromPage> | undefined;

/** The page's results, run once by the first test that asks (so a failed start fails every test). */
function fromPage(): Promise<FromPage> {
  pageRun ??= (async () => {
    const page = await openPage(await browser.get(), "/test/browser/pages/vectors.html", errors);
    await page.waitForFunction(() => (globalThis as { __vectors?: unknown }).__vectors !== undefined, null, { timeout: 110_000 });
    const r = await page.evaluate(() => (globalThis as unknown as { __vectors: FromPage }).__vectors);
    await page.close();
    return r;
  })();
  return pageRun;
}

afterAll(async () => {
  await browser.close();
  if (counts.length) console.log(counts.join("\n"));
});

describe("core test vectors in Chromium", () => {
  it("ran without errors", async () => {
    expect((await fromPage()).error).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it("detects SIMD in Chromium (slim bundle's probe)", async () => {
    expect((await fromPage()).detected.simd).toBe(true);
  });

  for (const build of ["simd", "scalar"] as const) {
    for (const where of ["main", "worker", "slim", "wasm bytes"]) {
      it(`${where}, ${build} build: equal to Node`, async () => {
        const create = await distCreate();
        const node = runVectors(await create({ simd: build === "simd" }));
        const got = (await fromPage())[`${where} ${build}`];
        expect(got.simd).toBe(build === "simd");
        expect(got.results.map(([name]) => name)).toEqual(node.map(([name]) => name));
        expect(got.results.length).toBeGreaterThan(100);
        let exact = 0;
        let total = 0;
        for (let i = 0; i < node.length; i++) {
          const [name, want] = node[i];
          const have = got.results[i][1];
          if (typeof want === "string" || typeof have === "string") {
            expect(have, name).toBe(want);
            continue;
          }
          expect(have.length, name).toBe(want.length);
          for (let j = 0; j < want.length; j++) {
            total++;
            if (Object.is(have[j], want[j])) exact++;
            else
              expect(Math.abs(have[j] - want[j]), `${name}[${j}]: ${have[j]} vs ${want[j]}`).toBeLessThanOrEqual(1e-13 * Math.abs(want[j]));
          }
        }
        counts.push(`${where} ${build}: ${exact} of ${total} numbers bit-identical to Node, the rest within 1e-13 relative`);
        // the vectors exercise errors too
        expect(node.find(([name]) => name === "hard pred out of range")?.[1]).toBe("error E_RANGE");
      });
    }
  }
});
