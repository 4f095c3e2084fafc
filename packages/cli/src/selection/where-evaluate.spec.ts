import { describe, expect, it } from "vitest";
import { evaluateWhere, type Truth } from "./where-evaluate.js";
import { parseWhere } from "./where-parser.js";
import { SelectionError } from "./selection-error.js";

function truth(expression: string, row: Record<string, unknown>): Truth {
  return evaluateWhere(parseWhere(expression), (column) => row[column]);
}

describe("evaluateWhere", () => {
  const row = { ifd: 0.8, rifd: 1.2, response_ppl: 3, output_ppl: 4, truncated: false, boundary_merged: true, oneshot_validity: null };

  it("compares numbers with every operator, literals on either side", () => {
    expect(truth("ifd < 1", row)).toBe(true);
    expect(truth("ifd <= 0.8", row)).toBe(true);
    expect(truth("ifd > 0.8", row)).toBe(false);
    expect(truth("ifd >= 0.8", row)).toBe(true);
    expect(truth("ifd == 0.8", row)).toBe(true);
    expect(truth("ifd != 0.8", row)).toBe(false);
    expect(truth("1 > ifd", row)).toBe(true);
    expect(truth("response_ppl < output_ppl", row)).toBe(true);
  });

  it("tests boolean columns bare, negated, or against true/false", () => {
    expect(truth("truncated", row)).toBe(false);
    expect(truth("not truncated", row)).toBe(true);
    expect(truth("boundary_merged == true", row)).toBe(true);
    expect(truth("truncated != false", row)).toBe(false);
    expect(truth("response_ppl > 2 and not truncated", row)).toBe(true);
  });

  it("makes a comparison with a null value unknown, and not of unknown unknown: such rows never match", () => {
    expect(truth("oneshot_validity > 0", row)).toBeNull();
    expect(truth("oneshot_validity <= 0", row)).toBeNull();
    expect(truth("not (oneshot_validity > 0)", row)).toBeNull();
    expect(truth("missing_column < 1", row)).toBeNull(); // a column a row lacks reads as null
    expect(truth("ifd < 1", { ifd: Number.NaN })).toBeNull();
  });

  it("tests for null with == null and != null, which are never unknown", () => {
    expect(truth("oneshot_validity == null", row)).toBe(true);
    expect(truth("null != oneshot_validity", row)).toBe(false);
    expect(truth("ifd == null", row)).toBe(false);
    expect(truth("not (oneshot_validity != null)", row)).toBe(true);
  });

  it("follows SQL's three-valued and/or: false and unknown is false, true or unknown is true", () => {
    expect(truth("ifd > 5 and oneshot_validity > 0", row)).toBe(false);
    expect(truth("oneshot_validity > 0 and ifd > 5", row)).toBe(false);
    expect(truth("ifd < 5 and oneshot_validity > 0", row)).toBeNull();
    expect(truth("ifd < 5 or oneshot_validity > 0", row)).toBe(true);
    expect(truth("oneshot_validity > 0 or ifd < 5", row)).toBe(true);
    expect(truth("ifd > 5 or oneshot_validity > 0", row)).toBeNull();
  });

  it("reads bigints (Parquet INT64) as numbers", () => {
    expect(truth("response_tokens >= 3", { response_tokens: 3n })).toBe(true);
  });

  it.each([
    ["truncated < 1", /column "truncated" holds true\/false.*test it with "truncated" or "not truncated"/],
    ["truncated == 0", /column "truncated" holds true\/false/],
    ["ifd == true", /column "ifd" holds numbers; compare it with a number, not true or false/],
    ["ifd", /column "ifd" holds numbers, not true\/false; compare it, e.g. "ifd > 0"/],
    ["id == 3", /column "id" holds text \("a-1"\), which cannot be compared/],
    ["null_reasons == null or null_reasons < 1", /column "null_reasons" holds an object/],
  ])("rejects %j naming the column", (expression, pattern) => {
    const values = { ...row, id: "a-1", null_reasons: { ifd: "no-scored-tokens" } };
    let caught: unknown;
    try {
      truth(expression, values);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SelectionError);
    expect((caught as SelectionError).code).toBe("invalid-value");
    expect((caught as SelectionError).message).toMatch(pattern);
  });
});
