import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchContext } from "./bench-section.js";
import { createLoadSection } from "./load.js";

// The section end to end with fewer clients for a shorter time: a real engine, client processes.
// Its figures are not asserted (this machine is shared); its correctness targets are.
let dir: string;
let context: BenchContext;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-bench-load-"));
  context = { device: "cpu", workDir: dir, modelCacheDir: path.join(dir, "models"), log: () => undefined };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("load section", () => {
  it("gets every result once to every client, equal scores for equal sequences, and a bounded queue", async () => {
    const result = await createLoadSection({ clientCounts: [1, 3], durationMs: 1500 }).run(context);
    const required = result.targets.filter((target) => target.required);
    expect(required.map((target) => target.description)).toEqual([
      "every client got every result exactly once (N = 1, 3)",
      "equal sequences got equal scores across clients and N (0 of 60 differ)",
      "the engine stays up and scores after the load",
      expect.stringMatching(/^queued tokens never above maxQueuedTokens = 32768 \(max sampled \d+\)$/),
    ]);
    expect(required.every((target) => target.met)).toBe(true);
    expect(result.markdown).toMatch(/^## Load: one engine, 1 to 3 concurrent clients/);
    expect(result.markdown).toMatch(/\n\| 1 \| [\d,]+ \| \d+ \| [\d.]+ \| [\d.]+ \| [\d,]+ \| \d+ MiB \| \d+% \/ \d+% \| yes \|\n\| 3 \| /);
  });
});
