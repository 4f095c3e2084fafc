import type { RankOrder } from "./presets.js";

/** Rows in rank order: positions into the input arrays, the ranked ones first, then those without a value. */
export interface Ranking {
  /** Positions of rows with a value, best first. */
  readonly ranked: Uint32Array;
  /** Positions of rows whose value is null (NaN), by ascending index. `--top` never takes these. */
  readonly unranked: Uint32Array;
}

/**
 * Ranks rows by value, deterministically: `desc` puts the largest value first, `asc` the smallest;
 * equal values keep ascending `index` order (whatever the order rows arrived in), and rows without a
 * value (NaN marks null) come after all others, also by index.
 *
 * Parallel arrays rather than row objects, so ten million rows cost two doubles each.
 *
 * @param indices each row's `index` (its sample's position in the data)
 * @param values each row's value; NaN for null
 */
export function rankRows(indices: ArrayLike<number>, values: ArrayLike<number>, order: RankOrder): Ranking {
  let withValue = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) withValue++;
  const ranked = new Uint32Array(withValue);
  const unranked = new Uint32Array(values.length - withValue);
  for (let i = 0, r = 0, u = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) unranked[u++] = i;
    else ranked[r++] = i;
  }
  const sign = order === "desc" ? -1 : 1;
  ranked.sort((a, b) => {
    const x = values[a];
    const y = values[b];
    if (x !== y) return x < y ? -sign : sign;
    return indices[a] - indices[b];
  });
  unranked.sort((a, b) => indices[a] - indices[b]);
  return { ranked, unranked };
}
