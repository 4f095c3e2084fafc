import { describe, expect, it } from "vitest";
import { createCsvSplitter, csvCellAt, csvText, csvValue, splitCsvText, type CsvRecord } from "./csv-read.js";
import { csvHeader, csvRecord } from "./csv-write.js";
import { DataError } from "./data-error.js";

function split(...chunks: string[]): CsvRecord[] {
  const splitter = createCsvSplitter("r.csv");
  return [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.end()];
}

/** The records of `text` fed in chunks of `size` characters. */
function records(text: string, size = text.length || 1): CsvRecord[] {
  const chunks: string[] = [];
  for (let at = 0; at < text.length; at += size) chunks.push(text.slice(at, at + size));
  return split(...chunks);
}

const TEXT = 'a,b,c\r\n1,"x, ""y""",\r\n\r\n2,"two\r\nlines",""\n3,plain,"end"';

describe("createCsvSplitter", () => {
  it("splits CRLF records into cells and keeps each record's first line", () => {
    expect(split("index,ifd\r\n0,0.5\r\n1,\r\n")).toEqual([
      { cells: ["index", "ifd"], quoted: [false, false], line: 1 },
      { cells: ["0", "0.5"], quoted: [false, false], line: 2 },
      { cells: ["1", ""], quoted: [false, false], line: 3 },
    ]);
  });

  it("undoes quoting: commas, doubled quotes and line breaks inside quotes; \"\" is a quoted empty cell", () => {
    const records = split('id,text\n"a,b","say ""hi""\nthere"\n"",x\n');
    expect(records.map((r) => r.cells)).toEqual([["id", "text"], ["a,b", 'say "hi"\nthere'], ["", "x"]]);
    expect(records[2].quoted).toEqual([true, false]);
    // The record after the one with a line break starts on line 4.
    expect(records.map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it("undoes quoting, keeps line breaks inside quotes, skips blank lines and numbers records by their first line", () => {
    const all = records(TEXT);
    expect(all.map((r) => [r.line, r.cells])).toEqual([
      [1, ["a", "b", "c"]],
      [2, ["1", 'x, "y"', ""]],
      [4, ["2", "two\r\nlines", ""]],
      [6, ["3", "plain", "end"]],
    ]);
    expect(all[1].quoted).toEqual([false, true, false]);
    expect(all[2].quoted[2]).toBe(true);
  });

  it("gives the same records whatever the chunk boundaries, a quote pair split across chunks included", () => {
    const text = 'a,"b ""c"""\r\n"x\r\ny",z';
    const whole = split(text);
    for (let cut = 1; cut < text.length; cut++) expect(split(text.slice(0, cut), text.slice(cut))).toEqual(whole);
    expect(whole.map((r) => r.cells)).toEqual([["a", 'b "c"'], ["x\r\ny", "z"]]);
  });

  it("gives the same records however the text is split into chunks", () => {
    const whole = records(TEXT);
    for (const size of [1, 2, 3, 5, 7]) expect(records(TEXT, size)).toEqual(whole);
  });

  it("skips blank lines but counts them", () => {
    expect(split("a\n\nb\n").map((r) => [r.cells[0], r.line])).toEqual([["a", 1], ["b", 3]]);
  });

  it("names the line of an unclosed quote (the record's first line) and of text after a closing quote", () => {
    expect(() => split('a\n"open,b\n')).toThrow(DataError);
    expect(() => split('a\n"open,b\n')).toThrow(/^r\.csv:2: malformed CSV: a quoted cell is not closed/);
    expect(() => split('a\n"open\nstill open')).toThrow(/^r\.csv:2: malformed CSV: a quoted cell is not closed/);
    expect(() => split('a\n"x"y\n')).toThrow(/^r\.csv:2: malformed CSV: text after a closing quote/);
  });

  it("reads back what the writer writes: header, quoting, CRLF, null and the empty string", () => {
    const row = { id: "007", text: 'say "hi",\r\nthere', empty: "", none: null, list: ["a,b"], ifd: 0.5, truncated: false };
    const columns = Object.keys(row);
    const [header, record] = splitCsvText(csvHeader(columns) + csvRecord(columns, row), "r.csv");
    expect(header.cells).toEqual(columns);
    const cell = (name: string) => csvCellAt(record, columns.indexOf(name));
    expect(csvText(cell("id"))).toBe("007");
    expect(csvValue(cell("text"))).toBe('say "hi",\r\nthere');
    expect(csvValue(cell("empty"))).toBe("");
    expect(csvValue(cell("none"))).toBeNull();
    expect(csvValue(cell("list"))).toEqual(["a,b"]);
    expect(csvValue(cell("ifd"))).toBe(0.5);
    expect(csvValue(cell("truncated"))).toBe(false);
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
