/**
 * The seed's worked example of one-shot validity: three same-task Chinese sentiment samples, K = 2,
 * mode sign. With a random test model the values differ from the seed's Qwen numbers ([1.0, 0.0,
 * 0.0]); the shape is what must hold, and the values must equal the seed's computation.
 */
import { scoreSamples, type MetricRow, type Sample } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { useFixtureModels } from "../support/fixture-models.js";
import { loadReferenceModel } from "../support/reference-scorer.js";
import { createSeedOracle } from "../support/seed-oracle.js";
import { expectRowsMatchSeed } from "./oracle-check.js";
import { SCORERS_UNDER_TEST } from "./scorers.js";

// triplet_list_test and triplet_task_list_test = ['情感分类'] * 3 from the seed.
const SEED_TRIPLETS: Sample[] = [
  { instruction: "分类以下句子的情感为伤心、高兴、正常。", input: "今天中午吃什么?", output: "正常", task: "情感分类" },
  { instruction: "分类以下句子的情感为伤心、高兴、正常。", input: "我的科三挂了。", output: "伤心", task: "情感分类" },
  { instruction: "分类以下句子的情感为伤心、高兴、正常。", input: "今天上班被老板骂了。", output: "高兴", task: "情感分类" },
];

async function collect(rows: AsyncIterable<MetricRow>): Promise<MetricRow[]> {
  const out: MetricRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

describe.each(SCORERS_UNDER_TEST)("the seed's one-shot example ($name)", (under) => {
  const models = useFixtureModels();

  it("gives three values in {−1, −0.5, 0, 0.5, 1}, each from the two other samples, equal to the seed's computation", async () => {
    const scorer = await under.create(models().tiny);
    try {
      const rows = await collect(scoreSamples(SEED_TRIPLETS, scorer, { oneshotPartners: 2, oneshotMode: "sign" }));
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect([-1, -0.5, 0, 0.5, 1]).toContain(row.oneshot_validity);
        expect(row.oneshot_partners).toEqual([0, 1, 2].filter((i) => i !== row.index));
      }
      const oracle = createSeedOracle(await loadReferenceModel(models().tiny));
      await expectRowsMatchSeed(rows, SEED_TRIPLETS, oracle, { tolerance: under.tolerance, oneshotPartners: 2, taskOf: (i) => SEED_TRIPLETS[i].task ?? "" });
    } finally {
      await scorer.close();
    }
  });

  it("is null with reason no-partner for a task with one sample, and the row's other metrics are unaffected", async () => {
    const scorer = await under.create(models().tiny);
    try {
      const alone: Sample = { instruction: "写一首关于秋天的短诗。", input: "", output: "风吹黄叶落满街。", task: "poem" };
      const rows = await collect(scoreSamples([...SEED_TRIPLETS, alone], scorer, { oneshotPartners: 2 }));
      expect(rows[3].oneshot_validity).toBeNull();
      expect(rows[3].oneshot_partners).toEqual([]);
      expect(rows[3].null_reasons).toEqual({ oneshot_validity: "no-partner" });
      expect(rows[3].response_ppl).toBeTypeOf("number");
      expect(rows.slice(0, 3).every((r) => r.oneshot_validity !== null)).toBe(true);
    } finally {
      await scorer.close();
    }
  });
});
