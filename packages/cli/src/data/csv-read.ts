import { CSV_QUOTE, CSV_SEPARATOR } from "./csv-write.js";
import { DataError } from "./data-error.js";
import { readUtf8Chunks } from "./utf8-text.js";

/** One CSV record: its cells, which of them were quoted, and the 1-based line it starts on. */
export interface CsvRecord {
  readonly cells: readonly string[];
  /** `quoted[i]` is true when cell i was written in quotes, so `""` (empty string) differs from an empty cell (null). */
  readonly quoted: readonly boolean[];
  readonly line: number;
}

/** One CSV cell: its text with quoting undone, and whether it was quoted. */
export interface CsvCell {
  readonly text: string;
  readonly quoted: boolean;
}

/** Splits CSV text into records incrementally; see {@link createCsvSplitter}. */
export interface CsvSplitter {
  /** Feeds the next chunk of text; returns the records it completed. */
  push(chunk: string): CsvRecord[];
  /** Ends the text; returns the last record, if it had no terminator. */
  end(): CsvRecord[];
}

/**
 * Splits CSV text (RFC 4180, the dialect `csv-write.ts` writes) into records, incrementally: feed
 * chunks with `push`, then call `end`. Quoted cells may hold commas, doubled quotes and line breaks;
 * records end with LF or CRLF; blank lines are skipped (but counted). A quote inside an unquoted cell
 * is kept as a character, as most readers do.
 *
 * @param file named in errors.
 * @throws DataError `invalid-input` for text after a closing quote (naming its line) and for a quoted
 *   cell still open at the end of the text (naming the line its record starts on).
 */
export function createCsvSplitter(file: string): CsvSplitter {
  let cells: string[] = [];
  let quoted: boolean[] = [];
  let cell = "";
  let cellQuoted = false;
  // start: at a cell's start; plain: in an unquoted cell; quoted: inside quotes; closing: just read a
  // quote inside quotes (a second quote makes it literal, anything else ends the quoted part); after:
  // past a quoted part, where only a separator or a record end may follow.
  let state: "start" | "plain" | "quoted" | "closing" | "after" = "start";
  let line = 1;
  let recordLine = 1;

  const endCell = () => {
    cells.push(cell);
    quoted.push(cellQuoted);
    cell = "";
    cellQuoted = false;
  };
  const endRecord = (out: CsvRecord[]) => {
    endCell();
    const blank = cells.length === 1 && cells[0] === "" && !quoted[0];
    if (!blank) out.push({ cells, quoted, line: recordLine });
    cells = [];
    quoted = [];
  };

  return {
    push(chunk) {
      const out: CsvRecord[] = [];
      for (let at = 0; at < chunk.length; at++) {
        const char = chunk[at];
        if (state === "quoted") {
          if (char === CSV_QUOTE) state = "closing";
          else {
            if (char === "\n") line++;
            cell += char;
          }
          continue;
        }
        if (state === "closing") {
          if (char === CSV_QUOTE) {
            cell += CSV_QUOTE;
            state = "quoted";
            continue;
          }
          state = "after";
        }
        // Outside quotes a CR can only be part of a CRLF record end: cells holding a CR are quoted.
        if (char === "\r") continue;
        if (char === CSV_SEPARATOR) {
          endCell();
          state = "start";
        } else if (char === "\n") {
          endRecord(out);
          line++;
          recordLine = line;
          state = "start";
        } else if (state === "after") {
          throw new DataError("invalid-input", "malformed CSV: text after a closing quote", { file, line });
        } else if (char === CSV_QUOTE && state === "start") {
          cellQuoted = true;
          state = "quoted";
        } else {
          cell += char;
          state = "plain";
        }
      }
      return out;
    },
    end() {
      if (state === "quoted") throw new DataError("invalid-input", "malformed CSV: a quoted cell is not closed at the end of the file", { file, line: recordLine });
      const out: CsvRecord[] = [];
      if (state !== "start" || cells.length > 0) endRecord(out);
      return out;
    },
  };
}

/** Splits a whole CSV text, such as a header read back on resume (see {@link createCsvSplitter}). */
export function splitCsvText(text: string, file: string): CsvRecord[] {
  const splitter = createCsvSplitter(file);
  return [...splitter.push(text), ...splitter.end()];
}

/**
 * Streams the records of a CSV file (see {@link createCsvSplitter}); memory stays bounded by the
 * largest record.
 * @throws DataError `unreadable` when the file cannot be read, `invalid-input` for invalid UTF-8 and
 *   malformed CSV.
 */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const splitter = createCsvSplitter(file);
  for await (const chunk of readUtf8Chunks(file)) yield* splitter.push(chunk);
  yield* splitter.end();
}

/** Cell `at` of a record. */
export function csvCellAt(record: CsvRecord, at: number): CsvCell {
  return { text: record.cells[at], quoted: record.quoted[at] };
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A CSV cell as the value the row writer wrote (`csvCell`): an unquoted empty cell is null, `""` the
 * empty string, `true`/`false` (any case, as pandas writes `True`) booleans, JSON numbers numbers,
 * `[...]`/`{...}` that parse as JSON lists and objects; anything else stays text.
 */
export function csvValue(cell: CsvCell): unknown {
  const { text } = cell;
  if (text === "") return cell.quoted ? "" : null;
  if (JSON_NUMBER.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** A cell of a text column (`id`): never a number, so `007` and `1e3` stay as written; empty is null. */
export function csvText(cell: CsvCell): string | null {
  return cell.text === "" && !cell.quoted ? null : cell.text;
}
