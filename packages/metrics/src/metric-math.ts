/**
 * The pure maths of composing span scores into metric values. Every function returns either a finite
 * number or `null` with a reason; NaN and Infinity never leave this module.
 */
import type { NullReason } from "./metric-row.js";
import type { SpanScore } from "./scorer.js";

/** A value, or why there is none. */
export type MaybeValue = { readonly value: number } | { readonly value: null; readonly reason: NullReason };

/** A perplexity and its log: `ppl = exp(nll)`; `nll` survives when only `exp` overflows. */
export interface Perplexity {
  /** Mean negative log-likelihood per scored position, in nats. */
  readonly nll: MaybeValue;
  readonly ppl: MaybeValue;
  /** Scored positions averaged. */
  readonly count: number;
}

/** A value that is missing for `reason`. */
export function missing(reason: NullReason): { readonly value: null; readonly reason: NullReason } {
  return { value: null, reason };
}

/** A present value; `-0` is normalised to `0` so rows print `0`. */
export function present(value: number): { readonly value: number } {
  return { value: value === 0 ? 0 : value };
}

/** The perplexity of a span that could not be scored. */
export function missingPerplexity(reason: NullReason): Perplexity {
  return { nll: missing(reason), ppl: missing(reason), count: 0 };
}

/**
 * `exp(mean NLL)` of a scored span: `nll = −sumLogprob / count`. A span with no positions is
 * `no-scored-tokens`; a non-finite sum is `non-finite`; an `exp` beyond float64 is `overflow` with the
 * NLL kept.
 */
export function perplexityOfSpan(score: SpanScore): Perplexity {
  if (score.count <= 0) return missingPerplexity("no-scored-tokens");
  if (!Number.isFinite(score.sumLogprob)) return { ...missingPerplexity("non-finite"), count: score.count };
  const nll = -score.sumLogprob / score.count;
  const ppl = Math.exp(nll);
  return { nll: present(nll), ppl: Number.isFinite(ppl) ? present(ppl) : missing("overflow"), count: score.count };
}

/**
 * `a / b`, null when either is (with the first null operand's reason), `zero-denominator` when
 * `b = 0`, `overflow` when the quotient is not finite.
 */
export function ratio(a: MaybeValue, b: MaybeValue): MaybeValue {
  if (a.value === null) return a;
  if (b.value === null) return b;
  if (b.value === 0) return missing("zero-denominator");
  const quotient = a.value / b.value;
  return Number.isFinite(quotient) ? present(quotient) : missing("overflow");
}

/** How one-shot comparisons are averaged: `sign` (default, the seed's) or `raw` differences. */
export type OneshotMode = "sign" | "raw";

/**
 * One comparison of `oneshot_validity`: `sign(PPL0 − PPL1)` or `PPL0 − PPL1`, where PPL0 is the
 * partner's zero-shot response perplexity and PPL1 its one-shot one with the sample as example.
 * Null when either perplexity is missing; with both only overflowing, `sign` compares the NLLs
 * (exp is monotonic) and `raw` is `overflow`.
 */
export function oneshotComparison(zeroShot: Perplexity, oneShot: Perplexity, mode: OneshotMode): MaybeValue {
  const zero = zeroShot.ppl;
  const one = oneShot.ppl;
  if (zero.value !== null && one.value !== null) {
    const difference = zero.value - one.value;
    if (mode === "raw") return Number.isFinite(difference) ? present(difference) : missing("overflow");
    return present(Math.sign(difference));
  }
  if (zeroShot.nll.value === null) return zeroShot.nll;
  if (oneShot.nll.value === null) return oneShot.nll;
  return mode === "sign" ? present(Math.sign(zeroShot.nll.value - oneShot.nll.value)) : missing("overflow");
}

/**
 * Mean of the comparisons that have a value, with the positions of those used. `no-partner` when
 * there are no comparisons, `no-scorable-partner` when none has a value.
 */
export function meanOfComparisons(comparisons: readonly MaybeValue[]): { readonly mean: MaybeValue; readonly used: readonly number[] } {
  if (comparisons.length === 0) return { mean: missing("no-partner"), used: [] };
  const used: number[] = [];
  let sum = 0;
  comparisons.forEach((comparison, i) => {
    if (comparison.value === null) return;
    used.push(i);
    sum += comparison.value;
  });
  if (used.length === 0) return { mean: missing("no-scorable-partner"), used };
  const mean = sum / used.length;
  return { mean: Number.isFinite(mean) ? present(mean) : missing("overflow"), used };
}
