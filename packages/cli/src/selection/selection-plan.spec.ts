import { describe, expect, it } from "vitest";
import { createSelector } from "./select-rows.js";
import { SelectionError } from "./selection-error.js";
import { checkPlanColumns, describeFilter, planColumns, planSelection, type SelectionOptions } from "./selection-plan.js";

const COLUMNS = ["index", "id", "ifd", "rifd", "oneshot_validity", "truncated", "null_reasons"];

function failure(step: () => unknown): SelectionError {
  try {
    step();
  } catch (error: unknown) {
    if (error instanceof SelectionError) return error;
    throw error;
  }
  throw new Error("no error");
}

describe("planSelection", () => {
  it("fills a preset's parts and lets explicit options replace them", () => {
    const cherry = planSelection({ preset: "cherry" });
    expect(cherry).toMatchObject({ by: "ifd", order: "desc", top: { kind: "percent", text: "10%" }, threshold: 1 });
    expect(describeFilter(cherry)).toBe("ifd < 1");
    const changed = planSelection({ preset: "cherry", by: "rifd", order: "asc", top: "7", threshold: 0.8, where: "not truncated" });
    expect(changed).toMatchObject({ by: "rifd", order: "asc", top: { kind: "count", count: 7 }, threshold: 0.8 });
    expect(describeFilter(changed)).toBe("ifd < 0.8 and not truncated");
    expect(describeFilter(planSelection({ preset: "reflection", where: "a < 1 or b < 1" }))).toBe("ifd < 1 and rifd < 1 and (a < 1 or b < 1)");
    expect(planColumns(changed)).toEqual(["ifd", "truncated", "rifd"]);
  });

  it("ranks largest first by default", () => {
    expect(planSelection({ by: "ifd" }).order).toBe("desc");
  });

  it.each<[SelectionOptions, RegExp]>([
    [{ threshold: 1, by: "ifd" }, /--threshold sets a preset's threshold; without --preset, write the condition with --where/],
    [{ preset: "cherry", threshold: Number.NaN }, /--threshold: expected a number/],
    [{ where: "ifd < 1", order: "asc" }, /--order ranks by a column: give --by too/],
    [{ where: "ifd < 1", top: "10%" }, /--top keeps the best-ranked rows: give --by/],
    [{}, /nothing to select by: give --where, --by \(with --top\), or --preset/],
    [{ by: "ifd", top: "lots" }, /--top: expected a number of rows/],
  ])("rejects %j", (options, pattern) => {
    const error = failure(() => planSelection(options));
    expect(error.code).toBe("invalid-option");
    expect(error.message).toMatch(pattern);
  });
});

describe("checkPlanColumns", () => {
  it("accepts known columns", () => {
    expect(() => checkPlanColumns(planSelection({ preset: "reflection", where: "not truncated" }), COLUMNS)).not.toThrow();
  });

  it("names an unknown --where column, points at it and lists the known columns", () => {
    const error = failure(() => checkPlanColumns(planSelection({ where: "ifd < 1 and ifdd > 2" }), COLUMNS));
    expect(error.code).toBe("unknown-column");
    expect(error.column).toBe("ifdd");
    expect(error.message).toMatch(/^--where: unknown column "ifdd" at character 13; known columns: index, id, ifd, rifd, oneshot_validity, truncated, null_reasons\n/);
    expect(error.message.split("\n").slice(1)).toEqual(["  ifd < 1 and ifdd > 2", "              ^"]);
  });

  it("names an unknown --by column", () => {
    expect(failure(() => checkPlanColumns(planSelection({ by: "score" }), COLUMNS)).message).toBe(
      '--by: unknown column "score"; known columns: index, id, ifd, rifd, oneshot_validity, truncated, null_reasons',
    );
  });

  it("says which metric a preset needs when the results lack it", () => {
    const error = failure(() => checkPlanColumns(planSelection({ preset: "reflection" }), ["index", "ifd"]));
    expect(error.message).toMatch(/^--preset reflection needs the column "rifd", which the results do not have \(score with --metrics including rifd\)/);
  });
});

describe("createSelector", () => {
  const rows = [
    { index: 0, ifd: 0.4, truncated: false },
    { index: 1, ifd: null, truncated: false },
    { index: 2, ifd: 0.9, truncated: true },
    { index: 3, ifd: 0.4, truncated: false },
  ];
  const run = (options: SelectionOptions) => {
    const selector = createSelector(planSelection(options));
    for (const row of [...rows].reverse()) selector.add(row.index, (column) => row[column as keyof typeof row]);
    return selector.finish();
  };

  it("without --by selects the passing rows in index order, whatever order they came in", () => {
    expect(run({ where: "not truncated" }).selected).toEqual([0, 1, 3]);
  });

  it("without --top keeps rows whose --by value is null, ranked last", () => {
    const outcome = run({ by: "ifd", order: "asc" });
    expect(outcome.selected).toEqual([0, 3, 2, 1]);
    expect(outcome.unranked).toBe(1);
    expect(outcome.cut).toEqual({ first: 0.4, last: 0.9 });
  });

  it("with --top never takes a null --by value, even when fewer rows than asked have one", () => {
    const outcome = run({ by: "ifd", top: "10" });
    expect(outcome.selected).toEqual([2, 0, 3]);
    expect(outcome.wanted).toBe(10);
  });

  it("selects nothing when --top is 0 and reports no cut", () => {
    const outcome = run({ by: "ifd", top: "0" });
    expect(outcome.selected).toEqual([]);
    expect(outcome.cut).toBeUndefined();
  });

  it("refuses to rank by a boolean column", () => {
    expect(() => run({ by: "truncated" })).toThrow(/--by: column "truncated" holds true\/false; rank by a numeric column/);
  });
});
