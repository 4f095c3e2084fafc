/**
 * Why a selection cannot be made:
 *
 * - `invalid-expression`: a `--where` expression does not parse; {@link SelectionError.position} is
 *   the offending character.
 * - `unknown-column`: `--where`, `--by` or a preset names a column the results do not have.
 * - `invalid-option`: an option value or combination is unusable (`--top 5x`, `--threshold` without
 *   a preset, `--order` without anything to rank by).
 * - `invalid-value`: a row holds a value the expression cannot compare (text where a number is
 *   needed, a number where a boolean is tested). The caller adds the row's place in its file.
 */
export type SelectionErrorCode = "invalid-expression" | "unknown-column" | "invalid-option" | "invalid-value";

/** Where in an expression a {@link SelectionError} points. */
export interface ExpressionPlace {
  /** The expression's text, as the user typed it. */
  readonly expression: string;
  /** 0-based offset (UTF-16 code units) of the offending character. */
  readonly position: number;
}

/**
 * The selection logic's one error type. Messages lead with the option they concern (`--where: ...`);
 * expression errors end with the expression and a caret under the offending character.
 */
export class SelectionError extends Error {
  override readonly name = "SelectionError";
  readonly code: SelectionErrorCode;
  /** The expression and offset, for `invalid-expression` and for unknown columns in `--where`. */
  readonly place?: ExpressionPlace;
  /** The column concerned, for `unknown-column` and `invalid-value`. */
  readonly column?: string;
  /** The message without the caret lines. */
  readonly detail: string;

  constructor(code: SelectionErrorCode, detail: string, details: { place?: ExpressionPlace; column?: string } = {}) {
    super(details.place === undefined ? detail : `${detail}\n${pointAt(details.place)}`);
    this.code = code;
    this.detail = detail;
    if (details.place !== undefined) this.place = details.place;
    if (details.column !== undefined) this.column = details.column;
  }
}

/** Two lines: the expression, and a caret under `position` (one past the end for "unexpected end"). */
export function pointAt(place: ExpressionPlace): string {
  const shown = place.expression.replace(/[\t\r\n]/g, " ");
  return `  ${shown}\n  ${" ".repeat(Math.max(0, Math.min(place.position, shown.length)))}^`;
}
