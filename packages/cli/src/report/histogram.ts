import { sortedValues } from "./quantiles.js";

/** How a histogram spaces its bins: equal widths, or equal ratios (log). */
export type AxisKind = "linear" | "log";

/**
 * The counts a histogram chart draws.
 *
 * - `bins`: `edges.length = counts.length + 1`; bin `i` holds values in `[edges[i], edges[i+1])`, the
 *   last bin also its upper edge. Edges are equally spaced in the axis' space (log10 for `log`) from
 *   the smallest to the largest value.
 * - `distinct`: few distinct values (a small dataset, all-equal values, the sign-mode one-shot
 *   validity's thirds): one bar per value, no binning to blur them.
 */
export type Histogram =
  | { readonly kind: "bins"; readonly axis: AxisKind; readonly edges: readonly number[]; readonly counts: readonly number[]; readonly total: number; readonly excluded: number }
  | { readonly kind: "distinct"; readonly axis: AxisKind; readonly values: readonly number[]; readonly counts: readonly number[]; readonly total: number; readonly excluded: number };

/** Options of {@link binValues}. */
export interface BinOptions {
  /** Default `linear`. */
  readonly axis?: AxisKind;
  /** Bin count; default `⌈√n⌉` clamped to [5, 40]. */
  readonly bins?: number;
  /** Up to this many distinct values are drawn one bar each instead of binned; default 12. */
  readonly maxDistinct?: number;
}

/** The default number of bins for `n` values: `⌈√n⌉`, at least 5 and at most 40. */
export function defaultBinCount(n: number): number {
  return Math.min(40, Math.max(5, Math.ceil(Math.sqrt(n))));
}

/**
 * Counts values (NaN = null, skipped) into a {@link Histogram}. On a log axis values ≤ 0 cannot be
 * placed; they are left out and counted in `excluded` (`total` counts only the values placed).
 */
export function binValues(values: ArrayLike<number>, options: BinOptions = {}): Histogram {
  const axis = options.axis ?? "linear";
  const all = sortedValues(values);
  const sorted = axis === "log" ? all.subarray(firstPositive(all)) : all;
  const excluded = all.length - sorted.length;
  const total = sorted.length;
  const distinct = distinctCounts(sorted, options.maxDistinct ?? 12);
  if (distinct !== undefined) return { kind: "distinct", axis, values: distinct.values, counts: distinct.counts, total, excluded };

  const bins = options.bins ?? defaultBinCount(total);
  const low = sorted[0];
  const high = sorted[total - 1];
  const toAxis = axis === "log" ? Math.log10 : (v: number) => v;
  const fromAxis = axis === "log" ? (t: number) => 10 ** t : (t: number) => t;
  const t0 = toAxis(low);
  const t1 = toAxis(high);
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === 0 ? low : i === bins ? high : fromAxis(t0 + ((t1 - t0) * i) / bins)));
  const counts = new Array<number>(bins).fill(0);
  for (const value of sorted) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(((toAxis(value) - t0) / (t1 - t0)) * bins)));
    counts[bin]++;
  }
  return { kind: "bins", axis, edges, counts, total, excluded };
}

/** Distinct values and their counts, or `undefined` when there are more than `max`. */
function distinctCounts(sorted: Float64Array, max: number): { values: number[]; counts: number[] } | undefined {
  const values: number[] = [];
  const counts: number[] = [];
  for (const value of sorted) {
    if (values.length > 0 && values[values.length - 1] === value) counts[counts.length - 1]++;
    else {
      if (values.length === max) return undefined;
      values.push(value);
      counts.push(1);
    }
  }
  return { values, counts };
}

function firstPositive(sorted: Float64Array): number {
  let at = 0;
  while (at < sorted.length && !(sorted[at] > 0)) at++;
  return at;
}
