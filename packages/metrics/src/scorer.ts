/**
 * The one seam between *what* to score (this package) and *how* a backend scores it (the in-process
 * engine, or engines over gRPC). Backends implement {@link Scorer} and import these types with
 * `import type` only.
 */

/** A half-open range `[start, end)` of token positions whose log-probabilities are summed. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** One token sequence to run through the model, with the spans to score. */
export interface SequenceRequest {
  /** Caller-chosen key; results come back keyed by it, in any order. */
  readonly id: string;
  readonly tokenIds: Uint32Array;
  /**
   * Spans of scored positions. Position `i` is scored by `log p(t[i] | t[<i])`, so `start ≥ 1`
   * (token 0 has no context) and `end ≤ tokenIds.length`.
   */
  readonly spans: readonly Span[];
  /** Also return the per-position log-probabilities (positions 1..n−1). */
  readonly wantTokenLogprobs?: boolean;
}

/** The score of one requested span: the float64 sum of its positions' log-probabilities. */
export interface SpanScore {
  readonly sumLogprob: number;
  readonly count: number;
}

/** The result for one {@link SequenceRequest}. */
export interface SequenceScore {
  readonly id: string;
  /** One entry per requested span, in request order. */
  readonly spans: readonly SpanScore[];
  /** `tokenLogprobs[i − 1] = log p(t[i] | t[<i])`, when requested. */
  readonly tokenLogprobs?: Float32Array;
}

/** What a scorer reports about the model behind it. */
export interface ModelInfo {
  /** A human-readable model name (directory name or Hub id). */
  readonly modelId: string;
  /** SHA-256 of the model's files, hex. */
  readonly contentHash: string;
  readonly vocabSize: number;
  /** Longest sequence the model accepts, in tokens. */
  readonly maxLength: number;
  /** Weight type of the model graph, e.g. `float32` or `float16`. */
  readonly dtype: string;
  /** Execution device, e.g. `cpu` or `cuda`. */
  readonly device: string;
  /** The model's `tokenizer.json`, verbatim, so clients tokenize exactly as the engine's model expects. */
  readonly tokenizerJson: string;
  /** SHA-256 of `tokenizerJson`, hex. */
  readonly tokenizerHash: string;
  /** The model's `tokenizer_config.json`, verbatim, or empty when absent. */
  readonly tokenizerConfigJson: string;
}

/**
 * Scores token sequences with a causal language model.
 *
 * @example
 * for await (const result of scorer.score(requests)) console.log(result.id, result.spans[0].sumLogprob);
 */
export interface Scorer {
  info(): Promise<ModelInfo>;
  /** Scores every request; yields results as they finish, in any order, keyed by `id`. */
  score(requests: AsyncIterable<SequenceRequest>, options?: { signal?: AbortSignal }): AsyncIterable<SequenceScore>;
  close(): Promise<void>;
}
