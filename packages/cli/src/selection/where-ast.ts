/** Comparison operators of the `--where` language. */
export type ComparisonOperator = "<" | "<=" | ">" | ">=" | "==" | "!=";

/** One side of a comparison: a column of the results, or a literal. */
export type Operand =
  | { readonly kind: "column"; readonly name: string; readonly position: number }
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly position: number }
  | { readonly kind: "null"; readonly position: number }
  | { readonly kind: "boolean"; readonly value: boolean; readonly position: number };

/**
 * A parsed `--where` expression. Positions are 0-based offsets into the expression text, kept so that
 * errors found after parsing (unknown columns, values of the wrong type) can still point at the text.
 */
export type WhereExpression =
  | { readonly kind: "compare"; readonly operator: ComparisonOperator; readonly left: Operand; readonly right: Operand; readonly text: string }
  | { readonly kind: "test"; readonly column: Extract<Operand, { kind: "column" }>; readonly text: string }
  | { readonly kind: "not"; readonly operand: WhereExpression; readonly text: string }
  | { readonly kind: "and" | "or"; readonly left: WhereExpression; readonly right: WhereExpression; readonly text: string };

/** A column reference with the expression it sits in, for error messages. */
export interface ColumnReference {
  readonly name: string;
  readonly position: number;
  /** The text of the whole expression the position refers to. */
  readonly expression: string;
}

/** Every column the expression reads, in order of appearance (repeats included). */
export function columnReferences(expression: WhereExpression): ColumnReference[] {
  const found: ColumnReference[] = [];
  const visit = (node: WhereExpression): void => {
    switch (node.kind) {
      case "compare":
        for (const side of [node.left, node.right]) {
          if (side.kind === "column") found.push({ name: side.name, position: side.position, expression: node.text });
        }
        return;
      case "test":
        found.push({ name: node.column.name, position: node.column.position, expression: node.text });
        return;
      case "not":
        visit(node.operand);
        return;
      case "and":
      case "or":
        visit(node.left);
        visit(node.right);
        return;
    }
  };
  visit(expression);
  return found;
}

/** Both expressions must hold. `text` of the result is only for display; positions stay in their own texts. */
export function allOf(left: WhereExpression, right: WhereExpression): WhereExpression {
  return { kind: "and", left, right, text: `${formatWhere(left)} and ${formatWhere(right)}` };
}

const PRECEDENCE = { or: 1, and: 2, not: 3, compare: 4, test: 4 } as const;

/**
 * The expression in canonical form: single spaces around operators, lower-case keywords, and
 * parentheses only where precedence needs them (`not` binds tighter than `and`, `and` than `or`).
 */
export function formatWhere(expression: WhereExpression): string {
  const wrap = (node: WhereExpression, parent: number): string => {
    const text = formatWhere(node);
    return PRECEDENCE[node.kind] < parent ? `(${text})` : text;
  };
  switch (expression.kind) {
    case "compare":
      return `${formatOperand(expression.left)} ${expression.operator} ${formatOperand(expression.right)}`;
    case "test":
      return expression.column.name;
    case "not":
      return `not ${wrap(expression.operand, PRECEDENCE.not)}`;
    case "and":
    case "or":
      // Both operators are associative, so a same-kind child needs no parentheses on either side.
      return `${wrap(expression.left, PRECEDENCE[expression.kind])} ${expression.kind} ${wrap(expression.right, PRECEDENCE[expression.kind])}`;
  }
}

/** One operand as written in `--where`: a column name, the number as typed, `null`, `true`/`false`. */
export function formatOperand(operand: Operand): string {
  switch (operand.kind) {
    case "column":
      return operand.name;
    case "number":
      return operand.text;
    case "null":
      return "null";
    case "boolean":
      return String(operand.value);
  }
}
