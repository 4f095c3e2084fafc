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
   * Padded length, in tokens, for a row of the given length; must return an integer ≥ `length` and
   * never decrease as `length` grows. Default {@link defaultLengthBucket}. A caller whose graph
   * derives positions from `arange(L)` (absolute position embeddings, no `position_ids` input)
   * should cap the result at the model's maximum length.
   */
  lengthBucket?: (length: number) => number;
}

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
 * `index`), so a batch that runs out of memory is the first one rather than one an hour into a job,
 * and rows of similar length share a batch, which keeps padding tight. Items are then added greedily
 * while `rows × paddedLength ≤ maxBatchTokens`, `rows ≤ maxBatchSize` and
 * `Σ scoredCount ≤ maxScoredTokens`. An item that alone exceeds a limit gets a batch of its own: it
 * is never dropped, and the caller decides whether the run fails.
 *
 * Every item appears in exactly one batch. Items with `scoredCount` 0 are planned like the others;
 * a caller may answer them without a run.
 *
 * @param items The sequences to plan; not modified.
 * @param limits Caps per run; see {@link BatchLimits}.
 * @returns Batches in run order, longest first.
 * @throws RangeError when a limit is not a positive integer or `Infinity`, when an item's length or
 *   scored count is not a non-negative integer, or when `lengthBucket` returns less than the length.
 */
export function planBatches(items: readonly BatchItem[], limits: BatchLimits): PlannedBatch[] {
  checkLimits(limits);
  const bucket = limits.lengthBucket ?? defaultLengthBucket;
  const batches: PlannedBatch[] = [];
  let current: BatchItem[] = [];
  let paddedLength = 0;
  let scoredTokens = 0;
  for (const item of longestFirst(items)) {
    const itemPadded = paddedLengthOf(item, bucket);
    // A custom bucket need not be monotone, so the batch's length is the maximum over its rows.
    const nextPadded = Math.max(paddedLength, itemPadded);
    const fits =
      current.length === 0 ||
      ((current.length + 1) * nextPadded <= limits.maxBatchTokens &&
        current.length + 1 <= limits.maxBatchSize &&
        scoredTokens + item.scoredCount <= limits.maxScoredTokens);
    if (!fits) {
      batches.push({ items: current, paddedLength });
      current = [];
      scoredTokens = 0;
    }
    paddedLength = current.length === 0 ? itemPadded : nextPadded;
    current.push(item);
    scoredTokens += item.scoredCount;
  }
  if (current.length > 0) batches.push({ items: current, paddedLength });
  return batches;
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
  for (const name of ["maxBatchTokens", "maxBatchSize", "maxScoredTokens"] as const) {
    const value = limits[name];
    if (value !== Infinity && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`${name} must be a positive integer or Infinity, got ${value}`);
    }
  }
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
