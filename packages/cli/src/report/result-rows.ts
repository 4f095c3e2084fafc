import { METRIC_NAMES, type MetricName } from "@sftscore/metrics";
import { DataError } from "../data/data-error.js";
import { detectInputFormat } from "../data/input-format.js";
import { readRecords, type RawRecord } from "../data/read-records.js";
import { rowFormatOf } from "../data/write-rows.js";
import { readCsvRecords } from "./csv-records.js";

/** What the report needs from one result row (the `score` output, DESIGN.md §5). */
export interface ResultRow {
  /** The sample's 0-based position in the input. */
  readonly index: number;
  readonly id?: string;
  /** The metric columns the row has: a number, or null. */
  readonly metrics: Readonly<Partial<Record<MetricName, number | null>>>;
  /** Why each null column is null (metric and `*_nll` columns). */
  readonly nullReasons: Readonly<Record<string, string>>;
  readonly truncated: boolean;
  readonly boundaryMerged: boolean;
  /** The value of the task column, when one was asked for and the row has it. */
  readonly task?: string;
  /** 1-based line (JSONL, CSV) of the row, for error messages. */
  readonly line?: number;
  /** 0-based position of the row in the file. */
  readonly position: number;
}

/** Columns `score` writes as numbers, as booleans, and as JSON (in CSV files all cells are text). */
const NUMBER_COLUMN = /^(index|ifd|rifd|oneshot_validity|[a-z_]+_(ppl|nll|tokens))$/;
const BOOLEAN_COLUMNS = new Set(["truncated", "boundary_merged"]);
const JSON_COLUMNS = new Set(["null_reasons", "oneshot_partners"]);

/**
 * Streams the rows of a results file written by `score`: JSON Lines (and JSON arrays of rows), CSV or
 * Parquet, chosen by extension as `score` chooses it (`.csv`, `.parquet`, otherwise JSON). Each row is
 * validated as it is read.
 *
 * @param taskColumn a column holding a task label to pick up from each row, if present.
 * @throws DataError naming the file and line (or row) and field: an unreadable file, malformed JSON or
 *   CSV, a row that is not an object, a missing or non-integer `index`, a metric that is neither a
 *   number nor null, a malformed `null_reasons`.
 */
export async function* readResultRows(file: string, taskColumn?: string): AsyncGenerator<ResultRow> {
  const records = rowFormatOf(file) === "csv" ? csvRows(file) : readRecords(file, await detectInputFormat(file));
  let count = 0;
  for await (const raw of records) {
    yield parseResultRow(file, raw, taskColumn);
    count++;
  }
  if (count === 0) throw new DataError("invalid-input", "the results file has no rows", { file });
}

/** Validates one record of a results file. */
export function parseResultRow(file: string, raw: RawRecord, taskColumn?: string): ResultRow {
  const place = raw.line === undefined ? { file, row: raw.recordIndex } : { file, line: raw.line };
  const fail = (field: string, detail: string) => new DataError("invalid-input", detail, { ...place, field });
  const record = raw.record;
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new DataError("invalid-input", `a result row must be a JSON object, got ${describe(record)}`, place);
  }
  const fields = record as Record<string, unknown>;
  const index = asNumber(fields.index);
  if (index === undefined || !Number.isInteger(index) || index < 0) {
    throw fail("index", fields.index === undefined ? `field "index" is missing: is this a results file written by sftscore score?` : `field "index" must be a non-negative integer, got ${describe(fields.index)}`);
  }
  const metrics: Partial<Record<MetricName, number | null>> = {};
  for (const metric of METRIC_NAMES) {
    if (!(metric in fields)) continue;
    const value = fields[metric];
    const number = asNumber(value);
    if (value === null) metrics[metric] = null;
    else if (number !== undefined && Number.isFinite(number)) metrics[metric] = number;
    else throw fail(metric, `field "${metric}" must be a finite number or null, got ${describe(value)}`);
  }
  const nullReasons = asReasons(fields.null_reasons);
  if (nullReasons === undefined) throw fail("null_reasons", `field "null_reasons" must be an object of column → reason, got ${describe(fields.null_reasons)}`);
  const id = fields.id === undefined || fields.id === null ? undefined : String(fields.id);
  const taskValue = taskColumn === undefined ? undefined : fields[taskColumn];
  const task = taskValue === undefined || taskValue === null ? undefined : String(taskValue);
  return {
    index,
    ...(id === undefined ? {} : { id }),
    metrics,
    nullReasons,
    truncated: fields.truncated === true,
    boundaryMerged: fields.boundary_merged === true,
    ...(task === undefined ? {} : { task }),
    ...(raw.line === undefined ? {} : { line: raw.line }),
    position: raw.recordIndex,
  };
}

/** CSV rows as records typed the way `score` wrote them. */
async function* csvRows(file: string): AsyncGenerator<RawRecord> {
  let header: readonly string[] | undefined;
  let recordIndex = 0;
  for await (const { cells, quoted, line } of readCsvRecords(file)) {
    if (header === undefined) {
      header = cells;
      continue;
    }
    if (cells.length !== header.length) {
      throw new DataError("invalid-input", `the row has ${cells.length} cells but the header has ${header.length}`, { file, line });
    }
    const record: Record<string, unknown> = {};
    header.forEach((column, i) => {
      record[column] = csvValue(file, line, column, cells[i], quoted[i]);
    });
    yield { record, recordIndex: recordIndex++, line };
  }
}

function csvValue(file: string, line: number, column: string, text: string, quoted: boolean): unknown {
  // An unquoted empty cell is null; `""` is the empty string (see csvCell).
  if (text === "" && !quoted) return null;
  if (NUMBER_COLUMN.test(column)) {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw new DataError("invalid-input", `field "${column}" must be a number, got "${text}"`, { file, line, field: column });
    return value;
  }
  if (BOOLEAN_COLUMNS.has(column)) {
    if (text === "true" || text === "false") return text === "true";
    throw new DataError("invalid-input", `field "${column}" must be true or false, got "${text}"`, { file, line, field: column });
  }
  if (JSON_COLUMNS.has(column)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DataError("invalid-input", `field "${column}" must hold JSON, got "${text}"`, { file, line, field: column });
    }
  }
  return text;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

function asReasons(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return {};
  let parsed: unknown = value;
  if (typeof parsed === "string") {
    try {
      parsed = JSON.parse(parsed) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const reasons: Record<string, string> = {};
  for (const [column, reason] of Object.entries(parsed)) {
    if (typeof reason !== "string") return undefined;
    reasons[column] = reason;
  }
  return reasons;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = typeof value === "bigint" ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
