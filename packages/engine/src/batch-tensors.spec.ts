import type { SequenceRequest } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { buildBatchFeeds, scoredPositions } from "./batch-tensors.js";
import { type PlannedBatch, planBatches } from "./batcher.js";
import { randomInt, seededRandom } from "./test-support/seeded-random.js";

function randomRequest(random: () => number, id: string): SequenceRequest {
  const length = randomInt(random, 0, 300);
  const tokenIds = Uint32Array.from({ length }, () => randomInt(random, 0, 50_000));
  const spans = Array.from({ length: randomInt(random, 0, 3) }, () => {
    if (length < 2) return { start: length, end: length };
    const start = randomInt(random, 1, length);
    return { start, end: randomInt(random, start, length) };
  });
  return { id, tokenIds, spans, wantTokenLogprobs: random() < 0.3 };
}

function request(id: string, tokenIds: number[], spans: [number, number][], wantTokenLogprobs = false): SequenceRequest {
  return { id, tokenIds: Uint32Array.from(tokenIds), spans: spans.map(([start, end]) => ({ start, end })), wantTokenLogprobs };
}

const bigints = (values: number[]) => BigInt64Array.from(values, (value) => BigInt(value));

describe("scoredPositions", () => {
  it("is the sorted union of the spans, each overlapping position once", () => {
    const positions = scoredPositions(request("a", [1, 2, 3, 4, 5, 6, 7, 8], [[4, 7], [2, 5], [5, 6]]));
    expect(Array.from(positions)).toEqual([2, 3, 4, 5, 6]);
  });

  it("is every position 1..n−1 when token log-probabilities are wanted", () => {
    expect(Array.from(scoredPositions(request("a", [9, 8, 7, 6], [[2, 3]], true)))).toEqual([1, 2, 3]);
    expect(Array.from(scoredPositions(request("b", [9], [], true)))).toEqual([]);
    expect(Array.from(scoredPositions(request("c", [], [], true)))).toEqual([]);
  });

  it("ignores empty spans wherever they lie", () => {
    const positions = scoredPositions(request("a", [1, 2, 3], [[0, 0], [3, 3], [9, 9], [2, 1]]));
    expect(Array.from(positions)).toEqual([]);
  });

  it("rejects a span that scores token 0, reaches past the end, or has fractional bounds", () => {
    expect(() => scoredPositions(request("a", [1, 2, 3], [[0, 2]]))).toThrow(/request "a": span \[0, 2\).*token 0 has no context/);
    expect(() => scoredPositions(request("b", [1, 2, 3], [[1, 4]]))).toThrow(/request "b": span \[1, 4\)/);
    expect(() => scoredPositions(request("c", [1, 2, 3], [[1.5, 2]]))).toThrow(/request "c": span bounds must be integers/);
    // Also when every position is scored anyway, so a bad span never reaches the sums.
    expect(() => scoredPositions(request("d", [1, 2, 3], [[0, 2]], true))).toThrow(/request "d"/);
  });
});

describe("buildBatchFeeds", () => {
  // Two rows given out of request order, overlapping spans in one, every position wanted in the other.
  const requests = [
    request("short", [11, 12, 13], [[2, 3]], true),
    request("long", [5, 6, 7, 8, 9], [[1, 4], [2, 5]]),
  ];
  const batch: PlannedBatch = {
    items: [
      { index: 1, length: 5, scoredCount: 4 },
      { index: 0, length: 3, scoredCount: 2 },
    ],
    paddedLength: 6,
  };

  it("lays out right-padded tokens, mask, positions, scored indices and labels exactly", () => {
    const feeds = buildBatchFeeds(requests, batch);
    expect(feeds.batchSize).toBe(2);
    expect(feeds.paddedLength).toBe(6);
    expect(feeds.inputIds).toEqual(bigints([5, 6, 7, 8, 9, 0, 11, 12, 13, 0, 0, 0]));
    expect(feeds.attentionMask).toEqual(bigints([1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]));
    expect(feeds.positionIds).toEqual(bigints([0, 1, 2, 3, 4, 0, 0, 1, 2, 0, 0, 0]));
    expect(feeds.scoredIndex).toEqual(bigints([0, 1, 2, 3, 6, 7]));
    expect(feeds.labels).toEqual(bigints([6, 7, 8, 9, 12, 13]));
    expect(feeds.rows).toEqual([
      { requestIndex: 1, scoredOffset: 0, scoredPositions: Uint32Array.from([1, 2, 3, 4]) },
      { requestIndex: 0, scoredOffset: 4, scoredPositions: Uint32Array.from([1, 2]) },
    ]);
  });

  it("points every scored index at the hidden state before its label, over random planned batches", () => {
    const random = seededRandom(314159);
    const requests = Array.from({ length: 400 }, (_, k) => randomRequest(random, `r${k}`));
    const items = requests.map((req, index) => ({
      index,
      length: req.tokenIds.length,
      scoredCount: scoredPositions(req).length,
    }));
    const batches = planBatches(items, { maxBatchTokens: 2048, maxBatchSize: 16, maxScoredTokens: 1024 });
    // Mismatches are collected rather than asserted one by one, which keeps the loop fast.
    const failures: string[] = [];
    for (const [b, planned] of batches.entries()) {
      const feeds = buildBatchFeeds(requests, planned);
      const L = feeds.paddedLength;
      if (feeds.scoredIndex.length !== planned.items.reduce((total, item) => total + item.scoredCount, 0)) {
        failures.push(`batch ${b}: scored count`);
      }
      let k = 0;
      feeds.rows.forEach((row, rowIndex) => {
        const where = `batch ${b} row ${rowIndex}`;
        const tokenIds = requests[row.requestIndex].tokenIds;
        if (row.requestIndex !== planned.items[rowIndex].index || row.scoredOffset !== k) failures.push(`${where}: row`);
        let cumulativeMask = 0n;
        for (let j = 0; j < L; j++) {
          const flat = rowIndex * L + j;
          cumulativeMask += feeds.attentionMask[flat];
          const real = j < tokenIds.length;
          // Position ids agree with the mask on real tokens (cumsum(mask) − 1); padding is masked, id 0.
          const ok = real
            ? feeds.attentionMask[flat] === 1n && feeds.positionIds[flat] === cumulativeMask - 1n && feeds.inputIds[flat] === BigInt(tokenIds[j])
            : feeds.attentionMask[flat] === 0n && feeds.inputIds[flat] === 0n;
          if (!ok) failures.push(`${where} column ${j}`);
        }
        for (const position of row.scoredPositions) {
          if (feeds.scoredIndex[k] !== BigInt(rowIndex * L + position - 1) || feeds.labels[k] !== BigInt(tokenIds[position])) {
            failures.push(`${where} position ${position}`);
          }
          k++;
        }
      });
      if (k !== feeds.scoredIndex.length) failures.push(`batch ${b}: rows cover ${k} scored entries`);
    }
    expect(failures).toEqual([]);
  });

  it("runs only the tokens after a past: mask over past and tokens, positions from the past's length, scored indices shifted", () => {
    const withPast = [request("a", [1, 2, 3, 4, 5, 6, 7], [[5, 7]]), request("b", [1, 2, 3, 9, 8], [[4, 5]])];
    const feeds = buildBatchFeeds(withPast, { items: [{ index: 0, length: 4, scoredCount: 2 }, { index: 1, length: 2, scoredCount: 1 }], paddedLength: 4 }, 3);
    expect(feeds.pastLength).toBe(3);
    expect(feeds.inputIds).toEqual(bigints([4, 5, 6, 7, 9, 8, 0, 0]));
    // [B, past + padded]: the past is real for every row.
    expect(feeds.attentionMask).toEqual(bigints([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]));
    expect(feeds.positionIds).toEqual(bigints([3, 4, 5, 6, 3, 4, 0, 0]));
    // Position 5 of row 0 is predicted by the run's hidden state 5 − 1 − 3 = 1; position 4 of row 1 by 4 + 0.
    expect(feeds.scoredIndex).toEqual(bigints([1, 2, 4]));
    expect(feeds.labels).toEqual(bigints([6, 7, 8]));
  });

  it("rejects scoring a position the past covers, and a row with nothing after its past", () => {
    const single = (tokens: number[], span: [number, number]) => [request("p", tokens, [span])];
    const item = (length: number) => ({ items: [{ index: 0, length, scoredCount: 1 }], paddedLength: 16 });
    expect(() => buildBatchFeeds(single([1, 2, 3, 4, 5], [3, 5]), item(2), 3)).toThrow(/scores position 3, which its 3-token past covers/);
    expect(() => buildBatchFeeds(single([1, 2, 3], [1, 3]), item(0), 3)).toThrow(/none after its 3-token past/);
    expect(() => buildBatchFeeds(single([1, 2, 3, 4, 5, 6], [5, 6]), { ...item(3), paddedLength: 2 }, 3)).toThrow(/more than the batch's padded length 2 after a 3-token past/);
  });

  it("rejects a request longer than the padded length", () => {
    expect(() => buildBatchFeeds(requests, { ...batch, paddedLength: 4 })).toThrow(
      /request "long" has 5 tokens, more than the batch's padded length 4/,
    );
  });

  it("rejects an item whose index has no request", () => {
    expect(() => buildBatchFeeds(requests, { items: [{ index: 2, length: 3, scoredCount: 0 }], paddedLength: 16 })).toThrow(
      /batch item index 2 has no request \(2 requests\)/,
    );
  });

  it("builds empty scored arrays for a row with nothing to score", () => {
    const feeds = buildBatchFeeds([request("none", [3, 4], [])], { items: [{ index: 0, length: 2, scoredCount: 0 }], paddedLength: 16 });
    expect(feeds.scoredIndex).toHaveLength(0);
    expect(feeds.labels).toHaveLength(0);
    expect(feeds.inputIds).toHaveLength(16);
  });
});
