/** Comparing the result files of runs that must agree (same data, same model, different engines). */

/** How the result rows of several runs compare with the first run's. */
export interface RowAgreement {
  /** Rows of the first run. */
  readonly rows: number;
  /** Rows (by `index`) whose JSON differs from the first run's in any later run, or that a run lacks. */
  readonly differing: number;
}

/**
 * Compares the JSONL result files' text row by row, keyed by each row's `index` (so the order rows
 * were written in does not matter); rows must be byte-identical.
 *
 * @throws Error for a line that is not a JSON object with a numeric `index`.
 */
export function compareResultRows(texts: readonly string[]): RowAgreement {
  const [first, ...others] = texts.map(rowsByIndex);
  const differing = new Set<number>();
  for (const other of others) {
    for (const [index, line] of first) if (other.get(index) !== line) differing.add(index);
    for (const index of other.keys()) if (!first.has(index)) differing.add(index);
  }
  return { rows: first?.size ?? 0, differing: differing.size };
}

function rowsByIndex(text: string): Map<number, string> {
  const rows = new Map<number, string>();
  for (const [lineNumber, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const index = (JSON.parse(line) as { index?: unknown }).index;
    if (typeof index !== "number") throw new Error(`result line ${lineNumber + 1} has no numeric "index"`);
    rows.set(index, line);
  }
  return rows;
}
