import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parquetWriteFile } from "hyparquet-writer";
import { afterEach, describe, expect, it } from "vitest";
import { readSamples, type ReadSamplesOptions } from "./read-samples.js";
import { createSampleLocationsBuilder, indexSamples, openSampleLocator } from "./sample-locator.js";
import type { Sample } from "./sample.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function newDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-locator-"));
  dirs.push(dir);
  return dir;
}

async function fileWith(name: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(await newDir(), name);
  await writeFile(file, content);
  return file;
}

/** Text that trips naive framing: multi-byte UTF-8, brackets and braces in strings, escapes. */
function awkward(i: number): string {
  const pieces = ["中文 ", "😀", "é", "] } ", '"quoted" ', "back\\slash ", "new\nline ", "tab\t", "\u2028", "{\"not\": [\"json\"]}"];
  return Array.from({ length: 1 + (i % 5) }, (_, k) => pieces[(i * 7 + k) % pieces.length]).join("") + ` #${i}`;
}

/** A few hundred Alpaca records with missing and numeric ids, null inputs, nested extras and tasks. */
function alpacaRecords(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    ...(i % 4 === 0 ? {} : { id: i % 3 === 0 ? i : `r-${i}` }),
    instruction: `Do ${awkward(i)}`,
    input: i % 5 === 0 ? null : awkward(i + 1).repeat(1 + (i % 3)),
    output: `${awkward(i + 2)} ${"x".repeat(i % 97)}`,
    task: `t${i % 7}`,
    meta: { nested: { list: [1, [2, { deep: awkward(i) }]], flag: i % 2 === 0 }, empty: {}, none: [] },
  }));
}

/** ShareGPT and OpenAI conversations with several turns each, mixed with Alpaca records. */
function mixedRecords(count: number): Record<string, unknown>[] {
  const alpaca = alpacaRecords(count);
  return Array.from({ length: count }, (_, i) => {
    const turns = 1 + (i % 4);
    if (i % 3 === 0) {
      return {
        ...(i % 2 === 0 ? { id: `c${i}` } : {}),
        ...(i % 5 === 0 ? { system: `Be ${awkward(i)}` } : {}),
        task: `t${i % 5}`,
        conversations: Array.from({ length: turns }, (_, t) => [
          { from: "human", value: `Q${t} ${awkward(i + t)}` },
          { from: "gpt", value: `A${t} ${awkward(i + t + 1)}` },
        ]).flat(),
      };
    }
    if (i % 3 === 1) {
      return {
        ...(i % 2 === 0 ? { id: i } : {}),
        task: `t${i % 5}`,
        messages: [
          { role: "system", content: "You are terse." },
          ...Array.from({ length: turns }, (_, t) => [
            { role: "user", content: [{ type: "text", text: `Q${t} ` }, { type: "text", text: awkward(i * t) }] },
            { role: "assistant", content: `A${t} ${awkward(i - t)}`, ...(t === 1 ? { weight: 0 } : {}) },
          ]).flat(),
        ],
      };
    }
    return alpaca[i];
  });
}

/** Checks that `sampleAt(i)` equals the i-th streamed sample, for every i, in a scrambled order. */
async function expectRandomAccessMatches(file: string, options: ReadSamplesOptions = {}): Promise<Sample[]> {
  const streamed: Sample[] = [];
  for await (const { sample } of readSamples(file, options)) streamed.push(sample);
  const { sampleCount, locations, taskIndex } = await indexSamples(file, options, { partners: true });
  expect(sampleCount).toBe(streamed.length);
  expect(taskIndex?.sampleCount).toBe(streamed.length);
  if (locations === undefined) throw new Error("expected sample locations");
  const locator = await openSampleLocator(file, locations, options);
  try {
    // Far apart first (misses the record cache), then in concurrent groups as scoreSamples asks.
    const order = streamed.map((_, i) => (i * 7919) % streamed.length);
    expect(new Set(order).size).toBe(streamed.length);
    for (const index of order) expect(await locator.sampleAt(index)).toStrictEqual(streamed[index]);
    for (let start = 0; start < order.length; start += 16) {
      const group = order.slice(start, start + 16);
      const fetched = await Promise.all(group.map((index) => locator.sampleAt(index)));
      expect(fetched).toStrictEqual(group.map((index) => streamed[index]));
    }
    await expect(locator.sampleAt(streamed.length)).rejects.toThrow(RangeError);
  } finally {
    await locator.close();
    await locator.close();
  }
  return streamed;
}

describe("openSampleLocator: sampleAt(i) is the sample readSamples yields at i", () => {
  it("JSON Lines with a byte-order mark, CRLF, blank lines and multi-byte text, and no final newline", async () => {
    const records = alpacaRecords(300);
    const lines = records.map((record, i) => `${i % 11 === 0 ? "  " : ""}${JSON.stringify(record)}${i % 2 === 0 ? "\r\n" : "\n"}${i % 13 === 0 ? "\r\n \n\n" : ""}`);
    const text = `\uFEFF\n${lines.join("").replace(/\r?\n$/, "")}`;
    const file = await fileWith("data.jsonl", text);
    const samples = await expectRandomAccessMatches(file, { taskField: "task" });
    expect(samples).toHaveLength(300);
  });

  it("JSON Lines with long records spanning several reads", async () => {
    const records = alpacaRecords(40).map((record, i) => ({ ...record, output: `${awkward(i)}${"長".repeat(3000 + i * 997)}` }));
    const file = await fileWith("long.jsonl", records.map((record) => JSON.stringify(record)).join("\n") + "\n");
    await expectRandomAccessMatches(file, { taskField: "task" });
  });

  it("a pretty-printed JSON array with nested objects and strings holding ] and }", async () => {
    const file = await fileWith("data.json", `\uFEFF${JSON.stringify(alpacaRecords(300), null, 2)}\n`);
    await expectRandomAccessMatches(file, { taskField: "task" });
  });

  it("a one-line JSON array with a byte-order mark, CRLF-indented and compact elements", async () => {
    const records = alpacaRecords(200);
    const file = await fileWith("data.json", `\uFEFF[${records.map((record, i) => (i % 2 === 0 ? JSON.stringify(record) : `\r\n\t${JSON.stringify(record, null, 1)}`)).join(",")}]`);
    await expectRandomAccessMatches(file, { taskField: "task" });
  });

  it("Parquet over several row groups", async () => {
    const count = 250;
    const file = path.join(await newDir(), "data.parquet");
    parquetWriteFile({
      filename: file,
      rowGroupSize: 37,
      pageSize: 4096,
      columnData: [
        { name: "id", data: Array.from({ length: count }, (_, i) => BigInt(i * 3)), type: "INT64" },
        { name: "instruction", data: Array.from({ length: count }, (_, i) => `Do ${awkward(i)}`), type: "STRING" },
        { name: "input", data: Array.from({ length: count }, (_, i) => (i % 5 === 0 ? null : awkward(i + 1))), type: "STRING" },
        { name: "output", data: Array.from({ length: count }, (_, i) => awkward(i + 2)), type: "STRING" },
        { name: "task", data: Array.from({ length: count }, (_, i) => `t${i % 7}`), type: "STRING" },
      ],
    });
    const samples = await expectRandomAccessMatches(file, { taskField: "task" });
    expect(samples).toHaveLength(count);
  });

  it("ShareGPT and OpenAI conversations (several turns a record) mixed with Alpaca records, in JSONL and a JSON array", async () => {
    const records = mixedRecords(240);
    const jsonl = await fileWith("chat.jsonl", records.map((record) => JSON.stringify(record)).join("\r\n"));
    const samples = await expectRandomAccessMatches(jsonl, { taskField: "task" });
    expect(samples.length).toBeGreaterThan(records.length * 1.5);
    expect(samples.some((sample) => /^\d+#\d+$/.test(sample.id ?? ""))).toBe(true); // ids from the record index
    const json = await fileWith("chat.json", JSON.stringify(records, null, 2));
    expect(await expectRandomAccessMatches(json, { taskField: "task" })).toStrictEqual(samples);
  });

  it("reports a file that changed since it was indexed", async () => {
    const file = await fileWith("data.jsonl", alpacaRecords(20).map((record) => JSON.stringify(record)).join("\n"));
    const { locations } = await indexSamples(file, {}, { partners: true });
    if (locations === undefined) throw new Error("expected sample locations");
    await writeFile(file, "{}\n");
    const locator = await openSampleLocator(file, locations);
    try {
      await expect(locator.sampleAt(10)).rejects.toThrow(/changed/);
    } finally {
      await locator.close();
    }
  });
});

describe("createSampleLocationsBuilder", () => {
  it("stores no record indices while each record is one sample, and keeps them once one is not", () => {
    const builder = createSampleLocationsBuilder();
    for (let i = 0; i < 3000; i++) builder.add({ index: i, recordIndex: i < 2000 ? i : 2000 + Math.floor((i - 2000) / 3), offset: i * 10 });
    const locations = builder.finish();
    expect(locations.sampleCount).toBe(3000);
    expect([locations.recordIndexOf(1999), locations.recordIndexOf(2001), locations.recordIndexOf(2999)]).toEqual([1999, 2000, 2333]);
    expect(locations.offsetOf(2999)).toBe(29_990);
  });
});

describe("indexSamples memory", () => {
  // A forced collection before each measurement makes heap numbers reflect live data.
  setFlagsFromString("--expose-gc");
  const collectGarbage = runInNewContext("gc") as () => void;

  it("indexes a 200k-line JSONL file for partners in a few bytes a sample, never the texts", async () => {
    const lines = 200_000;
    const file = path.join(await newDir(), "big.jsonl");
    const out = createWriteStream(file);
    for (let line = 0; line < lines; line++) {
      const record = JSON.stringify({ id: line, task: `task ${line % 1000}`, instruction: `Summarise item ${line}.`, input: "lorem ipsum ".repeat(25), output: `Summary ${line}: ${"dolor sit ".repeat(20)}` });
      if (!out.write(`${record}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    out.end();
    await finished(out);
    collectGarbage();
    const before = process.memoryUsage();
    const index = await indexSamples(file, { taskField: "task" }, { partners: true });
    collectGarbage();
    const after = process.memoryUsage();
    expect(index.sampleCount).toBe(lines);
    // Typed arrays live outside the JS heap, so both count. The texts (~90 MB) would far exceed this;
    // the index is 12 bytes a sample for tasks plus 8 for offsets, with doubling slack.
    const growth = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    expect(growth).toBeLessThan(30 * 1024 * 1024);
    expect(index.locations?.offsetOf(lines - 1)).toBeGreaterThan(80 * 1024 * 1024);
  });
});
