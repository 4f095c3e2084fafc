import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { DataError, describeSystemError } from "../../data/data-error.js";
import { ExitCode, UsageError } from "../../exit-codes.js";
import { fieldMappingOf, type FieldOptions } from "../../options/field-options.js";
import { buildReport } from "../../report/build-report.js";
import { formatCount } from "../../report/format-number.js";

/** Options of {@link run}: the command line's, plus `generatedAt` for tests. */
export interface ReportRunOptions extends FieldOptions {
  readonly results: string;
  readonly out: string;
  readonly data?: string;
  readonly title?: string;
  readonly top?: number;
  /** The date printed on the page; default now. Fix it to get byte-identical reports. */
  readonly generatedAt?: Date;
}

/** Upper bound of `--top`: each listed sample carries its full text. */
const MAX_TOP = 1000;

/**
 * `sftscore report`: reads the results (and the dataset), renders the HTML page and writes it under a
 * temporary name first, so `--out` is never left half-written.
 * @throws UsageError (exit 2) for a bad option, an `--out` that is not `.html` or names an input file,
 *   or results and data that do not match; DataError (exit 2) for unreadable or malformed inputs and an
 *   unwritable output.
 */
export async function run(options: ReportRunOptions): Promise<number> {
  const top = options.top ?? 10;
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw new UsageError(`--top must be a whole number from 1 to ${MAX_TOP}, got ${options.top}`);
  const extension = extname(options.out).toLowerCase();
  if (extension !== ".html" && extension !== ".htm") throw new UsageError(`--out must name an .html file, got ${options.out}`);
  for (const input of [options.results, options.data]) {
    if (input !== undefined && resolve(input) === resolve(options.out)) throw new UsageError(`--out ${options.out} is an input file; choose another name`);
  }

  const { html, model } = await buildReport({
    results: options.results,
    top,
    ...fieldMappingOf(options),
    ...pick(options, ["data", "title", "generatedAt"]),
  });
  await writeAtomically(options.out, html);
  const size = Buffer.byteLength(html);
  process.stderr.write(
    `wrote ${options.out}: ${formatCount(model.rowCount)} rows, ${model.metrics.length} metric${model.metrics.length === 1 ? "" : "s"}` +
      `${model.tasks === undefined ? "" : `, ${formatCount(model.tasks.totalTasks)} tasks`}, ${formatCount(Math.ceil(size / 1024))} KiB\n`,
  );
  return ExitCode.ok;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(resolve(path)), { recursive: true });
    await writeFile(temporary, text, "utf8");
    await rename(temporary, path);
  } catch (error: unknown) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new DataError("unwritable", `cannot write the report: ${describeSystemError(error)}`, { file: path }, { cause: error });
  }
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}
