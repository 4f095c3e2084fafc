import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { type BatchFeeds, buildBatchFeeds, scoredPositions } from "./batch-tensors.js";
import { type BatchLimits, planBatches } from "./batcher.js";
import { joinLogprobs, scoreBatch, scoreSequence, sumSpan } from "./span-sums.js";
import { randomInt, seededRandom } from "./test-support/seeded-random.js";

function request(id: string, tokenIds: number[], spans: [number, number][], wantTokenLogprobs = false): SequenceRequest {
  return { id, tokenIds: Uint32Array.from(tokenIds), spans: spans.map(([start, end]) => ({ start, end })), wantTokenLogprobs };
}

/**
 * A stand-in for the loss head, used because these tests are about collation, not numerics: each
 * value is a float32 function of the row's prefix t[<i] and label t[i], read back from the feeds
 * exactly as the graph would, so a wrong index, label or mask changes the result.
 */
function fakeTokenLogprobs(feeds: BatchFeeds): Float32Array {
  const L = feeds.paddedLength;
  return Float32Array.from(feeds.scoredIndex, (flat, k) => {
    const row = Math.floor(Number(flat) / L);
    const last = Number(flat) % L;
    let hash = 2166136261;
    for (let j = row * L; j <= row * L + last; j++) {
      if (feeds.attentionMask[j] !== 1n) throw new Error(`scored index ${flat} attends to padding`);
      hash = Math.imul(hash ^ Number(feeds.inputIds[j]), 16777619);
    }
    hash = Math.imul(hash ^ Number(feeds.labels[k]), 16777619);
    return -((hash >>> 0) / 4294967296) * 20 - 1e-3;
  });
}

/** The same function, computed straight from a request: what every position should be scored. */
function referenceLogprob(tokenIds: Uint32Array, position: number): number {
  let hash = 2166136261;
  for (let j = 0; j <= position; j++) hash = Math.imul(hash ^ tokenIds[j], 16777619);
  return Math.fround(-((hash >>> 0) / 4294967296) * 20 - 1e-3);
}

function scoreAll(requests: readonly SequenceRequest[], limits: BatchLimits): Map<string, SequenceScore> {
  const items = requests.map((req, index) => ({ index, length: req.tokenIds.length, scoredCount: scoredPositions(req).length }));
  const results = new Map<string, SequenceScore>();
  for (const batch of planBatches(items, limits)) {
    const feeds = buildBatchFeeds(requests, batch);
    for (const score of scoreBatch(requests, feeds, fakeTokenLogprobs(feeds))) results.set(score.id, score);
  }
  return results;
}

function randomRequests(random: () => number, count: number, prefix: string): SequenceRequest[] {
  return Array.from({ length: count }, (_, k) => {
    const length = randomInt(random, 1, 200);
    const tokenIds = Array.from({ length }, () => randomInt(random, 0, 1000));
    const spans = Array.from({ length: randomInt(random, 1, 3) }, (): [number, number] => {
      const start = randomInt(random, 1, length);
      return [start, randomInt(random, start, length)];
    });
    return request(`${prefix}${k}`, tokenIds, spans, random() < 0.3);
  });
}

describe("sumSpan", () => {
  const positions = Uint32Array.from([1, 2, 3, 4]);
  const logprobs = Float32Array.from([-1, -2, -0.5, -0.25]);

  it("sums each of two overlapping spans over all of its own positions", () => {
    expect(sumSpan({ start: 1, end: 4 }, positions, logprobs)).toEqual({ sumLogprob: -3.5, count: 3 });
    expect(sumSpan({ start: 2, end: 5 }, positions, logprobs)).toEqual({ sumLogprob: -2.75, count: 3 });
    expect(sumSpan({ start: 3, end: 4 }, positions, logprobs)).toEqual({ sumLogprob: -0.5, count: 1 });
  });

  it("accumulates in float64, keeping what a float32 sum would round away", () => {
    // 2^24 + 1 is not a float32, so a float32 accumulator would stay at −2^24 after the first −1.
    const sum = sumSpan({ start: 1, end: 4 }, Uint32Array.from([1, 2, 3]), Float32Array.from([-(2 ** 24), -1, -1]));
    expect(sum).toEqual({ sumLogprob: -(2 ** 24) - 2, count: 3 });
  });

  it("scores an empty span as zero over zero positions, wherever it lies", () => {
    expect(sumSpan({ start: 3, end: 3 }, positions, logprobs)).toEqual({ sumLogprob: 0, count: 0 });
    expect(sumSpan({ start: 9, end: 9 }, positions, logprobs)).toEqual({ sumLogprob: 0, count: 0 });
  });

  it("rejects positions that do not cover the span rather than undercounting", () => {
    expect(() => sumSpan({ start: 1, end: 6 }, positions, logprobs)).toThrow(/span \[1, 6\) has 4 scored positions, expected 5/);
  });
});

describe("scoreSequence", () => {
  it("returns span sums in request order and every token log-probability when wanted", () => {
    const req = request("a", [7, 7, 7, 7, 7], [[2, 5], [1, 3], [4, 4]], true);
    const logprobs = Float32Array.from([-0.5, -1, -2, -4]);
    const score = scoreSequence(req, scoredPositions(req), logprobs);
    expect(score).toEqual({
      id: "a",
      spans: [
        { sumLogprob: -7, count: 3 },
        { sumLogprob: -1.5, count: 2 },
        { sumLogprob: 0, count: 0 },
      ],
      tokenLogprobs: Float32Array.from([-0.5, -1, -2, -4]),
    });
    // A copy: the batch's output buffer can be reused or freed.
    logprobs[0] = 0;
    expect(score.tokenLogprobs?.[0]).toBe(-0.5);
  });

  it("leaves tokenLogprobs out when they are not wanted", () => {
    const req = request("a", [1, 2, 3], [[1, 3]]);
    const score = scoreSequence(req, scoredPositions(req), Float32Array.from([-1, -2]));
    expect(score).toEqual({ id: "a", spans: [{ sumLogprob: -3, count: 2 }] });
    expect("tokenLogprobs" in score).toBe(false);
  });

  it("returns an empty tokenLogprobs for a one-token sequence", () => {
    const req = request("one", [42], [[1, 1]], true);
    expect(scoreSequence(req, scoredPositions(req), new Float32Array(0))).toEqual({
      id: "one",
      spans: [{ sumLogprob: 0, count: 0 }],
      tokenLogprobs: new Float32Array(0),
    });
  });

  it("rejects values that do not match the scored positions one for one", () => {
    const req = request("a", [1, 2, 3], [[1, 3]]);
    expect(() => scoreSequence(req, scoredPositions(req), Float32Array.from([-1]))).toThrow(
      /request "a": 1 log-probabilities for 2 scored positions/,
    );
  });

  it("rejects token log-probabilities that would have gaps", () => {
    const req = request("a", [1, 2, 3, 4], [[2, 4]], true);
    expect(() => scoreSequence(req, Uint32Array.from([2, 3]), Float32Array.from([-1, -2]))).toThrow(
      /every position 1\.\.3 scored/,
    );
  });
});

describe("scoreBatch", () => {
  it("matches a direct per-position reference for every span and token", () => {
    const requests = randomRequests(seededRandom(11), 150, "r");
    const results = scoreAll(requests, { maxBatchTokens: 2048, maxBatchSize: 8, maxScoredTokens: 512 });
    expect(results.size).toBe(requests.length);
    for (const req of requests) {
      const score = results.get(req.id);
      const expectedSpans = req.spans.map(({ start, end }) => {
        let sumLogprob = 0;
        for (let i = start; i < end; i++) sumLogprob += referenceLogprob(req.tokenIds, i);
        return { sumLogprob, count: Math.max(end - start, 0) };
      });
      expect(score?.spans, req.id).toEqual(expectedSpans);
      if (req.wantTokenLogprobs === true) {
        const expectedTokens = Float32Array.from({ length: req.tokenIds.length - 1 }, (_, k) => referenceLogprob(req.tokenIds, k + 1));
        expect(score?.tokenLogprobs, req.id).toEqual(expectedTokens);
      }
    }
  });

  it("gives a request identical span sums whatever batch it lands in", () => {
    const random = seededRandom(2718);
    const probes = randomRequests(random, 20, "probe");
    const companionSets = [[], randomRequests(random, 60, "x"), randomRequests(random, 200, "y")];
    const limitSets: BatchLimits[] = [
      { maxBatchTokens: 256, maxBatchSize: 1, maxScoredTokens: 64 },
      { maxBatchTokens: 4096, maxBatchSize: 7, maxScoredTokens: 700 },
      { maxBatchTokens: 65_536, maxBatchSize: 64, maxScoredTokens: Infinity },
    ];
    const runs = companionSets.flatMap((companions) =>
      limitSets.map((limits) => scoreAll([...companions, ...probes].reverse(), limits)),
    );
    for (const probe of probes) {
      const first = runs[0].get(probe.id);
      for (const run of runs.slice(1)) expect(run.get(probe.id), probe.id).toEqual(first);
    }
  });

  it("rejects an output whose length is not the number of scored positions fed", () => {
    const requests = [request("a", [1, 2, 3], [[1, 3]])];
    const feeds = buildBatchFeeds(requests, { items: [{ index: 0, length: 3, scoredCount: 2 }], paddedLength: 16 });
    expect(() => scoreBatch(requests, feeds, new Float32Array(3))).toThrow(/token_logprobs has 3 values for 2 scored positions/);
  });
});

describe("joinLogprobs", () => {
  const stored = { from: 2, values: Float32Array.from([-0.2, -0.3, -0.4]) };

  it("reads the positions a past covers from the prefix and the rest from the run, in order", () => {
    const positions = Uint32Array.from([2, 4, 5, 7]);
    expect(joinLogprobs(positions, 4, stored, Float32Array.from([-0.5, -0.7]))).toEqual(Float32Array.from([-0.2, -0.4, -0.5, -0.7]));
    // Nothing in the past: the run's values as they are.
    const own = Float32Array.from([-1, -2]);
    expect(joinLogprobs(Uint32Array.from([5, 6]), 4, undefined, own)).toBe(own);
  });

  it("sums a span split between a prefix and a run to the bits of a whole run's sum", () => {
    const random = seededRandom(5);
    const values = Float32Array.from({ length: 40 }, () => -random() * 9);
    const positions = Uint32Array.from({ length: 40 }, (_, k) => k + 1);
    const span = { start: 1, end: 41 };
    for (const past of [1, 7, 20, 39]) {
      const prefix = { from: 1, values: values.slice(0, past) };
      const joined = joinLogprobs(positions, past, prefix, values.slice(past));
      expect(sumSpan(span, positions, joined)).toEqual(sumSpan(span, positions, values));
    }
  });

  it("rejects a past the prefix holds no scores for, or a run of the wrong length", () => {
    expect(() => joinLogprobs(Uint32Array.from([1, 5]), 4, stored, Float32Array.from([-1]))).toThrow(/position 1 is in the past/);
    expect(() => joinLogprobs(Uint32Array.from([3, 5]), 4, undefined, Float32Array.from([-1]))).toThrow(/position 3 is in the past/);
    expect(() => joinLogprobs(Uint32Array.from([3, 5]), 4, stored, Float32Array.from([-1, -2]))).toThrow(/2 log-probabilities from the run for 1 positions/);
  });
});
