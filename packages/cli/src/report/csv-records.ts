import { DataError } from "../data/data-error.js";
import { readUtf8Chunks } from "../data/utf8-text.js";

/** One CSV record: its cells, which of them were quoted, and the 1-based line it starts on. */
export interface CsvRecord {
  readonly cells: readonly string[];
  /** `quoted[i]` is true when cell i was written in quotes, so `""` (empty string) differs from an empty cell (null). */
  readonly quoted: readonly boolean[];
  readonly line: number;
}

/**
 * Splits CSV text (RFC 4180, as `openRowWriter` writes it) into records, incrementally: feed chunks
 * with `push`, then call `end`. Quoted cells may hold commas, doubled quotes and line breaks; records
 * end with LF or CRLF; blank lines are skipped (but counted).
 */
export function createCsvSplitter(file: string): { push(chunk: string): CsvRecord[]; end(): CsvRecord[] } {
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
          if (char === '"') state = "closing";
          else {
            if (char === "\n") line++;
            cell += char;
          }
          continue;
        }
        if (state === "closing") {
          if (char === '"') {
            cell += '"';
            state = "quoted";
            continue;
          }
          state = "after";
        }
        // Outside quotes a CR can only be part of a CRLF record end: cells holding a CR are quoted.
        if (char === "\r") continue;
        if (char === ",") {
          endCell();
          state = "start";
        } else if (char === "\n") {
          endRecord(out);
          line++;
          recordLine = line;
          state = "start";
        } else if (state === "after") {
          throw new DataError("invalid-input", "malformed CSV: text after a closing quote", { file, line });
        } else if (char === '"' && state === "start") {
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

/** Streams the records of a CSV file (see {@link createCsvSplitter}). */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const splitter = createCsvSplitter(file);
  for await (const chunk of readUtf8Chunks(file)) yield* splitter.push(chunk);
  yield* splitter.end();
}
