import { describe, expect, it } from "vitest";
import { MetricsError } from "./metrics-error.js";
import { selectPartners } from "./partners.js";

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe("selectPartners", () => {
  it("draws K distinct partners of the task, never the sample itself, ascending", () => {
    const members = range(0, 50);
    for (const self of [0, 7, 49]) {
      const partners = selectPartners(members, self, 5, 0);
      expect(partners).toHaveLength(5);
      expect(new Set(partners).size).toBe(5);
      expect(partners).not.toContain(self);
      expect(partners.every((p) => members.includes(p))).toBe(true);
      expect(partners).toEqual([...partners].sort((a, b) => a - b));
    }
  });

  it("returns every other member when the task has at most K others, as the seed does", () => {
    expect(selectPartners([3, 8, 9], 8, 2, 0)).toEqual([3, 9]);
    expect(selectPartners([3, 8, 9], 8, 5, 0)).toEqual([3, 9]);
    expect(selectPartners([4], 4, 3, 0)).toEqual([]);
    expect(selectPartners([1, 2], 9, 5, 0)).toEqual([1, 2]);
    expect(selectPartners(range(0, 10), 3, 0, 0)).toEqual([]);
  });

  it("is a pure function of (members, self, K, seed)", () => {
    const members = range(100, 1100);
    const first = selectPartners(members, 555, 4, 42);
    expect(selectPartners(Uint32Array.from(members), 555, 4, 42)).toEqual(first);
    // Draws for other samples in between change nothing: no shared generator state.
    for (let i = 100; i < 200; i++) selectPartners(members, i, 4, 42);
    expect(selectPartners(members, 555, 4, 42)).toEqual(first);
    expect(selectPartners(members, 555, 4, 43)).not.toEqual(first);
    expect(selectPartners(members, 556, 4, 42)).not.toEqual(first);
  });

  it("draws every other member about equally often", () => {
    const members = range(0, 11);
    const counts = new Array<number>(11).fill(0);
    for (let seed = 0; seed < 20_000; seed++) for (const p of selectPartners(members, 5, 2, seed)) counts[p]++;
    expect(counts[5]).toBe(0);
    // 40,000 draws over 10 members: 4,000 each; a 10% band is > 6 standard deviations wide.
    for (const [member, count] of counts.entries()) if (member !== 5) expect(Math.abs(count - 4000)).toBeLessThan(400);
  });

  it("handles tasks far larger than K without touching every member", () => {
    const members = new Uint32Array(5_000_000).map((_, i) => i * 2);
    const partners = selectPartners(members, 1234, 3, 7);
    expect(partners).toHaveLength(3);
    expect(partners.every((p) => p % 2 === 0 && p !== 1234)).toBe(true);
  });

  it("rejects a bad K or seed", () => {
    expect(() => selectPartners([1, 2], 1, -1, 0)).toThrowError(MetricsError);
    expect(() => selectPartners([1, 2], 1, 1, 2 ** 32)).toThrowError(/seed must be an integer/);
    expect(() => selectPartners([1, 2], 1, 1, 0.5)).toThrowError(/seed/);
  });
});
