/** A metric a caller can request (DESIGN.md §1), in row order. */
export type MetricName =
  | "prompt_ppl"
  | "response_ppl"
  | "output_ppl"
  | "ifd"
  | "instruction_ppl"
  | "reverse_response_ppl"
  | "rifd"
  | "oneshot_validity";

/** Every {@link MetricName}, in the order their columns appear in a row. */
export const METRIC_NAMES: readonly MetricName[] = [
  "prompt_ppl",
  "response_ppl",
  "output_ppl",
  "ifd",
  "instruction_ppl",
  "reverse_response_ppl",
  "rifd",
  "oneshot_validity",
];

/** The perplexity metrics; each has a `*_nll` companion column (see {@link nllColumnOf}). */
export type PerplexityMetric = "prompt_ppl" | "response_ppl" | "output_ppl" | "instruction_ppl" | "reverse_response_ppl";

/** The mean-NLL column of a perplexity metric: `response_ppl` → `response_nll`. */
export type NllColumn = "prompt_nll" | "response_nll" | "output_nll" | "instruction_nll" | "reverse_response_nll";

/** `*_nll` column of a perplexity metric. */
export function nllColumnOf(metric: PerplexityMetric): NllColumn {
  return metric.replace(/_ppl$/, "_nll") as NllColumn;
}

/** True for the five perplexity metrics. */
export function isPerplexityMetric(metric: MetricName): metric is PerplexityMetric {
  return metric.endsWith("_ppl");
}

/**
 * Why a value is `null`:
 * - `no-scored-tokens`: the span has no scored position (empty output, a one-token text without BOS,
 *   an empty instruction).
 * - `truncated-away`: truncation to `maxLength` removed every position the span would score.
 * - `no-partner`: the sample's task has no other sample (or the anchor set is empty).
 * - `no-scorable-partner`: partners were drawn, but none has both perplexities (e.g. empty outputs).
 * - `overflow`: `exp` of the mean NLL (or a ratio) exceeds the float64 range; the `*_nll` is kept.
 * - `non-finite`: the scorer returned a non-finite log-probability sum.
 * - `zero-denominator`: a ratio's denominator is 0 (only possible for the loss-ratio IFD variant).
 */
export type NullReason =
  | "no-scored-tokens"
  | "truncated-away"
  | "no-partner"
  | "no-scorable-partner"
  | "overflow"
  | "non-finite"
  | "zero-denominator";

/** Columns that can carry a null reason. */
export type NullableColumn = MetricName | NllColumn;

/** Token-count columns (see {@link MetricRow}). */
export type CountColumn = "prompt_tokens" | "response_tokens" | "output_tokens" | "instruction_tokens" | "reverse_response_tokens";

/**
 * One output row per input sample (DESIGN.md §5). Keys appear in this order, and only the columns
 * of requested metrics (with their `*_nll` and counts) are present, so every row of a run has the
 * same keys. Values are finite numbers or `null` — never NaN or Infinity.
 *
 * Token counts: `prompt_tokens` = len(enc(P0)) = k; `response_tokens` = n − k, the positions
 * `response_ppl` averages; `output_tokens` = len(enc(output)); `instruction_tokens` =
 * len(enc(instruction)); `reverse_response_tokens` = the positions `reverse_response_ppl` averages.
 * Lengths include special tokens and are after truncation.
 */
export interface MetricRow {
  /** 0-based position of the sample in the input. */
  readonly index: number;
  /** The sample's id, when it has one. */
  readonly id?: string;
  readonly prompt_ppl?: number | null;
  /** Mean NLL (nats per token) of `prompt_ppl`; `prompt_ppl = exp(prompt_nll)`. */
  readonly prompt_nll?: number | null;
  readonly response_ppl?: number | null;
  readonly response_nll?: number | null;
  readonly output_ppl?: number | null;
  readonly output_nll?: number | null;
  readonly ifd?: number | null;
  readonly instruction_ppl?: number | null;
  readonly instruction_nll?: number | null;
  readonly reverse_response_ppl?: number | null;
  readonly reverse_response_nll?: number | null;
  readonly rifd?: number | null;
  readonly oneshot_validity?: number | null;
  /** Partners whose comparison entered `oneshot_validity`: sample indices, or anchor positions. */
  readonly oneshot_partners?: readonly number[];
  readonly prompt_tokens?: number;
  readonly response_tokens?: number;
  readonly output_tokens?: number;
  readonly instruction_tokens?: number;
  readonly reverse_response_tokens?: number;
  /** Some sequence this row's metrics were computed from was cut to `maxLength`. */
  readonly truncated: boolean;
  /** In some sequence this row's metrics used, `enc(prompt + text)` does not start with `enc(prompt)`. */
  readonly boundary_merged: boolean;
  /** Why each `null` column is null; `{}` when none is. */
  readonly null_reasons: Readonly<Partial<Record<NullableColumn, NullReason>>>;
}
