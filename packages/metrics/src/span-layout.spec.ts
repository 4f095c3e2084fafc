import { describe, expect, it } from "vitest";
import { conditionalLayout, startsWith, wholeLayout } from "./span-layout.js";
import type { Encoding } from "./tokenization.js";

const enc = (ids: number[], truncated = false): Encoding => ({ ids: Uint32Array.from(ids), truncated });

describe("conditionalLayout", () => {
  it("scores the target at [k, n) and the prompt at [1, k) of the same sequence when it is a prefix", () => {
    const layout = conditionalLayout(enc([9, 1, 2]), enc([9, 1, 2, 3, 4]), "xy");
    expect(layout.boundary).toBe(3);
    expect(layout.target).toEqual({ span: { start: 3, end: 5 } });
    expect(layout.promptSpan).toEqual({ span: { start: 1, end: 3 } });
    expect(layout.merged).toBe(false);
    expect(layout.truncated).toBe(false);
  });

  it("flags a merge across the boundary and still scores [k, n), the seed's way", () => {
    const layout = conditionalLayout(enc([9, 1, 2]), enc([9, 1, 7, 4]), "x");
    expect(layout.merged).toBe(true);
    expect(layout.target).toEqual({ span: { start: 3, end: 4 } });
  });

  it("has no target span for an empty target, or one removed by truncation", () => {
    expect(conditionalLayout(enc([9, 1, 2]), enc([9, 1, 2]), "").target).toEqual({ span: null, reason: "no-scored-tokens" });
    const cut = conditionalLayout(enc([9, 1, 2, 3], true), enc([9, 1, 2, 3], true), "lost");
    expect(cut.target).toEqual({ span: null, reason: "truncated-away" });
    expect(cut.truncated).toBe(true);
    // Partly cut: the remaining target positions are scored.
    expect(conditionalLayout(enc([9, 1]), enc([9, 1, 5, 6], true), "long").target).toEqual({ span: { start: 2, end: 4 } });
  });

  it("never scores token 0, even with an empty prompt encoding", () => {
    const layout = conditionalLayout(enc([]), enc([5, 6, 7]), "abc");
    expect(layout.target).toEqual({ span: { start: 1, end: 3 } });
    expect(layout.promptSpan).toEqual({ span: null, reason: "no-scored-tokens" });
  });
});

describe("wholeLayout", () => {
  it("scores positions [1, n)", () => {
    expect(wholeLayout(enc([9, 4, 5]), "ab")).toEqual({ span: { start: 1, end: 3 } });
    expect(wholeLayout(enc([9, 4]), "a")).toEqual({ span: { start: 1, end: 2 } });
  });

  it("has nothing to score for an empty text or a single token without BOS", () => {
    expect(wholeLayout(enc([9]), "")).toEqual({ span: null, reason: "no-scored-tokens" });
    expect(wholeLayout(enc([4]), "a")).toEqual({ span: null, reason: "no-scored-tokens" });
    expect(wholeLayout(enc([]), "")).toEqual({ span: null, reason: "no-scored-tokens" });
    expect(wholeLayout(enc([9], true), "abc")).toEqual({ span: null, reason: "truncated-away" });
  });
});

describe("startsWith", () => {
  it("compares prefixes", () => {
    expect(startsWith(Uint32Array.of(1, 2, 3), Uint32Array.of(1, 2))).toBe(true);
    expect(startsWith(Uint32Array.of(1, 2), Uint32Array.of(1, 2))).toBe(true);
    expect(startsWith(Uint32Array.of(1, 2), Uint32Array.of())).toBe(true);
    expect(startsWith(Uint32Array.of(1, 3), Uint32Array.of(1, 2))).toBe(false);
    expect(startsWith(Uint32Array.of(1), Uint32Array.of(1, 2))).toBe(false);
  });
});
