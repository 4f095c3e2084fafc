import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { afterEach, describe, expect, it } from "vitest";
import { DataError } from "./data-error.js";
import { readSamples, type ReadSamplesOptions } from "./read-samples.js";
import type { SourcedSample } from "./sample.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fileWith(name: string, content: string | Uint8Array): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-data-"));
  dirs.push(dir);
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

async function collect(file: string, options: ReadSamplesOptions = {}): Promise<SourcedSample[]> {
  const samples: SourcedSample[] = [];
  for await (const sample of readSamples(file, options)) samples.push(sample);
  return samples;
}

async function failure(file: string, options: ReadSamplesOptions = {}): Promise<DataError> {
  try {
    await collect(file, options);
  } catch (error: unknown) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error("expected a DataError");
}

const RECORDS = [
  { id: "a1", instruction: "Translate to French.", input: "Good morning", output: "Bonjour" },
  { id: 7, instruction: "分类以下句子的情感。", output: "高兴" },
  { instruction: "Say hi.", input: null, output: "Hi!" },
];
const EXPECTED = [
  { instruction: "Translate to French.", input: "Good morning", output: "Bonjour", id: "a1" },
  { instruction: "分类以下句子的情感。", input: "", output: "高兴", id: "7" },
  { instruction: "Say hi.", input: "", output: "Hi!" },
];

describe("readSamples: formats", () => {
  it("reads an Alpaca JSON array (a missing or null input is empty, numeric ids are stringified)", async () => {
    const file = await fileWith("data.json", JSON.stringify(RECORDS, null, 2));
    const samples = await collect(file);
    expect(samples.map((s) => s.sample)).toEqual(EXPECTED);
    expect(samples.map((s) => [s.index, s.recordIndex, s.line])).toEqual([[0, 0, 2], [1, 1, 8], [2, 2, 13]]);
    expect(samples[1].record).toEqual(RECORDS[1]);
  });

  it("reads JSON Lines, keeping each line's text, skipping blank lines but counting them", async () => {
    const lines = RECORDS.map((record) => JSON.stringify(record));
    const file = await fileWith("data.jsonl", `${lines[0]}\n\n${lines[1]}\n   \n${lines[2]}`);
    const samples = await collect(file);
    expect(samples.map((s) => s.sample)).toEqual(EXPECTED);
    expect(samples.map((s) => [s.index, s.line, s.raw])).toEqual([[0, 1, lines[0]], [1, 3, lines[1]], [2, 5, lines[2]]]);
  });

  it("reads JSON Lines from a .json file whose first character is {, and from .ndjson", async () => {
    const text = RECORDS.map((record) => JSON.stringify(record)).join("\n");
    expect((await collect(await fileWith("data.json", text))).map((s) => s.sample)).toEqual(EXPECTED);
    expect((await collect(await fileWith("data.ndjson", text))).map((s) => s.sample)).toEqual(EXPECTED);
  });

  it("reads Parquet by row groups, with bigint ids stringified", async () => {
    const file = await fileWith("data.parquet", "");
    parquetWriteFile({
      filename: file,
      rowGroupSize: 2,
      columnData: [
        { name: "id", data: [1n, 2n, 3n], type: "INT64" },
        { name: "instruction", data: ["i1", "i2", "i3"], type: "STRING" },
        { name: "input", data: ["x", null, ""], type: "STRING" },
        { name: "output", data: ["o1", "o2", "o3"], type: "STRING" },
      ],
    });
    const samples = await collect(file);
    expect(samples.map((s) => s.sample)).toEqual([
      { instruction: "i1", input: "x", output: "o1", id: "1" },
      { instruction: "i2", input: "", output: "o2", id: "2" },
      { instruction: "i3", input: "", output: "o3", id: "3" },
    ]);
    expect(samples.map((s) => [s.index, s.recordIndex, s.line])).toEqual([[0, 0, undefined], [1, 1, undefined], [2, 2, undefined]]);
  });

  it("maps fields by name, including a numeric task", async () => {
    const record = { q: "What is 2+2?", ctx: "math", a: "4", uid: "u-1", category: 3 };
    const file = await fileWith("data.jsonl", JSON.stringify(record));
    const options = { instructionField: "q", inputField: "ctx", outputField: "a", idField: "uid", taskField: "category" };
    expect((await collect(file, options))[0].sample).toEqual({ instruction: "What is 2+2?", input: "math", output: "4", id: "u-1", task: "3" });
  });

  it("honours an explicit format over the extension", async () => {
    const file = await fileWith("data.txt", RECORDS.map((record) => JSON.stringify(record)).join("\n"));
    expect(await collect(file, { format: "jsonl" })).toHaveLength(3);
  });
});

describe("readSamples: encodings and line endings", () => {
  it("strips a UTF-8 byte-order mark (JSON and JSONL)", async () => {
    const json = await fileWith("bom.json", `\ufeff${JSON.stringify(RECORDS)}`);
    const jsonl = await fileWith("bom.jsonl", `\ufeff${RECORDS.map((record) => JSON.stringify(record)).join("\n")}`);
    expect((await collect(json)).map((s) => s.sample)).toEqual(EXPECTED);
    expect((await collect(jsonl)).map((s) => s.sample)).toEqual(EXPECTED);
    expect((await collect(jsonl))[0].raw).toBe(JSON.stringify(RECORDS[0]));
  });

  it("accepts CRLF line endings and keeps CR out of values and line texts", async () => {
    const json = await fileWith("crlf.json", JSON.stringify(RECORDS, null, 2).replaceAll("\n", "\r\n"));
    const jsonl = await fileWith("crlf.jsonl", RECORDS.map((record) => `${JSON.stringify(record)}\r\n`).join(""));
    expect((await collect(json)).map((s) => s.sample)).toEqual(EXPECTED);
    const lines = await collect(jsonl);
    expect(lines.map((s) => s.sample)).toEqual(EXPECTED);
    expect(lines.map((s) => s.raw?.endsWith("\r"))).toEqual([false, false, false]);
  });

  it("reads a 1 MB output string", async () => {
    const output = "长".repeat(350_000) + "x".repeat(1_000_000);
    const record = { instruction: "Write a lot.", output };
    for (const file of [await fileWith("big.json", JSON.stringify([record, record])), await fileWith("big.jsonl", `${JSON.stringify(record)}\n`.repeat(2))]) {
      const samples = await collect(file);
      expect(samples).toHaveLength(2);
      expect(samples[1].sample.output).toBe(output);
    }
  });

  it("fails on invalid UTF-8 with the line and column of the broken character", async () => {
    const bytes = Buffer.concat([Buffer.from('{"instruction": "a", "output": "b"}\n{"instruction": "中'), Buffer.from([0xe4, 0xb8]), Buffer.from('", "output": "b"}\n')]);
    const error = await failure(await fileWith("bad.jsonl", bytes));
    expect(error.message).toBe(`${error.file}:2:19: invalid UTF-8 (e4 b8 at byte offset 56); the file must be UTF-8 encoded`);
    expect([error.code, error.line, error.column]).toEqual(["invalid-input", 2, 19]);
  });

  it("fails on invalid UTF-8 in a JSON array, past the first read chunk", async () => {
    const padding = `[\n${`  {"instruction": "pad", "output": "${"p".repeat(1000)}"},\n`.repeat(400)}`;
    const bytes = Buffer.concat([Buffer.from(`${padding}  {"instruction": "`), Buffer.from([0xff]), Buffer.from('", "output": "x"}\n]\n')]);
    const error = await failure(await fileWith("bad.json", bytes));
    expect(error.message).toBe(`${error.file}:402:20: invalid UTF-8 (ff at byte offset ${Buffer.byteLength(padding) + 19}); the file must be UTF-8 encoded`);
  });

  it("fails on a file cut inside a character", async () => {
    const bytes = Buffer.concat([Buffer.from('{"instruction": "a", "output": "b"}\n{"x": "'), Buffer.from([0xe4, 0xb8])]);
    expect((await failure(await fileWith("cut.jsonl", bytes))).message).toMatch(/cut\.jsonl:2:8: invalid UTF-8 \(e4 b8 at byte offset 43\)/);
  });
});

describe("readSamples: bad input", () => {
  it.each([
    ["empty.jsonl", "", "the file is empty: no samples"],
    ["empty.json", "", "the file is empty: no samples"],
    ["empty.parquet", "", "the file is empty: no samples"],
    ["blank.jsonl", "\n  \r\n\n", "the file holds only whitespace: no samples"],
    ["bom-only.json", "\ufeff", "the file holds only whitespace: no samples"],
    ["none.json", "[]\n", "the file has no records: no samples"],
    ["fake.parquet", "instruction,output\n", "not a Parquet file (it does not start with PAR1)"],
    ["data.csv", "instruction,output\n", "cannot tell the format: expected a JSON array, JSON Lines or Parquet file"],
  ])("%s: %s", async (name, content, message) => {
    const error = await failure(await fileWith(name, content));
    expect(error.code).toBe("invalid-input");
    expect(error.message).toBe(`${error.file}: ${message}`);
  });

  it("names a missing file as unreadable", async () => {
    const error = await failure(path.join(tmpdir(), "sftscore-no-such-dir", "data.jsonl"));
    expect(error.code).toBe("unreadable");
    expect(error.message).toMatch(/data\.jsonl: cannot open the file: no such file or directory \(ENOENT\)$/);
  });

  it("reports malformed JSON Lines with the line and column", async () => {
    const file = await fileWith("bad.jsonl", '{"instruction": "a", "output": "b"}\n\n{"instruction": "a", "output": }\n');
    const error = await failure(file);
    expect(error.message).toBe(`${file}:3:32: malformed JSON: expected a value, got "}"`);
    expect([error.line, error.column]).toEqual([3, 32]);
  });

  it("reports malformed JSON arrays with the line and column", async () => {
    const file = await fileWith("bad.json", '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]\n');
    expect((await failure(file)).message).toBe(`${file}:3:23: malformed JSON: expected "," or "}" after a property value, got '"'`);
  });

  it.each([
    ['{"instruction": "a"}', 'field "output" is missing', "output"],
    ['{"output": "b"}', 'field "instruction" is missing', "instruction"],
    ['{"instruction": 5, "output": "b"}', 'field "instruction" must be a string, got a number', "instruction"],
    ['{"instruction": "a", "output": ["b"]}', 'field "output" must be a string, got an array', "output"],
    ['{"instruction": "a", "output": null}', 'field "output" is null', "output"],
    ['{"instruction": null, "output": "b"}', 'field "instruction" is null', "instruction"],
    ['{"instruction": "a", "input": 3, "output": "b"}', 'field "input" must be a string, got a number', "input"],
    ['{"instruction": "a", "output": "b", "id": {"n": 1}}', 'field "id" must be a string or a number, got an object', "id"],
    ['{"instruction": "a", "output": "b", "id": 12345678901234567890}', 'field "id" is an integer too large to read exactly (12345678901234567000); store it as a string', "id"],
    ["[1, 2]", "expected a JSON object (a record), got an array", undefined],
  ])("%s → %s", async (line, message, field) => {
    const file = await fileWith("data.jsonl", `{"instruction": "ok", "output": "ok"}\n${line}\n`);
    const error = await failure(file);
    expect(error.message).toBe(`${file}:2: ${message}`);
    expect([error.code, error.line, error.row, error.field]).toEqual(["invalid-input", 2, 1, field]);
  });

  it("names the line where a JSON array record starts", async () => {
    const file = await fileWith("data.json", '[\n  {"instruction": "a", "output": "b"},\n  {\n    "instruction": "a"\n  }\n]');
    expect((await failure(file)).message).toBe(`${file}:3: field "output" is missing`);
  });

  it("names the row of a Parquet record", async () => {
    const file = await fileWith("data.parquet", "");
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: "instruction", data: ["a", "b"], type: "STRING" },
        { name: "output", data: ["x", null], type: "STRING" },
      ],
    });
    const error = await failure(file);
    expect(error.message).toBe(`${file}: row 1: field "output" is null`);
    expect([error.row, error.line, error.field]).toEqual([1, undefined, "output"]);
  });
});
