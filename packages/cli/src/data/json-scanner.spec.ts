import { describe, expect, it } from "vitest";
import { DataError } from "./data-error.js";
import { createJsonArrayScanner, findJsonSyntaxError, type JsonArrayElement } from "./json-scanner.js";

function scanInPieces(text: string, pieceLength: number): JsonArrayElement[] {
  const scanner = createJsonArrayScanner("data.json");
  const elements: JsonArrayElement[] = [];
  for (let at = 0; at < text.length; at += pieceLength) elements.push(...scanner.push(text.slice(at, at + pieceLength)));
  scanner.end();
  return elements;
}

function scanError(text: string): DataError {
  try {
    scanInPieces(text, 3);
  } catch (error: unknown) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error("expected a DataError");
}

const DOCUMENT = `[
  {"instruction": "say \\"hi\\", then \\\\ and \\u00e9", "output": "-1.5e+3 ]} 中文", "n": -0.25e-2},
  {"nested": {"list": [1, [2, {"deep": null}], true, false]}, "empty": {}, "none": []},
  "a string",
  12345,
  null
]
`;

describe("createJsonArrayScanner", () => {
  it("yields each element's exact text and start position, whatever the chunk boundaries", () => {
    const expected = [
      { text: `{"instruction": "say \\"hi\\", then \\\\ and \\u00e9", "output": "-1.5e+3 ]} 中文", "n": -0.25e-2}`, line: 2, column: 3 },
      { text: `{"nested": {"list": [1, [2, {"deep": null}], true, false]}, "empty": {}, "none": []}`, line: 3, column: 3 },
      { text: `"a string"`, line: 4, column: 3 },
      { text: "12345", line: 5, column: 3 },
      { text: "null", line: 6, column: 3 },
    ];
    // The byte offset is where the element's text starts in the UTF-8 encoding (中文 is 6 bytes).
    const lines = DOCUMENT.split("\n");
    const byteOffsetOf = (line: number, column: number): number => Buffer.byteLength(`${lines.slice(0, line - 1).join("\n")}\n${lines[line - 1].slice(0, column - 1)}`, "utf8");
    const withOffsets = expected.map((element) => ({ ...element, byteOffset: byteOffsetOf(element.line, element.column) }));
    expect(Buffer.from(DOCUMENT, "utf8").subarray(withOffsets[1].byteOffset).toString("utf8").startsWith('{"nested"')).toBe(true);
    for (const pieceLength of [1, 2, 3, 7, 64, DOCUMENT.length]) expect(scanInPieces(DOCUMENT, pieceLength)).toEqual(withOffsets);
    expect(JSON.parse(expected[0].text).instruction).toBe('say "hi", then \\ and é');
  });

  it("accepts an empty array and surrounding whitespace", () => {
    expect(scanInPieces(" \r\n[ ]\r\n", 1)).toEqual([]);
  });

  it.each([
    ['[\n  {"a": 1 "b": 2}\n]', 2, 11, `expected "," or "}" after a property value, got '"'`],
    ['[\n  {"a": 1,}\n]', 2, 11, 'expected a property name after ",", got "}"'],
    ['[\n  {"a": 1},\n]', 3, 1, 'expected a value, got "]"'],
    ['[{"a": 1}\n {"b": 2}]', 2, 2, 'expected "," or "]" after an array element, got "{"'],
    ['[{"a" 1}]', 1, 7, 'expected ":" after a property name, got "1"'],
    ['[{"a": tru}]', 1, 8, 'invalid literal "tru"'],
    ['[{"a": 01}]', 1, 8, 'invalid number "01"'],
    ['[{"a": "x\ny"}]', 1, 10, "unterminated string (a string cannot span lines)"],
    ['[{"a": "\\q"}]', 1, 10, 'invalid escape "\\q" in a string'],
    ['[{"a": "\\u12G4"}]', 1, 13, 'invalid \\u escape in a string, got "G"'],
    ['[{"a": "\t"}]', 1, 9, "control character in a string (escape it)"],
    ['[{"a": 1}]\n]', 2, 1, 'unexpected "]" after the end of the JSON value'],
    ['{"a": 1}', 1, 1, 'expected a JSON array of records, got "{"'],
    ['[{"a": 1},\n {"b": [1, 2}', 2, 13, 'expected "," or "]" after an array element, got "}"'],
    ['[{"a": 1},\n {"b": 2', 2, 9, `expected "," or "}" after a property value, got the end of the file`],
    ['[{"a": "abc', 1, 12, "unterminated string at the end of the file"],
  ])("reports %j at %i:%i", (text, line, column, reason) => {
    const error = scanError(text);
    expect(error.code).toBe("invalid-input");
    expect(error.message).toBe(`data.json:${line}:${column}: malformed JSON: ${reason}`);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
  });
});

describe("findJsonSyntaxError", () => {
  it("locates the error in one line with its column", () => {
    expect(findJsonSyntaxError("data.jsonl", '{"instruction": "a", "output": }', 17)?.message).toBe(
      'data.jsonl:17:32: malformed JSON: expected a value, got "}"',
    );
    expect(findJsonSyntaxError("data.jsonl", '{"a": 1', 4)?.message).toBe(`data.jsonl:4:8: malformed JSON: expected "," or "}" after a property value, got the end of the line`);
  });

  it("finds nothing in valid JSON", () => {
    expect(findJsonSyntaxError("data.jsonl", '{"a": [1, 2.5e3, "x"], "b": null}', 1)).toBeUndefined();
  });
});
