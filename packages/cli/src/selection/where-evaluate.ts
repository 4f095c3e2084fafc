import type { Operand, WhereExpression } from "./where-ast.js";
import { SelectionError } from "./selection-error.js";

/** A value the `--where` language compares: a number, a boolean, or null (not computable). */
export type CellValue = number | boolean | null;

/** The outcome of a condition: `true`, `false`, or `null` for unknown (a compared value is null). */
export type Truth = boolean | null;

/** Reads a column of the current row; a missing column reads as `undefined` (treated as null). */
export type ColumnLookup = (column: string) => unknown;

/**
 * A row's value for comparison: `null`/`undefined` (and NaN, which other tools write for "missing")
 * are null; bigints (Parquet INT64) become numbers.
 *
 * @throws SelectionError `invalid-value` for text, lists and objects, which nothing here compares.
 */
export function cellValue(raw: unknown, column: string): CellValue {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === "number") return Number.isNaN(raw) ? null : raw;
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "bigint") return Number(raw);
  const what = typeof raw === "string" ? `text (${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)})` : Array.isArray(raw) ? "a list" : "an object";
  throw new SelectionError("invalid-value", `column "${column}" holds ${what}, which cannot be compared; compare numeric or boolean columns`, { column });
}

/**
 * Evaluates a parsed `--where` expression on one row with three-valued (SQL/Kleene) logic:
 *
 * - a comparison where either value is null is *unknown*, except `== null` and `!= null`, which test
 *   for null and are always true or false;
 * - `not unknown` is unknown, so `not (ifd < 1)` does not match a row whose `ifd` is null;
 * - `and` is false if either side is false, `or` is true if either side is true, otherwise unknown
 *   wins over the remaining side.
 *
 * A row is selected only when the result is `true`.
 *
 * @throws SelectionError `invalid-value` naming the column when a value has the wrong type for its
 *   use: text anywhere, a boolean compared with `<` or with a number, a number tested as a boolean.
 */
export function evaluateWhere(expression: WhereExpression, lookup: ColumnLookup): Truth {
  switch (expression.kind) {
    case "compare":
      return compare(expression.operator, expression.left, expression.right, lookup);
    case "test": {
      const name = expression.column.name;
      const value = cellValue(lookup(name), name);
      if (value === null) return null;
      if (typeof value !== "boolean") {
        throw new SelectionError("invalid-value", `column "${name}" holds numbers, not true/false; compare it, e.g. "${name} > 0"`, { column: name });
      }
      return value;
    }
    case "not": {
      const value = evaluateWhere(expression.operand, lookup);
      return value === null ? null : !value;
    }
    case "and": {
      const left = evaluateWhere(expression.left, lookup);
      if (left === false) return false;
      const right = evaluateWhere(expression.right, lookup);
      if (right === false) return false;
      return left === null || right === null ? null : true;
    }
    case "or": {
      const left = evaluateWhere(expression.left, lookup);
      if (left === true) return true;
      const right = evaluateWhere(expression.right, lookup);
      if (right === true) return true;
      return left === null || right === null ? null : false;
    }
  }
}

function compare(operator: string, left: Operand, right: Operand, lookup: ColumnLookup): Truth {
  const a = operandValue(left, lookup);
  const b = operandValue(right, lookup);
  if (left.kind === "null" || right.kind === "null") {
    const isNull = (left.kind === "null" ? b : a) === null;
    return operator === "==" ? isNull : !isNull;
  }
  if (a === null || b === null) return null;
  if (typeof a !== typeof b || (typeof a === "boolean" && operator !== "==" && operator !== "!=")) {
    throw mixedTypes([left, right], [a, b]);
  }
  if (typeof a === "boolean") return operator === "==" ? a === b : a !== b;
  const x = a;
  const y = b as number;
  switch (operator) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    case ">=":
      return x >= y;
    case "==":
      return x === y;
    default:
      return x !== y;
  }
}

function operandValue(operand: Operand, lookup: ColumnLookup): CellValue {
  switch (operand.kind) {
    case "column":
      return cellValue(lookup(operand.name), operand.name);
    case "number":
      return operand.value;
    case "boolean":
      return operand.value;
    case "null":
      return null;
  }
}

/** A boolean met a number, or met `<`: blame the column whose values are booleans, else the numeric one. */
function mixedTypes(operands: readonly Operand[], values: readonly CellValue[]): SelectionError {
  const booleanColumn = operands.find((operand, i) => operand.kind === "column" && typeof values[i] === "boolean");
  if (booleanColumn?.kind === "column") {
    const name = booleanColumn.name;
    return new SelectionError(
      "invalid-value",
      `column "${name}" holds true/false, which compares only with true or false (== or !=); test it with "${name}" or "not ${name}"`,
      { column: name },
    );
  }
  const numberColumn = operands.find((operand) => operand.kind === "column");
  const name = numberColumn?.kind === "column" ? numberColumn.name : "the column";
  return new SelectionError("invalid-value", `column "${name}" holds numbers; compare it with a number, not true or false`, { column: name });
}
