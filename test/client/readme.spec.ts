/**
 * The example in packages/client/README.md is readme-example.ts verbatim, and it runs against a
 * real `sftscore serve`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { scoreSamples, type MetricRow, type Sample } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { useEngines } from "./engines.js";
import { cherryPick } from "./readme-example.js";

const engines = useEngines();
const read = (relative: string): string => readFileSync(fileURLToPath(new URL(relative, import.meta.url)), "utf8");
const examples = fileURLToPath(new URL("../../examples/alpaca_mixed.json", import.meta.url));

describe("packages/client/README.md", () => {
  it("shows readme-example.ts verbatim", () => {
    const readme = read("../../packages/client/README.md");
    const block = /<!-- example: test\/client\/readme-example\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(block, "the marked example block").not.toBeNull();
    expect(block?.[1]).toBe(read("./readme-example.ts"));
  });

  it("runs the example against sftscore serve and gets what the in-process engine gives", async () => {
    const served = await engines.serveProcess();
    const picked = await cherryPick(examples, served.address, 5);

    const engine = await engines.inProcess();
    const expected: MetricRow[] = [];
    try {
      for await (const row of scoreSamples(JSON.parse(read("../../examples/alpaca_mixed.json")) as Sample[], engine, { metrics: ["ifd"] })) expected.push(row);
    } finally {
      await engine.close();
    }
    const below = expected.filter((row) => typeof row.ifd === "number" && row.ifd < 1).sort((a, b) => (b.ifd ?? 0) - (a.ifd ?? 0));
    expect(below.length).toBeGreaterThan(0);
    expect(picked).toEqual(below.slice(0, 5));
  });
});
