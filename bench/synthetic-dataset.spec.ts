import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticJsonl } from "./synthetic-dataset.js";

interface Row {
  readonly id: string;
  readonly task: string;
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "synthetic-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeSyntheticJsonl", () => {
  it("writes the same bytes for the same rows and seed, and other bytes for another seed", async () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => path.join(dir, `${name}.jsonl`));
    const stats = await writeSyntheticJsonl(a, 500, 7);
    await writeSyntheticJsonl(b, 500, 7);
    await writeSyntheticJsonl(c, 500, 8);
    expect(await readFile(a)).toEqual(await readFile(b));
    expect(await readFile(a)).not.toEqual(await readFile(c));
    expect(stats.bytes).toBe((await readFile(a)).length);
  });

  it("writes Alpaca-shaped rows: unique ids, some inputs, Chinese and English, tasks with partners and singletons", async () => {
    const file = path.join(dir, "shape.jsonl");
    const stats = await writeSyntheticJsonl(file, 5000, 1);
    const rows = (await readFile(file, "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line) as Row);
    expect(rows).toHaveLength(5000);
    expect(new Set(rows.map((row) => row.id)).size).toBe(5000);
    const share = (test: (row: Row) => boolean) => rows.filter(test).length / rows.length;
    expect(share((row) => row.input !== "")).toBeGreaterThan(0.15);
    expect(share((row) => row.input !== "")).toBeLessThan(0.25);
    expect(share((row) => /[\u4e00-\u9fff]/.test(row.output))).toBeGreaterThan(0.25);
    expect(share((row) => /[\u4e00-\u9fff]/.test(row.output))).toBeLessThan(0.42);
    const sizes = new Map<string, number>();
    for (const row of rows) sizes.set(row.task, (sizes.get(row.task) ?? 0) + 1);
    expect(sizes.size).toBe(stats.tasks);
    expect(Math.max(...sizes.values())).toBeGreaterThan(20);
    expect([...sizes.values()].filter((size) => size === 1).length).toBeGreaterThan(0);
    expect(share((row) => (sizes.get(row.task) ?? 0) > 1)).toBeGreaterThan(0.9);
    const words = rows.filter((row) => !/[\u4e00-\u9fff]/.test(row.output)).map((row) => row.output.split(" ").length);
    expect(Math.min(...words)).toBe(1);
    expect(Math.max(...words)).toBeGreaterThan(60);
  });

  it("refuses a row count that is not a positive integer", async () => {
    await expect(writeSyntheticJsonl(path.join(dir, "none.jsonl"), 0, 1)).rejects.toThrow(/rows must be a positive integer/);
  });
});
