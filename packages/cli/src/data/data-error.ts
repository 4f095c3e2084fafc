/**
 * Why reading or writing a data file failed.
 *
 * - `invalid-input`: the input file's content is unusable (bad encoding, malformed JSON, a missing or
 *   mistyped field, an empty file). The user fixes the file or the field mapping.
 * - `unreadable`: the input file cannot be opened or read (missing, a directory, no permission).
 * - `unwritable`: an output file cannot be created or written (no permission, missing disk space,
 *   a directory in the way).
 * - `output-exists`: the output file already has content and neither resume nor overwrite was asked.
 * - `invalid-output`: the output cannot hold what is asked: an extension of another format, or a
 *   resumed CSV whose header lacks a column of this run's rows.
 */
export type DataErrorCode = "invalid-input" | "unreadable" | "unwritable" | "output-exists" | "invalid-output";

/** Where in a file a {@link DataError} happened. All positions are optional except the file. */
export interface DataErrorLocation {
  /** The file as the user named it. */
  readonly file: string;
  /** 1-based line (JSON, JSONL, CSV). */
  readonly line?: number;
  /** 1-based column in characters (UTF-16 code units) within {@link line}. */
  readonly column?: number;
  /** 0-based record index (the `index` of the record's first result row); Parquet errors name it. */
  readonly row?: number;
  /** The field of the record, e.g. `output` or `messages[2].content`. */
  readonly field?: string;
}

/**
 * The data layer's one error type: a code, a message that names the file and the position in it
 * (`data.jsonl:17: field "output" is missing`, `data.parquet: row 16: ...`), and the cause.
 *
 * The message leads with `file:line:column` the way compilers do, so editors and terminals can jump
 * to it; Parquet has no lines and names the 0-based row instead (as pandas' `iloc` counts).
 */
export class DataError extends Error {
  override readonly name = "DataError";
  readonly code: DataErrorCode;
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly row?: number;
  readonly field?: string;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(code: DataErrorCode, detail: string, location: DataErrorLocation, options: { cause?: unknown } = {}) {
    super(`${locationPrefix(location)}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
    this.file = location.file;
    if (location.line !== undefined) this.line = location.line;
    if (location.column !== undefined) this.column = location.column;
    if (location.row !== undefined) this.row = location.row;
    if (location.field !== undefined) this.field = location.field;
  }
}

function locationPrefix(location: DataErrorLocation): string {
  if (location.line !== undefined) {
    return location.column === undefined ? `${location.file}:${location.line}` : `${location.file}:${location.line}:${location.column}`;
  }
  return location.row === undefined ? location.file : `${location.file}: row ${location.row}`;
}

/** Describes the system error behind a failed open/read/write, e.g. `permission denied (EACCES)`. */
export function describeSystemError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const known = code === undefined ? undefined : SYSTEM_ERROR_TEXT[code];
    if (known !== undefined && code !== undefined) return `${known} (${code})`;
    return error.message;
  }
  return String(error);
}

const SYSTEM_ERROR_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
  EDQUOT: "disk quota exceeded",
};
