// Builds the command line, dist/cli.js (also the worker script of --workers N),
// apart from the library bundles of rollup.config.mjs. The CLI imports the
// library through its public entry: src/index.ts stays external and becomes
// ./index.js, so the WebAssembly is shipped once.
import { builtinModules } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import typescript from "@rollup/plugin-typescript";

// rollup gives an external relative import as an absolute path without its extension
const LIBRARY = fileURLToPath(new URL("src/index", import.meta.url));
const isLibrary = (id) => id === LIBRARY || id === `${LIBRARY}.ts`;
const RUNTIME_DEPS = ["commander", "cli-progress", "fast-png"];

export default {
  input: "src/cli/main.ts",
  output: {
    file: "dist/cli.js",
    format: "es",
    banner: "#!/usr/bin/env node",
    paths: (id) => (isLibrary(id) ? "./index.js" : id),
  },
  external: (id, importer) => {
    if (id.startsWith("node:") || builtinModules.includes(id) || RUNTIME_DEPS.some((d) => id === d || id.startsWith(`${d}/`))) return true;
    return importer !== undefined && isLibrary(resolve(dirname(importer), id));
  },
  plugins: [
    typescript({
      tsconfig: "./tsconfig.json",
      include: ["src/cli/**/*.ts"],
      noEmit: false,
      declaration: false,
      noEmitOnError: true,
      outDir: undefined,
    }),
  ],
};
