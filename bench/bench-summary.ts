/**
 * The summary at the top of BENCHMARKS.md: when, where and how long each section was last measured,
 * and every target across sections, met or missed. A run with `--only` replaces the records of the
 * sections it ran and keeps the others', which the summary carries in a machine-readable comment
 * (`<!-- bench:records [...] -->`) so that no figure is ever parsed back out of the Markdown.
 */
import type { BenchContext, TargetOutcome } from "./bench-section.js";
import { markdownTable } from "./markdown-table.js";

/** The outcome of one section in one run. */
export interface SectionRecord {
  readonly name: string;
  /** ISO time the section started. */
  readonly measuredAt: string;
  readonly seconds: number;
  readonly device: BenchContext["device"];
  /** {@link describeMachine} of the machine it ran on. */
  readonly machine: string;
  /** Set when the section threw: its text in BENCHMARKS.md is then from an earlier run. */
  readonly error?: string;
  readonly targets: readonly TargetOutcome[];
}

/** The run that writes the summary. */
export interface RunInfo {
  readonly startedAt: string;
  readonly totalSeconds: number;
  readonly device: BenchContext["device"];
  readonly machine: string;
  /** The command as typed, e.g. `npm run bench -- --only scale`. */
  readonly command: string;
  /** Sections this run ran. */
  readonly ran: readonly string[];
  /** Sections this run skipped because they do not measure on its device. */
  readonly skipped: readonly string[];
}

const RECORDS_START = "<!-- bench:records ";
const RECORDS_END = " -->";

/**
 * The records kept in a summary section's body; none when there is no summary yet.
 *
 * @throws Error naming `file` when the records comment is not what {@link renderSummary} writes.
 */
export function parseRecords(summaryBody: string | undefined, file: string): SectionRecord[] {
  if (summaryBody === undefined) return [];
  const from = summaryBody.indexOf(RECORDS_START);
  if (from < 0) return [];
  const to = summaryBody.indexOf(RECORDS_END, from + RECORDS_START.length);
  const fail = (why: string) => new Error(`${file}: the summary's "bench:records" comment ${why}; delete that line to start the summary afresh`);
  if (to < 0) throw fail("is not closed");
  let records: unknown;
  try {
    records = JSON.parse(summaryBody.slice(from + RECORDS_START.length, to));
  } catch (error) {
    throw fail(`is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(records) || !records.every(isSectionRecord)) throw fail("does not hold section records");
  return records;
}

/** `previous` with the sections of `current` replaced, in `order` (unknown names last). */
export function mergeRecords(previous: readonly SectionRecord[], current: readonly SectionRecord[], order: readonly string[]): SectionRecord[] {
  const byName = new Map(previous.map((record) => [record.name, record]));
  for (const record of current) byName.set(record.name, record);
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...byName.values()].sort((a, b) => rank(a.name) - rank(b.name));
}

/** Required targets missed, and sections that failed, across `records`. */
export function requiredFailures(records: readonly SectionRecord[]): string[] {
  return records.flatMap((record) => [
    ...(record.error === undefined ? [] : [`${record.name}: the section failed: ${firstLine(record.error)}`]),
    ...record.targets.filter((target) => target.required && !target.met).map((target) => `${record.name}: ${target.description}`),
  ]);
}

/** The summary section's Markdown, ending with the records comment. */
export function renderSummary(run: RunInfo, records: readonly SectionRecord[]): string {
  const machines = new Set(records.map((record) => record.machine));
  const sectionRows = records.map((record) => {
    const met = record.targets.filter((target) => target.met).length;
    const result =
      record.error !== undefined ? `**failed**: ${firstLine(record.error)}` : record.targets.length === 0 ? "no targets" : `${met} of ${record.targets.length} targets met`;
    return [record.name, record.measuredAt.replace(/\.\d+Z$/, "Z"), record.device, `${record.seconds.toFixed(0)} s`, result];
  });
  const targetRows = records.flatMap((record) => record.targets.map((target) => [record.name, target.description, target.required ? "yes" : "no", target.met ? "yes" : "**no**"]));
  const failures = requiredFailures(records);
  const skipped = run.skipped.length === 0 ? "" : ` It skipped ${run.skipped.join(", ")} (no measurement on ${run.device}).`;
  return `## Summary

Last run: \`${run.command}\`, started ${run.startedAt.replace(/\.\d+Z$/, "Z")}, device ${run.device}, ${run.totalSeconds.toFixed(0)} s, on ${run.machine}. It ran ${run.ran.length === 0 ? "no section" : run.ran.join(", ")}.${skipped} Sections it did not run keep the text of their last run (listed below when it was recorded).
${machines.size > 1 ? `\nSections were measured on different machines:\n${records.map((record) => `- ${record.name}: ${record.machine}`).join("\n")}\n` : ""}
${markdownTable([{ header: "section" }, { header: "measured" }, { header: "device" }, { header: "took", numeric: true }, { header: "result" }], sectionRows)}

${targetRows.length === 0 ? "These sections set no targets." : markdownTable([{ header: "section" }, { header: "target" }, { header: "required" }, { header: "met" }], targetRows)}

${failures.length === 0 ? "Every required target was met." : `**Required targets missed** (\`npm run bench\` exits 1):\n${failures.map((failure) => `- ${failure}`).join("\n")}`}

${RECORDS_START}${JSON.stringify(records).replaceAll("-->", "--\\u003e")}${RECORDS_END}
`;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0];
}

function isSectionRecord(value: unknown): value is SectionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.name === "string" &&
    typeof record.measuredAt === "string" &&
    typeof record.seconds === "number" &&
    (record.device === "cpu" || record.device === "cuda") &&
    typeof record.machine === "string" &&
    (record.error === undefined || typeof record.error === "string") &&
    Array.isArray(record.targets) &&
    record.targets.every(
      (target: unknown) =>
        typeof target === "object" &&
        target !== null &&
        typeof (target as Record<string, unknown>).description === "string" &&
        typeof (target as Record<string, unknown>).met === "boolean" &&
        typeof (target as Record<string, unknown>).required === "boolean",
    )
  );
}
