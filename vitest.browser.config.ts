// Browser tests (npm run test:browser): Chromium via playwright-core, run
// after the build; kept out of `npm test` (its include is test/**/*.test.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/browser/**/*.browser.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
  },
});
