// A tiny static server for the demo and the browser tests (node:http, no
// dependencies). Serves dist/, dist-demo/ and test/browser/ of the repository
// under a strict Content-Security-Policy, so every page proves the bundles work
// without inline scripts, eval or blob: workers.
//   node test/browser/server.mjs [port]   → http://localhost:PORT/dist-demo/
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVED = ["dist", "dist-demo", join("test", "browser")];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
};

/** Strict but enough for WebAssembly: 'wasm-unsafe-eval' allows compiling wasm, not JS eval. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join("; ");

/** The same policy without 'wasm-unsafe-eval', served under /no-wasm-csp/ to show what a page without it gets. */
export const CSP_WITHOUT_WASM = CSP.replace(" 'wasm-unsafe-eval'", "");
const NO_WASM_PREFIX = "/no-wasm-csp/";

function resolvePath(urlPath) {
  let rel;
  try {
    rel = normalize(decodeURIComponent(urlPath)).replace(/^[/\\]+/, "");
  } catch {
    return null;
  }
  if (rel.split(sep).includes("..")) return null;
  if (!SERVED.some((d) => rel === d || rel.startsWith(d + sep))) return null;
  let file = join(ROOT, rel);
  try {
    if (statSync(file).isDirectory()) file = join(file, "index.html");
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Starts the server; resolves to { url, close() }. Port 0 picks a free one. */
export function serve(port = 0, host = "127.0.0.1") {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/") {
      res.writeHead(302, { Location: "/dist-demo/" });
      res.end();
      return;
    }
    const noWasm = url.pathname.startsWith(NO_WASM_PREFIX);
    const path = noWasm ? url.pathname.slice(NO_WASM_PREFIX.length - 1) : url.pathname;
    const file = req.method === "GET" || req.method === "HEAD" ? resolvePath(path) : null;
    if (!file) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Content-Security-Policy": noWasm ? CSP_WITHOUT_WASM : CSP,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}`,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url } = await serve(port, process.env.HOST ?? "127.0.0.1");
  console.log(`segloss demo: ${url}/dist-demo/  (Ctrl-C stops)`);
}
