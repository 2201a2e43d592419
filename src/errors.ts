/** What went wrong, machine-readable. */
export type SegLossErrorCode =
  | "E_SHAPE" // shapes disagree, or a shape is malformed
  | "E_DTYPE" // not a supported typed array
  | "E_EMPTY" // zero-size tensor
  | "E_RANGE" // values outside the allowed range (probabilities, targets, labels)
  | "E_NONFINITE" // NaN or ±Infinity in an input
  | "E_OPTION" // unknown option name, or an option of the wrong type
  | "E_OPTION_RANGE" // option value out of range
  | "E_MEMORY" // a request larger than the instance's WebAssembly memory
  | "E_WASM"; // the WebAssembly module could not be loaded

interface Details {
  code: SegLossErrorCode;
  argument: string;
  expected: string;
  received: string;
}

function message(d: Details): string {
  return `segloss: ${d.argument}: expected ${d.expected}, got ${d.received}`;
}

/** A bad argument's type (dtype, option type, shape form). */
export class SegLossTypeError extends TypeError {
  readonly code: SegLossErrorCode;
  readonly argument: string;
  constructor(d: Details) {
    super(message(d));
    this.name = "SegLossError";
    this.code = d.code;
    this.argument = d.argument;
  }
}

/** A bad argument's value (range, size, non-finite numbers). */
export class SegLossRangeError extends RangeError {
  readonly code: SegLossErrorCode;
  readonly argument: string;
  constructor(d: Details) {
    super(message(d));
    this.name = "SegLossError";
    this.code = d.code;
    this.argument = d.argument;
  }
}

/** Every error segloss throws on bad input: `err instanceof SegLossError`
 *  holds for both kinds, which are also a `TypeError` or a `RangeError`. */
export type SegLossError = SegLossTypeError | SegLossRangeError;
export const SegLossError: { [Symbol.hasInstance](x: unknown): boolean } = {
  [Symbol.hasInstance]: (x: unknown) => x instanceof SegLossTypeError || x instanceof SegLossRangeError,
};

const RANGE_CODES = new Set<SegLossErrorCode>(["E_EMPTY", "E_RANGE", "E_NONFINITE", "E_OPTION_RANGE", "E_MEMORY"]);

/** Throws the SegLossError for `code`: names the argument, what was expected and what came. */
export function fail(code: SegLossErrorCode, argument: string, expected: string, received: string): never {
  const d = { code, argument, expected, received };
  throw RANGE_CODES.has(code) ? new SegLossRangeError(d) : new SegLossTypeError(d);
}

/** A short, safe description of any value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (typeof x === "number") return Number.isNaN(x) ? "NaN" : String(x);
  if (typeof x === "string") return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === "bigint" || typeof x === "boolean") return `${typeof x} ${String(x)}`;
  if (typeof x === "function") return "a function";
  if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${(x as unknown as { length?: number }).length ?? x.byteLength})`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  return "an object";
}
