/**
 * Composition: span sums → metric values → one {@link MetricRow} with a stable key order.
 */
import {
  meanOfComparisons,
  missingPerplexity,
  oneshotComparison,
  perplexityOfSpan,
  ratio,
  type MaybeValue,
  type OneshotMode,
  type Perplexity,
} from "./metric-math.js";
import {
  METRIC_NAMES,
  isPerplexityMetric,
  nllColumnOf,
  type CountColumn,
  type MetricName,
  type MetricRow,
  type NullReason,
  type NullableColumn,
  type PerplexityMetric,
} from "./metric-row.js";
import type { RowPlan, SpanSource } from "./plan.js";
import type { SpanScore } from "./scorer.js";
import type { SpanRef } from "./sequence-pool.js";

/**
 * How `ifd` is computed:
 * - `perplexity-ratio` (default): `response_ppl / output_ppl`, the seed's `IFD = PPL(y|x) / PPL(y)`
 *   (Li et al. 2023, "From Quantity to Quality", the paper's definition).
 * - `loss-ratio`: `response_nll / output_nll`, the ratio of mean token losses that Cherry LLM's code
 *   ranks by (tianyi-lab/Cherry_LLM, `cherry_seletion/data_by_IFD.py`: `mean_rate = mean_2 / mean_1`).
 */
export type IfdVariant = "perplexity-ratio" | "loss-ratio";

/** Options of {@link composeRow}. */
export interface ComposeOptions {
  readonly metrics: ReadonlySet<MetricName>;
  /** Default `perplexity-ratio`. */
  readonly ifdVariant?: IfdVariant;
  /** Default `sign`. */
  readonly oneshotMode?: OneshotMode;
}

const COUNT_COLUMNS: readonly CountColumn[] = ["prompt_tokens", "response_tokens", "output_tokens", "instruction_tokens", "reverse_response_tokens"];

/**
 * Composes one row from its plan and the span scores. `scoreOf` returns the score of a planned span
 * (every span the plan references must have one).
 */
export function composeRow(plan: RowPlan, scoreOf: (ref: SpanRef) => SpanScore, options: ComposeOptions): MetricRow {
  const perplexity = (source: SpanSource | undefined): Perplexity => {
    if (source === undefined) return missingPerplexity("no-scored-tokens");
    return source.kind === "missing" ? missingPerplexity(source.reason) : perplexityOfSpan(scoreOf(source.ref));
  };
  const values = new Map<PerplexityMetric, Perplexity>();
  const perplexityOf = (metric: PerplexityMetric): Perplexity => {
    let value = values.get(metric);
    if (value === undefined) {
      value = perplexity(plan.sources[metric]);
      values.set(metric, value);
    }
    return value;
  };
  const ifdVariant = options.ifdVariant ?? "perplexity-ratio";
  const ratioOf = (numerator: PerplexityMetric, denominator: PerplexityMetric, variant: IfdVariant): MaybeValue => {
    const a = perplexityOf(numerator);
    const b = perplexityOf(denominator);
    return variant === "loss-ratio" ? ratio(a.nll, b.nll) : ratio(a.ppl, b.ppl);
  };

  // Filled in column order; spreading it below keeps that order in the row.
  const columns: { -readonly [C in NullableColumn]?: number | null } & { oneshot_partners?: readonly number[] } = {};
  const reasons: Partial<Record<NullableColumn, NullReason>> = {};
  const put = (column: NullableColumn, value: MaybeValue): void => {
    columns[column] = value.value;
    if (value.value === null) reasons[column] = value.reason;
  };
  for (const metric of METRIC_NAMES) {
    if (!options.metrics.has(metric)) continue;
    if (isPerplexityMetric(metric)) {
      const value = perplexityOf(metric);
      put(metric, value.ppl);
      put(nllColumnOf(metric), value.nll);
    } else if (metric === "ifd") {
      put("ifd", ratioOf("response_ppl", "output_ppl", ifdVariant));
    } else if (metric === "rifd") {
      // The seed and Selective Reflection-Tuning both define r-IFD as a ratio of perplexities.
      put("rifd", ratioOf("reverse_response_ppl", "instruction_ppl", "perplexity-ratio"));
    } else {
      const partners = plan.oneshot ?? [];
      const comparisons = partners.map((partner) =>
        oneshotComparison(perplexity(partner.zeroShot), perplexity(partner.oneShot), options.oneshotMode ?? "sign"),
      );
      const { mean, used } = meanOfComparisons(comparisons);
      put("oneshot_validity", mean);
      columns.oneshot_partners = used.map((i) => partners[i].label);
    }
  }
  const counts: Partial<Record<CountColumn, number>> = {};
  for (const column of COUNT_COLUMNS) {
    const count = plan.counts[column];
    if (count !== undefined) counts[column] = count;
  }
  return {
    index: plan.index,
    ...(plan.id === undefined ? {} : { id: plan.id }),
    ...columns,
    ...counts,
    truncated: plan.truncated,
    boundary_merged: plan.boundaryMerged,
    null_reasons: reasons,
  };
}
