/**
 * Positions of the `k` highest or lowest values (NaN = null, skipped), best first; ties go to the
 * smaller `order[position]` (the sample index), so the choice is deterministic. Runs in
 * O(n log k) time and O(k) extra memory, so ten of ten million rows cost one pass.
 */
export function selectExtremes(values: ArrayLike<number>, k: number, direction: "highest" | "lowest", order: ArrayLike<number>): number[] {
  if (k <= 0) return [];
  const sign = direction === "highest" ? -1 : 1;
  // `before(a, b)`: position a ranks ahead of position b.
  const before = (a: number, b: number) => {
    const difference = sign * (values[a] - values[b]);
    return difference < 0 || (difference === 0 && order[a] < order[b]);
  };
  const kept: number[] = [];
  for (let position = 0; position < values.length; position++) {
    if (Number.isNaN(values[position])) continue;
    if (kept.length === k && !before(position, kept[k - 1])) continue;
    // Binary search for the first kept position this one ranks ahead of.
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(position, kept[middle])) high = middle;
      else low = middle + 1;
    }
    kept.splice(low, 0, position);
    if (kept.length > k) kept.pop();
  }
  return kept;
}
