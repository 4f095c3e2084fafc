import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchContext } from "./bench-section.js";
import { findNginx } from "./nginx-proxy.js";
import { createScaleSection } from "./scale.js";
import { EXAMPLES_FILE } from "./workspace.js";

// The section end to end on the tiny model and 16 samples: real engines, the installed CLI, nginx
// when installed. Its figures are not asserted (this machine is shared); its agreement check is.
let dir: string;
let context: BenchContext;
let data: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-bench-scale-"));
  data = path.join(dir, "samples.json");
  await writeFile(data, JSON.stringify((JSON.parse(await readFile(EXAMPLES_FILE, "utf8")) as unknown[]).slice(0, 16)));
  context = { device: "cpu", workDir: dir, modelCacheDir: path.join(dir, "models"), log: () => undefined };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("scale section", () => {
  it("scores the same job on one engine, two engines and nginx, and finds the rows identical", async () => {
    const result = await createScaleSection({ preset: "tiny", data }).run(context);
    expect(result.markdown).toMatch(/^## Scale: one engine against two/);
    expect(result.markdown).toContain("| 1 engine |");
    expect(result.markdown).toContain("| 2 engines (client balancing) |");
    expect(result.markdown).toContain("16 samples, all five metrics");
    const identical = result.targets.find((target) => target.required);
    expect(identical?.description).toBe(`rows identical in the ${findNginx() === undefined ? 2 : 3} runs (0 of 16 differ)`);
    if (findNginx() !== undefined) expect(result.markdown).toContain("| 2 engines (nginx) |");
    expect(identical?.met).toBe(true);
    expect(result.targets.filter((target) => !target.required).map((target) => target.description)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^2 engines \(client balancing\) ÷ 1 engine, samples\/s = \d+\.\d\d× \(target ≥ 1\.8×\)$/)]),
    );
  });
});
