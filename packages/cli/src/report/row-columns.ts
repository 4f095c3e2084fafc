import { METRIC_NAMES, type MetricName } from "@sftscore/metrics";
import { DataError } from "../data/data-error.js";
import type { ReportRow } from "./report-rows.js";

/** The reason recorded for a null that the row does not explain (or a metric column a row lacks). */
export const UNEXPLAINED_NULL = "unspecified";

/**
 * A results file held column by column: one float64 array per metric (NaN for null), the sample index
 * and id of each row, and null counts. About 8 bytes per row per metric plus the ids, so millions of
 * rows fit; the rows themselves are not kept.
 */
export interface RowColumns {
  readonly file: string;
  readonly count: number;
  /** Metrics that any row has, in the row schema's order. */
  readonly metrics: readonly MetricName[];
  /** Values by metric and row position; NaN is null. */
  readonly values: ReadonlyMap<MetricName, Float64Array>;
  /** Sample index of each row position. */
  readonly indices: Float64Array;
  readonly ids: readonly (string | undefined)[];
  /** The task column's value per row, when some row had one. */
  readonly rowTasks: readonly (string | undefined)[] | undefined;
  /** Null counts: reason → column → count, over metric and `*_nll` columns. */
  readonly nullsByReason: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Null counts per metric: reason → count. */
  readonly metricNulls: ReadonlyMap<MetricName, ReadonlyMap<string, number>>;
  readonly truncated: number;
  readonly boundaryMerged: number;
  /** Row position of a sample index, or -1. */
  positionOf(index: number): number;
  /** Where a row is, for messages: `line 12` or `row 11`. */
  describePosition(position: number): string;
}

/**
 * Reads rows into {@link RowColumns}.
 * @throws DataError when two rows have the same `index`.
 */
export async function collectRows(file: string, rows: AsyncIterable<ReportRow>): Promise<RowColumns> {
  let capacity = 1024;
  let count = 0;
  const values = new Map<MetricName, Float64Array>();
  let indices: Float64Array = new Float64Array(capacity);
  let lines: Int32Array = new Int32Array(capacity);
  const ids: (string | undefined)[] = [];
  const tasks: (string | undefined)[] = [];
  let anyTask = false;
  const nullsByReason = new Map<string, Map<string, number>>();
  const metricNulls = new Map<MetricName, Map<string, number>>();
  let truncated = 0;
  let boundaryMerged = 0;
  const bump = <K>(map: Map<K, Map<string, number>>, key: K, inner: string) => {
    const counts = map.get(key) ?? new Map<string, number>();
    map.set(key, counts);
    counts.set(inner, (counts.get(inner) ?? 0) + 1);
  };

  for await (const row of rows) {
    if (count === capacity) {
      capacity *= 2;
      indices = grow(indices, capacity);
      lines = growInt(lines, capacity);
      for (const [metric, column] of values) values.set(metric, grow(column, capacity));
    }
    indices[count] = row.index;
    lines[count] = row.line ?? 0;
    ids.push(row.id);
    tasks.push(row.task);
    if (row.task !== undefined) anyTask = true;
    for (const metric of METRIC_NAMES) {
      const value = row.metrics[metric];
      let column = values.get(metric);
      if (value === undefined && column === undefined) continue;
      if (column === undefined) {
        // A metric first seen now: earlier rows lacked it.
        column = new Float64Array(capacity).fill(Number.NaN);
        values.set(metric, column);
        for (let earlier = 0; earlier < count; earlier++) bump(metricNulls, metric, UNEXPLAINED_NULL);
      }
      column[count] = value === undefined || value === null ? Number.NaN : value;
      if (value === undefined || value === null) bump(metricNulls, metric, row.nullReasons[metric] ?? UNEXPLAINED_NULL);
    }
    for (const [column, reason] of Object.entries(row.nullReasons)) bump(nullsByReason, reason, column);
    if (row.truncated) truncated++;
    if (row.boundaryMerged) boundaryMerged++;
    count++;
  }

  let maxIndex = -1;
  for (let p = 0; p < count; p++) maxIndex = Math.max(maxIndex, indices[p]);
  // Dense indices (the usual case: 0 … n−1) get an array; sparse ones (a filtered results file with
  // large indices) a map, so a stray huge index cannot make us allocate gigabytes.
  const dense = maxIndex < 4 * count + 1_000_000;
  const array = dense ? new Int32Array(maxIndex + 1).fill(-1) : undefined;
  const map = dense ? undefined : new Map<number, number>();
  const lookup = (index: number): number => (array !== undefined ? (index <= maxIndex ? array[index] : -1) : (map?.get(index) ?? -1));
  const describePosition = (position: number) => (lines[position] > 0 ? `line ${lines[position]}` : `row ${position}`);
  for (let p = 0; p < count; p++) {
    const earlier = lookup(indices[p]);
    if (earlier !== -1) {
      const detail = `index ${indices[p]} appears twice (${describePosition(earlier)} and ${describePosition(p)}): a results file has one row per sample`;
      throw new DataError("invalid-input", detail, lines[p] > 0 ? { file, line: lines[p], field: "index" } : { file, row: p, field: "index" });
    }
    if (array !== undefined) array[indices[p]] = p;
    else map?.set(indices[p], p);
  }

  const metrics = METRIC_NAMES.filter((metric) => values.has(metric));
  return {
    file,
    count,
    metrics,
    values: new Map(metrics.map((metric) => [metric, (values.get(metric) as Float64Array).subarray(0, count)])),
    indices: indices.subarray(0, count),
    ids,
    rowTasks: anyTask ? tasks : undefined,
    nullsByReason,
    metricNulls,
    truncated,
    boundaryMerged,
    positionOf: (index) => (Number.isInteger(index) && index >= 0 ? lookup(index) : -1),
    describePosition,
  };
}

function grow(array: Float64Array, capacity: number): Float64Array {
  const bigger = new Float64Array(capacity).fill(Number.NaN);
  bigger.set(array);
  return bigger;
}

function growInt(array: Int32Array, capacity: number): Int32Array {
  const bigger = new Int32Array(capacity);
  bigger.set(array);
  return bigger;
}
