import { stat } from "node:fs/promises";
import { DataError } from "../../data/data-error.js";
import { openResultRows, type ResultRowAt } from "../../data/read-result-rows.js";
import { readSamples } from "../../data/read-samples.js";
import type { SourcedSample } from "../../data/sample.js";
import { writeSubset } from "../../data/write-subset.js";
import { ExitCode, UsageError } from "../../exit-codes.js";
import { fieldMappingOf, type FieldOptions } from "../../options/field-options.js";
import { createSelector } from "../../selection/select-rows.js";
import { SelectionError } from "../../selection/selection-error.js";
import { checkPlanColumns, planColumns, planSelection, type SelectionPlan } from "../../selection/selection-plan.js";
import type { SelectCommandOptions } from "./command.js";
import { createRowJoin, type RowJoin } from "./row-join.js";
import { formatSelectSummary } from "./select-summary.js";

/** What {@link run} reads of the parsed command line (camelCase keys). */
export type SelectRunOptions = Pick<
  SelectCommandOptions,
  | "results"
  | "data"
  | "out"
  | "preset"
  | "where"
  | "by"
  | "order"
  | "top"
  | "threshold"
  | "keepRankOrder"
  | "overwrite"
  | keyof FieldOptions
>;

/**
 * `sftscore select`: reads the result rows, filters and ranks them (`createSelector`), checks them
 * against the data file (same count, same ids), and writes the chosen samples' original records with
 * `writeSubset` (to a temporary file renamed into place, so an error leaves no output).
 *
 * @returns {@link ExitCode.ok}
 * @throws UsageError for bad options, unknown columns and `--where` syntax; DataError for unreadable
 *   or mismatched files (both exit with code 2).
 */
export async function run(options: SelectRunOptions): Promise<number> {
  const plan = asUsage(() =>
    planSelection({
      ...(options.preset === undefined ? {} : { preset: options.preset }),
      ...(options.where === undefined ? {} : { where: options.where }),
      ...(options.by === undefined ? {} : { by: options.by }),
      ...(options.order === undefined ? {} : { order: options.order }),
      ...(options.top === undefined ? {} : { top: options.top }),
      ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
    }),
  );
  if (options.keepRankOrder && plan.by === undefined) throw new UsageError("--keep-rank-order writes the subset in rank order: give --by (or a --preset) too");
  await refuseExistingOutput(options.out, options.overwrite === true);

  const { outcome, join, rows } = await selectFromResults(options.results, options.data, plan);
  const rank = new Int32Array(rows).fill(-1);
  outcome.selected.forEach((index, position) => (rank[index] = position));

  let records = 0;
  let samples = 0;
  async function* chosen(): AsyncGenerator<SourcedSample> {
    for await (const sourced of readSamples(options.data, fieldMappingOf(options))) {
      join.checkSample(sourced);
      samples++;
      records = sourced.recordIndex + 1;
      if (rank[sourced.index] >= 0) yield sourced;
    }
    join.finishSamples(samples);
  }
  const subset = { overwrite: options.overwrite === true };
  let written: number;
  if (options.keepRankOrder) {
    const ordered: SourcedSample[] = [];
    for await (const sourced of chosen()) ordered[rank[sourced.index]] = sourced;
    written = await writeSubset(options.data, options.out, ordered, subset);
  } else {
    // Streams: join errors surface inside writeSubset, which then removes its temporary file.
    written = await writeSubset(options.data, options.out, chosen(), subset);
  }
  process.stderr.write(
    formatSelectSummary(plan, outcome, { results: options.results, data: options.data, out: options.out, records, written, rankOrder: options.keepRankOrder }),
  );
  return ExitCode.ok;
}

/** Pass 1: every result row through the join checks and the selector. */
async function selectFromResults(results: string, data: string, plan: SelectionPlan) {
  const file = await openResultRows(results);
  try {
    asUsage(() => checkPlanColumns(plan, file.columns));
    if (!file.columns.includes("index")) {
      throw new DataError("invalid-input", `the results have no "index" column (columns: ${file.columns.join(", ")}); select reads the rows \`sftscore score\` writes`, { file: results });
    }
    const join: RowJoin = createRowJoin(results, data);
    const selector = createSelector(plan);
    for await (const at of file.rows(["index", "id", ...planColumns(plan)])) {
      const index = join.addRow(at);
      try {
        selector.add(index, (column) => at.row[column]);
      } catch (error: unknown) {
        throw located(error, results, at);
      }
    }
    const rows = join.finishRows();
    return { outcome: selector.finish(), join, rows };
  } finally {
    await file.close();
  }
}

/** Runs planning code, turning its SelectionErrors into UsageErrors (exit code 2) with the same message. */
function asUsage<T>(step: () => T): T {
  try {
    return step();
  } catch (error: unknown) {
    if (error instanceof SelectionError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** A value the selection cannot use is a problem of the results file: name the row. */
function located(error: unknown, file: string, at: ResultRowAt): unknown {
  if (!(error instanceof SelectionError)) return error;
  const place = at.line === undefined ? { file, row: at.position } : { file, line: at.line, row: at.position };
  return new DataError("invalid-input", error.detail, { ...place, ...(error.column === undefined ? {} : { field: error.column }) }, { cause: error });
}

/** Fails before reading anything when --out would be refused anyway (writeSubset checks again). */
async function refuseExistingOutput(out: string, overwrite: boolean): Promise<void> {
  if (overwrite) return;
  const stats = await stat(out).catch(() => undefined);
  if (stats !== undefined && stats.isFile() && stats.size > 0) {
    throw new DataError("output-exists", "the output file already exists and is not empty; pass --overwrite to replace it", { file: out });
  }
}
