import { conversationSamples, isConversation } from "./conversation-samples.js";
import { DataError } from "./data-error.js";
import { detectInputFormat } from "./input-format.js";
import { readRecords } from "./read-records.js";
import { alpacaSample, asRecordObject, type RecordPlace } from "./record-fields.js";
import { resolveFieldMapping, type FieldMapping, type InputFormat, type ResolvedFieldMapping, type Sample, type SourcedSample } from "./sample.js";

/** Options of {@link readSamples}: the field mapping and the input format (default `auto`). */
export interface ReadSamplesOptions extends FieldMapping {
  readonly format?: InputFormat | "auto";
}

/**
 * Streams the samples of a dataset file, in file order, validating each record as it is read.
 *
 * Formats: a JSON array of records (Alpaca files), JSON Lines (`.jsonl`, `.ndjson`, or a `.json` whose
 * first character is `{`) and Parquet; `auto` (the default) detects them (see `detectInputFormat`).
 * Text must be UTF-8; a byte-order mark and CRLF line endings are accepted. Nothing is held beyond the
 * current record (JSON, JSONL) or row group (Parquet), so files of any length can be read.
 *
 * Records are Alpaca-style triplets read through the field mapping (a missing or null input is `""`,
 * numeric ids are stringified), or ShareGPT/OpenAI conversations, which yield one sample per assistant
 * turn (see `conversationSamples` for how turns map to instruction, input and output).
 *
 * Validation happens as records are read, so an error can surface after earlier samples were yielded;
 * iterate once without scoring to validate a whole file first.
 *
 * @example
 * ```ts
 * for await (const { sample, index } of readSamples("data.jsonl", { outputField: "response" })) {
 *   console.log(index, sample.instruction);
 * }
 * ```
 * @throws DataError `unreadable` when the file cannot be read; `invalid-input` for an empty file, a
 *   file with no records or no scorable turns, invalid UTF-8 or malformed JSON (with line and column),
 *   and a missing, null or mistyped field (with line or row and the field's name).
 */
export async function* readSamples(file: string, options: ReadSamplesOptions = {}): AsyncGenerator<SourcedSample> {
  const format = await detectInputFormat(file, options.format ?? "auto", "samples");
  const mapping = resolveFieldMapping(options);
  let index = 0;
  let records = 0;
  for await (const { record, recordIndex, line, raw, offset } of readRecords(file, format)) {
    records++;
    const place: RecordPlace = line === undefined ? { file, row: recordIndex } : { file, line, row: recordIndex };
    const origin = { recordIndex, record, ...(line !== undefined ? { line } : {}), ...(raw !== undefined ? { raw } : {}), ...(offset !== undefined ? { offset } : {}) };
    for (const { sample, turn } of samplesOfRecord(record, mapping, place)) {
      yield { sample, index: index++, ...(turn !== undefined ? { turn } : {}), ...origin };
    }
  }
  if (records === 0) throw new DataError("invalid-input", `${format === "parquet" ? "the file has no rows" : "the file has no records"}: no samples`, { file });
  if (index === 0) throw new DataError("invalid-input", "no samples to score: no conversation has an assistant turn after a user message", { file });
}

/** One sample of a record; `turn` is set for conversation turns. */
export interface RecordSample {
  readonly sample: Sample;
  readonly turn?: number;
}

/**
 * The samples of one parsed record, in order: one for an Alpaca-style record, one per scored assistant
 * turn for a conversation. Shared by {@link readSamples} and the random-access reader so that a sample
 * read again is identical to the one streamed.
 *
 * @throws DataError naming the place and the field of a bad record.
 */
export function samplesOfRecord(record: unknown, mapping: ResolvedFieldMapping, place: RecordPlace): RecordSample[] {
  const object = asRecordObject(record, place);
  if (isConversation(object, mapping)) return conversationSamples(object, mapping, place);
  return [{ sample: alpacaSample(object, mapping, place) }];
}
