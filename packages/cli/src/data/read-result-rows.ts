import { parquetSchema } from "hyparquet";
import { csvCellAt, csvText, csvValue, readCsvRecords, type CsvRecord } from "./csv-read.js";
import { DataError } from "./data-error.js";
import { detectInputFormat } from "./input-format.js";
import { openParquet, readParquetRecords } from "./read-parquet.js";
import { readJsonArrayRecords, readJsonlRecords, type RawRecord } from "./read-records.js";
import { describeValue } from "./record-fields.js";
import { rowFormatOf } from "./write-rows.js";

/** One result row with where it sits in its file. */
export interface ResultRowAt {
  /** The row's values: numbers (bigints for Parquet INT64), booleans, null, text, lists and objects. */
  readonly row: Readonly<Record<string, unknown>>;
  /** 0-based position among the file's rows. */
  readonly position: number;
  /** 1-based line where the row starts (JSONL, JSON, CSV); Parquet rows have none. */
  readonly line?: number;
}

/** A result file opened for reading. */
export interface ResultRows {
  readonly file: string;
  /** The columns, in file order: the CSV header, the Parquet schema, or the first JSON row's keys. */
  readonly columns: readonly string[];
  /**
   * Streams the rows once, in file order. With `only`, rows carry just those columns (CSV cells of
   * other columns are not even converted).
   * @throws DataError for a malformed row (naming its line or row), and `invalid-input` when a CSV
   *   file has a header but no rows.
   */
  rows(only?: readonly string[]): AsyncGenerator<ResultRowAt>;
  /** Releases the file when the rows are not read to the end (or not at all). */
  close(): Promise<void>;
}

/** Options of {@link openResultRows}. */
export interface OpenResultRowsOptions {
  /**
   * CSV columns read as text whatever they look like (`csvText`), besides `id`: labels such as a task
   * column, where `1.0` or `True` must stay as written.
   */
  readonly textColumns?: readonly string[];
}

/** Columns that hold text whatever they look like: ids such as `007` or `1e3` must not become numbers. */
const TEXT_COLUMNS: readonly string[] = ["id"];

/**
 * Opens result rows written by `sftscore score` (or any tool writing the same columns), chosen by
 * extension like `score --out` (`rowFormatOf`): `.csv` (RFC 4180, header first; values typed back
 * by `csvValue`, text columns by `csvText`), `.parquet`, and anything else JSON Lines — or a JSON
 * array of rows when the file starts with `[` (see `detectInputFormat`).
 *
 * Nothing but the current record (JSON) or row group (Parquet) is held, so files of any length can
 * be read.
 *
 * @example
 * ```ts
 * const results = await openResultRows("results.csv");
 * for await (const { row, line } of results.rows(["index", "ifd"])) console.log(line, row.index, row.ifd);
 * ```
 * @throws DataError `unreadable` for a missing file; `invalid-input` for an empty file or one without
 *   rows, a row that is not an object, a CSV header naming a column twice, a CSV row whose cell count
 *   differs from the header's, or malformed JSON/CSV/Parquet — each with its line or row.
 */
export async function openResultRows(file: string, options: OpenResultRowsOptions = {}): Promise<ResultRows> {
  switch (rowFormatOf(file)) {
    case "csv":
      return openCsvResults(file, new Set([...TEXT_COLUMNS, ...(options.textColumns ?? [])]));
    case "parquet":
      return openParquetResults(file);
    case "jsonl": {
      const format = await detectInputFormat(file, "auto", "result rows");
      if (format === "parquet") return openParquetResults(file);
      return openJsonResults(file, format === "json" ? readJsonArrayRecords(file) : readJsonlRecords(file));
    }
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

/** Guards against a second pass: the rows are a stream. */
function readOnce(): () => void {
  let started = false;
  return () => {
    if (started) throw new Error("result rows can be read once");
    started = true;
  };
}

async function openJsonResults(file: string, records: AsyncGenerator<RawRecord>): Promise<ResultRows> {
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
  const start = readOnce();
  return {
    file,
    columns: Object.keys(firstRow),
    close: async () => void (await records.return(undefined)),
    async *rows(only) {
      start();
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

async function openCsvResults(file: string, textColumns: ReadonlySet<string>): Promise<ResultRows> {
  const records = readCsvRecords(file);
  const first = await records.next();
  if (first.done === true) throw new DataError("invalid-input", "the results file is empty: expected a header line", { file });
  const header = first.value.cells;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError("invalid-input", `the header names the column "${name}" twice`, { file, line: first.value.line });
    seen.add(name);
  }
  const start = readOnce();
  return {
    file,
    columns: header,
    close: async () => void (await records.return(undefined)),
    async *rows(only) {
      start();
      const wanted = (only === undefined ? header : only.filter((column) => seen.has(column))).map((name) => ({ name, at: header.indexOf(name), text: textColumns.has(name) }));
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

function csvRow(file: string, header: readonly string[], wanted: readonly { name: string; at: number; text: boolean }[], record: CsvRecord): Record<string, unknown> {
  if (record.cells.length !== header.length) {
    throw new DataError("invalid-input", `the row has ${record.cells.length} cells but the header has ${header.length}`, { file, line: record.line });
  }
  const row: Record<string, unknown> = {};
  for (const { name, at, text } of wanted) {
    const cell = csvCellAt(record, at);
    row[name] = text ? csvText(cell) : csvValue(cell);
  }
  return row;
}

async function openParquetResults(file: string): Promise<ResultRows> {
  const { metadata } = await openParquet(file);
  if (Number(metadata.num_rows) === 0) throw noRows(file);
  const start = readOnce();
  return {
    file,
    columns: parquetSchema(metadata).children.map((child) => child.element.name),
    close: async () => undefined,
    async *rows(only) {
      start();
      for await (const { record, recordIndex } of readParquetRecords(file)) {
        yield { row: project(record as Readonly<Record<string, unknown>>, only), position: recordIndex };
      }
    },
  };
}
