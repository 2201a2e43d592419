// Content-Security-Policy: segloss loads under the strict policy the server
// sends (script-src 'self' 'wasm-unsafe-eval', no inline code, no blob:), and
// a page whose policy lacks 'wasm-unsafe-eval' gets the engine's refusal.
import { afterAll, describe, expect, it } from "vitest";
import { lazySession, openPage } from "./chromium";

const browser = lazySession();

afterAll(async () => {
  await browser.close();
});

type Outcome = { ok: true; dice: number } | { ok: false; name: string; code?: string; message: string };

async function outcome(path: string, errors: string[]): Promise<Outcome> {
  const page = await openPage(await browser.get(), path, errors);
  await page.waitForFunction(() => (globalThis as { __csp?: unknown }).__csp !== undefined);
  const r = await page.evaluate(() => (globalThis as unknown as { __csp: Outcome }).__csp);
  await page.close();
  return r;
}

describe("Content-Security-Policy", () => {
  it("loads and computes under script-src 'self' 'wasm-unsafe-eval'", async () => {
    const errors: string[] = [];
    const r = await outcome("/test/browser/pages/csp.html", errors);
    expect(r).toEqual({ ok: true, dice: expect.any(Number) });
    expect(errors).toEqual([]);
  });

  it("without 'wasm-unsafe-eval' create() rejects with the engine's CSP refusal", async () => {
    const r = await outcome("/no-wasm-csp/test/browser/pages/csp.html", []);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/unsafe-eval|Content Security Policy/i);
  });
});
