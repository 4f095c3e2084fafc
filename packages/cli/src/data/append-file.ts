import { createReadStream } from "node:fs";
import { mkdir, open, rm, stat, truncate, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { CSV_QUOTE } from "./csv-write.js";
import { DataError, describeSystemError } from "./data-error.js";

/** How records end in a file: at every newline, or (CSV) at a newline outside double quotes. */
export type RecordSyntax = "lines" | "csv";

/** What {@link openAppendFile} found and prepared. */
export interface AppendFile {
  /** Complete records already in the file (after dropping a partial last one). */
  readonly existingRecords: number;
  /** The file's first complete record, when there is one (the CSV header). */
  readonly firstRecord: string | undefined;
  /** Whether anything has been appended since the file was opened. */
  readonly appended: boolean;
  /**
   * Appends text that holds whole records, with one `write` so a killed process leaves whole
   * records or, at worst, a partial last one that the next resume drops. Writes run in call order.
   */
  append(text: string): Promise<void>;
  /**
   * Flushes to disk (fsync) and closes. A file this open created and nothing was appended to is
   * removed, so a run that fails before its first record leaves no output behind. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Options of {@link openAppendFile}. */
export interface AppendFileOptions {
  readonly syntax: RecordSyntax;
  /** Keep the complete records of an existing file and append after them. */
  readonly resume?: boolean;
  /**
   * Replace an existing file: it is emptied by the first append, so a run that fails before writing
   * anything leaves the old content intact. Ignored with `resume`, which never destroys data.
   */
  readonly overwrite?: boolean;
  /** Names the flags in the refusal message. */
  readonly existsHint?: string;
}

const NEWLINE = 0x0a;
const QUOTE = CSV_QUOTE.charCodeAt(0);

/**
 * Opens an output file for appending whole records, eagerly, so an unwritable path fails before any
 * work starts. Parent directories are created.
 *
 * - New or empty file: starts empty.
 * - Existing content with `resume`: a trailing partial record (from a killed run) is truncated away
 *   and the complete records are counted.
 * - Existing content with `overwrite`: kept until the first append, which truncates it.
 * - Existing content otherwise: refused.
 *
 * @throws DataError `output-exists` when refused; `unwritable` when the path cannot be created,
 *   opened or truncated.
 */
export async function openAppendFile(path: string, options: AppendFileOptions): Promise<AppendFile> {
  const found = await outputFileSize(path);
  const size = found ?? 0;
  let existing: RecordScan = { records: 0, completeBytes: 0, firstRecord: undefined };
  if (size > 0) {
    if (options.resume) {
      existing = await scanRecords(path, options.syntax);
      if (existing.completeBytes < size) await truncateTo(path, existing.completeBytes);
    } else if (!options.overwrite) {
      const hint = options.existsHint ?? "pass --resume to continue the run that wrote it, or --overwrite to replace it";
      throw new DataError("output-exists", `the output file already exists and is not empty; ${hint}`, { file: path });
    }
  }
  const handle = await openForAppend(path);
  return createAppendFile(path, handle, existing, { created: found === undefined, replace: size > 0 && !options.resume });
}

/** How the file was found: `created` by this open, or holding content to `replace` at the first append. */
interface OpenedAs {
  readonly created: boolean;
  readonly replace: boolean;
}

function createAppendFile(path: string, handle: FileHandle, existing: RecordScan, opened: OpenedAs): AppendFile {
  let queue: Promise<void> = Promise.resolve();
  let failure: DataError | undefined;
  let closed = false;
  let appended = false;
  const writeAll = async (bytes: Buffer): Promise<void> => {
    if (failure !== undefined) throw failure;
    try {
      // O_APPEND writes go to the new end, so emptying the file here is all that replacing takes.
      if (!appended && opened.replace) await handle.truncate(0);
      appended = true;
      // A regular-file write is whole unless the disk fills; loop for that case rather than lose a tail.
      for (let offset = 0; offset < bytes.length; ) offset += (await handle.write(bytes, offset)).bytesWritten;
    } catch (error: unknown) {
      // Later rows must not land after a gap: every write after a failure fails the same way.
      failure = new DataError("unwritable", `cannot write the output file: ${describeSystemError(error)}`, { file: path }, { cause: error });
      throw failure;
    }
  };
  return {
    existingRecords: existing.records,
    firstRecord: existing.firstRecord,
    get appended() {
      return appended;
    },
    append(text: string): Promise<void> {
      const bytes = Buffer.from(text, "utf8");
      const done = queue.then(() => writeAll(bytes));
      queue = done.catch(() => undefined);
      return done;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await queue;
      if (opened.created && !appended) {
        await handle.close();
        await rm(path, { force: true });
        return;
      }
      try {
        await handle.sync();
      } catch (error: unknown) {
        // Devices such as /dev/null cannot be synced, which is no reason to fail.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EINVAL" && code !== "ENOTSUP") {
          throw new DataError("unwritable", `cannot flush the output file to disk: ${describeSystemError(error)}`, { file: path }, { cause: error });
        }
      } finally {
        await handle.close();
      }
    },
  };
}

/**
 * The size in bytes of an output file about to be written, `undefined` when it does not exist yet.
 * @throws DataError `unwritable` when the path is a directory or cannot be examined.
 */
export async function outputFileSize(path: string): Promise<number | undefined> {
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw new DataError("unwritable", "the output path is a directory", { file: path });
    return stats.size;
  } catch (error: unknown) {
    if (error instanceof DataError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DataError("unwritable", `cannot write the output file: ${describeSystemError(error)}`, { file: path }, { cause: error });
  }
}

async function openForAppend(path: string): Promise<FileHandle> {
  try {
    await mkdir(dirname(path), { recursive: true });
    return await open(path, "a");
  } catch (error: unknown) {
    throw new DataError("unwritable", `cannot write the output file: ${describeSystemError(error)}`, { file: path }, { cause: error });
  }
}

async function truncateTo(path: string, bytes: number): Promise<void> {
  try {
    await truncate(path, bytes);
  } catch (error: unknown) {
    throw new DataError("unwritable", `cannot truncate the partial last row: ${describeSystemError(error)}`, { file: path }, { cause: error });
  }
}

interface RecordScan {
  readonly records: number;
  /** Bytes up to and including the last record terminator. */
  readonly completeBytes: number;
  readonly firstRecord: string | undefined;
}

/** Header lines longer than this are not kept for the caller (no CSV header is this long). */
const FIRST_RECORD_LIMIT = 1024 * 1024;

/**
 * Counts the complete records of a file in one streaming pass. For CSV a newline ends a record only
 * outside quotes; quoting toggles on every `"`, which also handles `""` escapes, so a partial last
 * record (even one cut inside a quoted cell) is never mistaken for a complete one.
 */
export async function scanRecords(path: string, syntax: RecordSyntax): Promise<RecordScan> {
  let records = 0;
  let completeBytes = 0;
  let offset = 0;
  let quoted = false;
  const head: Buffer[] = [];
  let firstRecord: string | undefined;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at++) {
        const byte = chunk[at];
        if (byte === QUOTE && syntax === "csv") quoted = !quoted;
        else if (byte === NEWLINE && !quoted) {
          records++;
          completeBytes = offset + at + 1;
          if (records === 1 && offset < FIRST_RECORD_LIMIT) firstRecord = Buffer.concat([...head, chunk.subarray(0, at + 1)]).toString("utf8");
        }
      }
      if (records === 0 && offset < FIRST_RECORD_LIMIT) head.push(chunk);
      offset += chunk.length;
    }
  } catch (error: unknown) {
    throw new DataError("unwritable", `cannot read the output file to resume: ${describeSystemError(error)}`, { file: path }, { cause: error });
  }
  return { records, completeBytes, firstRecord };
}
