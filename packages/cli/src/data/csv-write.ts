/**
 * The CSV dialect that `openRowWriter` writes and `csv-read.ts` reads back (RFC 4180): cells separated
 * by commas, records ended by CRLF (spreadsheet programs expect it; the reader also takes LF), and a
 * cell quoted with `"` (a quote inside doubled) when it holds a comma, quote, CR or LF, or is the empty
 * string. An empty cell written without quotes is null.
 */
export const CSV_RECORD_END = "\r\n";
/** The cell separator of {@link CSV_RECORD_END}'s dialect. */
export const CSV_SEPARATOR = ",";
/** The quote of {@link CSV_RECORD_END}'s dialect; doubled inside a quoted cell. */
export const CSV_QUOTE = '"';

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Formats one CSV cell: `null`/`undefined` (and non-finite numbers, as JSON would) are an empty cell,
 * an empty string is `""` so it stays distinguishable from null, arrays and objects are JSON-encoded,
 * and a cell holding a comma, quote, CR or LF is quoted with `"` doubled. Non-ASCII text is written as
 * is (UTF-8, no byte-order mark).
 *
 * Reading back (`csvValue` in `csv-read.ts`) restores null, `""`, numbers, booleans, lists and objects.
 * Quoting says nothing about type, so a string that spells a JSON number or a boolean comes back as
 * one: text columns such as `id` are read with `csvText` instead.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) return "";
  const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return text === "" || NEEDS_QUOTES.test(text) ? `${CSV_QUOTE}${text.replaceAll(CSV_QUOTE, CSV_QUOTE + CSV_QUOTE)}${CSV_QUOTE}` : text;
}

/** Formats a whole CSV record, terminator included, with cells in `columns` order. */
export function csvRecord(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  return columns.map((column) => csvCell(row[column])).join(CSV_SEPARATOR) + CSV_RECORD_END;
}

/** Formats a CSV header record. */
export function csvHeader(columns: readonly string[]): string {
  return columns.map((column) => csvCell(column)).join(CSV_SEPARATOR) + CSV_RECORD_END;
}
