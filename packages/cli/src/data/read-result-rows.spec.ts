import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataError } from "./data-error.js";
import { openResultRows, type ResultRowAt } from "./read-result-rows.js";
import { openRowWriter } from "./write-rows.js";

const ROWS = [
  { index: 0, id: "007", ifd: 0.5, truncated: false, null_reasons: {} },
  { index: 1, id: "1e3", ifd: null, truncated: true, null_reasons: { ifd: "no-scored-tokens" } },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-result-rows-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function written(name: string): Promise<string> {
  const file = path.join(dir, name);
  const writer = await openRowWriter(file);
  for (const row of ROWS) await writer.write(row);
  await writer.close();
  return file;
}

async function readAll(file: string, only?: readonly string[], textColumns?: readonly string[]): Promise<{ columns: readonly string[]; rows: ResultRowAt[] }> {
  const results = await openResultRows(file, textColumns === undefined ? {} : { textColumns });
  const rows: ResultRowAt[] = [];
  for await (const at of results.rows(only)) rows.push(at);
  return { columns: results.columns, rows };
}

describe("openResultRows", () => {
  it("reads back the rows score writes, as JSONL, CSV and Parquet, with their positions and lines", async () => {
    for (const [name, lines] of [["r.jsonl", [1, 2]], ["r.csv", [2, 3]], ["r.parquet", undefined]] as const) {
      const { columns, rows } = await readAll(await written(name));
      expect(columns, name).toEqual(["index", "id", "ifd", "truncated", "null_reasons"]);
      expect(rows.map((at) => at.row), name).toEqual(ROWS);
      expect(rows.map((at) => at.position), name).toEqual([0, 1]);
      expect(rows.map((at) => at.line), name).toEqual(lines ?? [undefined, undefined]);
    }
  });

  it("reads a JSON array of rows, naming each row's line", async () => {
    const file = path.join(dir, "r.json");
    await writeFile(file, JSON.stringify(ROWS, null, 2));
    const { rows } = await readAll(file);
    expect(rows.map((at) => [at.row.id, at.position, at.line])).toEqual([["007", 0, 2], ["1e3", 1, 9]]);
  });

  it("keeps id and the asked text columns of a CSV as written, and projects rows to the columns asked for", async () => {
    const file = path.join(dir, "r.csv");
    await writeFile(file, "index,id,task,ifd\n0,007,1.0,1.0\n1,,True,\n");
    const { rows } = await readAll(file, ["index", "id", "task", "ifd", "absent"], ["task"]);
    expect(rows.map((at) => at.row)).toEqual([
      { index: 0, id: "007", task: "1.0", ifd: 1 },
      { index: 1, id: null, task: "True", ifd: null },
    ]);
    expect((await readAll(file, ["task"])).rows[1].row).toEqual({ task: true });
  });

  it("reads the rows once", async () => {
    const results = await openResultRows(await written("r.jsonl"));
    for await (const _ of results.rows()) break;
    await expect(results.rows().next()).rejects.toThrow(/result rows can be read once/);
  });

  it("names the file and line of malformed results", async () => {
    const file = path.join(dir, "r.csv");
    const failure = async (text: string, name = file) => {
      await writeFile(name, text);
      return readAll(name).then(() => undefined, (error: unknown) => error);
    };
    expect(await failure("index,ifd\n")).toBeInstanceOf(DataError);
    expect(await failure("index,ifd\n")).toMatchObject({ message: expect.stringMatching(/r\.csv: the results file has no rows$/) });
    expect(await failure("index,ifd,index\n0,1,0\n")).toMatchObject({ message: expect.stringMatching(/r\.csv:1: the header names the column "index" twice/) });
    expect(await failure("index,ifd\n0,1\n1\n")).toMatchObject({ message: expect.stringMatching(/r\.csv:3: the row has 1 cells but the header has 2/) });
    expect(await failure('{"index":0}\n[1]\n', path.join(dir, "r.jsonl"))).toMatchObject({ message: expect.stringMatching(/r\.jsonl:2: expected a result row \(a JSON object\), got an array/) });
  });
});
