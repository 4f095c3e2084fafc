import { describe, expect, it } from "vitest";
import { compareResultRows } from "./result-rows.js";

const row = (index: number, ifd: number) => JSON.stringify({ index, id: `r${index}`, ifd });

describe("compareResultRows", () => {
  it("finds identical runs identical whatever order their rows were written in", () => {
    const a = [row(0, 0.5), row(1, 0.25)].join("\n") + "\n";
    const b = [row(1, 0.25), row(0, 0.5)].join("\n") + "\n";
    expect(compareResultRows([a, b, a])).toEqual({ rows: 2, differing: 0 });
  });

  it("counts rows that differ in any digit, are missing, or are extra", () => {
    const a = [row(0, 0.5), row(1, 0.25), row(2, 1)].join("\n");
    const b = [row(0, 0.5000000000000001), row(2, 1), row(3, 2)].join("\n");
    expect(compareResultRows([a, b])).toEqual({ rows: 3, differing: 3 });
  });

  it("refuses a line without a numeric index, naming the line", () => {
    expect(() => compareResultRows([`${row(0, 1)}\n{"id":"x"}`])).toThrow(/result line 2 has no numeric "index"/);
  });
});
