import { formatTop } from "../../selection/top-spec.js";
import type { SelectionOutcome } from "../../selection/select-rows.js";
import type { SelectionPlan } from "../../selection/selection-plan.js";
import { describeFilter } from "../../selection/selection-plan.js";

/** What `select` read and wrote, beyond the selection itself. */
export interface SelectFiles {
  readonly results: string;
  readonly data: string;
  readonly out: string;
  /** Records of the data file (conversations hold several samples). */
  readonly records: number;
  /** Records written to the subset. */
  readonly written: number;
  readonly rankOrder: boolean;
}

/**
 * The summary `select` prints on stderr: rows read, what the filter kept and why the others went,
 * the ranking, the cut and the values at it, and what was written. Ends with a newline.
 */
export function formatSelectSummary(plan: SelectionPlan, outcome: SelectionOutcome, files: SelectFiles): string {
  const lines: string[] = [];
  const { rows } = outcome;
  const samples = `${count(rows, "sample")}${files.records === rows ? "" : ` in ${count(files.records, "record")}`}`;
  lines.push(`read ${count(rows, "row")} from ${files.results} for ${samples} of ${files.data}`);
  if (plan.preset !== undefined) lines.push(`preset ${plan.preset.name} (threshold ${plan.threshold}): ${plan.preset.source}`);
  const filter = describeFilter(plan);
  if (filter !== undefined) {
    const why = outcome.unknown > 0 ? ` (${outcome.unknown} of them because a compared value is null)` : "";
    lines.push(`filter ${filter}: ${outcome.passed} of ${rows} rows pass, ${outcome.failed + outcome.unknown} do not${why}`);
  }
  if (plan.by !== undefined) {
    const one = outcome.unranked === 1;
    const fate = plan.top === undefined ? (one ? "comes last" : "come last") : one ? "is never taken" : "are never taken";
    const nulls = outcome.unranked > 0 ? `; ${count(outcome.unranked, "row")} ${one ? "has" : "have"} no ${plan.by} (null) and ${fate}` : "";
    lines.push(`rank by ${plan.by}, ${plan.order === "desc" ? "highest" : "lowest"} first, ties by index${nulls}`);
  }
  if (plan.top !== undefined && outcome.wanted !== undefined) {
    const asked = plan.top.kind === "percent" ? `${formatTop(plan.top)} of ${rows} rows = ${outcome.wanted}` : String(outcome.wanted);
    const short = outcome.selected.length < outcome.wanted ? ` (only ${outcome.selected.length} rows passed with a ${plan.by} value)` : "";
    lines.push(`top ${asked}: ${outcome.selected.length} rows selected${short}`);
  } else {
    lines.push(`${outcome.selected.length} rows selected`);
  }
  if (plan.by !== undefined && outcome.cut !== undefined) {
    const { first, last, next } = outcome.cut;
    const after = next === undefined ? "" : `; the next row below the cut has ${format(next)}`;
    lines.push(`cut: ${plan.by} ${format(first)} (first selected) to ${format(last)} (last selected)${after}`);
  }
  const order = files.rankOrder ? "in rank order" : "in the data's order";
  lines.push(`wrote ${count(files.written, "record")} to ${files.out}, ${order}`);
  if (outcome.selected.length === 0) lines.push("warning: nothing was selected; the subset is empty");
  return `${lines.join("\n")}\n`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Six significant digits, without trailing zeros. */
function format(value: number): string {
  return String(Number(value.toPrecision(6)));
}
