/**
 * Every metric equals a straightforward computation done independently: per sample, each sequence
 * built the seed's way with no sharing or dedup, scored with the float64 reference forward pass, the
 * formula applied (support/seed-oracle.ts). Runs once per scorer in SCORERS_UNDER_TEST.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { scoreSamples, type MetricRow, type Sample, type ScoreOptions, type Scorer } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { loadReferenceModel } from "../support/reference-scorer.js";
import { useFixtureModels } from "../support/fixture-models.js";
import { createSeedOracle, formatMap, type OraclePrompts, SEED_PROMPTS } from "../support/seed-oracle.js";
import { expectRowsMatchSeed } from "./oracle-check.js";
import { SCORERS_UNDER_TEST } from "./scorers.js";

interface ExampleRecord extends Sample {
  readonly id: string;
  readonly task: string;
}

const examples: ExampleRecord[] = JSON.parse(readFileSync(fileURLToPath(new URL("../../examples/alpaca_mixed.json", import.meta.url)), "utf8"));
const pick = (...ids: number[]): ExampleRecord[] => ids.map((n) => {
  const record = examples.find((e) => e.id === `ex-${String(n).padStart(3, "0")}`);
  if (record === undefined) throw new Error(`no example ${n}`);
  return record;
});

// Chinese and English, with and without input, a one-character output (27), placeholder-like text
// (56), JSON braces (42), emoji with ZWJ sequences (43), an exact duplicate pair (35, 37) and a task
// with a single sample (60, poem).
const SUBSET = pick(1, 2, 3, 21, 23, 25, 27, 29, 34, 35, 37, 40, 42, 43, 47, 56, 60);

async function scoreAll(scorer: Scorer, samples: readonly Sample[], options: ScoreOptions = {}): Promise<MetricRow[]> {
  const rows: MetricRow[] = [];
  for await (const row of scoreSamples(samples, scorer, options)) rows.push(row);
  return rows;
}

describe.each(SCORERS_UNDER_TEST)("metrics agree with the seed's computation ($name)", (under) => {
  const models = useFixtureModels();

  it("for every metric on Chinese/English examples with edge cases (alpaca, K = 2, sign)", async () => {
    const dir = models().tiny;
    const scorer = await under.create(dir);
    try {
      const rows = await scoreAll(scorer, SUBSET, { oneshotPartners: 2, seed: 11 });
      const oracle = createSeedOracle(await loadReferenceModel(dir));
      await expectRowsMatchSeed(rows, SUBSET, oracle, { tolerance: under.tolerance, oneshotPartners: 2, taskOf: (i) => SUBSET[i].task });
    } finally {
      await scorer.close();
    }
  });

  it("in raw one-shot mode and with Cherry LLM's loss-ratio IFD", async () => {
    const dir = models().tiny;
    const scorer = await under.create(dir);
    const samples = pick(1, 2, 3, 21, 23, 25);
    try {
      const rows = await scoreAll(scorer, samples, { oneshotMode: "raw", ifdVariant: "loss-ratio", oneshotPartners: 3 });
      const oracle = createSeedOracle(await loadReferenceModel(dir));
      await expectRowsMatchSeed(rows, samples, oracle, {
        tolerance: under.tolerance,
        oneshotMode: "raw",
        ifdVariant: "loss-ratio",
        oneshotPartners: 3,
        taskOf: (i) => samples[i].task,
      });
    } finally {
      await scorer.close();
    }
  });

  it("with the Selective Reflection-Tuning r-IFD template, framed as its code frames it", async () => {
    const dir = models().tiny;
    const scorer = await under.create(dir);
    const samples = pick(1, 27, 42);
    // tianyi-lab/Reflection_Tuning selection_code/data_analysis.py, PROMPT_DICT_ALPACA["prompt_no_input"]
    // filled with the guess-the-instruction request around the output.
    const alpacaNoInput =
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:";
    const prompts: OraclePrompts = {
      ...SEED_PROMPTS,
      reversed: (t) =>
        formatMap(alpacaNoInput, {
          instruction:
            "Below is the response to an instruction, please guess the corresponding instruction for the given response.\n" +
            t.output +
            "\nGenerate the instruction for the above response.",
        }),
    };
    try {
      const rows = await scoreAll(scorer, samples, { rifdTemplate: "selective-reflection", metrics: ["reverse_response_ppl", "instruction_ppl", "rifd"] });
      const oracle = createSeedOracle(await loadReferenceModel(dir), { prompts });
      const full = await scoreAll(scorer, samples, { rifdTemplate: "selective-reflection" });
      await expectRowsMatchSeed(full, samples, oracle, { tolerance: under.tolerance });
      for (const [i, row] of rows.entries()) {
        const { reverse_response_nll, instruction_nll, rifd } = full[i];
        expect({ reverse_response_nll: row.reverse_response_nll, instruction_nll: row.instruction_nll, rifd: row.rifd }).toEqual({ reverse_response_nll, instruction_nll, rifd });
      }
    } finally {
      await scorer.close();
    }
  });

  it("with the model's chat template (prompts rendered by hand for the fixture's template)", async () => {
    const dir = models().tiny;
    const scorer = await under.create(dir);
    const samples = pick(1, 2, 27, 56);
    // The fixture's chat_template renders `### {role}:\n{content}\n\n` per message, then `### assistant:\n`.
    const chat = (...turns: [string, string][]): string => turns.map(([role, content]) => `### ${role}:\n${content}\n\n`).join("") + "### assistant:\n";
    const user = (instruction: string, input: string): string => (input === "" ? instruction : `${instruction}\n\n${input}`);
    const reversedBody = (t: Sample): string =>
      SEED_PROMPTS.reversed(t).replace(/\n\n### Instruction:$/, "");
    const prompts: OraclePrompts = {
      specialTokens: false,
      zeroShot: (t) => chat(["user", user(t.instruction, t.input)]),
      oneShot: (j, e) => chat(["user", user(j.instruction, e.input)], ["assistant", e.output], ["user", user(j.instruction, j.input)]),
      reversed: (t) => chat(["user", reversedBody(t)]),
    };
    try {
      const rows = await scoreAll(scorer, samples, { templates: "chat", oneshotPartners: 2 });
      const oracle = createSeedOracle(await loadReferenceModel(dir), { prompts });
      await expectRowsMatchSeed(rows, samples, oracle, { tolerance: under.tolerance, oneshotPartners: 2, taskOf: (i) => samples[i].task });
    } finally {
      await scorer.close();
    }
  });
});
