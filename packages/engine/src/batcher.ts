/**
 * Pure planning of model runs: which sequences go together, and to what padded length. Knows nothing
 * of tokens or tensors, so it is tested exhaustively without a model (STYLE.md §3).
 */

/** Default {@link BatchLimits.maxBatchTokens}: rows × padded length per run, in tokens. */
export const DEFAULT_MAX_BATCH_TOKENS = 8192;

/** Default {@link BatchLimits.maxBatchSize}: rows per run. */
export const DEFAULT_MAX_BATCH_SIZE = 64;

/** Caps on one model run. Every limit is a positive integer (`Infinity` disables it). */
export interface BatchLimits {
  /**
   * Rows × padded length, in tokens; bounds activation memory and compute of the transformer body.
   * Default {@link DEFAULT_MAX_BATCH_TOKENS} (8192).
   */
  maxBatchTokens: number;
  /** Rows per run. Default {@link DEFAULT_MAX_BATCH_SIZE} (64). */
  maxBatchSize: number;
  /**
   * Scored positions per run, summed over rows. The loss head's `[N, vocab]` float32 log-softmax is
   * the memory peak, so this bounds it independently of the token budget. No default: it depends on
   * the vocabulary size and the device's memory.
   */
  maxScoredTokens: number;
  /**
   * Rows × padded length², the cells of one attention head's score matrices summed over rows.
   * Unfused attention holds `[rows, heads, L, L]` tensors (scores, masked scores, softmax), which
   * grow with the square of the padded length while the token budget grows linearly: at long lengths
   * they, not the token budget, set the memory peak. Default `Infinity` (no limit).
   */
  maxAttentionCells?: number;
  /**
   * Padded length, in tokens, for a row of the given length; must return an integer ≥ `length` and
   * never decrease as `length` grows. Default {@link defaultLengthBucket}. A caller whose graph
   * derives positions from `arange(L)` (absolute position embeddings, no `position_ids` input)
   * should cap the result at the model's maximum length.
   */
  lengthBucket?: (length: number) => number;
  /**
   * The fixed cost of one model run, in padded tokens: the planner splits rows of different lengths
   * into separate runs when that saves more padding than this. Default
   * {@link DEFAULT_BATCH_OVERHEAD_TOKENS}.
   */
  batchOverheadTokens?: number;
}

/**
 * Default {@link BatchLimits.batchOverheadTokens}. A run's fixed cost on CPU (dispatch, thread
 * wake-ups, per-shape planning) is worth a few milliseconds, on the order of a hundred tokens of
 * compute for small models; splitting for less padding than that is not worth another run.
 */
export const DEFAULT_BATCH_OVERHEAD_TOKENS = 128;

/**
 * How queued sequences are grouped into model runs:
 * - `"token-budget"` (default): {@link planBatches} over the queue — longest first, cut to minimise
 *   padding under the {@link BatchLimits};
 * - `{ fixedBatchSize: n }`: the `n` oldest queued sequences in arrival order, whatever their lengths,
 *   padded to the longest one's bucket; no limit but the row count applies. This is how a
 *   straightforward port batches (the seed's batches of 5); benchmarks use it to measure what
 *   token-budget batching buys.
 */
export type BatchingPolicy = "token-budget" | { readonly fixedBatchSize: number };

/** One sequence to place in a batch. */
export interface BatchItem {
  /** The caller's index of the sequence (e.g. into its request array); kept so order can be restored. */
  readonly index: number;
  /** Sequence length, in tokens (a non-negative integer). */
  readonly length: number;
  /** Positions of this sequence the loss head scores (see `scoredPositions`). */
  readonly scoredCount: number;
}

/** One model run: its rows, longest first, and the length every row is right-padded to. */
export interface PlannedBatch {
  readonly items: readonly BatchItem[];
  /** Padded length `L`, in tokens: the bucket of the batch's longest item. */
  readonly paddedLength: number;
}

/** Smallest padded length, and the step up to {@link FINE_GRID_FROM}, in tokens. */
const COARSE_STEP = 16;
/** Above this length the step grows with the length, one eighth of the enclosing power of two. */
const FINE_GRID_FROM = 128;
/** Steps per doubling of length above {@link FINE_GRID_FROM}. */
const STEPS_PER_OCTAVE = 8;

/**
 * Rounds a sequence length up to a coarse grid of padded lengths, so ONNX Runtime sees few distinct
 * input shapes (it re-plans memory for each new shape, and the first run at a shape is 2-3× slower).
 *
 * Grid: multiples of 16 up to 128 (16, 32, …, 128), then for lengths in `(2^k, 2^(k+1)]` multiples of
 * `2^k / 8` (144, 160, …, 256, 288, …, 512, 576, …). Below 128 the waste is at most 15 tokens, which
 * costs little, while finer steps there would add shapes for no gain. Above 128 the padding is less
 * than one eighth of the real length (worst case `2^k + 1` → `2^k + 2^(k−3)`: 11.1% of the padded
 * row). Lengths 1..4096 map to 48 buckets; each further doubling adds 8.
 *
 * @param length Sequence length in tokens, a non-negative integer; 0 maps to the smallest bucket (16).
 * @returns The padded length in tokens, ≥ `length`.
 * @throws RangeError when `length` is negative or not an integer.
 */
export function defaultLengthBucket(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`sequence length must be a non-negative integer, got ${length}`);
  }
  if (length <= FINE_GRID_FROM) return Math.max(COARSE_STEP, roundUp(length, COARSE_STEP));
  // Smallest power of two ≥ length (doubling, exact, unlike log2); lengths in (power/2, power] share
  // a step of power/16.
  let power = FINE_GRID_FROM;
  while (power < length) power *= 2;
  return roundUp(length, power / 2 / STEPS_PER_OCTAVE);
}

/**
 * Packs items into batches, longest first. Items are sorted by length, descending (stable by
 * `index`), so a batch that runs out of memory is the first one rather than one an hour into a job.
 * The sorted list is then cut into consecutive batches that minimise the padded tokens run plus
 * {@link BatchLimits.batchOverheadTokens} per run (dynamic programming over the cut points), subject
 * to `rows × paddedLength ≤ maxBatchTokens`, `rows ≤ maxBatchSize` and
 * `Σ scoredCount ≤ maxScoredTokens` and `rows × paddedLength² ≤ maxAttentionCells`. Greedy filling up to the token budget would mix a 50-token row
 * into a batch padded to 380 tokens; the cost model splits there instead. An item that alone exceeds
 * a limit gets a batch of its own: it is never dropped, and the caller decides whether the run fails.
 *
 * Every item appears in exactly one batch. Items with `scoredCount` 0 are planned like the others;
 * a caller may answer them without a run. Cost: O(items × maxBatchSize).
 *
 * @param items The sequences to plan; not modified.
 * @param limits Caps per run; see {@link BatchLimits}.
 * @returns Batches in run order, longest first.
 * @throws RangeError when a limit is not a positive integer or `Infinity`, when an item's length or
 *   scored count is not a non-negative integer, or when `lengthBucket` returns less than the length.
 */
export function planBatches(items: readonly BatchItem[], limits: BatchLimits): PlannedBatch[] {
  checkLimits(limits);
  const maxAttentionCells = limits.maxAttentionCells ?? Infinity;
  const bucket = limits.lengthBucket ?? defaultLengthBucket;
  const overhead = limits.batchOverheadTokens ?? DEFAULT_BATCH_OVERHEAD_TOKENS;
  const sorted = longestFirst(items);
  const padded = sorted.map((item) => paddedLengthOf(item, bucket));
  const n = sorted.length;
  // best[j]: least cost of planning sorted[0..j); cut[j]: where the last batch of that plan starts.
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    let batchPadded = 0;
    let scored = 0;
    for (let i = j - 1; i >= 0; i--) {
      const rows = j - i;
      // A custom bucket need not be monotone, so the batch's length is the maximum over its rows.
      batchPadded = Math.max(batchPadded, padded[i]);
      scored += sorted[i].scoredCount;
      const fits =
        rows === 1 ||
        (rows <= limits.maxBatchSize && rows * batchPadded <= limits.maxBatchTokens && scored <= limits.maxScoredTokens && rows * batchPadded * batchPadded <= maxAttentionCells);
      // Adding rows only grows every constrained quantity, so the first misfit ends the search.
      if (!fits) break;
      const cost = best[i] + rows * batchPadded + overhead;
      if (cost < best[j]) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const batches: PlannedBatch[] = [];
  for (let j = n; j > 0; j = cut[j]) {
    const members = sorted.slice(cut[j], j);
    batches.push({ items: members, paddedLength: Math.max(...padded.slice(cut[j], j)) });
  }
  return batches.reverse();
}

/**
 * Fraction of the padded tokens of a plan that are real tokens: `Σ length / Σ rows × paddedLength`,
 * in `(0, 1]`. A plan with no tokens counts as fully filled (1), so the ratio is never NaN.
 */
export function planFillRatio(batches: readonly PlannedBatch[]): number {
  let realTokens = 0;
  let paddedTokens = 0;
  for (const batch of batches) {
    paddedTokens += batch.items.length * batch.paddedLength;
    for (const item of batch.items) realTokens += item.length;
  }
  return paddedTokens === 0 ? 1 : realTokens / paddedTokens;
}

/** A copy of `items`, longest first, ties by ascending `index` (so plans are reproducible). */
function longestFirst(items: readonly BatchItem[]): BatchItem[] {
  return [...items].sort((a, b) => b.length - a.length || a.index - b.index);
}

function paddedLengthOf(item: BatchItem, bucket: (length: number) => number): number {
  if (!Number.isSafeInteger(item.length) || item.length < 0) {
    throw new RangeError(`item ${item.index}: length must be a non-negative integer, got ${item.length}`);
  }
  if (!Number.isSafeInteger(item.scoredCount) || item.scoredCount < 0) {
    throw new RangeError(`item ${item.index}: scoredCount must be a non-negative integer, got ${item.scoredCount}`);
  }
  const padded = bucket(item.length);
  if (!Number.isSafeInteger(padded) || padded < item.length) {
    throw new RangeError(`lengthBucket(${item.length}) returned ${padded}; it must be an integer ≥ the length`);
  }
  return padded;
}

function checkLimits(limits: BatchLimits): void {
  const overhead = limits.batchOverheadTokens;
  if (overhead !== undefined && !(Number.isFinite(overhead) && overhead >= 0)) {
    throw new RangeError(`batchOverheadTokens must be a non-negative number, got ${overhead}`);
  }
  for (const name of ["maxBatchTokens", "maxBatchSize", "maxScoredTokens", "maxAttentionCells"] as const) {
    const value = limits[name] ?? Infinity;
    if (value !== Infinity && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`${name} must be a positive integer or Infinity, got ${value}`);
    }
  }
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
