import { basename } from "node:path";
import { readSamples } from "../data/read-samples.js";
import type { FieldMapping } from "../data/sample.js";
import { UsageError } from "../exit-codes.js";
import { buildReportModel, extremePositions, type ReportModel, type SampleText, type TaskAssignment } from "./report-model.js";
import { renderReport } from "./render-report.js";
import { readReportRows } from "./report-rows.js";
import { collectRows, type RowColumns } from "./row-columns.js";

/** Options of {@link buildReport}. */
export interface BuildReportOptions extends FieldMapping {
  /** Results file written by `sftscore score` (JSONL, CSV or Parquet). */
  readonly results: string;
  /** The dataset the results were scored from: gives sample text and, with `taskField`, tasks. */
  readonly data?: string;
  /** Page title; default `Report on <results file name>`. */
  readonly title?: string;
  /** Samples listed at each end of each ranking; default 10. */
  readonly top?: number;
  /** The date printed on the page; default now. Fix it for byte-identical output. */
  readonly generatedAt?: Date;
}

/** The finished page and the model it shows. */
export interface BuiltReport {
  readonly html: string;
  readonly model: ReportModel;
}

/**
 * Reads a results file (and optionally its dataset) and renders the HTML report.
 *
 * Memory: the metric values of every row (8 bytes per metric per row), the ids, and per-sample task
 * labels; sample text only for the few ranked samples. The data file is streamed once.
 *
 * Task labels come from the data's `taskField` when both `data` and `taskField` are given; otherwise
 * from the rows' own `taskField` column (default `task`) when they have one.
 *
 * @throws DataError for unreadable or malformed files (naming file, line and field) and duplicate row
 *   indices; UsageError when the results and the data do not belong together (row count, an index
 *   beyond the data, or a differing id).
 */
export async function buildReport(options: BuildReportOptions): Promise<BuiltReport> {
  const top = options.top ?? 10;
  const rowTaskColumn = options.data !== undefined && options.taskField !== undefined ? undefined : (options.taskField ?? "task");
  const columns = await collectRows(options.results, readReportRows(options.results, rowTaskColumn));
  const wanted = new Set<number>();
  for (const list of extremePositions(columns, top)) for (const position of list.positions) wanted.add(columns.indices[position]);

  let tasks: TaskAssignment | undefined;
  let texts: Map<number, SampleText> | undefined;
  if (options.data !== undefined) {
    const fromData = await readData(options.data, options, columns, wanted);
    texts = fromData.texts;
    if (options.taskField !== undefined) tasks = { source: `field "${options.taskField}" of ${options.data}`, taskOfRow: fromData.taskOfRow };
  }
  if (tasks === undefined && columns.rowTasks !== undefined) tasks = { source: `column "${rowTaskColumn}" of ${options.results}`, taskOfRow: columns.rowTasks };

  const model = buildReportModel({
    columns,
    title: options.title ?? `Report on ${basename(options.results)}`,
    generatedAt: options.generatedAt ?? new Date(),
    top,
    ...(options.data === undefined ? {} : { dataFile: options.data }),
    ...(tasks === undefined ? {} : { tasks }),
    ...(texts === undefined ? {} : { texts }),
  });
  return { html: renderReport(model), model };
}

/**
 * Streams the dataset once: checks that it matches the rows one to one (same count, every index, same
 * ids where both have one), and keeps the task label of every row and the text of the wanted samples.
 */
async function readData(file: string, mapping: FieldMapping, columns: RowColumns, wanted: ReadonlySet<number>): Promise<{ taskOfRow: (string | undefined)[]; texts: Map<number, SampleText> }> {
  const taskOfRow = new Array<string | undefined>(columns.count).fill(undefined);
  const texts = new Map<number, SampleText>();
  // One string per distinct label, not one per sample: millions of rows share a few labels.
  const labels = new Map<string, string>();
  const intern = (label: string | undefined) => {
    if (label === undefined) return undefined;
    const known = labels.get(label);
    if (known !== undefined) return known;
    labels.set(label, label);
    return label;
  };
  let samples = 0;
  for await (const { sample, index } of readSamples(file, mapping)) {
    samples++;
    const position = columns.positionOf(index);
    if (position === -1) continue; // counted below: the numbers will not match
    const rowId = columns.ids[position];
    if (rowId !== undefined && sample.id !== undefined && rowId !== sample.id) {
      throw new UsageError(
        `${columns.file} ${columns.describePosition(position)} has id "${rowId}" but sample ${index} of ${file} has id "${sample.id}": ` +
          `are these the results of this data file (with the same --id-field)?`,
      );
    }
    taskOfRow[position] = intern(sample.task);
    if (wanted.has(index)) texts.set(index, { instruction: sample.instruction, input: sample.input, output: sample.output });
  }
  if (samples !== columns.count) {
    throw new UsageError(
      `${columns.file} has ${columns.count} row${columns.count === 1 ? "" : "s"} but ${file} has ${samples} sample${samples === 1 ? "" : "s"}: ` +
        `the report needs the results of a complete run (finish one with score --resume) and the data file it scored`,
    );
  }
  for (let position = 0; position < columns.count; position++) {
    if (columns.indices[position] >= samples) {
      throw new UsageError(`${columns.file} ${columns.describePosition(position)} has index ${columns.indices[position]} but ${file} has only ${samples} samples`);
    }
  }
  return { taskOfRow, texts };
}
