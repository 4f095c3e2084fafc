import { describe, expect, it } from "vitest";
import { DataError } from "../../data/data-error.js";
import { csvText, csvValue, parseCsvRecords, type CsvRecord } from "./csv-rows.js";

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
}

async function records(text: string, size = text.length || 1): Promise<CsvRecord[]> {
  const all: CsvRecord[] = [];
  for await (const record of parseCsvRecords(chunked(text, size), "r.csv")) all.push(record);
  return all;
}

const TEXT = 'a,b,c\r\n1,"x, ""y""",\r\n\r\n2,"two\r\nlines",""\n3,plain,"end"';

describe("parseCsvRecords", () => {
  it("undoes quoting, keeps line breaks inside quotes, skips blank lines and numbers records by their first line", async () => {
    const all = await records(TEXT);
    expect(all.map((r) => [r.line, r.cells.map((c) => c.text)])).toEqual([
      [1, ["a", "b", "c"]],
      [2, ["1", 'x, "y"', ""]],
      [4, ["2", "two\r\nlines", ""]],
      [6, ["3", "plain", "end"]],
    ]);
    expect(all[1].cells.map((c) => c.quoted)).toEqual([false, true, false]);
    expect(all[2].cells[2].quoted).toBe(true);
  });

  it("gives the same records however the text is split into chunks", async () => {
    const whole = await records(TEXT);
    for (const size of [1, 2, 3, 5, 7]) expect(await records(TEXT, size)).toEqual(whole);
  });

  it("fails on a quote left open, naming the record's line", async () => {
    await expect(records('a\n"open\nstill open')).rejects.toThrow(DataError);
    await expect(records('a\n"open\nstill open')).rejects.toThrow(/^r\.csv:2: a quoted cell is not closed/);
  });
});

describe("csvValue", () => {
  it("types cells back the way the row writer wrote them", () => {
    expect(csvValue({ text: "", quoted: false })).toBeNull();
    expect(csvValue({ text: "", quoted: true })).toBe("");
    expect(csvValue({ text: "-1.5e-3", quoted: false })).toBe(-0.0015);
    expect(csvValue({ text: "0.5", quoted: true })).toBe(0.5);
    expect(csvValue({ text: "True", quoted: false })).toBe(true);
    expect(csvValue({ text: "false", quoted: false })).toBe(false);
    expect(csvValue({ text: '{"ifd":"overflow"}', quoted: true })).toEqual({ ifd: "overflow" });
    expect(csvValue({ text: "[1,2]", quoted: true })).toEqual([1, 2]);
    expect(csvValue({ text: "[not json", quoted: false })).toBe("[not json");
    expect(csvValue({ text: "007", quoted: false })).toBe("007");
    expect(csvValue({ text: "nan", quoted: false })).toBe("nan");
  });

  it("keeps text columns as text", () => {
    expect(csvText({ text: "1e3", quoted: false })).toBe("1e3");
    expect(csvText({ text: "", quoted: false })).toBeNull();
    expect(csvText({ text: "", quoted: true })).toBe("");
  });
});
