/**
 * The loss head's per-position log-probabilities → the per-span sums a `Scorer` returns. Pure; the
 * order of summation is fixed by position, so a span's sum never depends on batch composition.
 */
import type { SequenceRequest, SequenceScore, Span, SpanScore } from "@sftscore/metrics";
import type { BatchFeeds } from "./batch-tensors.js";

/**
 * Sums one span's log-probabilities in float64, in increasing position order.
 *
 * @param span The half-open range of positions `[start, end)`; empty (`start ≥ end`) gives
 *   `{ sumLogprob: 0, count: 0 }`.
 * @param positions The row's scored positions, ascending (from `scoredPositions`).
 * @param logprobs Natural-log probabilities (nats, ≤ 0), float32, one per entry of `positions`.
 * @returns The sum in nats and the number of positions summed, `end − start`.
 * @throws RangeError when `positions` does not cover every position of a non-empty span — a bug in
 *   the caller, reported rather than returned as a smaller count.
 */
export function sumSpan(span: Span, positions: Uint32Array, logprobs: Float32Array): SpanScore {
  if (span.start >= span.end) return { sumLogprob: 0, count: 0 };
  let sumLogprob = 0;
  let count = 0;
  for (let k = firstAtOrAfter(positions, span.start); k < positions.length && positions[k] < span.end; k++) {
    sumLogprob += logprobs[k];
    count++;
  }
  if (count !== span.end - span.start) {
    throw new RangeError(`span [${span.start}, ${span.end}) has ${count} scored positions, expected ${span.end - span.start}`);
  }
  return { sumLogprob, count };
}

/**
 * Turns one row's slice of the `token_logprobs` output into the request's result: one
 * {@link SpanScore} per requested span, in request order (overlapping spans each sum all their
 * positions), and, when `wantTokenLogprobs` is set, `tokenLogprobs[i − 1] = log p(t[i] | t[<i])` for
 * positions `1..n−1`, copied so it does not keep the batch's output buffer alive.
 *
 * @param request The row's request.
 * @param positions The row's scored positions, ascending.
 * @param logprobs The row's values, float32 nats, one per entry of `positions`.
 * @throws RangeError when `logprobs` and `positions` differ in length, or they do not cover a
 *   requested span or (when wanted) every position `1..n−1`.
 */
export function scoreSequence(request: SequenceRequest, positions: Uint32Array, logprobs: Float32Array): SequenceScore {
  if (logprobs.length !== positions.length) {
    throw new RangeError(
      `request "${request.id}": ${logprobs.length} log-probabilities for ${positions.length} scored positions`,
    );
  }
  const spans = request.spans.map((span) => sumSpan(span, positions, logprobs));
  if (request.wantTokenLogprobs !== true) return { id: request.id, spans };
  return { id: request.id, spans, tokenLogprobs: allTokenLogprobs(request, positions, logprobs) };
}

/**
 * Splits a batch's `token_logprobs` output (float32 `[N]`, in `scoredIndex` order) into one result per
 * row, in row order.
 *
 * @param requests The requests the feeds were built from.
 * @param feeds The batch's feeds, from `buildBatchFeeds`.
 * @param tokenLogprobs The graph's `token_logprobs` output, float32 nats.
 * @param prefixes For a batch run over a past: per request, the request as asked (the one fed
 *   leaves out the positions its past covers), its scored positions, and the scores its prefix
 *   holds for those the past covers.
 * @throws RangeError when the output's length is not the number of scored positions fed, or as
 *   {@link scoreSequence} and {@link joinLogprobs}.
 */
export function scoreBatch(
  requests: readonly SequenceRequest[],
  feeds: BatchFeeds,
  tokenLogprobs: Float32Array,
  prefixes?: readonly { readonly request: SequenceRequest; readonly positions: Uint32Array; readonly stored?: StoredLogprobs }[],
): SequenceScore[] {
  if (tokenLogprobs.length !== feeds.scoredIndex.length) {
    throw new RangeError(
      `token_logprobs has ${tokenLogprobs.length} values for ${feeds.scoredIndex.length} scored positions`,
    );
  }
  return feeds.rows.map((row) => {
    const end = row.scoredOffset + row.scoredPositions.length;
    const rowLogprobs = tokenLogprobs.subarray(row.scoredOffset, end);
    const prefix = prefixes?.[row.requestIndex];
    if (!prefix) return scoreSequence(requests[row.requestIndex], row.scoredPositions, rowLogprobs);
    return scoreSequence(prefix.request, prefix.positions, joinLogprobs(prefix.positions, feeds.pastLength, prefix.stored, rowLogprobs));
  });
}

/** Log-probabilities a shared prefix holds: `values[k]` is position `from + k`'s. */
export interface StoredLogprobs {
  readonly from: number;
  readonly values: Float32Array;
}

/**
 * One row's log-probabilities at `positions`: those at or before `past` (covered by the prefix the
 * row ran on top of) read from `stored`, the rest from the row's own run, in order. The values are
 * the ones a whole run computes (a position's log-probability depends on the tokens up to it only),
 * and {@link sumSpan} adds them in position order either way, so sums are bit-identical.
 *
 * @param positions The row's scored positions, ascending.
 * @param own The run's values for the positions after `past`, in order.
 * @throws RangeError when `stored` does not hold a position at or before `past`, or `own` has the
 *   wrong length — a bug in prefix planning, reported rather than scored wrongly.
 */
export function joinLogprobs(positions: Uint32Array, past: number, stored: StoredLogprobs | undefined, own: Float32Array): Float32Array {
  const fromPast = firstAtOrAfter(positions, past + 1);
  if (own.length !== positions.length - fromPast) {
    throw new RangeError(`${own.length} log-probabilities from the run for ${positions.length - fromPast} positions after the ${past}-token past`);
  }
  if (fromPast === 0) return own;
  const joined = new Float32Array(positions.length);
  for (let k = 0; k < fromPast; k++) {
    const at = positions[k] - (stored?.from ?? Infinity);
    if (!stored || at < 0 || at >= stored.values.length) throw new RangeError(`position ${positions[k]} is in the past but its prefix holds no log-probability for it`);
    joined[k] = stored.values[at];
  }
  joined.set(own, fromPast);
  return joined;
}

function allTokenLogprobs(request: SequenceRequest, positions: Uint32Array, logprobs: Float32Array): Float32Array {
  const count = Math.max(request.tokenIds.length - 1, 0);
  // Positions are ascending and unique, so covering 1..n−1 means exactly n−1 of them, in order.
  if (positions.length !== count || (count > 0 && (positions[0] !== 1 || positions[count - 1] !== count))) {
    throw new RangeError(`request "${request.id}": token log-probabilities need every position 1..${count} scored`);
  }
  return logprobs.slice();
}

/** Index of the first entry of ascending `positions` that is ≥ `position` (binary search). */
function firstAtOrAfter(positions: Uint32Array, position: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle] < position) low = middle + 1;
    else high = middle;
  }
  return low;
}
