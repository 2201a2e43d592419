// The one boundary with WebAssembly: loading (SIMD or scalar), the fixed
// memory and its allocator. Nothing else touches WebAssembly objects.
import { describe, fail } from "./errors";
import type { NumericArray } from "./tensor";
import { SCALAR_WASM_BASE64, SIMD_WASM_BASE64 } from "./wasm/binary";

/** Exports every build has; each kernel family types its own kernels (see `Runtime.kernels`). */
interface CoreExports {
  heapBase(): number;
}

export interface LoadOptions {
  /** false forces the scalar build; true requires SIMD; default: detect. */
  simd?: boolean;
  /** Your own copy of the binary (bytes or a compiled module), e.g. for strict CSP hosts. */
  wasm?: BufferSource | WebAssembly.Module;
  /** Size of the instance's fixed WebAssembly memory in bytes (default 64 MiB). */
  memoryBytes?: number;
  /**
   * Fetch the binary instead of using the embedded copy: the URL of a folder
   * (holding segloss.simd.wasm and segloss.scalar.wasm; the build is picked as
   * without it) or of one `.wasm` file (then `simd` is read as with `wasm`).
   * The slim bundle (dist/slim.js) defaults to the folder it was loaded from.
   */
  wasmUrl?: string | URL;
}

const PAGE = 65536;
export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

function decodeBase64(b64: string): Uint8Array {
  if (typeof atob === "function") {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (!B) return fail("E_WASM", "wasm", "atob or Buffer to decode the embedded binary", "neither");
  return new Uint8Array(B.from(b64, "base64"));
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

// The slim bundle replaces src/wasm/binary.ts with empty strings and fetches
// the .wasm files that sit next to it instead.
const EMBEDDED = SIMD_WASM_BASE64.length > 0;

// The smallest SIMD module: one function returning i8x16.splat(i32.const 0).
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11];

function wasmFile(simd: boolean): string {
  return simd ? "segloss.simd.wasm" : "segloss.scalar.wasm";
}

/** A URL string resolved against the page (or worker) location, as fetch would. */
function absoluteUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(String(url), base);
  } catch {
    return fail("E_OPTION", "wasmUrl", "an absolute URL, or a relative one in a page or worker", describe(String(url)));
  }
}

type ReadFile = (url: URL) => Promise<Uint8Array>;

/** Node's fs.readFile for file: URLs (fetch cannot read them); absent elsewhere, and no import a bundler would follow. */
function nodeReadFile(): ReadFile | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return (proc?.getBuiltinModule?.("node:fs/promises") as { readFile?: ReadFile } | undefined)?.readFile;
}

async function compileBytes(url: URL, bytes: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    return fail("E_WASM", "wasmUrl", `a segloss WebAssembly binary at ${url.href}`, String(e));
  }
}

function compileFetched(url: URL): Promise<WebAssembly.Module> {
  const key = url.href;
  let m = moduleCache.get(key);
  if (!m) {
    m = (async () => {
      const readFile = url.protocol === "file:" ? nodeReadFile() : undefined;
      if (readFile) {
        let bytes: Uint8Array;
        try {
          bytes = await readFile(url);
        } catch (e) {
          return fail("E_WASM", "wasmUrl", `a readable .wasm file at ${url.href}`, String(e));
        }
        return compileBytes(url, bytes);
      }
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        return fail("E_WASM", "wasmUrl", `a reachable .wasm file at ${url.href}`, String(e));
      }
      if (!res.ok) fail("E_WASM", "wasmUrl", `a reachable .wasm file at ${url.href}`, `HTTP ${res.status}`);
      return compileBytes(url, new Uint8Array(await res.arrayBuffer()));
    })();
    m.catch(() => moduleCache.delete(key)); // a failed fetch may be retried
    moduleCache.set(key, m);
  }
  return m;
}

function compileEmbedded(simd: boolean): Promise<WebAssembly.Module> {
  const key = simd ? "simd" : "scalar";
  let m = moduleCache.get(key);
  if (!m) {
    const bytes = decodeBase64(simd ? SIMD_WASM_BASE64 : SCALAR_WASM_BASE64);
    m = WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    moduleCache.set(key, m);
  }
  return m;
}

let simdSupported: boolean | undefined;
/** Whether this engine validates the SIMD build (the binary itself is the probe). */
export function detectSimd(): boolean {
  if (simdSupported === undefined) {
    try {
      const probe = EMBEDDED ? decodeBase64(SIMD_WASM_BASE64) : new Uint8Array(SIMD_PROBE);
      simdSupported = WebAssembly.validate(probe as Uint8Array<ArrayBuffer>);
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported;
}

/** A first-fit allocator over the fixed memory; blocks are 16-byte aligned. */
class Heap {
  private free: { at: number; size: number }[];
  private used = new Map<number, number>();
  constructor(start: number, end: number) {
    this.free = [{ at: start, size: end - start }];
  }
  alloc(bytes: number): number {
    const size = Math.max(16, (bytes + 15) & ~15);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      if (f.size >= size) {
        const at = f.at;
        f.at += size;
        f.size -= size;
        if (f.size === 0) this.free.splice(i, 1);
        this.used.set(at, size);
        return at;
      }
    }
    return -1;
  }
  release(at: number): boolean {
    const size = this.used.get(at);
    if (size === undefined) return false;
    this.used.delete(at);
    let i = 0;
    while (i < this.free.length && this.free[i].at < at) i++;
    this.free.splice(i, 0, { at, size });
    // coalesce with the neighbours
    if (i + 1 < this.free.length && at + size === this.free[i + 1].at) {
      this.free[i].size += this.free[i + 1].size;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1].at + this.free[i - 1].size === at) {
      this.free[i - 1].size += this.free[i].size;
      this.free.splice(i, 1);
    }
    return true;
  }
  largestFree(): number {
    return this.free.reduce((m, f) => Math.max(m, f.size), 0);
  }
  blocksInUse(): number {
    return this.used.size;
  }
}

const ALLOC_TYPES = [Float32Array, Float64Array, Uint8Array, Uint16Array, Int32Array, Uint32Array];
type AllocCtor = (typeof ALLOC_TYPES)[number];

type TypedArrayCtor<T> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** One instance: its kernels, its fixed memory (it never grows, so views never detach) and its heap. */
export class Runtime {
  readonly memory: WebAssembly.Memory;
  private readonly exports: CoreExports;
  readonly simd: boolean;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  private readonly heap: Heap;

  constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, simd: boolean) {
    this.memory = memory;
    this.exports = instance.exports as unknown as CoreExports;
    this.simd = simd;
    this.f32 = new Float32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    const base = (this.exports.heapBase() + 15) & ~15;
    this.heap = new Heap(base, memory.buffer.byteLength);
  }

  /** The kernels of one family, typed by that family's module (numbers in, numbers out). */
  kernels<K>(): K {
    return this.exports as unknown as K;
  }

  /** Allocates `bytes` (16-byte aligned) or throws E_MEMORY. */
  alloc(bytes: number, what = "buffer"): number {
    const at = this.heap.alloc(bytes);
    if (at < 0) {
      fail("E_MEMORY", what, `at most ${this.heap.largestFree()} free bytes of WebAssembly memory`, `a request for ${bytes} bytes`);
    }
    return at;
  }

  /** Allocates if possible, else returns -1. */
  tryAlloc(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  release(at: number): void {
    this.heap.release(at);
  }

  largestFree(): number {
    return this.heap.largestFree();
  }

  blocksInUse(): number {
    return this.heap.blocksInUse();
  }

  /** A typed array living in this instance's memory (zero-copy input). */
  view<T>(Ctor: TypedArrayCtor<T>, length: number): T {
    if (!ALLOC_TYPES.includes(Ctor as unknown as AllocCtor)) {
      fail("E_DTYPE", "type", "Float32Array, Float64Array, Uint8Array, Uint16Array, Int32Array or Uint32Array", describe(Ctor));
    }
    if (!Number.isSafeInteger(length) || length < 1) {
      fail("E_OPTION_RANGE", "length", "a positive integer", describe(length));
    }
    const at = this.alloc(length * Ctor.BYTES_PER_ELEMENT, "alloc");
    return new Ctor(this.memory.buffer, at, length);
  }

  freeView(view: ArrayBufferView): void {
    if (!ArrayBuffer.isView(view) || view.buffer !== this.memory.buffer || !this.heap.release(view.byteOffset)) {
      fail("E_OPTION", "view", "a typed array returned by this instance's alloc() and not yet freed", describe(view));
    }
  }

  /** The element offset of a float32 input that already lives in this memory, else -1. */
  residentF32(a: NumericArray | null): number {
    return a instanceof Float32Array && a.buffer === this.memory.buffer ? a.byteOffset : -1;
  }
}

/** Instantiates one runtime. */
export async function instantiate(opts: LoadOptions = {}): Promise<Runtime> {
  const bytes = opts.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes < PAGE || bytes > 4 * 1024 * 1024 * 1024 - PAGE) {
    fail("E_OPTION_RANGE", "memoryBytes", "an integer from 65536 to 4 GiB − 64 KiB", describe(bytes));
  }
  let simd: boolean;
  let module: WebAssembly.Module;
  if (opts.wasm !== undefined) {
    module = opts.wasm instanceof WebAssembly.Module ? opts.wasm : await WebAssembly.compile(opts.wasm);
    simd = opts.simd ?? true;
  } else if (opts.wasmUrl !== undefined || !EMBEDDED) {
    const url = absoluteUrl(opts.wasmUrl ?? new URL("./", import.meta.url));
    const oneFile = url.pathname.endsWith(".wasm");
    simd = opts.simd ?? (oneFile || detectSimd());
    if (simd && !oneFile && !detectSimd()) fail("E_WASM", "simd", "an engine with WebAssembly SIMD", "an engine without it");
    if (!oneFile && !url.pathname.endsWith("/")) url.pathname += "/";
    module = await compileFetched(oneFile ? url : new URL(wasmFile(simd), url));
  } else {
    simd = opts.simd ?? detectSimd();
    if (simd && !detectSimd()) fail("E_WASM", "simd", "an engine with WebAssembly SIMD", "an engine without it");
    module = await compileEmbedded(simd);
  }
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const abort = () => {
    throw new Error("segloss: WebAssembly abort");
  };
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort } });
  return new Runtime(instance, memory, simd);
}
