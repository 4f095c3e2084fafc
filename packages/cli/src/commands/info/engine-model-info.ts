import { credentials, Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { formatEngineAddress, type EngineAddress } from "@sftscore/client";
import { EngineError } from "@sftscore/engine";
// The CLI reaches engines through @sftscore/client; it has no GetModelInfo call yet, so this one
// unary call uses the generated grpc-js client directly.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { LossHead, ScoringServiceClient, type GetModelInfoResponse } from "@sftscore/proto";
import type { InfoReport } from "./info-report.js";

/**
 * Asks an engine what it serves (`sftscore.v1.ScoringService/GetModelInfo`) over an insecure
 * channel, as `sftscore serve` offers it, and describes it as an {@link InfoReport}. The answer
 * carries the whole tokenizer.json (megabytes for large vocabularies), so the receive limit is lifted.
 *
 * @throws EngineError `unavailable` when the engine cannot be reached or does not answer within
 *   `timeoutMs`, `unauthenticated`, or `internal` with the gRPC status for anything else.
 */
export async function engineInfoReport(address: EngineAddress, options: { readonly timeoutMs: number }): Promise<InfoReport> {
  const target = formatEngineAddress(address);
  const info = await getModelInfo(target, options.timeoutMs);
  const limits = info.limits;
  const batchTokens = limits && limits.maxBatchTokens > 0 ? limits.maxBatchTokens : null;
  return {
    source: "engine",
    path: null,
    engine: target,
    modelId: info.modelId,
    contentHash: info.contentHash,
    vocabSize: info.vocabSize,
    maxLength: info.maxLength,
    dtype: info.dtype,
    device: info.device,
    lossHead: info.lossHead === LossHead.SCORED_POSITIONS ? "scored-positions" : info.lossHead === LossHead.FULL_LOGITS ? "full-logits" : "unspecified",
    // The wire has no field for the reason.
    lossHeadReason: null,
    tokenizerHash: info.tokenizerHash,
    limits: {
      // 0 means "the engine did not say" (scoring.proto): fall back to what is known.
      maxTokensPerSequence: limits?.maxTokensPerSequence || info.maxLength,
      maxBatchTokens: batchTokens,
      maxScoredTokens: null,
      maxSequencesPerMessage: limits?.maxSequencesPerMessage || null,
      maxMessageBytes: limits?.maxMessageBytes || null,
      threads: null,
      workers: null,
    },
    throughput: {
      measured: false,
      note:
        batchTokens === null
          ? "not measured for a remote engine"
          : `not measured for a remote engine; keep about ${batchTokens.toLocaleString("en-US")} tokens in flight per engine (its batch budget) to keep it busy`,
    },
  };
}

async function getModelInfo(target: string, timeoutMs: number): Promise<GetModelInfoResponse> {
  const client = new ScoringServiceClient(target, credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  try {
    return await new Promise<GetModelInfoResponse>((resolve, reject) => {
      client.getModelInfo({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) reject(engineErrorOf(error, target, timeoutMs));
        else resolve(response);
      });
    });
  } finally {
    client.close();
  }
}

function engineErrorOf(error: ServiceError, target: string, timeoutMs: number): EngineError {
  switch (error.code) {
    case GrpcStatus.UNAVAILABLE:
      return new EngineError("unavailable", `cannot reach an engine at ${target} (${error.details}): is \`sftscore serve\` running there, on that port?`, { cause: error });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new EngineError("unavailable", `the engine at ${target} did not answer GetModelInfo within ${timeoutMs / 1000} s`, { cause: error });
    case GrpcStatus.UNAUTHENTICATED:
      return new EngineError("unauthenticated", `the engine at ${target} refused the call: ${error.details}`, { cause: error });
    default:
      return new EngineError("internal", `GetModelInfo on ${target} failed: ${GrpcStatus[error.code] ?? error.code} ${error.details}`, { cause: error });
  }
}
