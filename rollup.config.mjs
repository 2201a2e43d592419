// Library bundles (`rollup -c`) and the demo page (`rollup -c --configDemo`).
//   dist/index.js, index.cjs  both wasm builds embedded as base64 (Node, browsers, workers, bundlers)
//   dist/index.d.ts           the types
//   dist/slim.js (+ .d.ts)    ESM without the base64: fetches dist/segloss.{simd,scalar}.wasm next to it
//   dist-demo/                the demo: index.html, main.js, worker.js and the ESM bundle as segloss.js
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import typescript from "@rollup/plugin-typescript";
import { dts } from "rollup-plugin-dts";

const ts = (include, tsconfig = "./tsconfig.json") =>
  typescript({
    tsconfig,
    include,
    noEmit: false,
    declaration: false,
    noEmitOnError: true,
    outDir: undefined,
  });

/** Replaces the generated base64 module with empty strings: src/wasm.ts then fetches the files. */
function slimBinary() {
  return {
    name: "segloss-slim-binary",
    load(id) {
      if (id.replace(/\\/g, "/").endsWith("/src/wasm/binary.ts")) {
        return 'export const SIMD_WASM_BASE64 = "";\nexport const SCALAR_WASM_BASE64 = "";\n';
      }
      return null;
    },
    generateBundle() {
      for (const fileName of ["segloss.simd.wasm", "segloss.scalar.wasm"]) {
        this.emitFile({ type: "asset", fileName, source: readFileSync(`build/${fileName}`) });
      }
      this.emitFile({ type: "asset", fileName: "slim.d.ts", source: 'export * from "./index.js";\n' });
    },
  };
}

const library = [
  {
    input: "src/index.ts",
    output: [
      { file: "dist/index.js", format: "es", sourcemap: true },
      { file: "dist/index.cjs", format: "cjs", sourcemap: true },
    ],
    plugins: [ts(["src/**/*.ts"])],
  },
  {
    input: "src/index.ts",
    output: { dir: "dist", entryFileNames: "slim.js", format: "es", sourcemap: true },
    plugins: [slimBinary(), ts(["src/**/*.ts"])],
  },
  {
    input: "src/index.ts",
    output: { file: "dist/index.d.ts", format: "es" },
    plugins: [dts()],
  },
];

/** The demo imports the library from the published ESM bundle, served next to it as ./segloss.js. */
const SEGLOSS_ENTRY = new URL("./src/index.ts", import.meta.url).pathname;

function demoStatic() {
  return {
    name: "segloss-demo-static",
    buildStart() {
      if (!existsSync("dist/index.js")) this.error("dist/index.js is missing: run npm run build first (npm run demo does)");
    },
    writeBundle() {
      mkdirSync("dist-demo", { recursive: true });
      copyFileSync("dist/index.js", "dist-demo/segloss.js");
      for (const f of ["index.html", "style.css"]) copyFileSync(`demo/${f}`, `dist-demo/${f}`);
    },
  };
}

const demo = {
  input: { main: "demo/main.ts", worker: "demo/worker.ts" },
  external: (id, importer) => id === SEGLOSS_ENTRY || (importer !== undefined && /\/src\/index(\.ts)?$/.test(id)),
  output: {
    dir: "dist-demo",
    format: "es",
    sourcemap: true,
    entryFileNames: "[name].js",
    chunkFileNames: "[name].js",
    paths: (id) => (/\/src\/index(\.ts)?$/.test(id) ? "./segloss.js" : id),
  },
  plugins: [ts(["demo/**/*.ts"], "./demo/tsconfig.json"), demoStatic()],
};

export default (args) => (args.configDemo ? demo : library);
