import { formatOperand, type ComparisonOperator, type Operand, type WhereExpression } from "./where-ast.js";
import { tokenizeWhere, type WhereToken } from "./where-lexer.js";
import { SelectionError } from "./selection-error.js";

/**
 * Parses a `--where` expression: comparisons between a column and a number (or `null`, `true`,
 * `false`, or another column), bare boolean columns, combined with `not`, `and`, `or` (binding in that
 * order, tightest first) and parentheses.
 *
 * ```text
 * expression := or
 * or         := and ("or" and)*
 * and        := unary ("and" unary)*
 * unary      := "not" unary | "(" expression ")" | comparison | column
 * comparison := operand ("<" | "<=" | ">" | ">=" | "==" | "!=") operand     at least one side a column
 * operand    := column | number | "null" | "true" | "false"
 * ```
 *
 * `null`, `true` and `false` only go with `==` and `!=`. Comparisons do not chain (`0 < ifd < 1` is an
 * error that suggests `0 < ifd and ifd < 1`). Nothing is evaluated here, and nothing is ever passed to
 * `eval`: the result is a plain tree for `evaluateWhere`.
 *
 * @example
 * ```ts
 * parseWhere("response_ppl > 2 and not truncated");
 * ```
 * @throws SelectionError `invalid-expression` whose message ends with the expression and a caret under
 *   the offending character (`place.position` is its 0-based offset).
 */
export function parseWhere(expression: string): WhereExpression {
  const tokens = tokenizeWhere(expression);
  let at = 0;
  const peek = (): WhereToken => tokens[at];
  const next = (): WhereToken => tokens[at++];
  const fail = (detail: string, token: WhereToken = peek()): never => {
    throw new SelectionError("invalid-expression", `--where: ${detail} at character ${token.position + 1}`, { place: { expression, position: token.position } });
  };
  const describe = (token: WhereToken): string => (token.kind === "end" ? "the end of the expression" : `"${token.text}"`);
  const isKeyword = (token: WhereToken, word: string): boolean => token.kind === "keyword" && token.text === word;

  const parseOr = (): WhereExpression => {
    let left = parseAnd();
    while (isKeyword(peek(), "or")) {
      next();
      left = { kind: "or", left, right: parseAnd(), text: expression };
    }
    return left;
  };

  const parseAnd = (): WhereExpression => {
    let left = parseUnary();
    while (isKeyword(peek(), "and")) {
      next();
      left = { kind: "and", left, right: parseUnary(), text: expression };
    }
    return left;
  };

  const parseUnary = (): WhereExpression => {
    const token = peek();
    if (isKeyword(token, "not")) {
      next();
      return { kind: "not", operand: parseUnary(), text: expression };
    }
    if (token.kind === "paren" && token.text === "(") {
      next();
      const inner = parseOr();
      const close = peek();
      if (close.kind !== "paren" || close.text !== ")") fail(`expected ")" to close the "(" at character ${token.position + 1}, got ${describe(close)}`);
      next();
      return inner;
    }
    return parseComparison();
  };

  const parseOperand = (): Operand => {
    const token = peek();
    switch (token.kind) {
      case "identifier":
        next();
        return { kind: "column", name: token.text, position: token.position };
      case "number":
        next();
        return { kind: "number", value: token.value, text: token.text, position: token.position };
      case "keyword":
        if (token.text === "null") {
          next();
          return { kind: "null", position: token.position };
        }
        if (token.text === "true" || token.text === "false") {
          next();
          return { kind: "boolean", value: token.text === "true", position: token.position };
        }
        break;
      default:
        break;
    }
    return fail(`expected a column, a number or "(", got ${describe(token)}`);
  };

  const parseComparison = (): WhereExpression => {
    const left = parseOperand();
    const operatorToken = peek();
    if (operatorToken.kind !== "operator") {
      if (left.kind === "column") return { kind: "test", column: left, text: expression };
      return fail(`expected a comparison operator (<, <=, >, >=, ==, !=) after ${formatOperand(left)}, got ${describe(operatorToken)}`);
    }
    next();
    const operator: ComparisonOperator = operatorToken.text;
    const right = parseOperand();
    if (left.kind !== "column" && right.kind !== "column") {
      throw new SelectionError("invalid-expression", `--where: a comparison needs a column on one side at character ${left.position + 1}`, {
        place: { expression, position: left.position },
      });
    }
    for (const side of [left, right]) {
      if ((side.kind === "null" || side.kind === "boolean") && operator !== "==" && operator !== "!=") {
        const word = side.kind === "null" ? "null" : String(side.value);
        throw new SelectionError("invalid-expression", `--where: ${word} can only be compared with == or != at character ${operatorToken.position + 1}`, {
          place: { expression, position: operatorToken.position },
        });
      }
    }
    const after = peek();
    if (after.kind === "operator") {
      const middle = right.kind === "column" ? right.name : "x";
      fail(`comparisons do not chain; write "${formatOperand(left)} ${operator} ${middle} and ${middle} ${after.text} ..."`, after);
    }
    return { kind: "compare", operator, left, right, text: expression };
  };

  if (peek().kind === "end") fail("the expression is empty");
  const tree = parseOr();
  const rest = peek();
  if (rest.kind !== "end") {
    if (rest.kind === "paren" && rest.text === ")") fail('unmatched ")"', rest);
    fail(`expected "and", "or" or the end of the expression, got ${describe(rest)}`, rest);
  }
  return tree;
}

