import { describe, expect, it } from "vitest";
import { binValues, defaultBinCount } from "./histogram.js";

const NULL = Number.NaN;

describe("binValues on a linear axis", () => {
  it("spaces edges equally from the smallest to the largest value and puts the maximum in the last bin", () => {
    // Width (4 − 1)/3 = 1: [1,2) ← 1; [2,3) ← 2; [3,4] ← 3, 4.
    const h = binValues([4, 1, 3, 2], { bins: 3, maxDistinct: 0 });
    expect(h).toEqual({ kind: "bins", axis: "linear", edges: [1, 2, 3, 4], counts: [1, 1, 2], total: 4, excluded: 0 });
  });

  it("skips nulls", () => {
    const h = binValues([0, NULL, 10, 5, NULL, 2.5], { bins: 2, maxDistinct: 0 });
    // Edges 0, 5, 10: 0 and 2.5 below 5; 5 and 10 in the last bin.
    expect(h).toMatchObject({ edges: [0, 5, 10], counts: [2, 2], total: 4 });
  });
});

describe("binValues on a log axis", () => {
  it("spaces edges by equal ratios", () => {
    // log10 0..3 in three bins: edges 1, 10, 100, 1000.
    const h = binValues([1, 10, 100, 1000, 500, 2], { axis: "log", bins: 3, maxDistinct: 0 });
    expect(h.kind).toBe("bins");
    if (h.kind !== "bins") return;
    expect(h.edges.map((e) => Number(e.toPrecision(12)))).toEqual([1, 10, 100, 1000]);
    // [1,10) ← 1, 2; [10,100) ← 10; [100,1000] ← 100, 500, 1000.
    expect(h.counts).toEqual([2, 1, 3]);
  });

  it("leaves out values that a log axis cannot place, and counts them", () => {
    const h = binValues([0, -1, 0.5, 2, 8], { axis: "log", bins: 2, maxDistinct: 0 });
    // Edges 0.5, 2, 8 (log10 −0.301, 0.301, 0.903): 0.5 in bin 0; 2 and 8 in bin 1.
    expect(h).toMatchObject({ counts: [1, 2], total: 3, excluded: 2 });
  });
});

describe("binValues with few distinct values", () => {
  it("draws one bar per value for the sign-mode one-shot validity", () => {
    const third = 1 / 3;
    const h = binValues([1, -third, third, third, 1, -1, NULL]);
    expect(h).toEqual({ kind: "distinct", axis: "linear", values: [-1, -third, third, 1], counts: [1, 1, 2, 2], total: 6, excluded: 0 });
  });

  it("handles a single value and all-equal values", () => {
    expect(binValues([42])).toMatchObject({ kind: "distinct", values: [42], counts: [1], total: 1 });
    expect(binValues([3.5, 3.5, 3.5], { axis: "log" })).toMatchObject({ kind: "distinct", values: [3.5], counts: [3] });
  });

  it("is empty when every value is null", () => {
    expect(binValues([NULL, NULL])).toMatchObject({ kind: "distinct", values: [], counts: [], total: 0 });
  });

  it("bins once there are more distinct values than the limit", () => {
    const values = Array.from({ length: 13 }, (_, i) => i);
    expect(binValues(values).kind).toBe("bins");
    expect(binValues(values.slice(0, 12)).kind).toBe("distinct");
  });
});

describe("defaultBinCount", () => {
  it("is ⌈√n⌉ within [5, 40]", () => {
    expect(defaultBinCount(3)).toBe(5);
    expect(defaultBinCount(60)).toBe(8);
    expect(defaultBinCount(10_000_000)).toBe(40);
  });
});
