// Regenerates docs/demo.png: the demo page in Debian's Chromium (no browser
// download). Needs the built demo: npm run build && npm run build:demo.
//   node scripts/screenshot.mjs [out.png]
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../test/browser/server.mjs";

const out = process.argv[2] ?? fileURLToPath(new URL("../docs/demo.png", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (apt-get install -y chromium)`);
if (!existsSync(new URL("../dist-demo/index.html", import.meta.url)))
  throw new Error("dist-demo/ is missing: npm run build && npm run build:demo");

const server = await serve();
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(`${server.url}/dist-demo/?example=missed&blur=1&noise=0.05`);
  await page.waitForFunction(() => {
    const d = globalThis.__demo;
    return d?.error || (d?.ready && !d.pending && d.drawnSeq > 0);
  });
  const error = await page.evaluate(() => globalThis.__demo.error);
  if (error) throw new Error(`demo failed: ${error}`);
  // the status line carries timings; blank it so the image only changes with the page
  await page.evaluate(() => {
    document.getElementById("status").textContent = "";
  });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
