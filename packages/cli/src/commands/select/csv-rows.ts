import { DataError } from "../../data/data-error.js";

/** One CSV cell: its text with quoting undone, and whether it was quoted. */
export interface CsvCell {
  readonly text: string;
  readonly quoted: boolean;
}

/** One CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  readonly cells: readonly CsvCell[];
  readonly line: number;
}

/**
 * Splits CSV text (RFC 4180) into records as it streams by: cells separated by commas, records by LF
 * or CRLF, `"`-quoted cells that may hold commas, quotes (doubled) and line breaks. Blank lines are
 * skipped. A quote inside an unquoted cell is kept as a character, as most readers do.
 *
 * @throws DataError `invalid-input` for a quoted cell still open at the end of the file, naming the
 *   line where its record starts.
 */
export async function* parseCsvRecords(chunks: AsyncIterable<string>, file: string): AsyncGenerator<CsvRecord> {
  let cells: CsvCell[] = [];
  let cell = "";
  let quoted = false;
  let inQuotes = false;
  let quoteInQuotes = false; // saw `"` inside quotes: a doubled quote or the closing one
  let line = 1;
  let recordLine = 1;
  const endCell = (): void => {
    cells.push({ text: cell, quoted });
    cell = "";
    quoted = false;
  };
  for await (const chunk of chunks) {
    const records: CsvRecord[] = [];
    for (let at = 0; at < chunk.length; at++) {
      const char = chunk[at];
      if (inQuotes) {
        if (quoteInQuotes) {
          quoteInQuotes = false;
          if (char === '"') {
            cell += '"';
            continue;
          }
          inQuotes = false; // that quote closed the cell; read this character outside quotes
        } else if (char === '"') {
          quoteInQuotes = true;
          continue;
        } else {
          if (char === "\n") line++;
          cell += char;
          continue;
        }
      }
      if (char === '"' && cell === "" && !quoted) {
        inQuotes = true;
        quoted = true;
      } else if (char === ",") {
        endCell();
      } else if (char === "\n") {
        endCell();
        const blank = cells.length === 1 && cells[0].text === "" && !cells[0].quoted;
        if (!blank) records.push({ cells, line: recordLine });
        cells = [];
        line++;
        recordLine = line;
      } else if (char !== "\r") {
        cell += char;
      }
    }
    yield* records;
  }
  if (inQuotes && !quoteInQuotes) throw new DataError("invalid-input", "a quoted cell is not closed before the end of the file", { file, line: recordLine });
  if (cell !== "" || quoted || cells.length > 0) {
    endCell();
    yield { cells, line: recordLine };
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A CSV cell as the value the row writer wrote (`openRowWriter` CSV): an unquoted empty cell is null,
 * `""` the empty string, `true`/`false` (any case, as pandas writes `True`) booleans, JSON numbers
 * numbers, `[...]`/`{...}` that parse as JSON lists and objects; anything else stays text.
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
