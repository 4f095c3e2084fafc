/** RFC 4180 ends records with CRLF; spreadsheet programs expect it. */
export const CSV_RECORD_END = "\r\n";

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Formats one CSV cell (RFC 4180): `null`/`undefined` (and non-finite numbers, as JSON would) are an
 * empty cell, an empty string is `""` so it stays distinguishable from null, arrays and objects are
 * JSON-encoded, and a cell holding a comma, quote, CR or LF is quoted with `"` doubled. Non-ASCII text
 * is written as is (UTF-8, no byte-order mark).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) return "";
  const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return text === "" || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Formats a whole CSV record, terminator included, with cells in `columns` order. */
export function csvRecord(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  return columns.map((column) => csvCell(row[column])).join(",") + CSV_RECORD_END;
}

/** Formats a CSV header record. */
export function csvHeader(columns: readonly string[]): string {
  return columns.map((column) => csvCell(column)).join(",") + CSV_RECORD_END;
}

/**
 * Splits one complete CSV record (such as a header read back on resume) into its cells, undoing
 * quoting. The record's terminator is optional.
 */
export function parseCsvRecord(record: string): string[] {
  const text = record.endsWith(CSV_RECORD_END) ? record.slice(0, -2) : record.endsWith("\n") ? record.slice(0, -1) : record;
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (quoted) {
      if (char !== '"') cell += char;
      else if (text[at + 1] === '"') {
        cell += '"';
        at++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      cells.push(cell);
      cell = "";
    } else cell += char;
  }
  cells.push(cell);
  return cells;
}
