import { credentials, Metadata, status as GrpcStatus, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { formatEngineAddress, type EngineAddress } from "@sftscore/client";
import { EngineError } from "@sftscore/engine";
// The CLI reaches engines through @sftscore/client; it has no GetModelInfo call yet, so this one
// unary call uses the generated grpc-js client directly.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { LossHead, ScoringServiceClient, type GetModelInfoResponse } from "@sftscore/proto";
import { UsageError } from "../../exit-codes.js";
import { authRefusalMessage, type EngineSecurity } from "../../options/engine-client-options.js";
import type { InfoReport } from "./info-report.js";

/** Options of {@link engineInfoReport}: the call's deadline, and TLS and token as `score --engine` takes them. */
export interface EngineInfoOptions extends EngineSecurity {
  readonly timeoutMs: number;
}

/**
 * Asks an engine what it serves (`sftscore.v1.ScoringService/GetModelInfo`), in plaintext or over
 * TLS and with a bearer token as `options` say, and describes it as an {@link InfoReport}. The
 * answer carries the whole tokenizer.json (megabytes for large vocabularies), so the receive limit
 * is lifted.
 *
 * @throws EngineError `unavailable` when the engine cannot be reached (a TLS handshake that fails
 *   included) or does not answer within `timeoutMs`, or `internal` with the gRPC status for anything
 *   else; UsageError when the engine refuses the token.
 */
export async function engineInfoReport(address: EngineAddress, options: EngineInfoOptions): Promise<InfoReport> {
  const target = formatEngineAddress(address);
  const info = await getModelInfo(target, options);
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

async function getModelInfo(target: string, options: EngineInfoOptions): Promise<GetModelInfoResponse> {
  const { timeoutMs } = options;
  const client = new ScoringServiceClient(target, channelCredentialsOf(options.tls), { "grpc.max_receive_message_length": -1 });
  const metadata = new Metadata();
  if (options.token !== undefined) metadata.set("authorization", `Bearer ${options.token}`);
  try {
    return await new Promise<GetModelInfoResponse>((resolve, reject) => {
      client.getModelInfo({}, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) reject(engineErrorOf(error, target, timeoutMs));
        else resolve(response);
      });
    });
  } finally {
    client.close();
  }
}

/** Plaintext, TLS with Node's bundled roots (`true`), or TLS with the given CA and client certificate. */
function channelCredentialsOf(tls: EngineSecurity["tls"]): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  const pem = (value: Buffer | string | undefined) => (value === undefined ? null : Buffer.from(value));
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

function engineErrorOf(error: ServiceError, target: string, timeoutMs: number): EngineError | UsageError {
  switch (error.code) {
    case GrpcStatus.UNAVAILABLE:
      return new EngineError("unavailable", `cannot reach an engine at ${target} (${error.details}): is \`sftscore serve\` running there, on that port?`, { cause: error });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new EngineError("unavailable", `the engine at ${target} did not answer GetModelInfo within ${timeoutMs / 1000} s`, { cause: error });
    case GrpcStatus.UNAUTHENTICATED:
      return new UsageError(authRefusalMessage(target, error.details), { cause: error });
    default:
      return new EngineError("internal", `GetModelInfo on ${target} failed: ${GrpcStatus[error.code] ?? error.code} ${error.details}`, { cause: error });
  }
}
