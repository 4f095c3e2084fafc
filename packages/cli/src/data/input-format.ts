import { open, type FileHandle } from "node:fs/promises";
import { extname } from "node:path";
import { DataError, describeSystemError } from "./data-error.js";
import type { InputFormat } from "./sample.js";

const PARQUET_MAGIC = "PAR1";
const SNIFF_BYTES = 64 * 1024;

/** The input format an extension names, if any: `.json`, `.jsonl`/`.ndjson`, `.parquet`. */
export function inputFormatOfExtension(file: string): InputFormat | undefined {
  const extension = extname(file).toLowerCase();
  if (extension === ".json") return "json";
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  if (extension === ".parquet") return "parquet";
  return undefined;
}

/**
 * Decides how to read `file`, and fails early on a file that cannot be read or is empty.
 *
 * With `auto`: Parquet by its `PAR1` magic bytes (or its extension); `.jsonl`/`.ndjson` are JSON
 * Lines; otherwise the first character decides, `[` a JSON array and `{` JSON Lines, so `.json` files
 * that hold JSON Lines (common on dataset hubs) are read correctly.
 *
 * `contents` names what the file should hold (`samples`, `result rows`) in the message for an empty
 * file, `data.jsonl: the file is empty: no samples`, so the user sees what is missing at once.
 *
 * @throws DataError `unreadable` (missing file, a directory), `invalid-input` (empty, whitespace only,
 *   not Parquet despite the extension, or content of no known format).
 */
export async function detectInputFormat(file: string, requested: InputFormat | "auto" = "auto", contents = "records"): Promise<InputFormat> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error: unknown) {
    throw new DataError("unreadable", `cannot open the file: ${describeSystemError(error)}`, { file }, { cause: error });
  }
  try {
    const first = await readAt(handle, file, 0, SNIFF_BYTES);
    if (first.length === 0) throw new DataError("invalid-input", `the file is empty: no ${contents}`, { file });
    const magic = first.subarray(0, 4).toString("latin1") === PARQUET_MAGIC;
    const byExtension = inputFormatOfExtension(file);
    if (requested === "parquet" || (requested === "auto" && (magic || byExtension === "parquet"))) {
      if (!magic) throw new DataError("invalid-input", "not a Parquet file (it does not start with PAR1)", { file });
      return "parquet";
    }
    const firstChar = await firstTextCharacter(handle, file, first);
    if (firstChar === undefined) throw new DataError("invalid-input", `the file holds only whitespace: no ${contents}`, { file });
    if (requested !== "auto") return requested;
    if (byExtension === "jsonl") return "jsonl";
    if (firstChar === "[") return "json";
    if (firstChar === "{") return "jsonl";
    if (byExtension === "json") return "json";
    throw new DataError("invalid-input", "cannot tell the format: expected a JSON array, JSON Lines or Parquet file", { file });
  } finally {
    await handle.close();
  }
}

/** The first character that is not whitespace or a byte-order mark, reading on as far as needed. */
async function firstTextCharacter(handle: FileHandle, file: string, first: Buffer): Promise<string | undefined> {
  let chunk = first;
  let position = 0;
  let skipBom = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
  while (chunk.length > 0) {
    for (let at = skipBom ? 3 : 0; at < chunk.length; at++) {
      const byte = chunk[at];
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return String.fromCharCode(byte);
    }
    skipBom = false;
    position += chunk.length;
    chunk = await readAt(handle, file, position, SNIFF_BYTES);
  }
  return undefined;
}

async function readAt(handle: FileHandle, file: string, position: number, length: number): Promise<Buffer> {
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } catch (error: unknown) {
    throw new DataError("unreadable", `cannot read the file: ${describeSystemError(error)}`, { file }, { cause: error });
  }
}
