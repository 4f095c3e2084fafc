/**
 * Summary statistics of one metric's non-null values, as the report's tables show them.
 * Quantiles interpolate linearly between order statistics (Hyndman & Fan type 7, numpy's and R's
 * default), so `p50` of `[1, 2, 3, 4]` is `2.5`.
 */
export interface Summary {
  /** Number of values (nulls are not counted). */
  readonly n: number;
  readonly mean: number;
  readonly min: number;
  readonly p5: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p95: number;
  readonly max: number;
}

/**
 * The `p`-quantile (0 ≤ p ≤ 1) of values sorted ascending, interpolated linearly: position
 * `h = (n − 1)·p`, value `s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋])`.
 * @throws RangeError for an empty array or `p` outside [0, 1].
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of no values");
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile ${p} is outside [0, 1]`);
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const high = Math.min(low + 1, sorted.length - 1);
  const fraction = h - low;
  // Written as a weighted sum, not low + f·(high − low), so that two huge values (perplexities near
  // the float64 limit) do not overflow in the difference.
  return fraction === 0 ? sorted[low] : sorted[low] * (1 - fraction) + sorted[high] * fraction;
}

/**
 * Summarises values (any order; NaN stands for null and is skipped). Returns `undefined` when no value
 * is left. The mean is a running mean, which cannot overflow where a plain sum of large perplexities
 * would.
 */
export function summarize(values: ArrayLike<number>): Summary | undefined {
  const sorted = sortedValues(values);
  if (sorted.length === 0) return undefined;
  let mean = 0;
  for (let i = 0; i < sorted.length; i++) mean += (sorted[i] - mean) / (i + 1);
  const q = (p: number) => quantileSorted(sorted, p);
  return { n: sorted.length, mean, min: sorted[0], p5: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), max: sorted[sorted.length - 1] };
}

/** The values that are not NaN, sorted ascending, as a new array. */
export function sortedValues(values: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) count++;
  const kept = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) kept[at++] = values[i];
  // A typed array sorts numerically.
  return kept.sort();
}

/** The median of values (NaN skipped), or `undefined` when there is none. */
export function median(values: ArrayLike<number>): number | undefined {
  const sorted = sortedValues(values);
  return sorted.length === 0 ? undefined : quantileSorted(sorted, 0.5);
}
