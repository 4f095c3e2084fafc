import type { ModelInfo, Scorer, SequenceRequest, SequenceScore } from "@sftscore/metrics";

/** A {@link Scorer} that counts the tokens of the sequences it has answered, for tokens/s figures. */
export interface MeteredScorer extends Scorer {
  readonly tokensScored: number;
}

/**
 * Wraps a scorer (in-process engine or gRPC client alike) to count tokens as answers arrive. Only
 * the lengths of outstanding sequences are held, so memory follows what is in flight.
 */
export function meterTokens(scorer: Scorer): MeteredScorer {
  let tokensScored = 0;
  return {
    get tokensScored() {
      return tokensScored;
    },
    info: (): Promise<ModelInfo> => scorer.info(),
    close: () => scorer.close(),
    score(requests, options) {
      const lengths = new Map<string, number>();
      async function* remember(): AsyncGenerator<SequenceRequest> {
        for await (const request of requests) {
          lengths.set(request.id, request.tokenIds.length);
          yield request;
        }
      }
      const results = scorer.score(remember(), options);
      return (async function* (): AsyncGenerator<SequenceScore> {
        for await (const result of results) {
          tokensScored += lengths.get(result.id) ?? 0;
          lengths.delete(result.id);
          yield result;
        }
      })();
    },
  };
}
