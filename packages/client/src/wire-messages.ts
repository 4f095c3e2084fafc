import type { ModelInfo, SequenceRequest, SequenceScore } from "@sftscore/metrics";
import type { GetModelInfoResponse, Sequence, SequenceResult } from "@sftscore/proto";

/** The Score limits of one engine (`GetModelInfoResponse.limits`), with fallbacks applied. */
export interface EngineLimits {
  /** Most sequences in one ScoreRequest. */
  readonly maxSequencesPerMessage: number;
  /** Longest sequence accepted, in tokens. */
  readonly maxTokensPerSequence: number;
  /** Largest serialized ScoreRequest accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** The engine's batch budget in tokens (rows × padded length per model run). */
  readonly maxBatchTokens: number;
}

/**
 * Used for a limit an engine reports as 0 ("did not say"), as the contract asks: small enough for
 * any conforming engine (grpc-js's default receive limit is 4 MiB).
 */
export const FALLBACK_LIMITS: Omit<EngineLimits, "maxTokensPerSequence"> = {
  maxSequencesPerMessage: 256,
  maxMessageBytes: 4 * 1024 * 1024,
  maxBatchTokens: 8192,
};

/** The limits an engine reports, each 0 replaced by its fallback (tokens: the model's max length). */
export function limitsOf(response: GetModelInfoResponse): EngineLimits {
  const limits = response.limits;
  const or = (value: number | undefined, fallback: number) => (value === undefined || value === 0 ? fallback : value);
  const maxTokensPerSequence = or(limits?.maxTokensPerSequence, response.maxLength);
  return {
    maxSequencesPerMessage: or(limits?.maxSequencesPerMessage, FALLBACK_LIMITS.maxSequencesPerMessage),
    maxTokensPerSequence,
    maxMessageBytes: or(limits?.maxMessageBytes, FALLBACK_LIMITS.maxMessageBytes),
    // A batch always holds at least one longest sequence.
    maxBatchTokens: Math.max(or(limits?.maxBatchTokens, FALLBACK_LIMITS.maxBatchTokens), maxTokensPerSequence),
  };
}

/** The smallest of each limit over several engines (at least one). */
export function strictestLimits(all: readonly EngineLimits[]): EngineLimits {
  const least = (key: keyof EngineLimits) => Math.min(...all.map((limits) => limits[key]));
  return {
    maxSequencesPerMessage: least("maxSequencesPerMessage"),
    maxTokensPerSequence: least("maxTokensPerSequence"),
    maxMessageBytes: least("maxMessageBytes"),
    maxBatchTokens: least("maxBatchTokens"),
  };
}

/** The model description of a GetModelInfo answer, as the {@link Scorer} contract shapes it. */
export function modelInfoOf(response: GetModelInfoResponse): ModelInfo {
  return {
    modelId: response.modelId,
    contentHash: response.contentHash,
    vocabSize: response.vocabSize,
    maxLength: response.maxLength,
    dtype: response.dtype,
    device: response.device,
    tokenizerJson: response.tokenizerJson,
    tokenizerHash: response.tokenizerHash,
    tokenizerConfigJson: response.tokenizerConfigJson,
  };
}

/** The wire form of a request (token ids copied into the plain array ts-proto encodes). */
export function wireSequenceOf(request: SequenceRequest): Sequence {
  return {
    id: request.id,
    tokenIds: Array.from(request.tokenIds),
    spans: request.spans.map((span) => ({ start: span.start, end: span.end })),
    wantTokenLogprobs: request.wantTokenLogprobs === true,
  };
}

/**
 * A wire result as the Scorer contract's score: token log-probabilities become a Float32Array again
 * (they are float32 on the wire, so the values are exactly the engine's), present only when asked for.
 */
export function sequenceScoreOf(result: SequenceResult, wantTokenLogprobs: boolean): SequenceScore {
  const spans = result.spans.map((span) => ({ sumLogprob: span.sumLogprob, count: span.count }));
  return wantTokenLogprobs ? { id: result.id, spans, tokenLogprobs: Float32Array.from(result.tokenLogprobs) } : { id: result.id, spans };
}

/** Bytes of a varint encoding `value` (a non-negative integer below 2^53). */
export function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}

/**
 * Bytes `request` adds to a serialized ScoreRequest: the field tag and length prefix plus the
 * Sequence message itself, exactly as ts-proto encodes it. Computed from the request without
 * encoding it, so messages can be sized before they are built.
 */
export function sequenceFieldBytes(request: SequenceRequest): number {
  const idBytes = Buffer.byteLength(request.id, "utf8");
  let body = idBytes === 0 ? 0 : 1 + varintBytes(idBytes) + idBytes;
  if (request.tokenIds.length > 0) {
    let packed = 0;
    for (const token of request.tokenIds) packed += varintBytes(token);
    body += 1 + varintBytes(packed) + packed;
  }
  for (const span of request.spans) {
    const inner = (span.start === 0 ? 0 : 1 + varintBytes(span.start)) + (span.end === 0 ? 0 : 1 + varintBytes(span.end));
    body += 1 + varintBytes(inner) + inner;
  }
  if (request.wantTokenLogprobs === true) body += 2;
  return 1 + varintBytes(body) + body;
}
