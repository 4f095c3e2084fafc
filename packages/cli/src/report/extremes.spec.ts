import { describe, expect, it } from "vitest";
import { selectExtremes } from "./extremes.js";

const NULL = Number.NaN;

describe("selectExtremes", () => {
  const values = [0.5, NULL, 3, 0.1, 3, 2, NULL, 0.1];
  const indices = values.map((_, i) => i);

  it("returns the positions of the highest values, best first, skipping nulls", () => {
    // 3 at positions 2 and 4 (tie: smaller index first), then 2 at 5.
    expect(selectExtremes(values, 3, "highest", indices)).toEqual([2, 4, 5]);
  });

  it("returns the lowest values with ties broken by sample index", () => {
    expect(selectExtremes(values, 3, "lowest", indices)).toEqual([3, 7, 0]);
  });

  it("breaks ties by the sample index, not the row position", () => {
    // Rows in reverse sample order: the tie at value 1 goes to sample 0, stored last.
    expect(selectExtremes([1, 1, 1], 2, "lowest", [2, 1, 0])).toEqual([2, 1]);
  });

  it("returns fewer when there are fewer non-null values, and none for k = 0", () => {
    expect(selectExtremes([NULL, 4, NULL], 10, "highest", [0, 1, 2])).toEqual([1]);
    expect(selectExtremes([1, 2], 0, "highest", [0, 1])).toEqual([]);
  });

  it("agrees with a full sort on a larger input", () => {
    const many = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 997) / 10);
    const order = many.map((_, i) => i);
    const sorted = order.filter(() => true).sort((a, b) => many[b] - many[a] || a - b);
    expect(selectExtremes(many, 25, "highest", order)).toEqual(sorted.slice(0, 25));
  });
});
