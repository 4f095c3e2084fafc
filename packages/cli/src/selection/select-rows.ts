import { rankRows } from "./rank-rows.js";
import { SelectionError } from "./selection-error.js";
import type { SelectionPlan } from "./selection-plan.js";
import { topCount } from "./top-spec.js";
import { cellValue, evaluateWhere, type ColumnLookup } from "./where-evaluate.js";

/** The values at the cut of a ranked selection, for the summary. */
export interface SelectionCut {
  /** The `--by` value of the best selected row. */
  readonly first: number;
  /** The `--by` value of the last selected row with a value: the threshold the cut fell at. */
  readonly last: number;
  /** The `--by` value of the best row that passed the filter but was not selected, if any. */
  readonly next?: number;
}

/** What a selection did, with counts for the summary. */
export interface SelectionOutcome {
  /** Rows seen. `--top P%` is P% of this. */
  readonly rows: number;
  /** Rows the filter kept (all rows without a filter). */
  readonly passed: number;
  /** Rows the filter rejected because a condition was false. */
  readonly failed: number;
  /** Rows the filter rejected because a compared value was null (the expression was unknown). */
  readonly unknown: number;
  /** Passed rows whose `--by` value is null: ranked last, never taken by `--top`. */
  readonly unranked: number;
  /** The count `--top` asked for, when given. */
  readonly wanted?: number;
  /** Indices of the selected rows: in rank order with `--by`, else ascending. */
  readonly selected: readonly number[];
  /** `--by` values at the cut (when something with a value was selected). */
  readonly cut?: SelectionCut;
}

/** Takes rows one at a time (in any order) and selects at the end. */
export interface Selector {
  /**
   * Adds a row: `index` is its sample's position in the data, `lookup` reads its columns.
   * @throws SelectionError `invalid-value` when a value cannot be compared or ranked.
   */
  add(index: number, lookup: ColumnLookup): void;
  /** Ranks and cuts; call once, after the last row. */
  finish(): SelectionOutcome;
}

/**
 * Creates a selector for a plan: each row is filtered as it is added (only the indices and `--by`
 * values of passing rows are kept), and `finish()` ranks them (`rankRows`: nulls last, ties by index)
 * and keeps the first `--top` rows. Without `--top` every passing row is selected, rows with a null
 * `--by` value included (last); with it, ⌊P% × all rows⌋ or N rows with a value, or fewer when fewer
 * pass.
 *
 * @example
 * ```ts
 * const selector = createSelector(planSelection({ preset: "cherry" }));
 * for (const row of rows) selector.add(row.index, (column) => row[column]);
 * const { selected } = selector.finish();
 * ```
 */
export function createSelector(plan: SelectionPlan): Selector {
  const indices: number[] = [];
  const values: number[] = [];
  let rows = 0;
  let failed = 0;
  let unknown = 0;
  return {
    add(index: number, lookup: ColumnLookup): void {
      rows++;
      const keep = plan.where === undefined ? true : evaluateWhere(plan.where, lookup);
      if (keep !== true) {
        if (keep === null) unknown++;
        else failed++;
        return;
      }
      indices.push(index);
      if (plan.by !== undefined) values.push(rankValue(lookup(plan.by), plan.by));
    },
    finish(): SelectionOutcome {
      const counts = { rows, passed: indices.length, failed, unknown };
      if (plan.by === undefined) return { ...counts, unranked: 0, selected: [...indices].sort((a, b) => a - b) };
      const { ranked, unranked } = rankRows(indices, values, plan.order);
      const wanted = plan.top === undefined ? undefined : topCount(plan.top, rows);
      const taken = wanted === undefined ? ranked.length : Math.min(wanted, ranked.length);
      const selected = Array.from(ranked.subarray(0, taken), (position) => indices[position]);
      if (wanted === undefined) for (const position of unranked) selected.push(indices[position]);
      const cut =
        taken === 0
          ? undefined
          : {
              first: values[ranked[0]],
              last: values[ranked[taken - 1]],
              ...(taken < ranked.length ? { next: values[ranked[taken]] } : {}),
            };
      return { ...counts, unranked: unranked.length, selected, ...(wanted === undefined ? {} : { wanted }), ...(cut === undefined ? {} : { cut }) };
    },
  };
}

/** A `--by` value as a number, NaN for null. */
function rankValue(raw: unknown, column: string): number {
  const value = cellValue(raw, column);
  if (value === null) return Number.NaN;
  if (typeof value === "boolean") throw new SelectionError("invalid-value", `--by: column "${column}" holds true/false; rank by a numeric column`, { column });
  return value;
}
