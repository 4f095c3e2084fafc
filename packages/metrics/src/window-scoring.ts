import { MetricsError } from "./metrics-error.js";
import type { WindowPlan } from "./plan.js";
import type { Scorer, SequenceRequest, SpanScore } from "./scorer.js";
import type { SpanRef } from "./sequence-pool.js";
import type { SpanScoreCache } from "./span-score-cache.js";

/** Options of {@link scoreWindowPlan}. */
export interface WindowScoringOptions {
  /**
   * Spans found here are not sent again; new scores of sequences marked `sharedAcrossWindows` are
   * added. Other sequences' scores would only fill the cache: their spans recur in later windows only
   * when texts repeat, while every response sequence is asked for again by the samples that draw it as
   * a partner (on generated Alpaca-style data, keeping only those left the tokens scored unchanged).
   */
  readonly cache: SpanScoreCache;
  /** Prefix of request ids, unique per concurrent window. */
  readonly idPrefix: string;
  readonly signal?: AbortSignal;
}

/**
 * Scores a window's planned sequences with one `scorer.score()` call and returns a lookup of every
 * planned span's score. Cached spans are not sent; sequences with no uncached span are
 * not sent at all. Requests are streamed to the scorer from the plan (token ids are not copied).
 *
 * @throws MetricsError `scorer-failed` when the scorer throws, answers an unknown or repeated id,
 *   returns the wrong number of spans or a count that does not match the span, or ends with
 *   sequences unanswered; `cancelled` when the signal fires.
 */
export async function scoreWindowPlan(plan: WindowPlan, scorer: Scorer, options: WindowScoringOptions): Promise<(ref: SpanRef) => SpanScore> {
  const { cache } = options;
  const scores: (SpanScore | undefined)[][] = plan.sequences.map((sequence) =>
    sequence.sharedAcrossWindows ? cache.get(sequence.key, sequence.spans) : sequence.spans.map(() => undefined),
  );
  const pending = new Map<string, { readonly sequence: number; readonly spans: readonly number[] }>();
  const requests: SequenceRequest[] = [];
  plan.sequences.forEach((sequence, i) => {
    const unscored = sequence.spans.flatMap((_, s) => (scores[i][s] === undefined ? [s] : []));
    if (unscored.length === 0) return;
    const id = `${options.idPrefix}${i}`;
    pending.set(id, { sequence: i, spans: unscored });
    requests.push({ id, tokenIds: sequence.tokenIds, spans: unscored.map((s) => sequence.spans[s]) });
  });

  if (requests.length > 0) {
    try {
      for await (const result of scorer.score(streamOf(requests, options.signal), { signal: options.signal })) {
        // A scorer may ignore the signal; the caller must still see the cancellation.
        if (options.signal?.aborted) break;
        const entry = pending.get(result.id);
        if (entry === undefined) throw new MetricsError("scorer-failed", `scorer returned a result for unknown or already answered sequence "${result.id}"`);
        pending.delete(result.id);
        const sequence = plan.sequences[entry.sequence];
        if (result.spans.length !== entry.spans.length) {
          throw new MetricsError("scorer-failed", `scorer returned ${result.spans.length} span scores for sequence "${result.id}", which asked for ${entry.spans.length}`);
        }
        entry.spans.forEach((s, r) => {
          const span = sequence.spans[s];
          const score = result.spans[r];
          if (score.count !== span.end - span.start) {
            throw new MetricsError("scorer-failed", `scorer scored ${score.count} positions of span [${span.start}, ${span.end}) of sequence "${result.id}"`);
          }
          scores[entry.sequence][s] = score;
        });
        if (sequence.sharedAcrossWindows) cache.set(sequence.key, sequence.spans, scores[entry.sequence]);
      }
    } catch (error) {
      if (options.signal?.aborted) throw new MetricsError("cancelled", "scoring was cancelled", { cause: error });
      throw MetricsError.from(error);
    }
    if (options.signal?.aborted) throw new MetricsError("cancelled", "scoring was cancelled");
    if (pending.size > 0) {
      const [first] = pending.keys();
      throw new MetricsError("scorer-failed", `scorer finished without answering ${pending.size} of ${requests.length} sequences (first: "${first}")`);
    }
  }
  return (ref) => {
    const score = scores[ref.sequence]?.[ref.span];
    if (score === undefined) throw new Error(`no score for span ${ref.span} of sequence ${ref.sequence}`);
    return score;
  };
}

async function* streamOf(requests: readonly SequenceRequest[], signal: AbortSignal | undefined): AsyncGenerator<SequenceRequest> {
  for (const request of requests) {
    if (signal?.aborted) return;
    yield request;
  }
}
