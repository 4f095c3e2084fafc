import { METRIC_NAMES, type MetricName } from "@sftscore/metrics";
import { DataError } from "../data/data-error.js";
import { openResultRows, type ResultRowAt } from "../data/read-result-rows.js";

/** What the report needs from one result row (the `score` output, DESIGN.md §5). */
export interface ReportRow {
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

/**
 * Streams the rows of a results file written by `score` (any format `openResultRows` reads), each
 * validated as it is read.
 *
 * @param taskColumn a column holding a task label to pick up from each row, if present; in CSV it is
 *   read as text, so labels such as `1.0` stay as written.
 * @throws DataError naming the file and line (or row) and field: an unreadable file, malformed JSON or
 *   CSV, no rows, a row that is not an object, a missing or non-integer `index`, a metric that is
 *   neither a number nor null, a malformed `null_reasons`.
 */
export async function* readReportRows(file: string, taskColumn?: string): AsyncGenerator<ReportRow> {
  const results = await openResultRows(file, taskColumn === undefined ? {} : { textColumns: [taskColumn] });
  try {
    for await (const at of results.rows()) yield parseReportRow(file, at, taskColumn);
  } finally {
    await results.close();
  }
}

/** Validates one row of a results file. */
export function parseReportRow(file: string, at: ResultRowAt, taskColumn?: string): ReportRow {
  const place = at.line === undefined ? { file, row: at.position } : { file, line: at.line };
  const fail = (field: string, detail: string) => new DataError("invalid-input", detail, { ...place, field });
  const fields = at.row;
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
    ...(at.line === undefined ? {} : { line: at.line }),
    position: at.position,
  };
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

/** `null_reasons` as an object, or as the JSON text of one (a string column, as some writers store it). */
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

/** A value as it appears in the file, cut short: messages show what is wrong, not just its type. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = typeof value === "bigint" ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
