import { parquetSchema } from "hyparquet";
import { DataError } from "../../data/data-error.js";
import { openParquet, readParquetRecords } from "../../data/read-parquet.js";
import { readJsonlRecords } from "../../data/read-records.js";
import { describeValue } from "../../data/record-fields.js";
import { readUtf8Chunks } from "../../data/utf8-text.js";
import { rowFormatOf, type RowFormat } from "../../data/write-rows.js";
import { csvText, csvValue, parseCsvRecords, type CsvRecord } from "./csv-rows.js";

/** One result row with where it sits in its file. */
export interface ResultRowAt {
  /** The row's values: numbers, booleans, null, text (`id`), lists and objects. */
  readonly row: Readonly<Record<string, unknown>>;
  /** 0-based position among the file's rows. */
  readonly position: number;
  /** 1-based line where the row starts (JSONL, CSV); Parquet rows have none. */
  readonly line?: number;
}

/** A result file opened for reading. */
export interface ResultRows {
  readonly file: string;
  readonly format: RowFormat;
  /** The columns, in file order: the CSV header, the Parquet schema, or the first JSONL row's keys. */
  readonly columns: readonly string[];
  /**
   * Streams the rows once, in file order. With `only`, rows carry just those columns (CSV cells of
   * other columns are not even converted).
   */
  rows(only?: readonly string[]): AsyncGenerator<ResultRowAt>;
  /** Releases the file when the rows are not read to the end (or not at all). */
  close(): Promise<void>;
}

/** Columns that hold text whatever they look like: ids such as `007` or `1e3` must not become numbers. */
const TEXT_COLUMNS = new Set(["id"]);

/**
 * Opens result rows written by `sftscore score` (or any tool writing the same columns): JSON Lines,
 * CSV (RFC 4180, header first; values typed back as `csvValue` describes) or Parquet, chosen by
 * extension like `score --out` (`.csv`, `.parquet`, anything else JSONL).
 *
 * @throws DataError `unreadable` for a missing file, `invalid-input` for an empty file, a row that is
 *   not an object, a CSV row whose cell count differs from the header's, or malformed JSON/Parquet —
 *   each with its line or row.
 */
export async function openResultRows(file: string): Promise<ResultRows> {
  const format = rowFormatOf(file);
  switch (format) {
    case "jsonl":
      return openJsonlResults(file);
    case "csv":
      return openCsvResults(file);
    case "parquet":
      return openParquetResults(file);
  }
}

function noRows(file: string): DataError {
  return new DataError("invalid-input", "the results file has no rows", { file });
}

function project(row: Readonly<Record<string, unknown>>, only: readonly string[] | undefined): Readonly<Record<string, unknown>> {
  if (only === undefined) return row;
  const projected: Record<string, unknown> = {};
  for (const column of only) if (column in row) projected[column] = row[column];
  return projected;
}

async function openJsonlResults(file: string): Promise<ResultRows> {
  const records = readJsonlRecords(file);
  const first = await records.next().catch(async (error: unknown) => {
    await records.return(undefined);
    throw error;
  });
  if (first.done === true) throw noRows(file);
  const asRow = (record: unknown, line: number | undefined): Readonly<Record<string, unknown>> => {
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      throw new DataError("invalid-input", `expected a result row (a JSON object), got ${describeValue(record)}`, { file, ...(line === undefined ? {} : { line }) });
    }
    return record as Readonly<Record<string, unknown>>;
  };
  const firstRow = asRow(first.value.record, first.value.line);
  let started = false;
  return {
    file,
    format: "jsonl",
    columns: Object.keys(firstRow),
    close: async () => void (await records.return(undefined)),
    async *rows(only) {
      if (started) throw new Error("result rows can be read once");
      started = true;
      try {
        yield { row: project(firstRow, only), position: 0, ...(first.value.line === undefined ? {} : { line: first.value.line }) };
        for await (const { record, recordIndex, line } of records) {
          yield { row: project(asRow(record, line), only), position: recordIndex, ...(line === undefined ? {} : { line }) };
        }
      } finally {
        await records.return(undefined);
      }
    },
  };
}

async function openCsvResults(file: string): Promise<ResultRows> {
  const records = parseCsvRecords(readUtf8Chunks(file), file);
  const first = await records.next();
  if (first.done === true) throw new DataError("invalid-input", "the results file is empty: expected a header line", { file });
  const header = first.value.cells.map((cell) => cell.text);
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError("invalid-input", `the header names the column "${name}" twice`, { file, line: first.value.line });
    seen.add(name);
  }
  let started = false;
  return {
    file,
    format: "csv",
    columns: header,
    close: async () => void (await records.return(undefined)),
    async *rows(only) {
      if (started) throw new Error("result rows can be read once");
      started = true;
      const wanted = (only === undefined ? header : only.filter((column) => seen.has(column))).map((name) => ({ name, at: header.indexOf(name) }));
      let position = 0;
      try {
        for await (const record of records) {
          yield { row: csvRow(file, header, wanted, record), position: position++, line: record.line };
        }
      } finally {
        await records.return(undefined);
      }
      if (position === 0) throw noRows(file);
    },
  };
}

function csvRow(file: string, header: readonly string[], wanted: readonly { name: string; at: number }[], record: CsvRecord): Record<string, unknown> {
  if (record.cells.length !== header.length) {
    throw new DataError("invalid-input", `the row has ${record.cells.length} cells but the header has ${header.length}`, { file, line: record.line });
  }
  const row: Record<string, unknown> = {};
  for (const { name, at } of wanted) row[name] = TEXT_COLUMNS.has(name) ? csvText(record.cells[at]) : csvValue(record.cells[at]);
  return row;
}

async function openParquetResults(file: string): Promise<ResultRows> {
  const { metadata } = await openParquet(file);
  if (Number(metadata.num_rows) === 0) throw noRows(file);
  let started = false;
  return {
    file,
    format: "parquet",
    columns: parquetSchema(metadata).children.map((child) => child.element.name),
    close: async () => undefined,
    async *rows(only) {
      if (started) throw new Error("result rows can be read once");
      started = true;
      for await (const { record, recordIndex } of readParquetRecords(file)) {
        yield { row: project(record as Readonly<Record<string, unknown>>, only), position: recordIndex };
      }
    },
  };
}
