import { DataError } from "./data-error.js";
import type { ResolvedFieldMapping, Sample } from "./sample.js";

/** Where a record sits, for error messages: JSON/JSONL name the line, Parquet the row. */
export interface RecordPlace {
  readonly file: string;
  /** 1-based line where the record starts, for line-based formats. */
  readonly line?: number;
  /** 0-based record index. */
  readonly row: number;
}

/** A parsed record whose fields can be looked up by name. */
export type RecordObject = Readonly<Record<string, unknown>>;

/** Fails with a DataError naming the place and the field. */
export function fieldError(place: RecordPlace, field: string, detail: string): DataError {
  return new DataError("invalid-input", `field "${field}" ${detail}`, { ...place, field });
}

/** Describes a value's JSON type for messages: `null`, `an array`, `a number`, ... */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "binary data";
  const type = typeof value;
  return type === "object" || type === "undefined" ? `an ${type}` : `a ${type}`;
}

/**
 * Checks that a parsed record is an object (not an array, string or number).
 * @throws DataError `invalid-input`: `data.jsonl:3: expected a JSON object (a record), got an array`.
 */
export function asRecordObject(value: unknown, place: RecordPlace): RecordObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DataError("invalid-input", `expected a JSON object (a record), got ${describeValue(value)}`, place);
  }
  return value as RecordObject;
}

/**
 * A string field that must be present.
 * @throws DataError when the field is missing, null or not a string.
 */
export function requiredString(record: RecordObject, field: string, place: RecordPlace, name = field): string {
  const value = record[field];
  if (value === undefined) throw fieldError(place, name, "is missing");
  if (value === null) throw fieldError(place, name, "is null");
  if (typeof value !== "string") throw fieldError(place, name, `must be a string, got ${describeValue(value)}`);
  return value;
}

/**
 * A string field that may be missing or null (both read as `undefined`).
 * @throws DataError when present with another type.
 */
export function optionalString(record: RecordObject, field: string, place: RecordPlace): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw fieldError(place, field, `must be a string, got ${describeValue(value)}`);
  return value;
}

/**
 * A label field (id or task): strings as they are, numbers stringified (`7` → `"7"`), missing or null
 * as `undefined`. Integers beyond 2^53 have already lost digits in `JSON.parse`, so they are refused
 * rather than silently renamed; Parquet INT64 values arrive as exact bigints and are fine.
 *
 * @throws DataError for other types and for inexact integers.
 */
export function labelField(record: RecordObject, field: string, place: RecordPlace): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw fieldError(place, field, `is an integer too large to read exactly (${value}); store it as a string`);
    }
    return String(value);
  }
  throw fieldError(place, field, `must be a string or a number, got ${describeValue(value)}`);
}

/**
 * Maps an Alpaca-style record to a sample through the field mapping: instruction and output are
 * required strings, a missing or null input is `""`, id and task are optional labels.
 *
 * @throws DataError naming the place and the field.
 */
export function alpacaSample(record: RecordObject, mapping: ResolvedFieldMapping, place: RecordPlace): Sample {
  const instruction = requiredString(record, mapping.instructionField, place);
  const input = optionalString(record, mapping.inputField, place) ?? "";
  const output = requiredString(record, mapping.outputField, place);
  return withLabels({ instruction, input, output }, record, mapping, place);
}

/** Adds the record's id and task (when present) to a sample. */
export function withLabels(sample: Sample, record: RecordObject, mapping: ResolvedFieldMapping, place: RecordPlace, idSuffix = ""): Sample {
  const id = labelField(record, mapping.idField, place);
  const task = mapping.taskField === undefined ? undefined : labelField(record, mapping.taskField, place);
  return {
    ...sample,
    ...(id !== undefined || idSuffix !== "" ? { id: `${id ?? String(place.row)}${idSuffix}` } : {}),
    ...(task !== undefined ? { task } : {}),
  };
}
