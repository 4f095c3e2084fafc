import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSamples } from "./read-samples.js";

// A forced collection before each measurement makes heap numbers reflect live data, not garbage
// waiting for the next GC. The flag can be set at run time; `gc` is then visible in a new context.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const LINES = 200_000;
const MB = 1024 * 1024;
let dir: string;

async function writeDataset(file: string, asArray: boolean): Promise<number> {
  const out = createWriteStream(file);
  if (asArray) out.write("[\n");
  for (let line = 0; line < LINES; line++) {
    const record = JSON.stringify({ id: line, instruction: `Summarise item ${line}.`, input: "lorem ipsum ".repeat(25), output: `Summary ${line}: ${"dolor sit ".repeat(20)}` });
    const text = asArray ? `  ${record}${line + 1 < LINES ? "," : ""}\n` : `${record}\n`;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  if (asArray) out.write("]\n");
  out.end();
  await finished(out);
  return (await stat(file)).size;
}

/** Reads every sample without keeping any, and returns the count and the largest heap growth seen. */
async function readMeasuringHeap(file: string): Promise<{ count: number; maxGrowthBytes: number }> {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let maxGrowthBytes = 0;
  let count = 0;
  for await (const { index } of readSamples(file)) {
    count++;
    if (index % 20_000 === 0) {
      collectGarbage();
      maxGrowthBytes = Math.max(maxGrowthBytes, process.memoryUsage().heapUsed - before);
    }
  }
  return { count, maxGrowthBytes };
}

describe("readSamples streaming", () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-stream-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a 200k-line JSONL file with bounded heap growth", async () => {
    const file = path.join(dir, "big.jsonl");
    const bytes = await writeDataset(file, false);
    expect(bytes).toBeGreaterThan(80 * MB);
    const { count, maxGrowthBytes } = await readMeasuringHeap(file);
    expect(count).toBe(LINES);
    // Holding the file would take well over its size in heap; streaming holds one chunk and one record.
    expect(maxGrowthBytes).toBeLessThan(16 * MB);
  });

  it("reads a 200k-record JSON array with bounded heap growth", async () => {
    const file = path.join(dir, "big.json");
    const bytes = await writeDataset(file, true);
    expect(bytes).toBeGreaterThan(80 * MB);
    const { count, maxGrowthBytes } = await readMeasuringHeap(file);
    expect(count).toBe(LINES);
    expect(maxGrowthBytes).toBeLessThan(16 * MB);
  });
});
