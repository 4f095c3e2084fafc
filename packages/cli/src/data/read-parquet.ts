import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from "hyparquet";
import { DataError, describeSystemError } from "./data-error.js";
import type { RawRecord } from "./read-records.js";

/** A Parquet file opened for reading: its byte source and footer. */
export interface OpenParquet {
  readonly buffer: AsyncBuffer;
  readonly metadata: FileMetaData;
}

/**
 * Opens a Parquet file and reads its footer.
 * @throws DataError `unreadable` when the file cannot be opened, `invalid-input` when it is not Parquet.
 */
export async function openParquet(file: string): Promise<OpenParquet> {
  let buffer: AsyncBuffer;
  try {
    buffer = await asyncBufferFromFile(file);
  } catch (error: unknown) {
    throw new DataError("unreadable", `cannot open the file: ${describeSystemError(error)}`, { file }, { cause: error });
  }
  try {
    return { buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (error: unknown) {
    throw new DataError("invalid-input", `not a valid Parquet file: ${messageOf(error)}`, { file }, { cause: error });
  }
}

/**
 * Streams a Parquet file's rows as objects keyed by column name, one row group at a time, so memory
 * is bounded by the largest row group. INT64 values arrive as bigints, nested lists and structs as
 * arrays and objects; a null list column is absent from its row object.
 *
 * @throws DataError naming the row group's first row when a group cannot be decoded (for example a
 *   compression codec other than Snappy, which hyparquet does not decode without extra codecs).
 */
export async function* readParquetRecords(file: string): AsyncGenerator<RawRecord> {
  const { buffer, metadata } = await openParquet(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    } catch (error: unknown) {
      const reason = messageOf(error);
      const hint = /compression codec/i.test(reason) ? " (Snappy and uncompressed files can be read; re-save it with Snappy)" : "";
      throw new DataError("invalid-input", `cannot decode the row group starting here: ${reason}${hint}`, { file, row: rowStart }, { cause: error });
    }
    for (const [offset, record] of rows.entries()) yield { record, recordIndex: rowStart + offset };
    rowStart = rowEnd;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
