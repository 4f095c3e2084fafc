import { createReadStream } from "node:fs";
import { DataError, describeSystemError } from "./data-error.js";

/** Bytes per read; small enough that a reader's memory stays flat, large enough to be fast. */
const CHUNK_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads a UTF-8 text file as a stream of decoded chunks, strictly: a leading byte-order mark is
 * dropped, and an invalid byte sequence fails with the line and column where it starts.
 *
 * Why not `readline` or a replacing decoder: those turn invalid bytes into U+FFFD, which is
 * indistinguishable from a real U+FFFD in the data, so the error could not be reported at all.
 *
 * Chunks split only between characters (an incomplete trailing sequence waits for the next read), so
 * each chunk is decoded on its own with a fatal decoder.
 *
 * @throws DataError `unreadable` when the file cannot be read, `invalid-input` on invalid UTF-8.
 */
export async function* readUtf8Chunks(file: string): AsyncGenerator<string> {
  for await (const { text } of readUtf8ChunksAt(file)) yield text;
}

/** A decoded chunk of a UTF-8 file and the file offset of its first byte. */
export interface Utf8Chunk {
  readonly text: string;
  /** Byte offset in the file of `text[0]` (3 for the first chunk of a file with a byte-order mark). */
  readonly byteOffset: number;
}

/**
 * {@link readUtf8Chunks} with each chunk's byte offset, so readers can note where a record starts and
 * come back to it later with a positional read (one-shot partners of a streamed `score`).
 *
 * @throws DataError as {@link readUtf8Chunks}.
 */
export async function* readUtf8ChunksAt(file: string): AsyncGenerator<Utf8Chunk> {
  const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let carry: Buffer = Buffer.alloc(0);
  let linesBefore = 0;
  let previous: Buffer = Buffer.alloc(0);
  let first = true;
  let consumed = 0; // bytes of the file decoded so far
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      const bytes = carry.length === 0 ? read : Buffer.concat([carry, read]);
      const end = completeCharactersEnd(bytes);
      const complete = bytes.subarray(0, end);
      carry = Buffer.from(bytes.subarray(end));
      let text: string;
      try {
        text = decoder.decode(complete);
      } catch {
        throw invalidUtf8(file, complete, { linesBefore, bytesBefore: consumed });
      }
      linesBefore += countNewlines(complete);
      previous = complete;
      let byteOffset = consumed;
      consumed += complete.length;
      if (first && text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        byteOffset += 3; // U+FEFF is three bytes in UTF-8
      }
      first = false;
      if (text.length > 0) yield { text, byteOffset };
    }
  } catch (error: unknown) {
    if (error instanceof DataError) throw error;
    throw new DataError("unreadable", `cannot read the file: ${describeSystemError(error)}`, { file }, { cause: error });
  } finally {
    stream.destroy();
  }
  // A sequence cut off by the end of the file; the previous chunk gives its line's start for the column.
  if (carry.length > 0) {
    throw invalidUtf8(file, Buffer.concat([previous, carry]), { linesBefore: linesBefore - countNewlines(previous), bytesBefore: consumed - previous.length });
  }
}

/** The offset after the last complete UTF-8 character (an incomplete final sequence is left out). */
export function completeCharactersEnd(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let i = end - 1; i >= Math.max(0, end - 4); i--) {
    const byte = bytes[i];
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return end - i < length ? i : end;
  }
  return end; // only continuation bytes at the end: invalid, the decoder will say so
}

function countNewlines(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/** Where a decoded stretch of bytes starts in its file. */
interface StretchStart {
  /** Complete lines before it. */
  readonly linesBefore: number;
  /** Its byte offset in the file. */
  readonly bytesBefore: number;
}

/**
 * Finds the first invalid sequence in `bytes`. The message gives the byte offset as well as the
 * column, because a hex editor (the tool to inspect a stray byte) counts bytes, not characters.
 */
function invalidUtf8(file: string, bytes: Uint8Array, { linesBefore, bytesBefore }: StretchStart): DataError {
  const failing = firstInvalidOffset(bytes);
  const bad = sequenceStart(bytes, failing);
  const lineStart = bytes.lastIndexOf(NEWLINE, bad - 1) + 1;
  const line = linesBefore + countNewlines(bytes.subarray(0, lineStart)) + 1;
  const prefix = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(lineStart, bad));
  const column = prefix.length + 1;
  const shown = Array.from(bytes.subarray(bad, Math.max(bad + 1, failing)), (byte) => byte.toString(16).padStart(2, "0")).join(" ");
  const detail = `invalid UTF-8 (${shown} at byte offset ${bytesBefore + bad}); the file must be UTF-8 encoded`;
  return new DataError("invalid-input", detail, { file, line, column });
}

/**
 * The offset of the first byte that cannot start or continue valid UTF-8. A streaming fatal decode
 * accepts any valid prefix, including one cut inside a character, so validity of prefixes is
 * monotone and a binary search finds the boundary.
 */
function firstInvalidOffset(bytes: Uint8Array): number {
  const validPrefix = (length: number): boolean => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, length), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let low = 0; // valid
  let high = bytes.length; // assumed invalid (a truncated tail counts: its prefix is "valid" only while streaming)
  if (validPrefix(high)) return high; // valid but cut inside a character at the end
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (validPrefix(middle)) low = middle;
    else high = middle;
  }
  return high - 1;
}

/**
 * The decoder fails at the byte that breaks a sequence (`e4 b8 41` fails at `41`); users want to see
 * where the broken character starts, so back up to its lead byte when `offset` is inside one.
 */
function sequenceStart(bytes: Uint8Array, offset: number): number {
  for (let lead = offset - 1; lead >= Math.max(0, offset - 3); lead--) {
    const byte = bytes[lead];
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return lead + length > offset ? lead : offset;
  }
  return offset;
}
