import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MetricRow } from "@sftscore/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchContext } from "./bench-section.js";
import { ABLATIONS, agreementOf, createWholeJobSection, readSamples } from "./whole-job.js";

// The section end to end on the tiny model and 12 samples: the real engine, the seed port, the
// floor graphs. Its figures are not asserted (this machine is shared); its agreement targets are.
let dir: string;
let context: BenchContext;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-bench-whole-job-"));
  context = { device: "cpu", workDir: dir, modelCacheDir: path.join(dir, "models"), log: () => undefined };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("whole-job section", () => {
  it("computes the seed's values the seed's way and sftscore's way, and with each optimisation off", async () => {
    const result = await createWholeJobSection({ preset: "tiny", samples: 12, ablationSamples: 8 }).run(context);
    expect(result.markdown).toMatch(/^## Whole job: sftscore against the seed's way/);
    expect(result.markdown).toContain("**a subset: the first 8 samples**");
    for (const ablation of ABLATIONS) expect(result.markdown).toContain(`| ${ablation.name} |`);
    const required = result.targets.filter((target) => target.required);
    expect(required).toHaveLength(1 + ABLATIONS.length);
    expect(required.filter((target) => !target.met)).toEqual([]);
    expect(result.targets.filter((target) => !target.required).map((target) => target.description)).toEqual([
      expect.stringMatching(/^sftscore ≥ 10× the seed way's samples\/s: \d+\.\d\d×$/),
      expect.stringMatching(/^sftscore's time ≤ 1\.2× the compute floor's: \d+\.\d\d×$/),
    ]);
  });
});

describe("agreement between runs", () => {
  const row = { index: 0, prompt_ppl: Math.exp(10), response_ppl: Math.exp(4), response_nll: 4, output_ppl: Math.exp(5), output_nll: 5, ifd: Math.exp(-1) } as MetricRow;

  it("measures perplexities by their logs and ratios against their operands' logs", () => {
    const values: Record<string, number | null> = { prompt_ppl: Math.exp(10.00001), response_ppl: Math.exp(4), output_ppl: Math.exp(5), ifd: Math.exp(-1.00009) };
    const { byMetric, max } = agreementOf([row], (_, metric) => values[metric] ?? null);
    expect(byMetric.prompt_ppl).toBeCloseTo(1e-6, 9);
    expect(byMetric.ifd).toBeCloseTo(0.00009 / (4 + 5), 9);
    // Metrics missing on both sides agree.
    expect(byMetric.rifd).toBe(0);
    expect(max).toBe(byMetric.ifd);
  });

  it("treats a value missing on one side only as an infinite difference", () => {
    expect(agreementOf([row], (_, metric) => (metric === "output_ppl" ? NaN : (row[metric] ?? null))).max).toBe(Infinity);
  });
});

describe("benchmark data", () => {
  it("names the file and line of a malformed sample", async () => {
    const file = path.join(dir, "bad.jsonl");
    await writeFile(file, '{"instruction":"a","input":"","output":"b"}\n{"instruction":"a","output":"b"}\n');
    await expect(readSamples(file, 2)).rejects.toThrow(/bad\.jsonl line 2: field "input" must be a string/);
    await expect(readSamples(file, 1)).resolves.toHaveLength(1);
  });
});
