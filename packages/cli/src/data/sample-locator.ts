import { open, type FileHandle } from "node:fs/promises";
import { createTaskIndexBuilder, taskLabelOf, type TaskIndex } from "@sftscore/metrics";
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from "hyparquet";
import { DataError, describeSystemError } from "./data-error.js";
import { detectInputFormat } from "./input-format.js";
import { createJsonArrayScanner } from "./json-scanner.js";
import { readSamples, samplesOfRecord, type ReadSamplesOptions, type RecordSample } from "./read-samples.js";
import { resolveFieldMapping, type InputFormat, type Sample, type SourcedSample } from "./sample.js";

/** First positional read when re-reading a record; doubled while the record is longer. */
const FIRST_READ_BYTES = 4 * 1024;
const MAX_READ_BYTES = 1024 * 1024;
/** Records kept after a fetch: a partner is often drawn again by nearby samples of its task. */
const RECORD_CACHE_ENTRIES = 256;
/** Parquet rows fetched together are read as one range when this close within a row group. */
const PARQUET_BATCH_SPAN = 1024;

/**
 * Where each sample of a file is, in a few bytes per sample, never its text: the byte offset of its
 * record (JSON, JSONL; 8 bytes) and, only once a record has yielded more than one sample
 * (conversations), its record index (4 bytes). Build it with {@link createSampleLocationsBuilder}
 * while streaming {@link readSamples}; read samples back with {@link openSampleLocator}.
 */
export interface SampleLocations {
  readonly sampleCount: number;
  /** Byte offset of sample `index`'s record; `undefined` for Parquet, found by record index. */
  offsetOf(index: number): number | undefined;
  recordIndexOf(index: number): number;
}

/** Accumulates {@link SampleLocations} in sample order. */
export interface SampleLocationsBuilder {
  /** Adds the next sample (its `index` must be the number added so far). */
  add(sourced: Pick<SourcedSample, "index" | "recordIndex" | "offset">): void;
  finish(): SampleLocations;
}

/** Starts a {@link SampleLocations}; storage grows by doubling, like the task index. */
export function createSampleLocationsBuilder(): SampleLocationsBuilder {
  let count = 0;
  let offsets: Float64Array | undefined;
  // Undefined while every sample's record index equals its sample index (Alpaca files): no storage.
  let records: Uint32Array | undefined;
  return {
    add({ index, recordIndex, offset }) {
      if (index !== count) throw new Error(`sample locations: expected sample ${count}, got ${index}`);
      if (offset !== undefined) {
        if (offsets === undefined) {
          if (count > 0) throw new Error("sample locations: a sample without a byte offset came before one with");
          offsets = new Float64Array(1024);
        }
        if (count === offsets.length) offsets = grown(offsets, new Float64Array(offsets.length * 2));
        offsets[count] = offset;
      } else if (offsets !== undefined) {
        throw new Error(`sample locations: sample ${index} has no byte offset`);
      }
      if (records === undefined && recordIndex !== index) {
        records = new Uint32Array(Math.max(1024, count * 2));
        for (let i = 0; i < count; i++) records[i] = i;
      }
      if (records !== undefined) {
        if (count === records.length) records = grown(records, new Uint32Array(records.length * 2));
        records[count] = recordIndex;
      }
      count++;
    },
    finish() {
      const sampleCount = count;
      const offsetStore = offsets;
      const recordStore = records;
      return {
        sampleCount,
        offsetOf: (index) => offsetStore?.[index],
        recordIndexOf: (index) => (recordStore === undefined ? index : recordStore[index]),
      };
    },
  };
}

function grown<T extends Float64Array | Uint32Array>(array: T, bigger: T): T {
  bigger.set(array);
  return bigger;
}

/** What the first pass of a streamed `score` learns about its input. */
export interface SampleIndex {
  readonly sampleCount: number;
  /** Set when `partners` was asked for: the task membership one-shot partners are drawn from. */
  readonly taskIndex?: TaskIndex;
  /** Set when `partners` was asked for: where to re-read a partner sample. */
  readonly locations?: SampleLocations;
}

/**
 * The first pass over a dataset: validates every record (as {@link readSamples} does, with file and
 * line errors), counts the samples and, with `partners`, builds the task index and the sample
 * locations that one-shot partners need. Memory is O(N) small integers (about 20 bytes a sample with
 * `partners`, nothing without), never the texts.
 *
 * @throws DataError as {@link readSamples}; `signal`'s reason when it fires.
 */
export async function indexSamples(
  file: string,
  options: ReadSamplesOptions,
  { partners, signal }: { readonly partners: boolean; readonly signal?: AbortSignal },
): Promise<SampleIndex> {
  const tasks = partners ? createTaskIndexBuilder() : undefined;
  const locations = partners ? createSampleLocationsBuilder() : undefined;
  let sampleCount = 0;
  for await (const sourced of readSamples(file, options)) {
    signal?.throwIfAborted();
    tasks?.add(taskLabelOf(sourced.sample));
    locations?.add(sourced);
    sampleCount++;
  }
  if (tasks === undefined || locations === undefined) return { sampleCount };
  return { sampleCount, taskIndex: tasks.finish(), locations: locations.finish() };
}

/** Random access to the samples of a file; see {@link openSampleLocator}. */
export interface SampleLocator {
  readonly sampleCount: number;
  /**
   * Sample `index`, exactly as {@link readSamples} yields it, read again from the file.
   * @throws DataError `invalid-input` when the file changed since the locations were taken.
   */
  sampleAt(index: number): Promise<Sample>;
  /** Closes the file; idempotent. */
  close(): Promise<void>;
}

/**
 * Opens `file` for reading single samples by index, from {@link SampleLocations} taken over the same
 * file with the same options. Each read is positional on one open file handle: JSONL reads from the
 * record's offset to the next newline; a JSON array frames one element from its offset with the
 * streaming JSON scanner; Parquet reads the row (rows asked for together are read as one range of
 * their row group). The record is mapped to samples by the code `readSamples` uses. The last
 * {@link RECORD_CACHE_ENTRIES} records are kept.
 *
 * @throws DataError `unreadable` when the file cannot be opened, `invalid-input` when it is no longer
 *   the file the locations describe.
 */
export async function openSampleLocator(file: string, locations: SampleLocations, options: ReadSamplesOptions = {}): Promise<SampleLocator> {
  const format = await detectInputFormat(file, options.format ?? "auto");
  const mapping = resolveFieldMapping(options);
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error: unknown) {
    throw new DataError("unreadable", `cannot open the file: ${describeSystemError(error)}`, { file }, { cause: error });
  }
  let readRecord: (recordIndex: number, offset: number | undefined) => Promise<unknown>;
  try {
    readRecord = await recordReader(file, format, handle);
  } catch (error: unknown) {
    await handle.close();
    throw error;
  }
  const cache = new Map<number, Promise<readonly RecordSample[]>>();
  const samplesOf = (recordIndex: number, offset: number | undefined): Promise<readonly RecordSample[]> => {
    const cached = cache.get(recordIndex);
    if (cached !== undefined) {
      // Re-inserted so that the map's order is least recently used first.
      cache.delete(recordIndex);
      cache.set(recordIndex, cached);
      return cached;
    }
    const loading = readRecord(recordIndex, offset).then((record) => samplesOfRecord(record, mapping, { file, row: recordIndex }));
    cache.set(recordIndex, loading);
    loading.catch(() => cache.delete(recordIndex));
    if (cache.size > RECORD_CACHE_ENTRIES) cache.delete(cache.keys().next().value as number);
    return loading;
  };
  let closed: Promise<void> | undefined;
  return {
    sampleCount: locations.sampleCount,
    async sampleAt(index) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= locations.sampleCount) {
        throw new RangeError(`sample index ${index} is outside the file's ${locations.sampleCount} samples`);
      }
      const recordIndex = locations.recordIndexOf(index);
      // A record's samples are consecutive (conversation turns); the first one's position gives the turn.
      let first = index;
      while (first > 0 && locations.recordIndexOf(first - 1) === recordIndex) first--;
      const samples = await samplesOf(recordIndex, locations.offsetOf(index));
      const found = samples[index - first];
      if (found === undefined) throw changed(file, `record ${recordIndex} no longer has sample ${index}`);
      return found.sample;
    },
    close() {
      closed ??= handle.close();
      return closed;
    },
  };
}

function changed(file: string, detail: string): DataError {
  return new DataError("invalid-input", `the file changed while it was scored: ${detail}`, { file });
}

/** Reads one record by its index (Parquet) or byte offset (JSON, JSONL). */
async function recordReader(file: string, format: InputFormat, handle: FileHandle): Promise<(recordIndex: number, offset: number | undefined) => Promise<unknown>> {
  if (format === "parquet") {
    const rowAt = await parquetRowReader(file, handle);
    return (recordIndex) => rowAt(recordIndex);
  }
  const frame = format === "jsonl" ? jsonlLineAt : jsonElementAt;
  return async (recordIndex, offset) => {
    if (offset === undefined) throw new Error(`record ${recordIndex} has no byte offset`);
    const text = await frame(file, handle, offset);
    try {
      return JSON.parse(text) as unknown;
    } catch (error: unknown) {
      throw new DataError("invalid-input", `the file changed while it was scored: no JSON record at byte ${offset}`, { file }, { cause: error });
    }
  };
}

/** Reads `size` bytes at `position`, fewer at the end of the file. */
async function readAt(file: string, handle: FileHandle, position: number, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  try {
    const { bytesRead } = await handle.read(bytes, 0, size, position);
    return bytes.subarray(0, bytesRead);
  } catch (error: unknown) {
    throw new DataError("unreadable", `cannot read the file: ${describeSystemError(error)}`, { file }, { cause: error });
  }
}

/** The JSONL line starting at `offset`, without its line ending. */
async function jsonlLineAt(file: string, handle: FileHandle, offset: number): Promise<string> {
  const parts: Buffer[] = [];
  let position = offset;
  for (let size = FIRST_READ_BYTES; ; size = Math.min(size * 2, MAX_READ_BYTES)) {
    const bytes = await readAt(file, handle, position, size);
    if (bytes.length === 0) break; // the last line, without a final newline
    const newline = bytes.indexOf(0x0a);
    if (newline !== -1) {
      parts.push(bytes.subarray(0, newline));
      break;
    }
    parts.push(bytes);
    position += bytes.length;
  }
  const text = Buffer.concat(parts).toString("utf8");
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}

/** The text of the JSON array element starting at `offset`, framed by the scanner `readSamples` uses. */
async function jsonElementAt(file: string, handle: FileHandle, offset: number): Promise<string> {
  const scanner = createJsonArrayScanner(file);
  // The element is scanned as the first element of an array, so it ends at its own closing bracket
  // whatever strings with `]` or `}` it holds.
  scanner.push("[");
  const decoder = new TextDecoder("utf-8");
  let position = offset;
  for (let size = FIRST_READ_BYTES; ; size = Math.min(size * 2, MAX_READ_BYTES)) {
    const bytes = await readAt(file, handle, position, size);
    if (bytes.length === 0) throw changed(file, `the record at byte ${offset} does not end`);
    const [element] = scanner.push(decoder.decode(bytes, { stream: true }));
    if (element !== undefined) return element.text;
    position += bytes.length;
  }
}

/** A reader of single Parquet rows that batches the rows asked for in the same turn of the event loop. */
async function parquetRowReader(file: string, handle: FileHandle): Promise<(row: number) => Promise<unknown>> {
  const { size } = await handle.stat();
  const buffer: AsyncBuffer = {
    byteLength: size,
    async slice(start, end = size) {
      const bytes = await readAt(file, handle, start, end - start);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error: unknown) {
    throw new DataError("invalid-input", `not a valid Parquet file: ${error instanceof Error ? error.message : String(error)}`, { file }, { cause: error });
  }
  // First row of each row group, and the end.
  const groupStarts = [0];
  for (const group of metadata.row_groups) groupStarts.push(groupStarts[groupStarts.length - 1] + Number(group.num_rows));
  const groupOf = (row: number): number => {
    let group = 0;
    while (group + 1 < groupStarts.length - 1 && groupStarts[group + 1] <= row) group++;
    return group;
  };

  type Waiter = { resolve: (record: unknown) => void; reject: (error: unknown) => void };
  let pending = new Map<number, Waiter[]>();
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = new Map();
    const rows = [...batch.keys()].sort((a, b) => a - b);
    for (let i = 0; i < rows.length; ) {
      // One range: rows of the same row group, close together.
      const rowStart = rows[i];
      const group = groupOf(rowStart);
      let j = i + 1;
      while (j < rows.length && groupOf(rows[j]) === group && rows[j] - rowStart < PARQUET_BATCH_SPAN) j++;
      const rowEnd = rows[j - 1] + 1;
      const range = rows.slice(i, j);
      i = j;
      try {
        const objects = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
        for (const row of range) {
          const record: unknown = objects[row - rowStart];
          for (const waiter of batch.get(row) ?? []) {
            if (record === undefined) waiter.reject(changed(file, `row ${row} is missing`));
            else waiter.resolve(record);
          }
        }
      } catch (error: unknown) {
        const failure = error instanceof DataError ? error : new DataError("invalid-input", `cannot decode row ${rowStart}: ${error instanceof Error ? error.message : String(error)}`, { file, row: rowStart }, { cause: error });
        for (const row of range) for (const waiter of batch.get(row) ?? []) waiter.reject(failure);
      }
    }
  };
  return (row) =>
    new Promise((resolve, reject) => {
      if (pending.size === 0) setImmediate(() => void flush());
      const waiters = pending.get(row);
      if (waiters === undefined) pending.set(row, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
    });
}
