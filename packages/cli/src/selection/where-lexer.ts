import type { ComparisonOperator } from "./where-ast.js";
import { SelectionError } from "./selection-error.js";

/** A token of the `--where` language, with its 0-based start offset. */
export type WhereToken =
  | { readonly kind: "identifier"; readonly text: string; readonly position: number }
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly position: number }
  | { readonly kind: "operator"; readonly text: ComparisonOperator; readonly position: number }
  | { readonly kind: "keyword"; readonly text: "and" | "or" | "not" | "null" | "true" | "false"; readonly position: number }
  | { readonly kind: "paren"; readonly text: "(" | ")"; readonly position: number }
  | { readonly kind: "end"; readonly position: number };

const KEYWORDS = new Set(["and", "or", "not", "null", "true", "false"]);
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
/** JSON's number grammar without the sign (a sign is read with the number, see below), plus `.5`. */
const NUMBER = /(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
const OPERATORS: readonly ComparisonOperator[] = ["<=", ">=", "==", "!=", "<", ">"];

/**
 * Splits a `--where` expression into tokens. Keywords are case-insensitive (`AND`, `Not`, `NULL`);
 * column names are case-sensitive. A `-` or `+` directly before a number is part of it.
 *
 * @throws SelectionError `invalid-expression` pointing at the first character that starts no token,
 *   with a hint for the usual slips (`=`, `&&`, `||`, `!`, quoted strings).
 */
export function tokenizeWhere(expression: string): WhereToken[] {
  const tokens: WhereToken[] = [];
  let at = 0;
  const fail = (detail: string, position = at): never => {
    throw new SelectionError("invalid-expression", `--where: ${detail} at character ${position + 1}`, { place: { expression, position } });
  };
  while (at < expression.length) {
    const char = expression[at];
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (char === "(" || char === ")") {
      tokens.push({ kind: "paren", text: char, position: at++ });
      continue;
    }
    const operator = OPERATORS.find((op) => expression.startsWith(op, at));
    if (operator !== undefined) {
      tokens.push({ kind: "operator", text: operator, position: at });
      at += operator.length;
      continue;
    }
    const signed = (char === "-" || char === "+") && /[0-9.]/.test(expression[at + 1] ?? "");
    NUMBER.lastIndex = signed ? at + 1 : at;
    const number = NUMBER.exec(expression);
    if (number !== null) {
      const end = NUMBER.lastIndex;
      if (/[A-Za-z0-9_.]/.test(expression[end] ?? "")) fail(`malformed number "${expression.slice(at, end + 1)}"`, at);
      const text = expression.slice(at, end);
      tokens.push({ kind: "number", value: Number(text), text, position: at });
      at = end;
      continue;
    }
    IDENTIFIER.lastIndex = at;
    const identifier = IDENTIFIER.exec(expression);
    if (identifier !== null) {
      const word = identifier[0];
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) tokens.push({ kind: "keyword", text: lower as "and" | "or" | "not" | "null" | "true" | "false", position: at });
      else tokens.push({ kind: "identifier", text: word, position: at });
      at += word.length;
      continue;
    }
    if (char === "=") fail('unexpected "=": compare with "=="');
    if (char === "&") fail('unexpected "&": combine conditions with "and"');
    if (char === "|") fail('unexpected "|": combine conditions with "or"');
    if (char === "!") fail('unexpected "!": negate with "not"');
    if (char === "'" || char === '"') fail("unexpected quote: columns are compared with numbers, null, true or false; there are no strings");
    fail(`unexpected character "${char}"`);
  }
  tokens.push({ kind: "end", position: expression.length });
  return tokens;
}
