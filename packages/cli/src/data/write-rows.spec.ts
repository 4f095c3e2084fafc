import { existsSync } from "node:fs";
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { afterEach, describe, expect, it } from "vitest";
import { DataError } from "./data-error.js";
import { parquetJournalPath } from "./parquet-rows.js";
import { openRowWriter, rowFormatOf, type ResultRow, type RowWriterOptions } from "./write-rows.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-rows-"));
  dirs.push(dir);
  return dir;
}

const ROWS: ResultRow[] = [
  { index: 0, id: "a", ifd: 0.75, tokens: 12, truncated: false, oneshot_partners: [3, 4], null_reason: null },
  { index: 1, id: "b", ifd: 1.25, tokens: 3_000_000_000, truncated: true, oneshot_partners: [], null_reason: null },
  { index: 2, id: "c", ifd: null, tokens: 0, truncated: false, oneshot_partners: [1], null_reason: "empty-output" },
];

async function writeAll(file: string, rows: readonly ResultRow[], options: RowWriterOptions = {}): Promise<number> {
  const writer = await openRowWriter(file, options);
  for (const row of rows.slice(writer.existingRows)) await writer.write(row);
  await writer.close();
  return writer.existingRows;
}

async function openError(file: string, options: RowWriterOptions = {}): Promise<DataError> {
  try {
    await (await openRowWriter(file, options)).close();
  } catch (error: unknown) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error("expected a DataError");
}

const jsonl = (rows: readonly ResultRow[]): string => rows.map((row) => `${JSON.stringify(row)}\n`).join("");

describe("openRowWriter: format and safety", () => {
  it("chooses the format by extension, JSONL by default", () => {
    expect([rowFormatOf("r.jsonl"), rowFormatOf("r.CSV"), rowFormatOf("out/r.parquet"), rowFormatOf("results")]).toEqual(["jsonl", "csv", "parquet", "jsonl"]);
  });

  it("writes JSONL rows in call order, one line each, even when writes are not awaited one by one", async () => {
    const file = path.join(await tempDir(), "nested", "results.jsonl");
    const writer = await openRowWriter(file);
    await Promise.all(ROWS.map((row) => writer.write(row)));
    await writer.close();
    expect(await readFile(file, "utf8")).toBe(jsonl(ROWS));
  });

  it("refuses to overwrite a non-empty file and says how to resume or overwrite", async () => {
    const file = path.join(await tempDir(), "results.jsonl");
    await writeFile(file, jsonl(ROWS.slice(0, 1)));
    const error = await openError(file);
    expect(error.code).toBe("output-exists");
    expect(error.message).toBe(`${file}: the output file already exists and is not empty; pass --resume to continue the run that wrote it, or --overwrite to replace it`);
    expect(await readFile(file, "utf8")).toBe(jsonl(ROWS.slice(0, 1)));
  });

  it("replaces the file with overwrite, and writes into an existing empty file", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "results.jsonl");
    await writeFile(file, "old content\nold");
    await writeAll(file, ROWS.slice(0, 2), { overwrite: true });
    expect(await readFile(file, "utf8")).toBe(jsonl(ROWS.slice(0, 2)));
    const empty = path.join(dir, "empty.jsonl");
    await writeFile(empty, "");
    await writeAll(empty, ROWS.slice(0, 1));
    expect(await readFile(empty, "utf8")).toBe(jsonl(ROWS.slice(0, 1)));
  });

  it("leaves the path as it found it when closed before the first row: no new file, old content kept", async () => {
    const dir = await tempDir();
    for (const format of ["jsonl", "csv", "parquet"]) {
      await (await openRowWriter(path.join(dir, "new", `results.${format}`))).close();
      await (await openRowWriter(path.join(dir, `resumed.${format}`), { resume: true })).close();
    }
    expect(await readdir(dir)).toEqual(["new"]);
    expect(await readdir(path.join(dir, "new"))).toEqual([]);

    const kept = path.join(dir, "kept.jsonl");
    await writeFile(kept, jsonl(ROWS.slice(0, 1)));
    await (await openRowWriter(kept, { overwrite: true })).close();
    expect(await readFile(kept, "utf8")).toBe(jsonl(ROWS.slice(0, 1)));
    const parquet = path.join(dir, "kept.parquet");
    await writeAll(parquet, ROWS.slice(0, 1));
    const before = await readFile(parquet);
    await (await openRowWriter(parquet, { overwrite: true })).close();
    expect(await readFile(parquet)).toEqual(before);
    expect(existsSync(parquetJournalPath(parquet))).toBe(false);
  });

  it("fails at open, before any work, on an unwritable path", async () => {
    const dir = await tempDir();
    const blocker = path.join(dir, "a-file");
    await writeFile(blocker, "x");
    for (const format of ["jsonl", "csv", "parquet"]) {
      const error = await openError(path.join(blocker, `results.${format}`));
      expect(error.code).toBe("unwritable");
      expect(error.message).toMatch(/a-file\/results\.\w+(\.partial\.jsonl)?: cannot write the output file: a parent is not a directory \(ENOTDIR\)$/);
    }
    expect((await openError(dir)).message).toBe(`${dir}: the output path is a directory`);
  });

  it.runIf(existsSync("/dev/full"))("fails every write after the disk fills, naming the file", async () => {
    const writer = await openRowWriter("/dev/full", { format: "jsonl" });
    await expect(writer.write(ROWS[0])).rejects.toThrow("/dev/full: cannot write the output file: no space left on the device (ENOSPC)");
    await expect(writer.write(ROWS[1])).rejects.toMatchObject({ code: "unwritable" });
    await writer.close();
  });
});

describe("openRowWriter: resume", () => {
  it("drops a partial JSONL line left by a killed run, counts the rows and continues to an identical file", async () => {
    const dir = await tempDir();
    const uninterrupted = path.join(dir, "full.jsonl");
    await writeAll(uninterrupted, ROWS);
    const killed = path.join(dir, "killed.jsonl");
    await writeFile(killed, jsonl(ROWS.slice(0, 2)) + JSON.stringify(ROWS[2]).slice(0, 17));

    const writer = await openRowWriter(killed, { resume: true });
    expect(writer.existingRows).toBe(2);
    expect(await readFile(killed, "utf8")).toBe(jsonl(ROWS.slice(0, 2)));
    await writer.write(ROWS[2]);
    await writer.close();
    expect(await readFile(killed)).toEqual(await readFile(uninterrupted));
  });

  it("resumes a missing or whole file too", async () => {
    const dir = await tempDir();
    expect(await writeAll(path.join(dir, "new.jsonl"), ROWS, { resume: true })).toBe(0);
    const whole = path.join(dir, "whole.jsonl");
    await writeFile(whole, jsonl(ROWS.slice(0, 1)));
    expect(await writeAll(whole, ROWS, { resume: true })).toBe(1);
    expect(await readFile(whole, "utf8")).toBe(jsonl(ROWS));
  });

  it("keeps the rows when both resume and overwrite are given", async () => {
    const file = path.join(await tempDir(), "results.jsonl");
    await writeFile(file, jsonl(ROWS.slice(0, 2)));
    expect(await writeAll(file, ROWS, { resume: true, overwrite: true })).toBe(2);
    expect(await readFile(file, "utf8")).toBe(jsonl(ROWS));
  });
});

describe("openRowWriter: CSV", () => {
  const TEXT_ROWS: ResultRow[] = [
    { index: 0, id: "x,1", text: 'she said "hi"', note: "line one\nline two", lang: "中文，逗号", list: [1, "a,b"], empty: "", none: null },
    { index: 1, id: "plain", text: "ok", note: "\r\n", lang: "ascii", list: [], empty: "", none: null },
  ];
  const EXPECTED =
    "index,id,text,note,lang,list,empty,none\r\n" +
    '0,"x,1","she said ""hi""","line one\nline two",中文，逗号,"[1,""a,b""]","",\r\n' +
    '1,plain,ok,"\r\n",ascii,[],"",\r\n';

  it("quotes commas, quotes and newlines (RFC 4180), JSON-encodes lists, keeps Chinese as is", async () => {
    const file = path.join(await tempDir(), "results.csv");
    await writeAll(file, TEXT_ROWS);
    expect(await readFile(file, "utf8")).toBe(EXPECTED);
  });

  it("resumes after a kill inside a quoted multi-line cell, keeping the header", async () => {
    const file = path.join(await tempDir(), "results.csv");
    await writeAll(file, TEXT_ROWS.slice(0, 1));
    await appendFile(file, '1,plain,ok,"\r\n');
    const writer = await openRowWriter(file, { resume: true });
    expect(writer.existingRows).toBe(1);
    await writer.write(TEXT_ROWS[1]);
    await writer.close();
    expect(await readFile(file, "utf8")).toBe(EXPECTED);
  });

  it("refuses a resumed row with a column the header lacks", async () => {
    const file = path.join(await tempDir(), "results.csv");
    await writeAll(file, [{ index: 0, ifd: 1 }]);
    const writer = await openRowWriter(file, { resume: true });
    await expect(writer.write({ index: 1, ifd: 2, rifd: 3 })).rejects.toThrow(
      `${file}: the row has columns the file's header lacks (rifd); resume with the same options, or write a new file`,
    );
    await writer.close();
  });

  it("treats a file holding only a partial header as empty", async () => {
    const file = path.join(await tempDir(), "results.csv");
    await writeFile(file, "index,i");
    expect(await writeAll(file, TEXT_ROWS, { resume: true })).toBe(0);
    expect(await readFile(file, "utf8")).toBe(EXPECTED);
  });
});

describe("openRowWriter: Parquet", () => {
  const readParquet = async (file: string): Promise<Record<string, unknown>[]> => parquetReadObjects({ file: await asyncBufferFromFile(file) });
  const EXPECTED = ROWS.map((row) => ({ ...row, tokens: BigInt(row.tokens as number) }));

  it("writes typed columns at close and leaves no journal", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "results.parquet");
    await writeAll(file, ROWS);
    expect(await readParquet(file)).toEqual(EXPECTED);
    expect(await readdir(dir)).toEqual(["results.parquet"]);
  });

  it("keeps rows of a killed run in the journal and resumes from it", async () => {
    const file = path.join(await tempDir(), "results.parquet");
    const writer = await openRowWriter(file);
    await writer.write(ROWS[0]);
    await writer.write(ROWS[1]);
    // Killed here: no close(), and a partial row at the journal's end.
    await appendFile(parquetJournalPath(file), '{"index": 2, "id"');
    await expect(openRowWriter(file)).rejects.toThrow(`${file}: an unfinished run's rows are in ${parquetJournalPath(file)}; pass --resume to continue that run, or --overwrite to replace it`);
    expect(await writeAll(file, ROWS, { resume: true })).toBe(2);
    expect(await readParquet(file)).toEqual(EXPECTED);
  });

  it("resumes a finished file by counting its rows and rewriting it unchanged", async () => {
    const file = path.join(await tempDir(), "results.parquet");
    await writeAll(file, ROWS.slice(0, 2));
    expect(await writeAll(file, ROWS, { resume: true })).toBe(2);
    expect(await readParquet(file)).toEqual(EXPECTED);
  });
});
