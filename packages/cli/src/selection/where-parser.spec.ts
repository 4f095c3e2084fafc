import { describe, expect, it } from "vitest";
import { columnReferences, formatWhere } from "./where-ast.js";
import { parseWhere } from "./where-parser.js";
import { SelectionError } from "./selection-error.js";

/** The error parseWhere throws for `text`. */
function parseError(text: string): SelectionError {
  try {
    parseWhere(text);
  } catch (error: unknown) {
    if (error instanceof SelectionError) return error;
    throw error;
  }
  throw new Error(`"${text}" parsed`);
}

describe("parseWhere", () => {
  it("parses comparisons with every operator, numbers in JSON spelling, and null/true/false", () => {
    expect(formatWhere(parseWhere("ifd<1"))).toBe("ifd < 1");
    expect(formatWhere(parseWhere("  ifd <= -0.5e-3 "))).toBe("ifd <= -0.5e-3");
    expect(formatWhere(parseWhere("1.5>response_ppl"))).toBe("1.5 > response_ppl");
    expect(formatWhere(parseWhere("rifd>=.25"))).toBe("rifd >= .25");
    expect(formatWhere(parseWhere("ifd == NULL or ifd != null"))).toBe("ifd == null or ifd != null");
    expect(formatWhere(parseWhere("truncated == True"))).toBe("truncated == true");
    expect(formatWhere(parseWhere("response_ppl < output_ppl"))).toBe("response_ppl < output_ppl");
    const tree = parseWhere("ifd < +2");
    expect(tree).toMatchObject({ kind: "compare", operator: "<", left: { kind: "column", name: "ifd", position: 0 }, right: { kind: "number", value: 2, position: 6 } });
  });

  it("binds not tighter than and, and tighter than or; keywords in any case", () => {
    const tree = parseWhere("a < 1 OR b < 1 And NOT c");
    expect(tree).toMatchObject({ kind: "or", left: { kind: "compare" }, right: { kind: "and", left: { kind: "compare" }, right: { kind: "not", operand: { kind: "test" } } } });
    expect(formatWhere(tree)).toBe("a < 1 or b < 1 and not c");
    expect(formatWhere(parseWhere("(a < 1 or b < 1) and not (c or d)"))).toBe("(a < 1 or b < 1) and not (c or d)");
    expect(formatWhere(parseWhere("((a < 1))"))).toBe("a < 1");
    expect(formatWhere(parseWhere("not not truncated"))).toBe("not not truncated");
  });

  it("keeps each column's position for later errors", () => {
    expect(columnReferences(parseWhere("ifd<1 and (rifd < 1 or not truncated)")).map((r) => [r.name, r.position])).toEqual([
      ["ifd", 0],
      ["rifd", 11],
      ["truncated", 27],
    ]);
  });

  it.each([
    // [expression, 0-based position of the caret, message pattern]
    ["ifd < ", 6, /expected a column, a number or "\(", got the end of the expression at character 7/],
    ["ifd < and rifd < 1", 6, /expected a column, a number or "\(", got "and" at character 7/],
    ["ifd = 1", 4, /unexpected "=": compare with "==" at character 5/],
    ["ifd < 1 && rifd < 1", 8, /combine conditions with "and"/],
    ["ifd < 1 || rifd < 1", 8, /combine conditions with "or"/],
    ["!truncated", 0, /negate with "not"/],
    ["task == 'math'", 8, /there are no strings/],
    ["ifd < 1 rifd < 1", 8, /expected "and", "or" or the end of the expression, got "rifd" at character 9/],
    ["(ifd < 1 and rifd < 1", 21, /expected "\)" to close the "\(" at character 1, got the end of the expression/],
    ["ifd < 1)", 7, /unmatched "\)" at character 8/],
    ["0 < ifd < 1", 8, /comparisons do not chain; write "0 < ifd and ifd < \.\.\."/],
    ["1 < 2", 0, /a comparison needs a column on one side at character 1/],
    ["ifd < null", 4, /null can only be compared with == or != at character 5/],
    ["truncated > false", 10, /false can only be compared with == or !=/],
    ["ifd < 1.", 6, /malformed number "1\." at character 7/],
    ["ifd < 2x", 6, /malformed number "2x"/],
    ["ifd < 1 and 3", 13, /expected a comparison operator .* after 3, got the end/],
    ["ifd # 1", 4, /unexpected character "#" at character 5/],
    ["", 0, /the expression is empty/],
    ["   ", 3, /the expression is empty/],
  ])("rejects %j pointing at character %i", (text, position, pattern) => {
    const error = parseError(text);
    expect(error.code).toBe("invalid-expression");
    expect(error.place?.position).toBe(position);
    expect(error.message).toMatch(pattern);
    expect(error.message.startsWith("--where: ")).toBe(true);
    // The last line puts a caret under the offending character.
    const lines = error.message.split("\n");
    expect(lines.at(-2)).toBe(`  ${text}`);
    expect(lines.at(-1)).toBe(`  ${" ".repeat(position)}^`);
  });
});
