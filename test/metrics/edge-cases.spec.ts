/**
 * Edge cases of DESIGN.md §1, each checked against the seed's computation done independently.
 */
import { createTokenizer, scoreSamples, type MetricRow, type Sample, type ScoreOptions, type Scorer } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { useFixtureModels } from "../support/fixture-models.js";
import { loadReferenceModel } from "../support/reference-scorer.js";
import { createSeedOracle, SEED_PROMPTS } from "../support/seed-oracle.js";
import { expectClose, expectRowsMatchSeed } from "./oracle-check.js";
import { SCORERS_UNDER_TEST } from "./scorers.js";

async function collect(rows: AsyncIterable<MetricRow>): Promise<MetricRow[]> {
  const out: MetricRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

describe.each(SCORERS_UNDER_TEST)("edge cases ($name)", (under) => {
  const models = useFixtureModels();
  const withScorer = async (dir: string, body: (scorer: Scorer) => Promise<void>): Promise<void> => {
    const scorer = await under.create(dir);
    try {
      await body(scorer);
    } finally {
      await scorer.close();
    }
  };
  const check = async (samples: Sample[], options: ScoreOptions = {}, dir = models().tiny): Promise<MetricRow[]> => {
    let rows: MetricRow[] = [];
    await withScorer(dir, async (scorer) => {
      rows = await collect(scoreSamples(samples, scorer, options));
    });
    const oracle = createSeedOracle(await loadReferenceModel(dir), { maxLength: options.maxLength });
    await expectRowsMatchSeed(rows, samples, oracle, { tolerance: under.tolerance, oneshotPartners: options.oneshotPartners, oneshotMode: options.oneshotMode });
    return rows;
  };

  it("uses the no-input templates for an empty input", async () => {
    const sample: Sample = { instruction: "保持健康的三个提示。", input: "", output: "1. 多喝水。" };
    const [row] = await check([sample]);
    const oracle = createSeedOracle(await loadReferenceModel(models().tiny));
    const noInputPrompt = "Below is a description of the task. Please write an appropriate response to complete the request.\n\n### Instruction:\n保持健康的三个提示。\n\n### Response:";
    expect(row.prompt_tokens).toBe((await oracle.encode(noInputPrompt)).length);
  });

  it("gives null metrics with reasons for an empty output, and leaves it out of its partners' comparisons", async () => {
    const task = "t";
    const samples: Sample[] = [
      { instruction: "Name a fruit.", input: "red", output: "Apple", task },
      { instruction: "Name a fruit.", input: "yellow", output: "", task },
      { instruction: "Name a fruit.", input: "green", output: "Lime", task },
    ];
    const rows = await check(samples, { oneshotPartners: 2 });
    const empty = rows[1];
    expect(empty.response_ppl).toBeNull();
    expect(empty.output_ppl).toBeNull();
    expect(empty.ifd).toBeNull();
    expect(empty.null_reasons).toMatchObject({ response_ppl: "no-scored-tokens", output_ppl: "no-scored-tokens", ifd: "no-scored-tokens" });
    expect(empty.prompt_ppl).toBeTypeOf("number");
    expect(empty.oneshot_partners).toEqual([0, 2]);
    // Sample 1 cannot be a one-shot target (no response to score), so rows 0 and 2 use one partner.
    expect(rows[0].oneshot_partners).toEqual([2]);
    expect(rows[2].oneshot_partners).toEqual([0]);
    expect(JSON.stringify(rows)).not.toMatch(/NaN|Infinity/);
  });

  it("scores a one-token output at one position, and has nothing to score without BOS", async () => {
    const tokenizer = await createTokenizer((await loadReferenceModel(models().tiny)).info);
    const candidates = ["东", "A", "5", "a"];
    const encoded = await Promise.all(candidates.map((c) => tokenizer.enc(c, { addSpecialTokens: false })));
    const output = candidates[encoded.findIndex((e) => e.ids.length === 1)];
    expect(output, "a one-token text").toBeDefined();
    const sample: Sample = { instruction: "Which direction does the sun rise from?", input: "", output };
    const [withBos] = await check([sample]);
    expect(withBos.output_tokens).toBe(2);
    expect(withBos.output_ppl).toBeTypeOf("number");
    const [noBos] = await check([sample], {}, models().tinyNoBos);
    expect(noBos.output_tokens).toBe(1);
    expect(noBos.output_ppl).toBeNull();
    expect(noBos.null_reasons).toMatchObject({ output_ppl: "no-scored-tokens", ifd: "no-scored-tokens" });
    expect(noBos.response_ppl).toBeTypeOf("number");
  });

  it("reports an output that truncation removes entirely, and scores what remains of a partly cut one", async () => {
    const sample: Sample = { instruction: "Summarise the following text in one sentence, please.", input: "The meeting moved to Friday.", output: "Meeting: Friday." };
    const oracle = createSeedOracle(await loadReferenceModel(models().tiny));
    const k = (await oracle.encode(SEED_PROMPTS.zeroShot(sample))).length;
    const [gone] = await check([sample], { maxLength: k });
    expect(gone.truncated).toBe(true);
    expect(gone.response_ppl).toBeNull();
    expect(gone.null_reasons).toMatchObject({ response_ppl: "truncated-away", response_nll: "truncated-away", ifd: "truncated-away" });
    expect(gone.prompt_ppl).toBeTypeOf("number");
    const [partial] = await check([sample], { maxLength: k + 2 });
    expect(partial.truncated).toBe(true);
    expect(partial.response_tokens).toBe(2);
    expect(partial.response_ppl).toBeTypeOf("number");
  });

  it("inserts braces and placeholder-like text literally", async () => {
    const sample: Sample = { instruction: "Reply with {output} and {{input}} verbatim.", input: "{instruction} {example_input}", output: "}}{example_output}{ $& {\"a\": 1}" };
    const [row] = await check([sample, { ...sample, input: "" }]);
    const oracle = createSeedOracle(await loadReferenceModel(models().tiny));
    const literal =
      "Below is a description of the task and an input providing more context. Please write an appropriate response to complete the request.\n\n" +
      "### Instruction:\nReply with {output} and {{input}} verbatim.\n\n### Input:\n{instruction} {example_input}\n\n### Response:";
    expect(row.prompt_tokens).toBe((await oracle.encode(literal)).length);
  });

  it("handles Chinese, emoji, ZWJ sequences and mixed scripts", async () => {
    await check(
      [
        { instruction: "把下面的句子翻译成英文。", input: "我爱北京天安门 🏯", output: "I love Tiananmen in Beijing 🏯", task: "mixed" },
        { instruction: "Describe the family emoji.", input: "👨‍👩‍👧‍👦 🇨🇳 👍🏽", output: "一家四口 — a family of four, Привет, مرحبا, こんにちは", task: "mixed" },
        { instruction: "e\u0301 vs é (NFC)", input: "", output: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u0000 tab\tend", task: "mixed" },
      ],
      { oneshotPartners: 2 },
    );
  });

  it("records a merge across the prompt/response boundary and still computes the seed's way", async () => {
    const tokenizer = await createTokenizer((await loadReferenceModel(models().tiny)).info);
    const base = { instruction: "Answer briefly.", input: "" };
    // Search for an output whose first characters fuse with the prompt's final ':'.
    const candidates = [":)", "...", "\n\nYes", "\n答案是四。", "\nYes.", "!!"];
    let merging: string | undefined;
    for (const output of candidates) {
      const prompt = await tokenizer.enc(SEED_PROMPTS.zeroShot({ ...base, output }));
      const joint = await tokenizer.enc(SEED_PROMPTS.zeroShot({ ...base, output }) + output);
      if (Array.from(prompt.ids).some((id, i) => joint.ids[i] !== id)) {
        merging = output;
        break;
      }
    }
    expect(merging, "an output that merges across the boundary").toBeDefined();
    const rows = await check([{ ...base, output: merging as string }, { ...base, output: "Four." }, { instruction: "Count.", input: "", output: "Four." }]);
    expect(rows[0].boundary_merged).toBe(true);
    // Row 1 shares the instruction, so its one-shot comparison scores row 0's output after a prompt
    // ending in ':' too; that merge is recorded on the row that used it. Row 2 used no merged sequence.
    expect(rows[1].boundary_merged).toBe(true);
    expect(rows[2].boundary_merged).toBe(false);
    // prompt_ppl is PPL(enc(P0)) even though the response pass does not start with it.
    const oracle = createSeedOracle(await loadReferenceModel(models().tiny));
    const p0 = await oracle.encode(SEED_PROMPTS.zeroShot({ ...base, output: "" }));
    expectClose(rows[0].prompt_nll, oracle.loss(p0, 0) as number, under.tolerance, "prompt_nll");
  });
});
