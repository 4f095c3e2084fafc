import type { Sample } from "@sftscore/metrics";

export type { Sample };

/**
 * Which record fields hold the sample's parts (the `--*-field` options). Defaults: `instruction`,
 * `input`, `output`, `id`; no task field.
 */
export interface FieldMapping {
  readonly instructionField?: string;
  readonly inputField?: string;
  readonly outputField?: string;
  readonly idField?: string;
  readonly taskField?: string;
}

/** A {@link FieldMapping} with its defaults filled in. */
export interface ResolvedFieldMapping {
  readonly instructionField: string;
  readonly inputField: string;
  readonly outputField: string;
  readonly idField: string;
  readonly taskField: string | undefined;
}

/** Fills in the defaults of a {@link FieldMapping}. */
export function resolveFieldMapping(mapping: FieldMapping = {}): ResolvedFieldMapping {
  return {
    instructionField: mapping.instructionField ?? "instruction",
    inputField: mapping.inputField ?? "input",
    outputField: mapping.outputField ?? "output",
    idField: mapping.idField ?? "id",
    taskField: mapping.taskField,
  };
}

/** Input file formats; `auto` detects from the extension and the first bytes. */
export type InputFormat = "json" | "jsonl" | "parquet";

/**
 * A sample together with where it came from, so results can name it and `select` can write the
 * original record back untouched.
 */
export interface SourcedSample {
  readonly sample: Sample;
  /**
   * 0-based position of the sample in the file's sample sequence: the `index` of its result row.
   * Equals {@link recordIndex} for Alpaca-style records; conversations yield several samples per record.
   */
  readonly index: number;
  /** 0-based position of the record in the file (the JSON array element, JSONL record or Parquet row). */
  readonly recordIndex: number;
  /** 1-based line where the record starts (JSON and JSONL). */
  readonly line?: number;
  /** Conversations: the 0-based position of the scored assistant message in the record's message list. */
  readonly turn?: number;
  /** The record as parsed, untouched (shared by all samples of a conversation). */
  readonly record: unknown;
  /** JSONL: the record's original line text (without BOM or line ending), for byte-exact subsets. */
  readonly raw?: string;
  /**
   * JSON, JSONL: byte offset in the file of the record's first byte, so the record can be read again
   * on its own (`openSampleLocator`); Parquet records are found by {@link recordIndex}.
   */
  readonly offset?: number;
}
