import { describe, expect, it } from "vitest";
import { percentile, summarizeLatencies } from "./percentiles.js";

describe("percentile", () => {
  it("takes the nearest rank: a value that occurred, with at least q·n values at or below it", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted input
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
  });

  it("rounds the rank up on small samples", () => {
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
    expect(percentile([3, 1, 2], 0.99)).toBe(3);
    expect(percentile([7], 0.5)).toBe(7);
  });

  it("sorts numbers numerically, not as strings", () => {
    expect(percentile([10, 9, 100, 2], 0.5)).toBe(9);
  });

  it("refuses an empty list and a quantile outside [0, 1]", () => {
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(/within \[0, 1\]/);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarizeLatencies", () => {
  it("reports count, p50, p99 and max", () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarizeLatencies(values)).toEqual({ count: 1000, p50: 500, p99: 990, max: 1000 });
  });
});
