import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PRESET_NAMES, PRESETS } from "./presets.js";
import { createSelector, type SelectionOutcome } from "./select-rows.js";
import { planSelection, type SelectionOptions } from "./selection-plan.js";

/**
 * The crafted results file (testdata/crafted-results.jsonl), the columns that matter here:
 *
 * | index | ifd   | rifd | oneshot_validity | truncated |
 * |-------|-------|------|------------------|-----------|
 * | 0     | 0.50  | 0.90 | 1/3              |           |
 * | 1     | 1.20  | 0.40 | 1                |           |
 * | 2     | 0.95  | 1.10 | -1               |           |
 * | 3     | null  | 0.70 | null             | true      |
 * | 4     | 0.95  | 0.60 | 1/3              |           |
 * | 5     | 0.10  | 0.20 | 0                |           |
 * | 6     | 1.00  | 0.50 | 1                |           |
 * | 7     | 0.80  | null | -1/3             |           |
 * | 8     | 0.99  | 0.99 | 2/3              |           |
 * | 9     | 0.30  | 1.00 | 1                |           |
 * | 10    | 0.95  | 0.30 | 2/3              |           |
 * | 11    | 0.70  | 0.80 | null             |           |
 * | 12    | 2.50  | 3.00 | -1               |           |
 * | 13    | 0.60  | 0.10 | 1/3              |           |
 * | 14    | 0.85  | 0.95 | 0                | true      |
 * | 15    | 0.20  | 0.50 | 1                |           |
 * | 16    | 0.999 | 1.50 | -2/3             |           |
 * | 17    | 0.40  | 0.45 | 1/3              |           |
 * | 18    | 0.65  | 0.99 | 1                |           |
 * | 19    | 0.95  | 0.20 | 1/3              |           |
 *
 * Every expected selection below was worked out by hand from this table, not by running the code.
 */
const ROWS: readonly Record<string, unknown>[] = readFileSync(new URL("./testdata/crafted-results.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Record<string, unknown>);

function select(options: SelectionOptions, rows = ROWS): SelectionOutcome {
  const selector = createSelector(planSelection(options));
  for (const row of rows) selector.add(row.index as number, (column) => row[column]);
  return selector.finish();
}

const inInputOrder = (outcome: SelectionOutcome): number[] => [...outcome.selected].sort((a, b) => a - b);

describe("preset cherry (Cherry LLM: drop IFD >= 1, top P% by IFD, highest first)", () => {
  it("keeps the top 10% of all 20 rows, i.e. 2, among the 16 rows with ifd < 1", () => {
    // ifd < 1 drops 1 (1.2), 6 (exactly 1.0), 12 (2.5) and 3 (null): 16 pass.
    // Highest first: 16 (0.999), 8 (0.99), then the 0.95s by index 2, 4, 10, 19, ...
    const outcome = select({ preset: "cherry" });
    expect(outcome).toMatchObject({ rows: 20, passed: 16, failed: 3, unknown: 1, unranked: 0, wanted: 2 });
    expect(outcome.selected).toEqual([16, 8]);
    expect(outcome.cut).toEqual({ first: 0.999, last: 0.99, next: 0.95 });
  });

  it("cuts through a tie by index: 25% is 5 rows, the last two of the four 0.95s wait", () => {
    // 10% of the 16 filtered rows would be 4 rows; of all 20 rows it is 5: 16, 8, 2, 4, 10 (not 19).
    const outcome = select({ preset: "cherry", top: "25%" });
    expect(outcome.selected).toEqual([16, 8, 2, 4, 10]);
    expect(inInputOrder(outcome)).toEqual([2, 4, 8, 10, 16]);
    expect(outcome.cut).toEqual({ first: 0.999, last: 0.95, next: 0.95 });
  });

  it("takes --threshold as the IFD bound and --top N as a count", () => {
    // ifd < 0.9: 0, 5, 7, 9, 11, 13, 14, 15, 17, 18 pass; highest first 14 (0.85), 7 (0.80), 11 (0.70).
    expect(select({ preset: "cherry", threshold: 0.9, top: "3" }).selected).toEqual([14, 7, 11]);
  });

  it("adds --where to its filter: both must hold", () => {
    // ifd < 1 and rifd < 1 leaves 0, 4, 5, 8, 10, 11, 13, 14, 15, 17, 18, 19; the top 2 by ifd: 8, 4.
    expect(select({ preset: "cherry", where: "rifd < 1" }).selected).toEqual([8, 4]);
    // and without the truncated rows (3 and 14), the top 4: 16, 8, 2, 4.
    expect(select({ preset: "cherry", where: "not truncated", top: "4" }).selected).toEqual([16, 8, 2, 4]);
  });

  it("lets --by and --order replace its ranking", () => {
    // ifd < 1, lowest rifd first: 13 (0.10), then the 0.20s by index, 5 and 19; 7 has no rifd and is never taken.
    const outcome = select({ preset: "cherry", by: "rifd", order: "asc", top: "3" });
    expect(outcome.selected).toEqual([13, 5, 19]);
    expect(outcome.unranked).toBe(1);
  });
});

describe("preset superfiltering (Superfiltering: cherry's rule on a small scorer's IFD)", () => {
  it("selects exactly what cherry selects, with the same defaults", () => {
    for (const options of [{}, { top: "25%" }, { threshold: 0.9, top: "3" }]) {
      expect(select({ preset: "superfiltering", ...options })).toEqual(select({ preset: "cherry", ...options }));
    }
    expect(select({ preset: "superfiltering" }).selected).toEqual([16, 8]);
  });
});

describe("preset reflection (Selective Reflection-Tuning: IFD < 1 and r-IFD < 1, ranked by IFD)", () => {
  it("keeps every row with both below 1 when no --top is given", () => {
    // Fails: 1 (ifd 1.2), 2 (rifd 1.1), 6 (ifd 1.0), 9 (rifd 1.0), 12, 16 (rifd 1.5).
    // Unknown: 3 (ifd null, rifd 0.7) and 7 (ifd 0.8, rifd null).
    const outcome = select({ preset: "reflection" });
    expect(outcome).toMatchObject({ rows: 20, passed: 12, failed: 6, unknown: 2 });
    expect(inInputOrder(outcome)).toEqual([0, 4, 5, 8, 10, 11, 13, 14, 15, 17, 18, 19]);
    expect(outcome.selected).toEqual([8, 4, 10, 19, 14, 11, 18, 13, 0, 17, 15, 5]);
    expect(outcome.cut).toEqual({ first: 0.99, last: 0.1 });
  });

  it("ranks by IFD for --top, and --threshold bounds both ratios", () => {
    expect(select({ preset: "reflection", top: "3" }).selected).toEqual([8, 4, 10]);
    // ifd < 0.9 and rifd < 0.9: 0 (rifd 0.9) and 14, 18 (rifd 0.95, 0.99) fail; 5, 11, 13, 15, 17 remain.
    expect(inInputOrder(select({ preset: "reflection", threshold: 0.9 }))).toEqual([5, 11, 13, 15, 17]);
  });
});

describe("preset nuggets (Nuggets: one-shot validity above a threshold, highest first)", () => {
  it("keeps rows with oneshot_validity > 0 by default, strictly", () => {
    // 5 and 14 are exactly 0 and fail; 3 and 11 are null (unknown).
    const outcome = select({ preset: "nuggets" });
    expect(outcome).toMatchObject({ passed: 12, failed: 6, unknown: 2 });
    expect(inInputOrder(outcome)).toEqual([0, 1, 4, 6, 8, 9, 10, 13, 15, 17, 18, 19]);
    expect(outcome.selected).toEqual([1, 6, 9, 15, 18, 8, 10, 0, 4, 13, 17, 19]);
  });

  it("takes --threshold (0.5 is a golden score above 0.75) and --top", () => {
    expect(inInputOrder(select({ preset: "nuggets", threshold: 0.5 }))).toEqual([1, 6, 8, 9, 10, 15, 18]);
    expect(select({ preset: "nuggets", top: "6" }).selected).toEqual([1, 6, 9, 15, 18, 8]);
  });
});

describe("presets", () => {
  it("each name a source and the columns they need", () => {
    for (const name of PRESET_NAMES) {
      expect(PRESETS[name].source).toMatch(/Li et al\. 202[34], ".+"/);
      expect(PRESETS[name].columns).toContain(PRESETS[name].by);
    }
  });
});
