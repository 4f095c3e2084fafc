import { describe, expect, it } from "vitest";
import { rankRows } from "./rank-rows.js";
import { formatTop, parseTop, topCount } from "./top-spec.js";
import { SelectionError } from "./selection-error.js";

/** Ranks `[index, value]` pairs and returns the indices: ranked ones, then unranked ones. */
function ranked(rows: readonly (readonly [number, number | null])[], order: "asc" | "desc"): { ranked: number[]; unranked: number[] } {
  const indices = rows.map(([index]) => index);
  const values = rows.map(([, value]) => value ?? Number.NaN);
  const ranking = rankRows(indices, values, order);
  return { ranked: Array.from(ranking.ranked, (p) => indices[p]), unranked: Array.from(ranking.unranked, (p) => indices[p]) };
}

describe("rankRows", () => {
  // Rows arrive out of index order on purpose: ties must still go by index.
  const rows = [
    [5, 0.5],
    [2, 0.9],
    [7, null],
    [0, 0.5],
    [3, 0.9],
    [1, null],
    [4, -1],
    [6, 0.5],
  ] as const;

  it("puts the largest first with desc, breaking ties by ascending index, nulls after all", () => {
    expect(ranked(rows, "desc")).toEqual({ ranked: [2, 3, 0, 5, 6, 4], unranked: [1, 7] });
  });

  it("puts the smallest first with asc, still breaking ties by ascending index", () => {
    expect(ranked(rows, "asc")).toEqual({ ranked: [4, 0, 5, 6, 2, 3], unranked: [1, 7] });
  });

  it("orders infinities and negative zero without NaN comparisons", () => {
    expect(ranked([[0, Infinity], [1, 0], [2, -0], [3, -Infinity]], "desc").ranked).toEqual([0, 1, 2, 3]);
  });

  it("handles no rows and only nulls", () => {
    expect(ranked([], "desc")).toEqual({ ranked: [], unranked: [] });
    expect(ranked([[1, null], [0, null]], "asc")).toEqual({ ranked: [], unranked: [0, 1] });
  });
});

describe("--top", () => {
  it("reads counts and percentages", () => {
    expect(parseTop("500")).toEqual({ kind: "count", count: 500 });
    expect(parseTop(" 0 ")).toEqual({ kind: "count", count: 0 });
    expect(formatTop(parseTop("12.5%"))).toBe("12.5%");
  });

  it("takes floor(P% of all rows) exactly, with no binary rounding", () => {
    expect(topCount(parseTop("10%"), 52002)).toBe(5200); // Superfiltering's int(52002 * 0.1)
    expect(topCount(parseTop("5%"), 52002)).toBe(2600);
    expect(topCount(parseTop("57%"), 100)).toBe(57); // 0.57 * 100 is 56.99999999999999 in floating point
    expect(topCount(parseTop("0.57%"), 10000)).toBe(57);
    expect(topCount(parseTop("10%"), 9)).toBe(0);
    expect(topCount(parseTop("100%"), 9)).toBe(9);
    expect(topCount(parseTop("33.3%"), 1000)).toBe(333);
    expect(topCount(parseTop("7"), 3)).toBe(7); // a count is a count; the selection takes what there is
  });

  it.each(["", "-5", "1.5", "10 %", "%", "101%", "100.01%", "ten", "1e3", "5%%"])("rejects %j", (text) => {
    expect(() => parseTop(text)).toThrow(SelectionError);
    expect(() => parseTop(text)).toThrow(/^--top: /);
  });
});
