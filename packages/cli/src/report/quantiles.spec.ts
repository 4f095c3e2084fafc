import { describe, expect, it } from "vitest";
import { median, quantileSorted, summarize } from "./quantiles.js";

describe("quantileSorted", () => {
  it("interpolates linearly between order statistics (type 7)", () => {
    const s = [1, 2, 3, 4, 5];
    // h = 4p: p5 → h 0.2 → 1 + 0.2·1; p25 → h 1 → 2; p95 → h 3.8 → 4 + 0.8·1.
    expect(quantileSorted(s, 0.05)).toBeCloseTo(1.2, 12);
    expect(quantileSorted(s, 0.25)).toBe(2);
    expect(quantileSorted(s, 0.5)).toBe(3);
    expect(quantileSorted(s, 0.95)).toBeCloseTo(4.8, 12);
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(5);
  });

  it("gives the middle of the two central values for an even count", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    // h = 3·0.25 = 0.75 → 10 + 0.75·(20 − 10).
    expect(quantileSorted([10, 20, 30, 40], 0.25)).toBe(17.5);
  });

  it("returns the only value of a single-element array for every p", () => {
    for (const p of [0, 0.05, 0.5, 1]) expect(quantileSorted([7], p)).toBe(7);
  });

  it("does not overflow between two values near the float64 limit", () => {
    expect(quantileSorted([1e308, 1.5e308], 0.5)).toBeCloseTo(1.25e308, -300);
  });

  it("rejects an empty array and p outside [0, 1]", () => {
    expect(() => quantileSorted([], 0.5)).toThrow(RangeError);
    expect(() => quantileSorted([1], 1.5)).toThrow(/outside/);
  });
});

describe("summarize", () => {
  it("skips NaN (null) and sorts its input", () => {
    const summary = summarize([5, Number.NaN, 1, 4, 2, 3]);
    expect(summary).toEqual({ n: 5, mean: 3, min: 1, p5: expect.closeTo(1.2, 12), p25: 2, p50: 3, p75: 4, p95: expect.closeTo(4.8, 12), max: 5 });
  });

  it("is undefined when every value is null", () => {
    expect(summarize([Number.NaN, Number.NaN])).toBeUndefined();
    expect(summarize([])).toBeUndefined();
  });

  it("keeps a finite mean for values whose plain sum would overflow", () => {
    expect(summarize([1.5e308, 1.5e308])?.mean).toBe(1.5e308);
  });

  it("median of all-equal values is that value", () => {
    expect(median([0.25, 0.25, 0.25])).toBe(0.25);
    expect(median([Number.NaN])).toBeUndefined();
  });
});
