export type { ModelInfo, Scorer, SequenceRequest, SequenceScore, Span, SpanScore } from "./scorer.js";

export { MetricsError } from "./metrics-error.js";
export type { MetricsErrorCode } from "./metrics-error.js";

export { assertSample, taskLabelOf } from "./sample.js";
export type { Sample } from "./sample.js";

export { compileTemplate, renderTemplate } from "./template-text.js";
export type { CompiledTemplate, TemplatePart } from "./template-text.js";
export {
  ALPACA_TEMPLATES,
  SELECTIVE_REFLECTION_REQUEST,
  SELECTIVE_REFLECTION_REVERSED,
  TEMPLATE_FIELDS,
  TEMPLATE_KINDS,
  createTemplatePromptSet,
  withSelectiveReflectionReverse,
} from "./templates.js";
export type { PromptSet, TemplateKind, TemplatePromptSetOptions, TemplateSetText, TemplateVariants } from "./templates.js";
export { loadTemplateSetFile, parseTemplateSet } from "./template-file.js";
export type { TemplateSet } from "./template-file.js";
export { createChatPromptSet } from "./chat-prompts.js";
export type { ChatPromptSetOptions, ReversedRequest } from "./chat-prompts.js";

export { DEFAULT_TOKENIZER_CACHE_BYTES, createTokenizer } from "./tokenization.js";
export type { EncodeOptions, Encoding, Tokenizer, TokenizerOptions } from "./tokenization.js";
export { validateTokenizerJson } from "./tokenizer-validation.js";

export { selectPartners } from "./partners.js";
export { buildTaskIndex, createTaskIndexBuilder, taskIndexOfSamples } from "./task-index.js";
export type { TaskIndex, TaskIndexBuilder } from "./task-index.js";

export { conditionalLayout, startsWith, wholeLayout } from "./span-layout.js";
export type { ConditionalLayout, SpanLayout } from "./span-layout.js";
export { createSequencePool, sequenceKeyOf } from "./sequence-pool.js";
export type { PlannedSequence, SequencePool, SpanRef } from "./sequence-pool.js";
export { FULL_SHARING, planWindow } from "./plan.js";
export type { OneshotPlan, Partner, PlanSettings, RowPlan, SpanSource, WindowPlan, WindowRow, WorkSharing } from "./plan.js";

export { meanOfComparisons, oneshotComparison, perplexityOfSpan, ratio } from "./metric-math.js";
export type { MaybeValue, OneshotMode, Perplexity } from "./metric-math.js";
export { METRIC_NAMES, isPerplexityMetric, nllColumnOf } from "./metric-row.js";
export type { CountColumn, MetricName, MetricRow, NllColumn, NullReason, NullableColumn, PerplexityMetric } from "./metric-row.js";
export { composeRow } from "./compose.js";
export type { ComposeOptions, IfdVariant } from "./compose.js";

export { SCORE_DEFAULTS, promptSetOf } from "./score-options.js";
export type { ScoreOptions } from "./score-options.js";
export { scoreSamples } from "./score-samples.js";
