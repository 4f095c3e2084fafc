import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { parquetWriteFile } from "hyparquet-writer";
import { afterEach, describe, expect, it } from "vitest";
import { readSamples } from "./read-samples.js";
import type { SourcedSample } from "./sample.js";
import { writeSubset } from "./write-subset.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples/alpaca_mixed.json", import.meta.url));

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-subset-"));
  dirs.push(dir);
  return dir;
}

async function chosen(file: string, keep: (sample: SourcedSample) => boolean): Promise<SourcedSample[]> {
  const samples: SourcedSample[] = [];
  for await (const sample of readSamples(file)) if (keep(sample)) samples.push(sample);
  return samples;
}

describe("writeSubset", () => {
  it("keeps JSON Lines records byte for byte", async () => {
    const dir = await tempDir();
    const lines = [
      '{"output": "1.0 stays 1.0", "instruction": "a", "score": 1.0}',
      '{ "instruction" : "b",   "output":"\\u00e9 escaped", "id": 12 }',
      '{"instruction": "中文", "output": "c", "extra": {"nested": [1, 2.50]}}',
    ];
    const source = path.join(dir, "data.jsonl");
    await writeFile(source, `${lines.join("\r\n")}\r\n`);
    const out = path.join(dir, "subset.jsonl");
    expect(await writeSubset(source, out, await chosen(source, (s) => s.index !== 1))).toBe(2);
    expect(await readFile(out, "utf8")).toBe(`${lines[0]}\n${lines[2]}\n`);
  });

  it("writes JSON arrays pretty-printed like Alpaca files: all of the examples file comes back identical", async () => {
    const dir = await tempDir();
    const out = path.join(dir, "all.json");
    await writeSubset(EXAMPLES, out, readSamples(EXAMPLES));
    expect(await readFile(out, "utf8")).toBe(await readFile(EXAMPLES, "utf8"));

    const some = path.join(dir, "some.json");
    const picked = await chosen(EXAMPLES, (s) => s.index % 10 === 0);
    await writeSubset(EXAMPLES, some, picked);
    expect(await readFile(some, "utf8")).toBe(`${JSON.stringify(picked.map((s) => s.record), null, 2)}\n`);
  });

  it("writes a conversation once however many of its turns are chosen", async () => {
    const dir = await tempDir();
    const source = path.join(dir, "chat.json");
    const records = [
      { id: "c1", conversations: [{ from: "human", value: "Q1" }, { from: "gpt", value: "A1" }, { from: "human", value: "Q2" }, { from: "gpt", value: "A2" }] },
      { id: "c2", conversations: [{ from: "human", value: "Q" }, { from: "gpt", value: "A" }] },
    ];
    await writeFile(source, JSON.stringify(records));
    const out = path.join(dir, "subset.json");
    expect(await writeSubset(source, out, await chosen(source, (s) => s.recordIndex === 0))).toBe(1);
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([records[0]]);
  });

  it("writes Parquet with the source's schema, nested columns included", async () => {
    const dir = await tempDir();
    const source = path.join(dir, "data.parquet");
    parquetWriteFile({
      filename: source,
      schema: [
        { name: "root", num_children: 4 },
        { name: "id", type: "INT64", repetition_type: "REQUIRED" },
        { name: "instruction", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "output", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "tags", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      ],
      columnData: [
        { name: "id", data: [10n, 11n, 12n] },
        { name: "instruction", data: ["i0", "i1", "i2"] },
        { name: "output", data: ["o0", "o1", "o2"] },
        { name: "tags", data: [["x", "y"], [], ["z"]] },
      ],
    });
    const out = path.join(dir, "subset.parquet");
    await writeSubset(source, out, await chosen(source, (s) => s.index !== 1));
    const [sourceFile, outFile] = [await asyncBufferFromFile(source), await asyncBufferFromFile(out)];
    expect(await parquetReadObjects({ file: outFile })).toEqual([
      { id: 10n, instruction: "i0", output: "o0", tags: ["x", "y"] },
      { id: 12n, instruction: "i2", output: "o2", tags: ["z"] },
    ]);
    expect((await parquetMetadataAsync(outFile)).schema).toEqual((await parquetMetadataAsync(sourceFile)).schema);
  });

  it("round-trips every input format through reading and writing", async () => {
    const dir = await tempDir();
    const records = [
      { id: "1", instruction: "a", input: "x", output: "b" },
      { id: "2", instruction: "c", input: "", output: "d" },
    ];
    const json = path.join(dir, "data.json");
    const jsonl = path.join(dir, "data.jsonl");
    const parquet = path.join(dir, "data.parquet");
    await writeFile(json, JSON.stringify(records, null, 2));
    await writeFile(jsonl, records.map((record) => JSON.stringify(record)).join("\n"));
    parquetWriteFile({
      filename: parquet,
      columnData: (["id", "instruction", "input", "output"] as const).map((name) => ({ name, data: records.map((record) => record[name]), type: "STRING" as const })),
    });
    for (const source of [json, jsonl, parquet]) {
      const copy = path.join(dir, `copy-${path.basename(source)}`);
      await writeSubset(source, copy, readSamples(source));
      const samples = async (file: string): Promise<unknown[]> => (await chosen(file, () => true)).map((s) => s.sample);
      expect(await samples(copy)).toEqual(await samples(source));
    }
  });

  it("writes an empty JSON array when nothing is chosen", async () => {
    const out = path.join(await tempDir(), "none.json");
    expect(await writeSubset(EXAMPLES, out, [])).toBe(0);
    expect(await readFile(out, "utf8")).toBe("[]\n");
  });

  it("refuses an existing file without overwrite and an extension of another format, leaving no temporary file", async () => {
    const dir = await tempDir();
    const existing = path.join(dir, "subset.json");
    await writeFile(existing, "keep me");
    await expect(writeSubset(EXAMPLES, existing, [])).rejects.toThrow(`${existing}: the output file already exists and is not empty; pass --overwrite to replace it`);
    await writeSubset(EXAMPLES, existing, [], { overwrite: true });
    expect(await readFile(existing, "utf8")).toBe("[]\n");

    const wrong = path.join(dir, "subset.jsonl");
    await expect(writeSubset(EXAMPLES, wrong, [])).rejects.toMatchObject({
      code: "invalid-output",
      message: `${wrong}: the subset is written in the input's format (json); name the output .json`,
    });
    expect(await readdir(dir)).toEqual(["subset.json"]);
  });
});
