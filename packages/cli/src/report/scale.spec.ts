import { describe, expect, it } from "vitest";
import { createLinearScale, createLogScale, linearTicks, logTicks } from "./scale.js";

describe("linear scale", () => {
  it("maps the domain onto the range, reversed ranges included", () => {
    const y = createLinearScale([0, 4], [300, 100]);
    // 1 is a quarter of the domain: 300 + 0.25·(100 − 300) = 250.
    expect(y.map(0)).toBe(300);
    expect(y.map(1)).toBe(250);
    expect(y.map(4)).toBe(100);
  });

  it("maps a zero-width domain to the middle of the range", () => {
    expect(createLinearScale([3, 3], [0, 100]).map(3)).toBe(50);
  });
});

describe("log scale", () => {
  it("puts equal ratios at equal distances (the scatter's IFD axis)", () => {
    const x = createLogScale([0.1, 10], [0, 200]);
    expect(x.map(0.1)).toBeCloseTo(0, 9);
    expect(x.map(1)).toBeCloseTo(100, 9);
    expect(x.map(10)).toBeCloseTo(200, 9);
    // √10 is half a decade above 1: 100 + 200/2/2.
    expect(x.map(Math.sqrt(10))).toBeCloseTo(150, 9);
  });

  it("maps a reversed pixel range for y (r-IFD up)", () => {
    const y = createLogScale([0.01, 100], [400, 0]);
    // 1 is in the middle of four decades.
    expect(y.map(1)).toBeCloseTo(200, 9);
    expect(y.map(10)).toBeCloseTo(100, 9);
  });

  it("refuses a domain that is not positive", () => {
    expect(() => createLogScale([0, 10], [0, 1])).toThrow(RangeError);
  });
});

describe("ticks", () => {
  it("linear ticks are multiples of 1, 2 or 5 × 10^k inside the domain", () => {
    expect(linearTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(linearTicks(0.05, 0.38, 4)).toEqual([0.1, 0.2, 0.3]);
    expect(linearTicks(0, 7, 7)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("log ticks over many decades are powers of ten, thinned", () => {
    expect(logTicks(1e3, 1e8, 6)).toEqual([1e3, 1e4, 1e5, 1e6, 1e7, 1e8]);
    // 13 decades, target 5: every 3rd power.
    expect(logTicks(1, 1e12, 5)).toEqual([1, 1e3, 1e6, 1e9, 1e12]);
  });

  it("log ticks over a couple of decades add 2× and 5×", () => {
    expect(logTicks(0.3, 30, 5)).toEqual([0.5, 1, 2, 5, 10, 20]);
  });

  it("log ticks inside one decade fall back to linear ones when multiples are too few", () => {
    expect(logTicks(2.1, 2.9, 5)).toEqual([2.2, 2.4, 2.6, 2.8]);
  });
});
