import { extname } from "node:path";
import { openAppendFile } from "./append-file.js";
import { splitCsvText } from "./csv-read.js";
import { csvHeader, csvRecord } from "./csv-write.js";
import { DataError } from "./data-error.js";
import { openParquetRowWriter } from "./parquet-rows.js";

/** Result file formats. */
export type RowFormat = "jsonl" | "csv" | "parquet";

/**
 * One result row: a plain JSON-able object (strings, finite numbers, booleans, null, arrays and
 * objects of those). Its key order is the column order; keep it the same for every row.
 */
export type ResultRow = Readonly<Record<string, unknown>>;

/** Options of {@link openRowWriter}. */
export interface RowWriterOptions {
  /**
   * Continue an existing file: drop a partial last row left by a killed run, count the complete rows
   * ({@link RowWriter.existingRows}) and append after them. Takes precedence over `overwrite`.
   */
  readonly resume?: boolean;
  /**
   * Replace an existing non-empty file, emptied when the first row is written (a run that fails
   * before that leaves it intact). Without it (or `resume`) such a file is refused.
   */
  readonly overwrite?: boolean;
  /** Overrides the format chosen by extension. */
  readonly format?: RowFormat;
}

/** Appends result rows to a file, in call order, never leaving a partial row behind a complete one. */
export interface RowWriter {
  readonly path: string;
  readonly format: RowFormat;
  /** Complete rows already in the file when it was opened with `resume` (0 otherwise): skip that many samples. */
  readonly existingRows: number;
  /**
   * Appends one row (a single write of a whole line or CSV record; Parquet: see `openParquetRowWriter`).
   * @throws DataError `unwritable` when the write fails (and for every later write);
   *   `invalid-output` when a CSV row has a column the file's header lacks.
   */
  write(row: ResultRow): Promise<void>;
  /**
   * Flushes to disk and closes; for Parquet this is when the file is written. Closed before its first
   * row, the writer leaves the path as it found it: a file it created is removed.
   */
  close(): Promise<void>;
}

/** The result format an output path names: `.csv`, `.parquet`, anything else JSONL. */
export function rowFormatOf(path: string): RowFormat {
  const extension = extname(path).toLowerCase();
  return extension === ".csv" ? "csv" : extension === ".parquet" ? "parquet" : "jsonl";
}

/**
 * Opens a result file for writing rows as they finish; the format comes from the extension (JSONL by
 * default, CSV, Parquet). The file is opened (and parent directories created) right away, so an
 * unwritable path fails before any scoring starts.
 *
 * Durability: each JSONL row is one line and each CSV row one record, written with a single `write`,
 * so a killed run leaves whole rows plus at most one partial last row; `resume` truncates that away.
 * CSV takes its header from the first row's keys (from the file's header on resume).
 *
 * @example
 * ```ts
 * const writer = await openRowWriter("results.jsonl", { resume: true });
 * for await (const { sample, index } of readSamples("data.json")) {
 *   if (index < writer.existingRows) continue;
 *   await writer.write({ index, id: sample.id ?? null, ifd: 0.8 });
 * }
 * await writer.close();
 * ```
 * @throws DataError `output-exists` for a non-empty file without `resume` or `overwrite` (the message
 *   names --resume and --overwrite); `unwritable` when the path cannot be created or written.
 */
export async function openRowWriter(path: string, options: RowWriterOptions = {}): Promise<RowWriter> {
  const format = options.format ?? rowFormatOf(path);
  switch (format) {
    case "jsonl":
      return openJsonlRowWriter(path, options);
    case "csv":
      return openCsvRowWriter(path, options);
    case "parquet":
      return openParquetRowWriter(path, options);
  }
}

async function openJsonlRowWriter(path: string, options: RowWriterOptions): Promise<RowWriter> {
  const file = await openAppendFile(path, { ...options, syntax: "lines" });
  return {
    path,
    format: "jsonl",
    existingRows: file.existingRecords,
    // JSON.stringify escapes every newline inside strings, so a row is exactly one line.
    write: (row) => file.append(`${JSON.stringify(row)}\n`),
    close: () => file.close(),
  };
}

async function openCsvRowWriter(path: string, options: RowWriterOptions): Promise<RowWriter> {
  const file = await openAppendFile(path, { ...options, syntax: "csv" });
  let columns = file.firstRecord === undefined ? undefined : splitCsvText(file.firstRecord, path)[0]?.cells;
  return {
    path,
    format: "csv",
    // The first record is the header.
    existingRows: Math.max(0, file.existingRecords - 1),
    write(row: ResultRow): Promise<void> {
      if (columns === undefined) {
        columns = Object.keys(row);
        // Header and first row in one write: there is never a header without its first row.
        return file.append(csvHeader(columns) + csvRecord(columns, row));
      }
      const header = columns;
      const extra = Object.keys(row).filter((key) => !header.includes(key));
      if (extra.length > 0) {
        const detail = `the row has columns the file's header lacks (${extra.join(", ")}); resume with the same options, or write a new file`;
        return Promise.reject(new DataError("invalid-output", detail, { file: path }));
      }
      return file.append(csvRecord(header, row));
    },
    close: () => file.close(),
  };
}
