/**
 * `@sftscore/engine`: loads a causal language model exported to ONNX and scores token sequences
 * with it. This entry also exposes the project's deterministic test-model builder and the float64
 * reference forward pass that the engine's numbers are checked against.
 */
export { buildFixtureModel } from "./fixture/build-fixture.js";
export type { FixtureModelInfo, FixtureModelOptions, FixtureVariant } from "./fixture/build-fixture.js";
export { FIXTURE_PRESETS, QWEN_VOCAB_SIZE, headDim, presetConfig } from "./fixture/llama-config.js";
export type { FixturePreset, LlamaConfig } from "./fixture/llama-config.js";
export { generateWeights } from "./fixture/weights.js";
export type { LlamaWeights, WeightTensor } from "./fixture/weights.js";
export { buildFixtureTokenizer } from "./fixture/tokenizer-builder.js";
export type { FixtureTokenizer, FixtureTokenizerOptions } from "./fixture/tokenizer-builder.js";
export { referenceLogSoftmax, referenceTokenLogprobs } from "./fixture/reference-forward.js";
export type { ReferenceOptions } from "./fixture/reference-forward.js";
export { readLlamaModel } from "./fixture/fixture-model-reader.js";
export { DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, defaultLengthBucket, planBatches } from "./batcher.js";
export type { BatchItem, BatchLimits, PlannedBatch } from "./batcher.js";
export { createEngine, DEFAULT_PREFIX_CACHE_BYTES } from "./engine.js";
export { PAST_INPUT } from "./kv-cache-names.js";
export type { Engine, EngineBatch, EngineInfo, EngineOptions, EngineStats } from "./engine.js";
export { EngineError, isRetryable } from "./engine-error.js";
export type { EngineErrorCode } from "./engine-error.js";
export type { Ticket } from "./scheduler.js";
export { CUDA_INSTALL_HINT, DEVICES } from "./devices.js";
export type { Device } from "./devices.js";
export type { LossHeadKind } from "./loss-head.js";
export { cacheRoot, defaultModelCacheDir } from "./model-directory.js";
export { startServer, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_SEQUENCES_PER_MESSAGE, SCORING_SERVICE_NAME } from "./server/server.js";
export type { RunningServer, ServerOptions } from "./server/server.js";
export { createScoringService, DEFAULT_CLIENT_RECEIVE_BYTES } from "./server/scoring-service.js";
export type { ScoringService, ScoringServiceOptions } from "./server/scoring-service.js";
export type { ScoreStreamObserver } from "./server/score-stream.js";
export { createEngineMetrics } from "./server/engine-metrics.js";
export type { EngineMetrics } from "./server/engine-metrics.js";
export { grpcStatusOf } from "./server/grpc-status.js";
export type { GrpcFailure } from "./server/grpc-status.js";
