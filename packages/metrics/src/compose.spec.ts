import { describe, expect, it } from "vitest";
import { composeRow } from "./compose.js";
import { METRIC_NAMES, type MetricName } from "./metric-row.js";
import type { RowPlan, SpanSource } from "./plan.js";
import type { SpanScore } from "./scorer.js";
import type { SpanRef } from "./sequence-pool.js";

// Span scores by sequence number (span 0 of each): nll = −sum / count.
const SCORES: SpanScore[] = [
  { sumLogprob: -4, count: 2 }, // 0: response, nll 2
  { sumLogprob: -3, count: 3 }, // 1: output, nll 1
  { sumLogprob: -6, count: 2 }, // 2: prompt, nll 3
  { sumLogprob: -2, count: 4 }, // 3: instruction, nll 0.5
  { sumLogprob: -3, count: 2 }, // 4: reverse, nll 1.5
  { sumLogprob: -1, count: 1 }, // 5: partner zero-shot, nll 1
  { sumLogprob: -1, count: 2 }, // 6: one-shot better, nll 0.5
  { sumLogprob: -6, count: 2 }, // 7: one-shot worse, nll 3
  { sumLogprob: -800 * 3, count: 3 }, // 8: overflowing
];
const at = (sequence: number): SpanSource => ({ kind: "span", ref: { sequence, span: 0 } });
const scoreOf = (ref: SpanRef): SpanScore => SCORES[ref.sequence];
const all = new Set<MetricName>(METRIC_NAMES);

const plan: RowPlan = {
  index: 7,
  id: "ex-7",
  sources: { response_ppl: at(0), output_ppl: at(1), prompt_ppl: at(2), instruction_ppl: at(3), reverse_response_ppl: at(4) },
  oneshot: [
    { label: 3, zeroShot: at(5), oneShot: at(6) },
    { label: 9, zeroShot: at(5), oneShot: at(7) },
    { label: 12, zeroShot: at(5), oneShot: at(6) },
  ],
  counts: { prompt_tokens: 3, response_tokens: 2, output_tokens: 4, instruction_tokens: 5, reverse_response_tokens: 2 },
  truncated: false,
  boundaryMerged: true,
};

describe("composeRow", () => {
  it("computes every metric and lays the row out in a fixed key order", () => {
    const row = composeRow(plan, scoreOf, { metrics: all });
    expect(Object.keys(row)).toEqual([
      "index", "id",
      "prompt_ppl", "prompt_nll", "response_ppl", "response_nll", "output_ppl", "output_nll", "ifd",
      "instruction_ppl", "instruction_nll", "reverse_response_ppl", "reverse_response_nll", "rifd",
      "oneshot_validity", "oneshot_partners",
      "prompt_tokens", "response_tokens", "output_tokens", "instruction_tokens", "reverse_response_tokens",
      "truncated", "boundary_merged", "null_reasons",
    ]);
    expect(row.prompt_nll).toBe(3);
    expect(row.prompt_ppl).toBe(Math.exp(3));
    expect(row.response_ppl).toBe(Math.exp(2));
    expect(row.ifd).toBe(Math.exp(2) / Math.exp(1));
    expect(row.rifd).toBe(Math.exp(1.5) / Math.exp(0.5));
    expect(row.oneshot_validity).toBeCloseTo(1 / 3, 15);
    expect(row.oneshot_partners).toEqual([3, 9, 12]);
    expect(row.boundary_merged).toBe(true);
    expect(row.null_reasons).toEqual({});
  });

  it("includes only the requested metrics' columns, and no id when the sample has none", () => {
    const { id: _, ...withoutId } = plan;
    const row = composeRow({ ...withoutId, counts: { output_tokens: 4 } }, scoreOf, { metrics: new Set(["output_ppl"]) });
    expect(Object.keys(row)).toEqual(["index", "output_ppl", "output_nll", "output_tokens", "truncated", "boundary_merged", "null_reasons"]);
  });

  it("offers IFD as Cherry LLM's ratio of mean losses", () => {
    const row = composeRow(plan, scoreOf, { metrics: new Set(["ifd", "rifd"]), ifdVariant: "loss-ratio" });
    expect(row.ifd).toBe(2 / 1);
    // r-IFD stays a ratio of perplexities.
    expect(row.rifd).toBe(Math.exp(1.5) / Math.exp(0.5));
  });

  it("averages raw perplexity differences in raw mode", () => {
    const row = composeRow(plan, scoreOf, { metrics: new Set(["oneshot_validity"]), oneshotMode: "raw" });
    const zero = Math.exp(1);
    expect(row.oneshot_validity).toBeCloseTo((2 * (zero - Math.exp(0.5)) + (zero - Math.exp(3))) / 3, 12);
  });

  it("propagates nulls with reasons into ratios and never emits NaN or Infinity", () => {
    const broken: RowPlan = {
      ...plan,
      sources: {
        ...plan.sources,
        response_ppl: { kind: "missing", reason: "truncated-away" },
        reverse_response_ppl: at(8),
        output_ppl: { kind: "missing", reason: "no-scored-tokens" },
      },
      oneshot: [{ label: 4, zeroShot: { kind: "missing", reason: "no-scored-tokens" }, oneShot: at(6) }, { label: 8, zeroShot: at(5), oneShot: at(7) }],
    };
    const row = composeRow(broken, scoreOf, { metrics: all });
    expect(row.response_ppl).toBeNull();
    expect(row.response_nll).toBeNull();
    expect(row.ifd).toBeNull();
    expect(row.reverse_response_ppl).toBeNull();
    expect(row.reverse_response_nll).toBe(800);
    expect(row.rifd).toBeNull();
    expect(row.oneshot_validity).toBe(-1);
    expect(row.oneshot_partners).toEqual([8]);
    expect(row.null_reasons).toEqual({
      response_ppl: "truncated-away",
      response_nll: "truncated-away",
      output_ppl: "no-scored-tokens",
      output_nll: "no-scored-tokens",
      ifd: "truncated-away",
      reverse_response_ppl: "overflow",
      rifd: "overflow",
    });
    expect(JSON.stringify(row)).not.toMatch(/NaN|Infinity/);
  });

  it("reports a sample without partners as no-partner", () => {
    const row = composeRow({ ...plan, oneshot: [] }, scoreOf, { metrics: new Set(["oneshot_validity"]) });
    expect(row.oneshot_validity).toBeNull();
    expect(row.oneshot_partners).toEqual([]);
    expect(row.null_reasons).toEqual({ oneshot_validity: "no-partner" });
  });
});
