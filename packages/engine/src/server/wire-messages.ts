import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { ErrorCode, LossHead, type GetModelInfoResponse, type Sequence, type SequenceError, type SequenceResult } from "@sftscore/proto";
import type { EngineInfo } from "../engine.js";
import type { EngineError } from "../engine-error.js";
import { describeCause } from "./grpc-status.js";

/** The limits an engine advertises in `GetModelInfoResponse.limits` and enforces on Score. */
export interface WireLimits {
  /** Most sequences in one ScoreRequest. */
  readonly maxSequencesPerMessage: number;
  /** Longest sequence accepted, in tokens; at most the model's maximum length. */
  readonly maxTokensPerSequence: number;
  /** Largest ScoreRequest accepted and ScoreResponse sent, in bytes. */
  readonly maxMessageBytes: number;
}

/** `GetModelInfoResponse` for an engine: its model, tokenizer, loss head and Score limits. */
export function modelInfoResponseOf(info: EngineInfo, limits: WireLimits): GetModelInfoResponse {
  return {
    modelId: info.modelId,
    contentHash: info.contentHash,
    vocabSize: info.vocabSize,
    maxLength: info.maxLength,
    dtype: info.dtype,
    device: info.device,
    tokenizerJson: info.tokenizerJson,
    tokenizerHash: info.tokenizerHash,
    tokenizerConfigJson: info.tokenizerConfigJson,
    lossHead: info.lossHead === "scored-positions" ? LossHead.SCORED_POSITIONS : LossHead.FULL_LOGITS,
    limits: {
      maxSequencesPerMessage: limits.maxSequencesPerMessage,
      maxTokensPerSequence: limits.maxTokensPerSequence,
      maxMessageBytes: limits.maxMessageBytes,
      maxBatchTokens: info.maxBatchTokens,
    },
  };
}

/** A wire Sequence as the engine's request; validation is the engine's (`submit`). */
export function sequenceRequestOf(sequence: Sequence): SequenceRequest {
  return {
    id: sequence.id,
    tokenIds: Uint32Array.from(sequence.tokenIds),
    spans: sequence.spans.map((span) => ({ start: span.start, end: span.end })),
    wantTokenLogprobs: sequence.wantTokenLogprobs,
  };
}

/** The wire answer for a scored sequence; token log-probs only when they were asked for. */
export function sequenceResultOf(score: SequenceScore, wantTokenLogprobs: boolean): SequenceResult {
  return {
    id: score.id,
    spans: score.spans.map((span) => ({ sumLogprob: span.sumLogprob, count: span.count })),
    tokenLogprobs: wantTokenLogprobs && score.tokenLogprobs ? Array.from(score.tokenLogprobs) : [],
  };
}

/** Sent for a sequence that failed for a reason the client cannot act on (the cause is logged). */
const MODEL_FAILED_DETAILS = "the engine failed while scoring this sequence (internal error; see the engine's log); it may be resent";

/**
 * The per-sequence answer for an engine error, or `undefined` when the error is about the whole
 * stream (the engine is shutting down or the caller is not authenticated), which the stream then
 * ends with instead. Unknown errors become MODEL_FAILED with a generic message and are logged: the
 * sequence itself may be fine, so the contract lets the client resend it.
 */
export function sequenceErrorOf(id: string, error: EngineError, log: (line: string) => void): SequenceError | undefined {
  switch (error.code) {
    case "invalid-argument":
      return { id, code: ErrorCode.INVALID_ARGUMENT, message: error.message };
    case "overloaded":
      return { id, code: ErrorCode.OVERLOADED, message: error.message };
    case "model-failed":
      return { id, code: ErrorCode.MODEL_FAILED, message: error.message };
    case "cancelled":
      return { id, code: ErrorCode.CANCELLED, message: error.message };
    case "unavailable":
    case "unauthenticated":
      return undefined;
    case "not-found":
    case "failed-precondition":
    case "internal":
      log(`sequence "${id}" failed: ${describeCause(error)}`);
      return { id, code: ErrorCode.MODEL_FAILED, message: MODEL_FAILED_DETAILS };
  }
}
