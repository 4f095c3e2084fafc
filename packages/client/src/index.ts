/**
 * `@sftscore/client`: the SDK for scoring against sftscore engines over gRPC. `scoreDataset` scores
 * samples end to end; `EngineClient` is the `Scorer` underneath (balancing over engines, retries,
 * deadlines, TLS and token auth).
 */
export { scoreDataset } from "./score-dataset.js";
export type { ScoreDatasetOptions } from "./score-dataset.js";
// The types a caller of scoreDataset or EngineClient handles, so that it needs no second import.
export type { MetricName, MetricRow, ModelInfo, Sample, ScoreOptions, Scorer, SequenceRequest, SequenceScore } from "@sftscore/metrics";

export { EngineClient } from "./engine-client.js";
export type { TargetStats } from "./engine-client.js";
export { CLIENT_DEFAULTS, defaultChannelOptions } from "./client-options.js";
export type { EngineClientInput, EngineClientOptions } from "./client-options.js";
export type { TlsOptions } from "./engine-connection.js";
export { DEFAULT_RETRY_POLICY, backoffDelayMs } from "./retry-policy.js";
export type { RetryPolicy } from "./retry-policy.js";

export { ClientError, clientErrorOfStatus, isRetryable, isRetryableStatus } from "./client-error.js";
export type { ClientErrorCode, ClientErrorDetails } from "./client-error.js";

export { FALLBACK_LIMITS, limitsOf } from "./wire-messages.js";
export type { EngineLimits } from "./wire-messages.js";
export { packMessages } from "./message-packer.js";

export { formatEngineAddress, parseEngineAddress, parseEngineAddresses } from "./engine-address.js";
export type { EngineAddress } from "./engine-address.js";
