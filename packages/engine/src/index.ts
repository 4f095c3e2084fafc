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
