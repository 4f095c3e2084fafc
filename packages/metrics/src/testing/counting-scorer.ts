/**
 * Test support (not exported): a TEST DOUBLE for counting and transport only. Its "log-probabilities"
 * are a made-up causal function of the tokens (position i depends on t[i−1] and t[i]), so tests can
 * count and inspect what the plan sends, and check that rows do not depend on how the input is cut
 * into windows. Metric values are checked against the real reference model in `test/metrics`.
 */
import type { ModelInfo, Scorer, SequenceRequest, SequenceScore } from "../scorer.js";

/** A scorer that records every request it receives. */
export interface CountingScorer extends Scorer {
  readonly requests: SequenceRequest[];
  /** Number of `score()` calls. */
  readonly calls: number;
}

/** The fake log-probability of position `i ≥ 1`. */
export function fakeLogprob(ids: ArrayLike<number>, i: number): number {
  return -(0.5 + (ids[i] % 13) / 10 + (ids[i - 1] % 7) / 20);
}

/** Creates a {@link CountingScorer} reporting `tokenizerJson` and `maxLength` as its model's. */
export function createCountingScorer(tokenizerJson: string, options: { maxLength?: number; tokenizerConfigJson?: string } = {}): CountingScorer {
  const requests: SequenceRequest[] = [];
  let calls = 0;
  const info: ModelInfo = {
    modelId: "counting",
    contentHash: "0",
    vocabSize: 1 << 20,
    maxLength: options.maxLength ?? 4096,
    dtype: "float32",
    device: "cpu",
    tokenizerJson,
    tokenizerHash: "0",
    tokenizerConfigJson: options.tokenizerConfigJson ?? "",
  };
  return {
    requests,
    get calls() {
      return calls;
    },
    info: async () => info,
    async *score(stream: AsyncIterable<SequenceRequest>): AsyncIterable<SequenceScore> {
      calls++;
      for await (const request of stream) {
        requests.push(request);
        yield {
          id: request.id,
          spans: request.spans.map(({ start, end }) => {
            let sumLogprob = 0;
            for (let i = start; i < end; i++) sumLogprob += fakeLogprob(request.tokenIds, i);
            return { sumLogprob, count: end - start };
          }),
        };
      }
    },
    close: async () => undefined,
  };
}
