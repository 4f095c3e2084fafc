/**
 * Work sharing with a real scorer: the number of sequences sent is at most N·(4 + K) plus one per
 * boundary-merged row, and fewer when rows repeat. The counter below only passes requests through
 * and counts them (transport); the scores are the real scorer's.
 */
import { scoreSamples, type MetricRow, type Sample, type ScoreOptions, type Scorer, type SequenceRequest } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { useFixtureModels } from "../support/fixture-models.js";
import { SCORERS_UNDER_TEST } from "./scorers.js";

function counting(inner: Scorer): Scorer & { readonly sent: SequenceRequest[] } {
  const sent: SequenceRequest[] = [];
  async function* tap(requests: AsyncIterable<SequenceRequest>): AsyncGenerator<SequenceRequest> {
    for await (const request of requests) {
      sent.push(request);
      yield request;
    }
  }
  return { sent, info: () => inner.info(), close: () => inner.close(), score: (requests, options) => inner.score(tap(requests), options) };
}

async function collect(rows: AsyncIterable<MetricRow>): Promise<MetricRow[]> {
  const out: MetricRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

const A: Sample = { instruction: "Add the two numbers.", input: "2, 3", output: "5", task: "t" };
const B: Sample = { instruction: "Name a primary colour.", input: "", output: "Blue.", task: "t" };
const C: Sample = { instruction: "两数相乘。", input: "4，5", output: "20", task: "t" };
const D: Sample = { instruction: "Add the two numbers.", input: "7, 1", output: "8", task: "t" };
const E: Sample = { instruction: "Reverse the word.", input: "stop", output: "pots", task: "t" };
const F: Sample = { instruction: "Capital of France?", input: "", output: "Paris.", task: "t" };

describe.each(SCORERS_UNDER_TEST)("work sharing ($name)", (under) => {
  const models = useFixtureModels();
  const run = async (samples: Sample[], options: ScoreOptions) => {
    const scorer = counting(await under.create(models().tiny));
    try {
      const rows = await collect(scoreSamples(samples, scorer, options));
      return { rows, sent: scorer.sent.length };
    } finally {
      await scorer.close();
    }
  };

  it("sends exactly N·(4 + K) sequences for distinct samples with every metric", async () => {
    const { rows, sent } = await run([A, B, C, E, F], { oneshotPartners: 2 });
    expect(rows.every((r) => r.oneshot_partners?.length === 2 && !r.boundary_merged)).toBe(true);
    expect(sent).toBe(5 * (4 + 2));
  });

  it("sends fewer when rows repeat: duplicates and shared instructions are scored once", async () => {
    const samples = [A, B, C, { ...A }, D];
    const { rows, sent } = await run(samples, { oneshotPartners: 4 });
    // Own sequences: 4 distinct responses, outputs and reverse prompts, 3 distinct instructions (D
    // repeats A's); one-shot (partner, example) content pairs: 13 distinct of the 20 drawn.
    expect(sent).toBe(4 + 4 + 3 + 4 + 13);
    expect(sent).toBeLessThan(samples.length * (4 + 4));
    // The duplicate's own metrics are the original's numbers.
    for (const column of ["prompt_nll", "response_nll", "output_nll", "instruction_nll", "reverse_response_nll"] as const) {
      expect(rows[3][column]).toBe(rows[0][column]);
    }
    expect(rows[4].instruction_nll).toBe(rows[0].instruction_nll);
  });

  it("adds one sequence per boundary-merged row, for its prompt", async () => {
    const merged: Sample = { instruction: "Answer briefly.", input: "", output: "\n答案是四。", task: "alone" };
    const samples = [A, B, C, E, merged];
    const { rows, sent } = await run(samples, { oneshotPartners: 2 });
    expect(rows[4].boundary_merged).toBe(true);
    expect(rows[4].null_reasons).toEqual({ oneshot_validity: "no-partner" });
    expect(sent).toBe(4 * (4 + 2) + 4 + 1);
    expect(sent).toBeLessThanOrEqual(samples.length * (4 + 2) + 1);
  });

  it("gives identical rows whatever the window size, and scores no more for distinct texts", async () => {
    // Across windows only response sequences are remembered (they are partners' zero-shot sequences),
    // so distinct samples cost the same in any window size; repeated texts in other windows are rescored.
    const distinct = [A, B, C, E];
    const repeated = [A, B, C, { ...A }, D, E];
    for (const samples of [distinct, repeated]) {
      const whole = await run(samples, { oneshotPartners: 2 });
      for (const windowSize of [1, 4]) {
        const windowed = await run(samples, { oneshotPartners: 2, windowSize, windowsInFlight: 1 });
        expect(windowed.rows).toEqual(whole.rows);
        if (samples === distinct) expect(windowed.sent).toBe(whole.sent);
        else expect(windowed.sent).toBeGreaterThan(whole.sent);
      }
    }
  });
});
