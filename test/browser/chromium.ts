// Starts Debian's Chromium through playwright-core (never a downloaded
// browser) and a static server for the pages. A run that cannot start
// Chromium fails: browser tests never skip.
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import type { create as createFn } from "../../src/index";
import { serve } from "./server.mjs";

/**
 * The built ESM bundle in Node: the pages load dist/, so Node's side of every
 * comparison runs the very same file (not the sources, which may be ahead).
 */
export async function distCreate(): Promise<typeof createFn> {
  const mod = (await import(new URL("../../dist/index.js", import.meta.url).href)) as { create: typeof createFn };
  return mod.create;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

export interface Session {
  browser: Browser;
  url: string;
  close(): Promise<void>;
}

export async function start(): Promise<Session> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH; browser tests never skip`);
  }
  for (const f of ["dist/index.js", "dist/slim.js", "dist-demo/index.html", "dist-demo/segloss.js"]) {
    if (!existsSync(new URL(`../../${f}`, import.meta.url))) throw new Error(`${f} is missing: run npm run test:browser (it builds)`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const server = await serve();
  return {
    browser,
    url: server.url,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * One session per test file, started by the first test that needs it: if
 * Chromium cannot start, every test that needs it fails (a failing beforeAll
 * would report them as skipped).
 */
export function lazySession(): { get(): Promise<Session>; close(): Promise<void> } {
  let session: Promise<Session> | undefined;
  return {
    get: () => (session ??= start()),
    close: async () => {
      if (session) await (await session.catch(() => null))?.close();
    },
  };
}

/** A page that fails the test on any uncaught error or console error. */
export async function openPage(s: Session, path: string, errors: string[]): Promise<Page> {
  const page = await s.browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(s.url + path);
  return page;
}

/** A temp folder for screenshots and the perf log of one run. */
export function outDir(): string {
  const dir = join(tmpdir(), "segloss-browser");
  mkdirSync(dir, { recursive: true });
  return dir;
}
