/**
 * Collation: a planned batch of requests → the flat int64 feeds of the loss-head graph. Pure, so the
 * exact tensors are unit-tested without a model (STYLE.md §3).
 */
import type { SequenceRequest } from "@sftscore/metrics";
import type { PlannedBatch } from "./batcher.js";

/** Where one row's results sit in the batch's scored arrays. */
export interface BatchRowFeed {
  /** Index of the row's request in the `requests` array given to {@link buildBatchFeeds}. */
  readonly requestIndex: number;
  /** Offset of the row's first scored position in `scoredIndex`, `labels` and the `token_logprobs` output. */
  readonly scoredOffset: number;
  /** The row's scored positions, ascending (see {@link scoredPositions}); `token_logprobs` follows this order. */
  readonly scoredPositions: Uint32Array;
}

/**
 * The session feeds for one batch, row-major `[batchSize, paddedLength]` for the per-token tensors
 * and `[N]` for the scored ones, `N = Σ rows' scored positions`.
 */
export interface BatchFeeds {
  /** `input_ids` int64 `[B, L]`: the tokens, right-padded with id 0. */
  readonly inputIds: BigInt64Array;
  /** `attention_mask` int64 `[B, P + L]`: 1 on the past and on real tokens, 0 on padding. */
  readonly attentionMask: BigInt64Array;
  /** `position_ids` int64 `[B, L]`: `P..n−1` on real tokens (= cumsum(mask) − 1), 0 on padding. Fed only where the graph has the input. */
  readonly positionIds: BigInt64Array;
  /** `scored_index` int64 `[N]`: `row × L + (i − 1 − P)`, the flat index of the hidden state that predicts scored position `i`. */
  readonly scoredIndex: BigInt64Array;
  /** `labels` int64 `[N]`: the token at each scored position, `tokenIds[i]`. */
  readonly labels: BigInt64Array;
  /** Rows `B`. */
  readonly batchSize: number;
  /** Padded length `L`, in tokens, of the part run (after the past). */
  readonly paddedLength: number;
  /** Tokens `P` every row takes from a stored prefix instead of running them; the input is `tokenIds[P..]`. */
  readonly pastLength: number;
  /** One entry per row, in row order (the batch's item order). */
  readonly rows: readonly BatchRowFeed[];
}

/**
 * The positions of a request the loss head must score: all of `1..n−1` when `wantTokenLogprobs` is
 * set, otherwise the sorted, de-duplicated union of the spans (overlapping spans are scored once).
 * Empty spans (`start ≥ end`) contribute nothing, wherever they lie.
 *
 * @returns Positions ascending, each in `1..n−1`.
 * @throws RangeError when a span has non-integer bounds, or is non-empty and reaches outside
 *   positions `1..n−1` (`start < 1` or `end > n`). Requests are validated at the service boundary,
 *   so this signals a bug, not bad user input.
 */
export function scoredPositions(request: SequenceRequest): Uint32Array {
  const length = request.tokenIds.length;
  // Checked even when every position is scored, so a bad span fails here rather than when summed.
  for (const span of request.spans) checkSpan(request, span.start, span.end);
  const spans = request.spans.filter((span) => span.start < span.end);
  if (request.wantTokenLogprobs === true) {
    return Uint32Array.from({ length: Math.max(length - 1, 0) }, (_, k) => k + 1);
  }
  // A mark per position keeps the union linear in n and independent of how spans overlap.
  const marked = new Uint8Array(length);
  let count = 0;
  for (const span of spans) {
    for (let position = span.start; position < span.end; position++) {
      count += 1 - marked[position];
      marked[position] = 1;
    }
  }
  const positions = new Uint32Array(count);
  let next = 0;
  for (let position = 1; position < length; position++) {
    if (marked[position] === 1) positions[next++] = position;
  }
  return positions;
}

/**
 * Builds the feeds for one planned batch: rows in the batch's item order, each right-padded to
 * `batch.paddedLength`, and every row's scored positions laid out row after row, ascending within a
 * row. With `pastLength` P > 0 every row's first P tokens come from a stored prefix: the row runs
 * `tokenIds[P..]` at positions P.., its mask covers the past too, and it may score only positions
 * after P (the hidden state that predicts position P + 1 is the first one the run computes).
 *
 * @param requests The requests the batch's `items[].index` refer to.
 * @param batch A batch from `planBatches`, its items' lengths counted after the past.
 * @throws RangeError when an item's index has no request, a request is longer than the padded length
 *   plus the past, scores a position the past covers, or a span is out of range (see {@link scoredPositions}).
 */
export function buildBatchFeeds(requests: readonly SequenceRequest[], batch: PlannedBatch, pastLength = 0): BatchFeeds {
  const batchSize = batch.items.length;
  const paddedLength = batch.paddedLength;
  const rowRequests = batch.items.map((item) => requestAt(requests, item.index, paddedLength, pastLength));
  const rows = layOutRows(batch, rowRequests);
  const scoredTotal = rows.reduce((total, row) => total + row.scoredPositions.length, 0);

  // Pad positions keep the arrays' zero: pad id 0 and position 0 are in range for any model, and the
  // mask hides them from real tokens; no scored index points at them.
  const maskLength = pastLength + paddedLength;
  const inputIds = new BigInt64Array(batchSize * paddedLength);
  const attentionMask = new BigInt64Array(batchSize * maskLength);
  const positionIds = new BigInt64Array(batchSize * paddedLength);
  const scoredIndex = new BigInt64Array(scoredTotal);
  const labels = new BigInt64Array(scoredTotal);

  rows.forEach((row, rowIndex) => {
    const tokenIds = rowRequests[rowIndex].tokenIds;
    const rowStart = rowIndex * paddedLength;
    attentionMask.fill(1n, rowIndex * maskLength, rowIndex * maskLength + tokenIds.length);
    for (let position = pastLength; position < tokenIds.length; position++) {
      inputIds[rowStart + position - pastLength] = BigInt(tokenIds[position]);
      positionIds[rowStart + position - pastLength] = BigInt(position);
    }
    row.scoredPositions.forEach((position, k) => {
      if (position <= pastLength) {
        throw new RangeError(`request "${rowRequests[rowIndex].id}" scores position ${position}, which its ${pastLength}-token past covers`);
      }
      // The hidden state at position − 1 has seen t[<position] and predicts t[position].
      scoredIndex[row.scoredOffset + k] = BigInt(rowStart + position - 1 - pastLength);
      labels[row.scoredOffset + k] = BigInt(tokenIds[position]);
    });
  });

  return { inputIds, attentionMask, positionIds, scoredIndex, labels, batchSize, paddedLength, pastLength, rows };
}

function layOutRows(batch: PlannedBatch, rowRequests: readonly SequenceRequest[]): BatchRowFeed[] {
  let scoredOffset = 0;
  return batch.items.map((item, rowIndex) => {
    const positions = scoredPositions(rowRequests[rowIndex]);
    const row = { requestIndex: item.index, scoredOffset, scoredPositions: positions };
    scoredOffset += positions.length;
    return row;
  });
}

function requestAt(requests: readonly SequenceRequest[], index: number, paddedLength: number, pastLength: number): SequenceRequest {
  const request = Number.isInteger(index) ? requests[index] : undefined;
  if (request === undefined) {
    throw new RangeError(`batch item index ${index} has no request (${requests.length} requests)`);
  }
  if (request.tokenIds.length > pastLength + paddedLength) {
    throw new RangeError(
      `request "${request.id}" has ${request.tokenIds.length} tokens, more than the batch's padded length ${paddedLength}` + (pastLength > 0 ? ` after a ${pastLength}-token past` : ""),
    );
  }
  if (request.tokenIds.length <= pastLength && pastLength > 0) {
    throw new RangeError(`request "${request.id}" has ${request.tokenIds.length} tokens, none after its ${pastLength}-token past`);
  }
  return request;
}

function checkSpan(request: SequenceRequest, start: number, end: number): void {
  const length = request.tokenIds.length;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new RangeError(`request "${request.id}": span bounds must be integers, got [${start}, ${end})`);
  }
  // An empty span scores nothing, so where it lies does not matter (a response cut off by truncation).
  if (start < end && (start < 1 || end > length)) {
    throw new RangeError(
      `request "${request.id}": span [${start}, ${end}) must cover positions within 1..${length - 1} of its ${length} tokens (token 0 has no context)`,
    );
  }
}
