import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DataError } from "../../data/data-error.js";
import { openRowWriter } from "../../data/write-rows.js";
import { exitCodeOf, UsageError } from "../../exit-codes.js";
import { main } from "../../main.js";
import { run, type SelectRunOptions } from "./run.js";
import { captureStderr } from "../../test-support/capture-output.js";

/** The crafted results of the selection tests: 20 rows, ids s00…s19 (see selection/presets.spec.ts). */
const CRAFTED = readFileSync(new URL("../../selection/testdata/crafted-results.jsonl", import.meta.url), "utf8");
const CRAFTED_ROWS = CRAFTED.split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Record<string, unknown>);

/** 20 Alpaca records matching the crafted rows' ids, with the odd shapes real files have. */
const RECORDS = Array.from({ length: 20 }, (_, i) => ({
  id: `s${String(i).padStart(2, "0")}`,
  instruction: i % 3 === 0 ? `把第${i}句翻译成英文` : `Instruction ${i}`,
  input: i % 2 === 0 ? "" : `context ${i}`,
  output: `answer ${i}`,
  ...(i % 4 === 0 ? { meta: { source: "crafted", weight: 1.5, tags: ["a", i] } } : {}),
}));

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-select-"));
  dirs.push(dir);
  return dir;
}

/** A directory with the crafted results (JSONL) and the records as a JSON array. */
async function fixture(): Promise<{ dir: string; results: string; data: string }> {
  const dir = await tempDir();
  const results = path.join(dir, "results.jsonl");
  const data = path.join(dir, "data.json");
  await writeFile(results, CRAFTED);
  await writeFile(data, `${JSON.stringify(RECORDS, null, 2)}\n`);
  return { dir, results, data };
}

function options(files: { results: string; data: string; out: string }, more: Partial<SelectRunOptions> = {}): SelectRunOptions {
  const defaults = {
    ...{ preset: undefined, where: undefined, by: undefined, order: undefined, top: undefined, threshold: undefined, taskField: undefined, overwrite: undefined },
    ...{ keepRankOrder: false, instructionField: "instruction", inputField: "input", outputField: "output", idField: "id" },
  };
  return { ...defaults, ...files, ...more };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error("run() resolved");
}

describe("sftscore select", () => {
  it("writes a JSON array subset whose records equal the originals, in input order, and summarizes the cut", async () => {
    const { dir, results, data } = await fixture();
    const stderr = captureStderr();
    const out = path.join(dir, "subset.json");
    expect(await run(options({ results, data, out }, { preset: "cherry", top: "25%" }))).toBe(0);
    // Hand-computed in presets.spec.ts: ifd < 1, top 5 of 20 by ifd: 16, 8, 2, 4, 10.
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([2, 4, 8, 10, 16].map((i) => RECORDS[i]));
    const summary = stderr();
    expect(summary).toContain(`read 20 rows from ${results} for 20 samples of ${data}`);
    expect(summary).toContain("preset cherry (threshold 1): Li et al. 2023");
    expect(summary).toContain("filter ifd < 1: 16 of 20 rows pass, 4 do not (1 of them because a compared value is null)");
    expect(summary).toContain("rank by ifd, highest first, ties by index");
    expect(summary).toContain("top 25% of 20 rows = 5: 5 rows selected");
    expect(summary).toContain("cut: ifd 0.999 (first selected) to 0.95 (last selected); the next row below the cut has 0.95");
    expect(summary).toContain(`wrote 5 records to ${out}, in the data's order`);
  });

  it("writes best-ranked first with --keep-rank-order", async () => {
    const { dir, results, data } = await fixture();
    captureStderr();
    const out = path.join(dir, "ranked.json");
    await run(options({ results, data, out }, { preset: "cherry", top: "25%", keepRankOrder: true }));
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([16, 8, 2, 4, 10].map((i) => RECORDS[i]));
  });

  it("copies JSON Lines records byte for byte", async () => {
    const { dir, results } = await fixture();
    captureStderr();
    // Spacing, key order, escapes and number spellings a re-serialization would change.
    const lines = RECORDS.map((record, i) =>
      i % 2 === 0 ? JSON.stringify(record) : `{ "output" : ${JSON.stringify(record.output)}, "id":"${record.id}", "instruction": "\\u0049nstruction ${i}", "input": ${JSON.stringify(record.input)}, "score": 1.0 }`,
    );
    const data = path.join(dir, "data.jsonl");
    await writeFile(data, `${lines.slice(0, 10).join("\r\n")}\r\n\r\n${lines.slice(10).join("\n")}\n`);
    const out = path.join(dir, "subset.jsonl");
    // Reflection, top 3 by ifd among ifd < 1 and rifd < 1: 8, 4, 10.
    await run(options({ results, data, out }, { preset: "reflection", top: "3" }));
    expect(await readFile(out, "utf8")).toBe(`${lines[4]}\n${lines[8]}\n${lines[10]}\n`);
  });

  it("reads CSV results as written by score, typing numbers, booleans and nulls back", async () => {
    const { dir, data, results } = await fixture();
    captureStderr();
    const csv = path.join(dir, "results.csv");
    const writer = await openRowWriter(csv);
    for (const row of CRAFTED_ROWS) await writer.write(row);
    await writer.close();
    expect(await readFile(csv, "utf8")).toContain('"{""response_ppl"":""truncated-away""'); // quoted JSON cells
    const fromCsv = path.join(dir, "from-csv.json");
    const fromJsonl = path.join(dir, "from-jsonl.json");
    const where = "oneshot_validity > 0 and not truncated and rifd != null";
    await run(options({ results: csv, data, out: fromCsv }, { where }));
    await run(options({ results, data, out: fromJsonl }, { where }));
    // oneshot_validity > 0: 0, 1, 4, 6, 8, 9, 10, 13, 15, 17, 18, 19 (none of them truncated, all with rifd).
    expect(JSON.parse(await readFile(fromCsv, "utf8"))).toEqual([0, 1, 4, 6, 8, 9, 10, 13, 15, 17, 18, 19].map((i) => RECORDS[i]));
    expect(await readFile(fromCsv, "utf8")).toBe(await readFile(fromJsonl, "utf8"));
  });

  it("reads a hand-written CSV: quoted cells with commas and line breaks, CRLF, ids that look like numbers", async () => {
    const dir = await tempDir();
    captureStderr();
    const data = path.join(dir, "data.jsonl");
    const ids = ["007", "1e3", "x,y", "plain"];
    await writeFile(data, ids.map((id, i) => JSON.stringify({ id, instruction: `i${i}`, output: `o${i}` })).join("\n"));
    const csv = path.join(dir, "results.csv");
    const rows = ['index,id,note,ifd,truncated', '0,007,"a, b",0.5,false', '1,1e3,"multi\r\nline ""quoted""",,False', '2,"x,y",plain,1.5,TRUE', '3,plain,"",-2,false'];
    await writeFile(csv, `${rows.join("\r\n")}\r\n`);
    const out = path.join(dir, "subset.jsonl");
    await run(options({ results: csv, data, out }, { where: "ifd < 1 or ifd == null" }));
    expect((await readFile(out, "utf8")).split("\n").filter(Boolean).map((line) => JSON.parse(line).id)).toEqual(["007", "1e3", "plain"]);
  });

  it("reads Parquet results", async () => {
    const { dir, data } = await fixture();
    captureStderr();
    const parquet = path.join(dir, "results.parquet");
    const writer = await openRowWriter(parquet);
    for (const row of CRAFTED_ROWS) await writer.write(row);
    await writer.close();
    const out = path.join(dir, "subset.json");
    await run(options({ results: parquet, data, out }, { preset: "nuggets", top: "6" }));
    // Nuggets, top 6 by oneshot_validity: 1, 6, 9, 15, 18 (all 1) and 8 (2/3).
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([1, 6, 8, 9, 15, 18].map((i) => RECORDS[i]));
  });

  it("writes a conversation once when several of its turns are selected", async () => {
    const dir = await tempDir();
    captureStderr();
    const chat = { id: "c1", conversations: [
      { from: "human", value: "Hi?" }, { from: "gpt", value: "Hello." },
      { from: "human", value: "Capital of France?" }, { from: "gpt", value: "Paris." },
    ] };
    const single = { id: "a1", instruction: "Add 1 and 1", output: "2" };
    const data = path.join(dir, "data.json");
    await writeFile(data, JSON.stringify([single, chat]));
    const results = path.join(dir, "results.jsonl");
    const rows = [{ index: 0, id: "a1", ifd: 0.2 }, { index: 1, id: "c1#1", ifd: 0.9 }, { index: 2, id: "c1#3", ifd: 0.8 }];
    await writeFile(results, rows.map((row) => JSON.stringify(row)).join("\n"));
    const out = path.join(dir, "subset.json");
    await run(options({ results, data, out }, { by: "ifd", top: "2", keepRankOrder: true }));
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([chat]);
  });

  it("names the first row whose id differs from the data's, and leaves no output", async () => {
    const { dir, results, data } = await fixture();
    captureStderr();
    await writeFile(results, CRAFTED.replace('"id":"s07"', '"id":"zz"'));
    const out = path.join(dir, "subset.json");
    const error = await rejection(run(options({ results, data, out }, { preset: "cherry" })));
    expect(error).toBeInstanceOf(DataError);
    expect(exitCodeOf(error)).toBe(2);
    expect(error.message).toMatch(new RegExp(`^${escape(results)}:8: the row for index 7 has id "zz", but sample 7 of ${escape(data)} \\(line \\d+\\) has id "s07"; were the results scored from this data file`));
    expect((await readdir(dir)).sort()).toEqual(["data.json", "results.jsonl"]);
  });

  it("refuses rows that do not cover the data, either way", async () => {
    const { dir, results, data } = await fixture();
    captureStderr();
    const out = path.join(dir, "subset.json");
    await writeFile(results, CRAFTED.split("\n").slice(0, 19).join("\n"));
    expect((await rejection(run(options({ results, data, out }, { preset: "cherry" })))).message).toMatch(
      /sample 19 has no result row: .*results\.jsonl has only 19 rows/,
    );
    await writeFile(data, JSON.stringify(RECORDS.slice(0, 18)));
    await writeFile(results, CRAFTED);
    expect((await rejection(run(options({ results, data, out }, { preset: "cherry" })))).message).toMatch(/the data has 18 samples but .*results\.jsonl has 20 rows/);
    await writeFile(results, CRAFTED.replace('"index":7,', '"index":70,'));
    expect((await rejection(run(options({ results, data, out }, { preset: "cherry" })))).message).toMatch(/results\.jsonl: no row has index 7: 20 rows must have the indices 0 to 19/);
    await writeFile(results, CRAFTED.replace('"index":7,', '"index":3,'));
    expect((await rejection(run(options({ results, data, out }, { preset: "cherry" })))).message).toMatch(/results\.jsonl:8: index 3 appears twice \(also at line 4\)/);
    expect((await readdir(dir)).sort()).toEqual(["data.json", "results.jsonl"]);
  });

  it("rejects an unknown --where column with the known columns, exit code 2", async () => {
    const { dir, results, data } = await fixture();
    const out = path.join(dir, "subset.json");
    const error = await rejection(run(options({ results, data, out }, { where: "ifd < 1 and rifdd < 1" })));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(
      /^--where: unknown column "rifdd" at character 13; known columns: index, id, response_ppl, output_ppl, ifd, instruction_ppl, reverse_response_ppl, rifd, oneshot_validity, oneshot_partners, response_tokens, truncated, boundary_merged, null_reasons\n {2}ifd < 1 and rifdd < 1\n {14}\^$/,
    );

    const stderr = captureStderr();
    expect(await main(["select", results, "--data", data, "--out", out, "--where", "ifd < 1 and rifdd < 1"])).toBe(2);
    expect(stderr()).toMatch(/^error: --where: unknown column "rifdd"/);
    expect((await readdir(dir)).sort()).toEqual(["data.json", "results.jsonl"]);
  });

  it("reports a value the filter cannot compare at its line", async () => {
    const { dir, data } = await fixture();
    const csv = path.join(dir, "results.csv");
    const header = "index,id,ifd";
    await writeFile(csv, [header, ...RECORDS.map((r, i) => `${i},${r.id},${i === 3 ? "n/a" : 0.5}`)].join("\n"));
    const error = await rejection(run(options({ results: csv, data, out: path.join(dir, "s.json") }, { where: "ifd < 1" })));
    expect(error.message).toMatch(/results\.csv:5: column "ifd" holds text \("n\/a"\), which cannot be compared/);
    expect(exitCodeOf(error)).toBe(2);
  });

  it("refuses an existing output before reading anything, and replaces it with --overwrite", async () => {
    const { dir, results, data } = await fixture();
    captureStderr();
    const out = path.join(dir, "subset.json");
    await writeFile(out, "keep me");
    const error = await rejection(run(options({ results, data, out }, { preset: "cherry" })));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/pass --overwrite/);
    expect(await readFile(out, "utf8")).toBe("keep me");
    await run(options({ results, data, out }, { preset: "cherry", overwrite: true }));
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([8, 16].map((i) => RECORDS[i]));
  });

  it("checks option combinations through the command line", async () => {
    const { dir, results, data } = await fixture();
    const stderr = captureStderr();
    const out = path.join(dir, "subset.json");
    expect(await main(["select", results, "--data", data, "--out", out, "--threshold", "0.5", "--by", "ifd"])).toBe(2);
    expect(stderr()).toMatch(/--threshold sets a preset's threshold/);
    expect(await main(["select", results, "--data", data, "--out", out, "--where", "ifd < 1", "--keep-rank-order"])).toBe(2);
    expect(stderr()).toMatch(/--keep-rank-order writes the subset in rank order: give --by/);
    expect(await main(["select", results, "--data", data, "--out", out, "--preset", "nuggets", "--threshold", "0.5"])).toBe(0);
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual([1, 6, 8, 9, 10, 15, 18].map((i) => RECORDS[i]));
  });
});

describe("the selection README", () => {
  it("runs its examples", async () => {
    const readme = readFileSync(new URL("../../selection/README.md", import.meta.url), "utf8");
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = block
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .filter((line) => line.startsWith("sftscore "));
    expect(commands).toHaveLength(3);
    const { dir, results } = await fixture();
    captureStderr();
    const csv = path.join(dir, "results.csv");
    const writer = await openRowWriter(csv);
    for (const row of CRAFTED_ROWS) await writer.write(row);
    await writer.close();
    await writeFile(path.join(dir, "data.jsonl"), RECORDS.map((record) => JSON.stringify(record)).join("\n"));
    expect(results).toBe(path.join(dir, "results.jsonl"));
    for (const command of commands) {
      const args = shellWords(command).slice(1).map((word) => (/^[\w-]+\.(jsonl|json|csv)$/.test(word) ? path.join(dir, word) : word));
      expect(await main(args), command).toBe(0);
    }
    // The second example: ifd < 1, not truncated, hardest first.
    expect(JSON.parse(await readFile(path.join(dir, "hard.json"), "utf8"))).toEqual([16, 8, 2, 4, 10, 19, 7, 11, 18, 13, 0, 17, 9, 15, 5].map((i) => RECORDS[i]));
  });
});

/** Splits a command line into words: spaces separate, single quotes group. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
