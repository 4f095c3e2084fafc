/**
 * Seeded choice of one-shot partners (DESIGN.md §1): for sample `e`, up to `K` other samples of its
 * task, drawn uniformly without replacement. The draw depends only on `(seed, e, task members)`, never
 * on window size, batch order or what was drawn for other samples, so rows are reproducible however
 * the input is cut up.
 */
import { MetricsError } from "./metrics-error.js";

/** A uniform random number in [0, 1) with 53 random bits. */
type RandomSource = () => number;

/**
 * Chooses up to `k` partners of sample `self` among `members` (its task's sample indices, ascending,
 * normally including `self`), excluding `self`. When fewer than `k` others exist, all of them are
 * returned, as the seed's `get_random_non_m_values` does. Runs in O(k + log m) time and memory
 * (a sparse Fisher–Yates shuffle), whatever the task's size.
 *
 * @param seed Unsigned 32-bit integer.
 * @returns Partner indices, ascending (so sums over partners have one fixed order).
 * @throws MetricsError `invalid-argument` when `k` or `seed` is out of range.
 */
export function selectPartners(members: ArrayLike<number>, self: number, k: number, seed: number): number[] {
  if (!Number.isSafeInteger(k) || k < 0) throw new MetricsError("invalid-argument", `partner count K must be a non-negative integer, got ${k}`);
  checkSeed(seed);
  const selfPosition = indexOfSorted(members, self);
  const poolSize = members.length - (selfPosition >= 0 ? 1 : 0);
  // Pool position p stands for members[p], skipping self's slot.
  const memberAt = (p: number): number => members[selfPosition >= 0 && p >= selfPosition ? p + 1 : p];
  if (poolSize <= k) {
    return Array.from({ length: poolSize }, (_, p) => memberAt(p));
  }
  const random = randomFor(seed, self);
  // Fisher–Yates over a virtual array 0..poolSize-1; `swapped` holds only the moved slots.
  const swapped = new Map<number, number>();
  const chosen: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (poolSize - i));
    const atJ = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    chosen.push(memberAt(atJ));
  }
  return chosen.sort((a, b) => a - b);
}

/** Position of `value` in ascending `sorted`, or −1. */
function indexOfSorted(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === value ? lo : -1;
}

/** @throws MetricsError `invalid-argument` unless `seed` is an integer in [0, 2^32). */
export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new MetricsError("invalid-argument", `seed must be an integer in [0, 4294967295], got ${seed}`);
  }
}

/**
 * An independent stream per (seed, sample index): sfc32 (Chris Doty-Humphrey's small fast counting
 * generator) keyed by murmur3-finalised seed and index, warmed up before use.
 */
function randomFor(seed: number, index: number): RandomSource {
  let a = fmix32(seed ^ 0x9e3779b9);
  let b = fmix32(index ^ 0x85ebca6b);
  let c = fmix32((seed + Math.imul(index, 0x27d4eb2f)) | 0);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return () => ((next() >>> 5) * 67_108_864 + (next() >>> 6)) / 9_007_199_254_740_992;
}

function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
