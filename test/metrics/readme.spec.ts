/**
 * The example in packages/metrics/README.md is readme-example.ts verbatim, and it runs.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useFixtureModels } from "../support/fixture-models.js";
import { lowestIfdFirst } from "./readme-example.js";
import { SCORERS_UNDER_TEST } from "./scorers.js";

const read = (relative: string): string => readFileSync(fileURLToPath(new URL(relative, import.meta.url)), "utf8");

describe("packages/metrics/README.md", () => {
  const models = useFixtureModels();

  it("shows readme-example.ts verbatim", () => {
    const readme = read("../../packages/metrics/README.md");
    const block = /<!-- example: test\/metrics\/readme-example\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(block, "the marked example block").not.toBeNull();
    expect(block?.[1]).toBe(read("./readme-example.ts"));
  });

  it("runs the example", async () => {
    const scorer = await SCORERS_UNDER_TEST[0].create(models().tiny);
    try {
      const rows = await lowestIfdFirst(
        [
          { instruction: "Translate to French.", input: "cat", output: "chat", id: "a" },
          { instruction: "Translate to French.", input: "dog", output: "chien", id: "b" },
          { instruction: "Translate to French.", input: "bird", output: "", id: "c" },
        ],
        scorer,
      );
      expect(rows.map((r) => r.id).at(-1)).toBe("c");
      expect(rows[0].ifd).toBeLessThanOrEqual(rows[1].ifd as number);
      expect(rows[2].null_reasons.ifd).toBe("no-scored-tokens");
    } finally {
      await scorer.close();
    }
  });
});
