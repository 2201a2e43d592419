// Writing the report: to stdout, or to --out through a temporary file in the
// same folder renamed into place, so a failed run never leaves half a file.
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UsageError } from "./errors";

export type Format = "table" | "json" | "csv";

export function parseFormat(text: string | undefined, out: string | undefined): Format {
  const f = (text ?? (out?.endsWith(".json") ? "json" : out?.endsWith(".csv") ? "csv" : "table")).toLowerCase();
  if (f !== "table" && f !== "json" && f !== "csv") throw new UsageError(`--format: expected table, json or csv, got "${text}"`);
  return f;
}

export async function writeOutput(text: string, out: string | undefined): Promise<void> {
  if (out === undefined) {
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new UsageError(`--out ${out}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
