import { DataError } from "./data-error.js";
import { createJsonArrayScanner, findJsonSyntaxError } from "./json-scanner.js";
import { readParquetRecords } from "./read-parquet.js";
import type { InputFormat } from "./sample.js";
import { readUtf8ChunksAt } from "./utf8-text.js";

/** A record as stored in the file, before it is mapped to samples. */
export interface RawRecord {
  /** The parsed record, untouched. */
  readonly record: unknown;
  /** 0-based position among the file's records. */
  readonly recordIndex: number;
  /** 1-based line where the record starts (JSON, JSONL). */
  readonly line?: number;
  /** JSONL: the line's text without its line ending. */
  readonly raw?: string;
  /**
   * JSON, JSONL: byte offset in the file of the record's first byte (the line's start for JSONL), so
   * the record can be read again alone (`openSampleLocator`).
   */
  readonly offset?: number;
}

/**
 * Streams the records of a file in the given format, one at a time; memory stays bounded by the
 * largest record (JSON, JSONL) or row group (Parquet).
 *
 * @throws DataError with the file and line (or row) for unreadable or malformed content.
 */
export function readRecords(file: string, format: InputFormat): AsyncGenerator<RawRecord> {
  switch (format) {
    case "jsonl":
      return readJsonlRecords(file);
    case "json":
      return readJsonArrayRecords(file);
    case "parquet":
      return readParquetRecords(file);
  }
}

/**
 * Reads JSON Lines: one JSON value per line, `\n` or `\r\n` endings, blank lines skipped (they still
 * count for line numbers).
 */
export async function* readJsonlRecords(file: string): AsyncGenerator<RawRecord> {
  let line = 0;
  let recordIndex = 0;
  let pending: string[] = [];
  // Byte offsets: `byte` is the file offset of chunk[start], `lineOffset` that of the current line.
  let byte = 0;
  let lineOffset = 0;
  const parse = (text: string): RawRecord | undefined => {
    line++;
    const content = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (content.trim() === "") return undefined;
    return { record: parseJsonLine(file, content, line), recordIndex: recordIndex++, line, raw: content, offset: lineOffset };
  };
  for await (const { text: chunk, byteOffset } of readUtf8ChunksAt(file)) {
    byte = byteOffset;
    let start = 0;
    for (let end = chunk.indexOf("\n"); end !== -1; end = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, end);
      if (pending.length === 0) lineOffset = byte;
      byte += Buffer.byteLength(piece, "utf8") + 1;
      pending.push(piece);
      const record = parse(pending.join(""));
      pending = [];
      start = end + 1;
      if (record !== undefined) yield record;
    }
    if (start < chunk.length) {
      const piece = chunk.slice(start);
      if (pending.length === 0) lineOffset = byte;
      byte += Buffer.byteLength(piece, "utf8");
      pending.push(piece);
    }
  }
  if (pending.length > 0) {
    const record = parse(pending.join(""));
    if (record !== undefined) yield record;
  }
}

function parseJsonLine(file: string, text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error: unknown) {
    const located = findJsonSyntaxError(file, text, line);
    if (located !== undefined) throw located;
    // The checker accepts what JSON.parse refused (e.g. nesting too deep for the engine): keep its words.
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError("invalid-input", `malformed JSON: ${reason}`, { file, line }, { cause: error });
  }
}

/** Reads a file holding one JSON array of records, streaming it element by element. */
export async function* readJsonArrayRecords(file: string): AsyncGenerator<RawRecord> {
  const scanner = createJsonArrayScanner(file);
  let recordIndex = 0;
  let textStart: number | undefined; // file offset of the scanned text (3 after a byte-order mark)
  for await (const { text, byteOffset } of readUtf8ChunksAt(file)) {
    textStart ??= byteOffset;
    for (const element of scanner.push(text)) {
      // The scanner has checked the syntax, so JSON.parse cannot fail here.
      yield { record: JSON.parse(element.text) as unknown, recordIndex: recordIndex++, line: element.line, offset: textStart + element.byteOffset };
    }
  }
  scanner.end();
}
