export type { ModelInfo, Scorer, SequenceRequest, SequenceScore, Span, SpanScore } from "./scorer.js";
