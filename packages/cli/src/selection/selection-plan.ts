import { PRESETS, type PresetName, type RankOrder, type SelectionPreset } from "./presets.js";
import { SelectionError } from "./selection-error.js";
import { allOf, columnReferences, formatWhere, type WhereExpression } from "./where-ast.js";
import { parseWhere } from "./where-parser.js";
import { parseTop, type TopSpec } from "./top-spec.js";

/** What the user asked for: `select`'s options, before any file is read. */
export interface SelectionOptions {
  readonly preset?: PresetName;
  /** A `--where` expression (see `parseWhere`). With a preset, both its filter and this must hold. */
  readonly where?: string;
  /** Column to rank by. */
  readonly by?: string;
  /** Ranking direction; default `desc` (largest first), or the preset's. */
  readonly order?: RankOrder;
  /** `--top`: a count (`500`) or a percentage of all rows (`10%`). */
  readonly top?: string;
  /** The preset's threshold (only with a preset). */
  readonly threshold?: number;
}

/** A checked, resolved selection: a filter, a ranking and a cut. */
export interface SelectionPlan {
  /** The filter: the preset's and `--where`, both must hold; none keeps every row. */
  readonly where?: WhereExpression;
  readonly by?: string;
  readonly order: RankOrder;
  readonly top?: TopSpec;
  readonly preset?: SelectionPreset;
  /** The preset's threshold in effect. */
  readonly threshold?: number;
}

/**
 * Resolves options and a preset into one plan: explicit `--by`, `--order`, `--top` and `--threshold`
 * replace the preset's parts, and `--where` is added to its filter (a row must pass both).
 *
 * @throws SelectionError `invalid-expression` for a bad `--where` (with its position);
 *   `invalid-option` for a bad `--top` or `--threshold`, `--threshold` without a preset, `--order` or
 *   `--top` with nothing to rank by, or no criterion at all.
 */
export function planSelection(options: SelectionOptions): SelectionPlan {
  const preset = options.preset === undefined ? undefined : PRESETS[options.preset];
  if (options.threshold !== undefined) {
    if (preset === undefined) throw new SelectionError("invalid-option", "--threshold sets a preset's threshold; without --preset, write the condition with --where");
    if (!Number.isFinite(options.threshold)) throw new SelectionError("invalid-option", "--threshold: expected a number");
  }
  const threshold = preset === undefined ? undefined : (options.threshold ?? preset.defaultThreshold);
  const presetFilter = preset === undefined || threshold === undefined ? undefined : parseWhere(preset.filter(threshold));
  const userFilter = options.where === undefined ? undefined : parseWhere(options.where);
  const where = presetFilter !== undefined && userFilter !== undefined ? allOf(presetFilter, userFilter) : (presetFilter ?? userFilter);

  const by = options.by ?? preset?.by;
  if (by === undefined && options.order !== undefined) throw new SelectionError("invalid-option", "--order ranks by a column: give --by too");
  const topText = options.top ?? preset?.top;
  if (by === undefined && topText !== undefined) throw new SelectionError("invalid-option", "--top keeps the best-ranked rows: give --by (the column to rank by) too");
  if (where === undefined && by === undefined) {
    throw new SelectionError("invalid-option", "nothing to select by: give --where, --by (with --top), or --preset");
  }
  return {
    order: options.order ?? preset?.order ?? "desc",
    ...(where === undefined ? {} : { where }),
    ...(by === undefined ? {} : { by }),
    ...(topText === undefined ? {} : { top: parseTop(topText) }),
    ...(preset === undefined ? {} : { preset }),
    ...(threshold === undefined ? {} : { threshold }),
  };
}

/**
 * Checks that every column the plan reads exists in the results.
 * @throws SelectionError `unknown-column`, listing the known columns (and, for `--where`, pointing at
 *   the name in the expression).
 */
export function checkPlanColumns(plan: SelectionPlan, columns: readonly string[]): void {
  const known = new Set(columns);
  const list = columns.join(", ");
  if (plan.preset !== undefined) {
    const missing = plan.preset.columns.filter((column) => !known.has(column));
    if (missing.length > 0) {
      throw new SelectionError(
        "unknown-column",
        `--preset ${plan.preset.name} needs the column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `"${c}"`).join(", ")}, which the results do not have ` +
          `(score with --metrics including ${missing.join(", ")}); known columns: ${list}`,
        { column: missing[0] },
      );
    }
  }
  if (plan.where !== undefined) {
    const unknown = columnReferences(plan.where).find((reference) => !known.has(reference.name));
    if (unknown !== undefined) {
      throw new SelectionError("unknown-column", `--where: unknown column "${unknown.name}" at character ${unknown.position + 1}; known columns: ${list}`, {
        place: { expression: unknown.expression, position: unknown.position },
        column: unknown.name,
      });
    }
  }
  if (plan.by !== undefined && !known.has(plan.by)) {
    throw new SelectionError("unknown-column", `--by: unknown column "${plan.by}"; known columns: ${list}`, { column: plan.by });
  }
}

/** The columns the plan reads: the filter's and the ranking column, each once. */
export function planColumns(plan: SelectionPlan): string[] {
  const names = plan.where === undefined ? [] : columnReferences(plan.where).map((reference) => reference.name);
  if (plan.by !== undefined) names.push(plan.by);
  return [...new Set(names)];
}

/** The filter in canonical form, for the summary; `undefined` when there is none. */
export function describeFilter(plan: SelectionPlan): string | undefined {
  return plan.where === undefined ? undefined : formatWhere(plan.where);
}
