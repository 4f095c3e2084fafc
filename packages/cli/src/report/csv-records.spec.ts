import { describe, expect, it } from "vitest";
import { DataError } from "../data/data-error.js";
import { createCsvSplitter, type CsvRecord } from "./csv-records.js";

function split(...chunks: string[]): CsvRecord[] {
  const splitter = createCsvSplitter("r.csv");
  return [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.end()];
}

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

  it("gives the same records whatever the chunk boundaries, a quote pair split across chunks included", () => {
    const text = 'a,"b ""c"""\r\n"x\r\ny",z';
    const whole = split(text);
    for (let cut = 1; cut < text.length; cut++) expect(split(text.slice(0, cut), text.slice(cut))).toEqual(whole);
    expect(whole.map((r) => r.cells)).toEqual([["a", 'b "c"'], ["x\r\ny", "z"]]);
  });

  it("skips blank lines but counts them", () => {
    expect(split("a\n\nb\n").map((r) => [r.cells[0], r.line])).toEqual([["a", 1], ["b", 3]]);
  });

  it("names the line of an unclosed quote and of text after a closing quote", () => {
    expect(() => split('a\n"open,b\n')).toThrow(DataError);
    expect(() => split('a\n"open,b\n')).toThrow(/^r\.csv:2: malformed CSV: a quoted cell is not closed/);
    expect(() => split('a\n"x"y\n')).toThrow(/^r\.csv:2: malformed CSV: text after a closing quote/);
  });
});
