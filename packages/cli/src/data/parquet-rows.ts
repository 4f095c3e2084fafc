import { rename, rm } from "node:fs/promises";
import { fileWriter, parquetWriteRows, type BasicType } from "hyparquet-writer";
import { openAppendFile, outputFileSize, type AppendFile } from "./append-file.js";
import { DataError, describeSystemError } from "./data-error.js";
import { readJsonlRecords } from "./read-records.js";
import { readParquetRecords } from "./read-parquet.js";
import type { ResultRow, RowWriter, RowWriterOptions } from "./write-rows.js";

/** Where the rows of a Parquet result file wait until the file is written. */
export function parquetJournalPath(path: string): string {
  return `${path}.partial.jsonl`;
}

/**
 * Parquet keeps its schema and row-group index in a footer written last, so a Parquet file cannot
 * grow row by row and survive a kill. Rows therefore go to a JSONL journal beside it
 * (`results.parquet.partial.jsonl`) with the same whole-line durability as JSONL output, and
 * `close()` writes the Parquet file from the journal (streaming, one row group at a time), renames it
 * into place and deletes the journal. A killed run leaves the journal and no half-written Parquet.
 *
 * Resume: continues the journal when there is one; after a finished run (Parquet file, no journal)
 * its rows are copied back into a journal and counted, and `close()` rewrites the file.
 *
 * Column types are inferred from all rows at `close()`: integers INT32 (INT64 beyond that range),
 * other numbers DOUBLE, booleans BOOLEAN, strings STRING, arrays, objects and mixed columns JSON;
 * every column is nullable. No file is written when there are no rows at all, and a writer closed
 * without a row (a run that failed before scoring) leaves an existing file and journal untouched.
 *
 * @throws DataError as `openRowWriter`; `output-exists` also when a journal from another run exists.
 */
export async function openParquetRowWriter(path: string, options: RowWriterOptions): Promise<RowWriter> {
  const journalPath = parquetJournalPath(path);
  const finalSize = (await outputFileSize(path)) ?? 0;
  const journalSize = await outputFileSize(journalPath);
  if (!options.resume && !options.overwrite && (finalSize > 0 || (journalSize ?? 0) > 0)) {
    const what = finalSize > 0 ? "the output file already exists and is not empty" : `an unfinished run's rows are in ${journalPath}`;
    throw new DataError("output-exists", `${what}; pass --resume to continue that run, or --overwrite to replace it`, { file: path });
  }
  const importing = options.resume === true && journalSize === undefined && finalSize > 0;
  const journal = await openAppendFile(journalPath, { syntax: "lines", resume: options.resume === true && !importing, overwrite: true });
  const existingRows = importing ? await importParquetRows(path, journal) : journal.existingRecords;
  let closed = false;
  return {
    path,
    format: "parquet",
    existingRows,
    write: (row: ResultRow) => journal.append(`${JSON.stringify(row)}\n`),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await journal.close();
      // A run that wrote no row leaves the output as it found it; rows kept from a resumed run are written.
      if (journal.appended || existingRows > 0) await writeParquetFromJournal(path, journalPath);
    },
  };
}

async function importParquetRows(path: string, journal: AppendFile): Promise<number> {
  let rows = 0;
  for await (const { record } of readParquetRecords(path)) {
    await journal.append(`${JSON.stringify(record, (_key, value: unknown) => (typeof value === "bigint" ? Number(value) : value))}\n`);
    rows++;
  }
  return rows;
}

type Kind = "int32" | "int64" | "double" | "boolean" | "string" | "json";
interface Column {
  readonly name: string;
  readonly type: BasicType;
}

const INT32_MAX = 2 ** 31 - 1;

function kindOf(value: unknown): Kind {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return "double";
    if (Math.abs(value) <= INT32_MAX) return "int32";
    return Number.isSafeInteger(value) ? "int64" : "double";
  }
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  return "json";
}

function typeOf(kinds: ReadonlySet<Kind>): BasicType {
  if (kinds.size === 0) return "STRING"; // only nulls
  const numeric = [...kinds].every((kind) => kind === "int32" || kind === "int64" || kind === "double");
  if (numeric) return kinds.has("double") ? "DOUBLE" : kinds.has("int64") ? "INT64" : "INT32";
  if (kinds.size === 1 && kinds.has("boolean")) return "BOOLEAN";
  if (kinds.size === 1 && kinds.has("string")) return "STRING";
  return "JSON";
}

/** First pass over the journal: column names in first-seen order and their types. */
async function inferColumns(journalPath: string): Promise<Column[]> {
  const kinds = new Map<string, Set<Kind>>();
  for await (const { record } of readJsonlRecords(journalPath)) {
    for (const [name, value] of Object.entries(record as ResultRow)) {
      let seen = kinds.get(name);
      if (seen === undefined) kinds.set(name, (seen = new Set()));
      if (value !== null && value !== undefined) seen.add(kindOf(value));
    }
  }
  return [...kinds].map(([name, seen]) => ({ name, type: typeOf(seen) }));
}

/** Second pass: rows with values shaped for their column types. */
async function* typedRows(journalPath: string, columns: readonly Column[]): AsyncGenerator<Record<string, unknown>> {
  for await (const { record } of readJsonlRecords(journalPath)) {
    const row = record as ResultRow;
    const typed: Record<string, unknown> = {};
    for (const { name, type } of columns) {
      const value = row[name] ?? null;
      typed[name] = type === "INT64" && typeof value === "number" ? BigInt(value) : value;
    }
    yield typed;
  }
}

async function writeParquetFromJournal(path: string, journalPath: string): Promise<void> {
  const columns = await inferColumns(journalPath);
  if (columns.length === 0) {
    await rm(journalPath, { force: true });
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await parquetWriteRows({
      writer: fileWriter(temporary),
      rows: typedRows(journalPath, columns),
      columns: columns.map(({ name, type }) => ({ name, type, nullable: true })),
    });
    await rename(temporary, path);
  } catch (error: unknown) {
    await rm(temporary, { force: true });
    if (error instanceof DataError) throw error;
    const detail = `cannot write the Parquet file (its rows are kept in ${journalPath}; --resume finishes it): ${describeSystemError(error)}`;
    throw new DataError("unwritable", detail, { file: path }, { cause: error });
  }
  await rm(journalPath, { force: true });
}
