/** Latency percentiles of a benchmark's requests. */

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of `values` by the nearest-rank method: the smallest value with at
 * least `q × n` values at or below it, so p99 of 100 values is the 99th smallest and every
 * reported figure is a latency some request actually had.
 *
 * @throws RangeError for an empty list or `q` outside [0, 1].
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError("percentile of an empty list");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** p50, p99 and the largest of a set of latencies, in the unit they were given in. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** {@link LatencySummary} of `values`; @throws RangeError for an empty list. */
export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  return { count: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: percentile(values, 1) };
}
