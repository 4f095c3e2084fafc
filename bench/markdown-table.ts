/** GitHub-flavoured Markdown tables for the sections of BENCHMARKS.md. */

/** A column: its header, and whether its cells are numbers (right-aligned). */
export interface Column {
  readonly header: string;
  readonly numeric?: boolean;
}

/** A table with one line per row; a `|` inside a cell is escaped. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(columns.map((c) => c.header)), `|${columns.map((c) => (c.numeric ? "---:" : "---")).join("|")}|`, ...rows.map(line)].join("\n");
}
