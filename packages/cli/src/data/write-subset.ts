import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { parquetSchema } from "hyparquet";
import { fileWriter, parquetWriteRows } from "hyparquet-writer";
import { DataError, describeSystemError } from "./data-error.js";
import { detectInputFormat, inputFormatOfExtension } from "./input-format.js";
import { openParquet } from "./read-parquet.js";
import type { InputFormat, SourcedSample } from "./sample.js";

/** What {@link writeSubset} needs of each chosen sample; a {@link SourcedSample} has it all. */
export type SubsetRecord = Pick<SourcedSample, "recordIndex" | "record" | "raw">;

/** Options of {@link writeSubset}. */
export interface WriteSubsetOptions {
  /** The source's format; detected like `readSamples` does when `auto` (the default). */
  readonly format?: InputFormat | "auto";
  /** Replace an existing non-empty output file. */
  readonly overwrite?: boolean;
}

/** Parquet metadata that describes the source's Arrow schema would contradict a rewritten file. */
const DROPPED_PARQUET_METADATA = new Set(["ARROW:schema"]);
const FLUSH_CHARS = 1 << 20;

/**
 * Writes the original records of chosen samples to `out` in the source file's own format:
 *
 * - JSON array: pretty-printed with 2-space indentation (the layout of Alpaca files), non-ASCII kept
 *   as is. Records are re-serialized from their parsed form, so number spellings such as `1.0`
 *   become `1`.
 * - JSON Lines: each record's original line text, byte for byte (BOM and CR line endings aside).
 * - Parquet: the source's schema and key-value metadata (minus `ARROW:schema`), Snappy-compressed.
 *
 * A record is written once even when several of its samples (conversation turns) are chosen, in the
 * order given. The file is written beside `out` under a temporary name and renamed into place, so it
 * is never seen half-written.
 *
 * @returns The number of records written.
 * @throws DataError `output-exists` when `out` has content and `overwrite` is not set;
 *   `invalid-output` when `out`'s extension names another format; `unwritable` when it cannot be
 *   written; `invalid-input`/`unreadable` from reading the source's format and Parquet schema.
 */
export async function writeSubset(
  source: string,
  out: string,
  records: Iterable<SubsetRecord> | AsyncIterable<SubsetRecord>,
  options: WriteSubsetOptions = {},
): Promise<number> {
  const format = await detectInputFormat(source, options.format ?? "auto");
  checkExtension(out, format);
  await refuseExisting(out, options.overwrite === true);
  const temporary = `${out}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(out), { recursive: true });
    const written = format === "parquet" ? await writeParquetSubset(source, out, temporary, unique(records)) : await writeTextSubset(temporary, format, unique(records));
    await rename(temporary, out);
    return written;
  } catch (error: unknown) {
    await rm(temporary, { force: true });
    if (error instanceof DataError) throw error;
    throw new DataError("unwritable", `cannot write the subset: ${describeSystemError(error)}`, { file: out }, { cause: error });
  }
}

/** `.json` may hold JSON Lines (as its source may), otherwise a known extension must match. */
function checkExtension(out: string, format: InputFormat): void {
  const named = inputFormatOfExtension(out);
  if (named === undefined || named === format || (named === "json" && format === "jsonl")) return;
  const wanted = format === "json" ? ".json" : format === "jsonl" ? ".jsonl" : ".parquet";
  throw new DataError("invalid-output", `the subset is written in the input's format (${format}); name the output ${wanted}`, { file: out });
}

async function refuseExisting(out: string, overwrite: boolean): Promise<void> {
  const stats = await stat(out).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DataError("unwritable", `cannot write the output file: ${describeSystemError(error)}`, { file: out }, { cause: error });
  });
  if (stats?.isDirectory()) throw new DataError("unwritable", "the output path is a directory", { file: out });
  if (stats !== undefined && stats.size > 0 && !overwrite) {
    throw new DataError("output-exists", "the output file already exists and is not empty; pass --overwrite to replace it", { file: out });
  }
}

/** Drops repeated records (several chosen turns of one conversation). */
async function* unique(records: Iterable<SubsetRecord> | AsyncIterable<SubsetRecord>): AsyncGenerator<SubsetRecord> {
  const seen = new Set<number>();
  for await (const record of records) {
    if (seen.has(record.recordIndex)) continue;
    seen.add(record.recordIndex);
    yield record;
  }
}

/** JSON and JSONL, through a small write buffer; fsync before the rename makes it durable. */
async function writeTextSubset(path: string, format: "json" | "jsonl", records: AsyncIterable<SubsetRecord>): Promise<number> {
  const handle = await open(path, "w");
  let buffered = "";
  const flush = async (): Promise<void> => {
    if (buffered !== "") await handle.write(buffered);
    buffered = "";
  };
  let count = 0;
  try {
    for await (const { record, raw } of records) {
      if (format === "jsonl") buffered += `${raw ?? JSON.stringify(record)}\n`;
      else buffered += `${count === 0 ? "[\n" : ",\n"}  ${JSON.stringify(record, null, 2).replaceAll("\n", "\n  ")}`;
      count++;
      if (buffered.length >= FLUSH_CHARS) await flush();
    }
    if (format === "json") buffered += count === 0 ? "[]\n" : "\n]\n";
    await flush();
    await handle.sync();
  } finally {
    await closeQuietly(handle);
  }
  return count;
}

async function closeQuietly(handle: FileHandle): Promise<void> {
  await handle.close().catch(() => undefined);
}

async function writeParquetSubset(source: string, out: string, path: string, records: AsyncIterable<SubsetRecord>): Promise<number> {
  const { metadata } = await openParquet(source);
  const columns = parquetSchema(metadata).children.map((child) => ({ name: child.element.name }));
  const kvMetadata = metadata.key_value_metadata?.filter((entry) => !DROPPED_PARQUET_METADATA.has(entry.key));
  let count = 0;
  async function* rows(): AsyncGenerator<Record<string, unknown>> {
    for await (const { record } of records) {
      count++;
      yield record as Record<string, unknown>;
    }
  }
  try {
    await parquetWriteRows({ writer: fileWriter(path), rows: rows(), columns, schema: metadata.schema, ...(kvMetadata?.length ? { kvMetadata } : {}) });
  } catch (error: unknown) {
    if (error instanceof DataError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError("invalid-output", `cannot write the subset with the source's Parquet schema: ${reason}`, { file: out }, { cause: error });
  }
  return count;
}
