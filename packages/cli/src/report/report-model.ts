import { isPerplexityMetric, type MetricName } from "@sftscore/metrics";
import { selectExtremes } from "./extremes.js";
import { binValues, type AxisKind, type Histogram } from "./histogram.js";
import { median, summarize, type Summary } from "./quantiles.js";
import type { RowColumns } from "./row-columns.js";
import type { ScatterPoint } from "./scatter-chart.js";
import type { TaskValues } from "./task-chart.js";

/** The text of a sample, shown for the top and bottom samples. */
export interface SampleText {
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

/** Where task labels come from, and each row's label. */
export interface TaskAssignment {
  /** Human-readable origin, e.g. `field "task" of data.json`. */
  readonly source: string;
  /** Label per row position; `undefined` for a sample without one. */
  readonly taskOfRow: readonly (string | undefined)[];
}

/** Metrics whose samples are ranked, with their text, at the top and the bottom. */
export const RANKED_METRICS = ["ifd", "response_ppl"] as const satisfies readonly MetricName[];

/** At most this many tasks get a table row and a chart row; the rest are counted in a note. */
export const MAX_TASKS = 50;

/** Label of the group of samples without a task label. */
export const NO_TASK = "(no task)";

/** Everything the report page shows, computed; rendering only formats it. */
export interface ReportModel {
  readonly title: string;
  readonly resultsFile: string;
  readonly dataFile?: string;
  readonly generatedAt: Date;
  readonly rowCount: number;
  readonly metrics: readonly MetricName[];
  /** Null counts by reason, largest first, with the columns each reason affects. */
  readonly nullsByReason: readonly { readonly reason: string; readonly total: number; readonly columns: readonly (readonly [string, number])[] }[];
  readonly truncated: number;
  readonly boundaryMerged: number;
  readonly distributions: readonly MetricDistribution[];
  /** Present when the rows have both `ifd` and `rifd`. */
  readonly scatter?: { readonly points: readonly ScatterPoint[]; readonly missing: number };
  readonly tasks?: TaskBreakdown;
  readonly extremes: readonly ExtremeList[];
  readonly top: number;
  /** Whether sample text is available (`--data` was given). */
  readonly hasText: boolean;
}

export interface MetricDistribution {
  readonly metric: MetricName;
  readonly axis: AxisKind;
  /** Undefined when every value is null. */
  readonly summary?: Summary;
  readonly histogram: Histogram;
  readonly nulls: number;
  /** Null counts by reason, largest first. */
  readonly nullReasons: readonly (readonly [string, number])[];
}

export interface TaskBreakdown {
  readonly source: string;
  /** Largest first, then by name; at most {@link MAX_TASKS}. */
  readonly groups: readonly TaskGroup[];
  /** Tasks left out beyond {@link MAX_TASKS}. */
  readonly hidden: number;
  readonly totalTasks: number;
  /** The one-shot validity's distinct values when there are few (sign mode), for stacked bars. */
  readonly validityDistinct?: readonly number[];
}

export interface TaskGroup {
  readonly task: string;
  readonly count: number;
  /** Median per metric; undefined when all of the task's values are null. */
  readonly medians: ReadonlyMap<MetricName, number | undefined>;
  /** Present when the rows have `oneshot_validity`. */
  readonly validity?: TaskValues;
}

export interface ExtremeList {
  readonly metric: (typeof RANKED_METRICS)[number];
  readonly direction: "highest" | "lowest";
  readonly entries: readonly ExtremeEntry[];
}

export interface ExtremeEntry {
  readonly rank: number;
  readonly index: number;
  readonly id?: string;
  readonly task?: string;
  readonly values: readonly (readonly [MetricName, number | null])[];
  readonly text?: SampleText;
}

/** Ratios and perplexities are drawn on log axes; the one-shot validity on a linear one. */
export function axisOf(metric: MetricName): AxisKind {
  return isPerplexityMetric(metric) || metric === "ifd" || metric === "rifd" ? "log" : "linear";
}

/**
 * The row positions of the samples whose text the report shows: the `top` highest and lowest by each
 * ranked metric, in display order (see {@link RANKED_METRICS}).
 */
export function extremePositions(columns: RowColumns, top: number): { metric: (typeof RANKED_METRICS)[number]; direction: "highest" | "lowest"; positions: number[] }[] {
  const lists: { metric: (typeof RANKED_METRICS)[number]; direction: "highest" | "lowest"; positions: number[] }[] = [];
  for (const metric of RANKED_METRICS) {
    const values = columns.values.get(metric);
    if (values === undefined) continue;
    for (const direction of ["highest", "lowest"] as const) lists.push({ metric, direction, positions: selectExtremes(values, top, direction, columns.indices) });
  }
  return lists;
}

/** Options of {@link buildReportModel}. */
export interface ReportModelInputs {
  readonly columns: RowColumns;
  readonly title: string;
  readonly generatedAt: Date;
  readonly top: number;
  readonly dataFile?: string;
  readonly tasks?: TaskAssignment;
  /** Texts by sample index (at least those of the extreme samples). */
  readonly texts?: ReadonlyMap<number, SampleText>;
}

/** Computes the whole report from the collected rows, task labels and texts. */
export function buildReportModel(inputs: ReportModelInputs): ReportModel {
  const { columns } = inputs;
  const distributions = columns.metrics.map((metric) => distributionOf(columns, metric));
  const ifd = columns.values.get("ifd");
  const rifd = columns.values.get("rifd");
  let scatter: ReportModel["scatter"];
  if (ifd !== undefined && rifd !== undefined) {
    const points: ScatterPoint[] = [];
    for (let p = 0; p < columns.count; p++) {
      if (ifd[p] > 0 && rifd[p] > 0) points.push({ index: columns.indices[p], ...(columns.ids[p] === undefined ? {} : { id: columns.ids[p] }), ifd: ifd[p], rifd: rifd[p] });
    }
    scatter = { points, missing: columns.count - points.length };
  }
  const taskOf = (position: number) => inputs.tasks?.taskOfRow[position];
  const extremes: ExtremeList[] = extremePositions(columns, inputs.top).map(({ metric, direction, positions }) => ({
    metric,
    direction,
    entries: positions.map((position, rank) => {
      const index = columns.indices[position];
      const id = columns.ids[position];
      const task = taskOf(position);
      const text = inputs.texts?.get(index);
      return {
        rank: rank + 1,
        index,
        ...(id === undefined ? {} : { id }),
        ...(task === undefined ? {} : { task }),
        values: columns.metrics.map((m) => [m, nullable((columns.values.get(m) as Float64Array)[position])] as const),
        ...(text === undefined ? {} : { text }),
      };
    }),
  }));
  const nullsByReason = [...columns.nullsByReason]
    .map(([reason, byColumn]) => ({ reason, total: sum(byColumn.values()), columns: [...byColumn].sort(byCountThenName) }))
    .sort((a, b) => b.total - a.total || a.reason.localeCompare(b.reason));
  return {
    title: inputs.title,
    resultsFile: columns.file,
    ...(inputs.dataFile === undefined ? {} : { dataFile: inputs.dataFile }),
    generatedAt: inputs.generatedAt,
    rowCount: columns.count,
    metrics: columns.metrics,
    nullsByReason,
    truncated: columns.truncated,
    boundaryMerged: columns.boundaryMerged,
    distributions,
    ...(scatter === undefined ? {} : { scatter }),
    ...(inputs.tasks === undefined ? {} : { tasks: taskBreakdown(columns, inputs.tasks) }),
    extremes,
    top: inputs.top,
    hasText: inputs.texts !== undefined,
  };
}

function distributionOf(columns: RowColumns, metric: MetricName): MetricDistribution {
  const values = columns.values.get(metric) as Float64Array;
  const axis = axisOf(metric);
  const summary = summarize(values);
  const reasons = [...(columns.metricNulls.get(metric) ?? new Map<string, number>())].sort(byCountThenName);
  return {
    metric,
    axis,
    ...(summary === undefined ? {} : { summary }),
    histogram: binValues(values, { axis }),
    nulls: sum(reasons.map(([, count]) => count)),
    nullReasons: reasons,
  };
}

function taskBreakdown(columns: RowColumns, tasks: TaskAssignment): TaskBreakdown {
  const members = new Map<string, number[]>();
  for (let p = 0; p < columns.count; p++) {
    const task = tasks.taskOfRow[p] ?? NO_TASK;
    const list = members.get(task) ?? [];
    members.set(task, list);
    list.push(p);
  }
  const ordered = [...members].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const validity = columns.values.get("oneshot_validity");
  const groups = ordered.slice(0, MAX_TASKS).map(([task, positions]): TaskGroup => {
    const medians = new Map<MetricName, number | undefined>();
    for (const metric of columns.metrics) {
      const values = columns.values.get(metric) as Float64Array;
      medians.set(metric, median(positions.map((p) => values[p])));
    }
    if (validity === undefined) return { task, count: positions.length, medians };
    const kept = positions.filter((p) => !Number.isNaN(validity[p]));
    return {
      task,
      count: positions.length,
      medians,
      validity: { task, values: kept.map((p) => validity[p]), indices: kept.map((p) => columns.indices[p]), nulls: positions.length - kept.length },
    };
  });
  const distinct = validity === undefined ? undefined : binValues(validity, { maxDistinct: 12 });
  return {
    source: tasks.source,
    groups,
    hidden: Math.max(0, ordered.length - MAX_TASKS),
    totalTasks: ordered.length,
    ...(distinct?.kind === "distinct" && distinct.values.length > 0 ? { validityDistinct: distinct.values } : {}),
  };
}

function nullable(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function byCountThenName(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}
