import { describe, expect, it } from "vitest";
import { meanOfComparisons, missing, oneshotComparison, perplexityOfSpan, present, ratio, type Perplexity } from "./metric-math.js";

const ppl = (sumLogprob: number, count: number): Perplexity => perplexityOfSpan({ sumLogprob, count });

describe("perplexityOfSpan", () => {
  it("is exp of the mean negative log-likelihood", () => {
    const value = ppl(-6, 3);
    expect(value.nll).toEqual({ value: 2 });
    expect(value.ppl).toEqual({ value: Math.exp(2) });
    expect(value.count).toBe(3);
    expect(ppl(0, 2).nll).toEqual({ value: 0 });
    expect(Object.is(ppl(0, 2).nll.value, 0)).toBe(true);
  });

  it("reports overflow of exp but keeps the NLL", () => {
    const value = ppl(-800 * 4, 4);
    expect(value.ppl).toEqual({ value: null, reason: "overflow" });
    expect(value.nll).toEqual({ value: 800 });
    // The largest finite perplexity still has a value.
    expect(ppl(-709, 1).ppl.value).toBeCloseTo(Math.exp(709));
  });

  it("never yields NaN or Infinity", () => {
    expect(ppl(0, 0).ppl).toEqual({ value: null, reason: "no-scored-tokens" });
    expect(ppl(Number.NEGATIVE_INFINITY, 3).nll).toEqual({ value: null, reason: "non-finite" });
    expect(ppl(Number.NaN, 3).ppl).toEqual({ value: null, reason: "non-finite" });
  });
});

describe("ratio", () => {
  it("divides, propagating the first null operand's reason", () => {
    expect(ratio(present(3), present(2))).toEqual({ value: 1.5 });
    expect(ratio(missing("truncated-away"), missing("overflow"))).toEqual({ value: null, reason: "truncated-away" });
    expect(ratio(present(1), missing("no-scored-tokens"))).toEqual({ value: null, reason: "no-scored-tokens" });
  });

  it("turns a zero denominator or an infinite quotient into a reason", () => {
    expect(ratio(present(1), present(0))).toEqual({ value: null, reason: "zero-denominator" });
    expect(ratio(present(0), present(0))).toEqual({ value: null, reason: "zero-denominator" });
    expect(ratio(present(1e300), present(1e-300))).toEqual({ value: null, reason: "overflow" });
  });
});

describe("one-shot validity", () => {
  it("compares the partner's zero-shot and one-shot perplexities by sign or raw difference", () => {
    const zero = ppl(-4, 2); // e^2
    const better = ppl(-2, 2); // e^1
    expect(oneshotComparison(zero, better, "sign")).toEqual({ value: 1 });
    expect(oneshotComparison(better, zero, "sign")).toEqual({ value: -1 });
    expect(oneshotComparison(zero, zero, "sign")).toEqual({ value: 0 });
    expect(oneshotComparison(zero, better, "raw").value).toBeCloseTo(Math.exp(2) - Math.exp(1), 12);
  });

  it("uses the NLLs when both perplexities overflow (sign only) and is null when a side is missing", () => {
    const huge = ppl(-800, 1);
    const huger = ppl(-900, 1);
    expect(oneshotComparison(huger, huge, "sign")).toEqual({ value: 1 });
    expect(oneshotComparison(huger, huge, "raw")).toEqual({ value: null, reason: "overflow" });
    expect(oneshotComparison(ppl(0, 0), huge, "sign")).toEqual({ value: null, reason: "no-scored-tokens" });
  });

  it("averages the comparisons that have values and says which were used", () => {
    expect(meanOfComparisons([present(1), present(-1), present(1), present(1)])).toEqual({ mean: { value: 0.5 }, used: [0, 1, 2, 3] });
    expect(meanOfComparisons([present(1), missing("no-scored-tokens"), present(0)])).toEqual({ mean: { value: 0.5 }, used: [0, 2] });
    expect(meanOfComparisons([])).toEqual({ mean: { value: null, reason: "no-partner" }, used: [] });
    expect(meanOfComparisons([missing("truncated-away")])).toEqual({ mean: { value: null, reason: "no-scorable-partner" }, used: [] });
  });
});
