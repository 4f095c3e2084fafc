/**
 * `BENCHMARKS.md` at the workspace root holds one section per benchmark, each between its own pair of
 * markers; `npm run bench` rewrites only the sections it ran, so reruns replace rather than append,
 * and the other sections stay as they are. This module is the only writer of the file.
 */
import { readFile, rename, writeFile } from "node:fs/promises";

const HEADER = `# Benchmarks

Measured results of \`npm run bench\` (bench/bench.ts). Each section is rewritten by its benchmark on
every run that includes it; the summary says when and on which machine each section was measured.
`;

/** Where a section goes when the file has no markers for it yet. */
export type SectionPlacement = "end" | "top";

/**
 * `current` with the text between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`
 * replaced by `body` (markers kept). A section without markers is added at the end, or with
 * `placement: "top"` before the first section; a missing file (`undefined`) starts with a header.
 *
 * @throws Error naming `file` when it has a start marker without an end marker after it (or the reverse).
 */
export function replaceSection(current: string | undefined, name: string, body: string, options: { file: string; placement?: SectionPlacement }): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const text = current ?? HEADER;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) return text.slice(0, from) + section + text.slice(to + end.length);
  if (from >= 0 || to >= 0) throw new Error(`${options.file}: the markers of section "${name}" are unbalanced; fix the file by hand`);
  const firstSection = text.indexOf("<!-- bench:");
  if (options.placement === "top" && firstSection >= 0) return `${text.slice(0, firstSection)}${section}\n\n${text.slice(firstSection)}`;
  return `${text.trimEnd()}\n\n${section}\n`;
}

/**
 * Rewrites one section of `file` (see {@link replaceSection}), creating the file when it does not
 * exist. Written to a temporary file and renamed into place, so a reader never sees half a file.
 */
export async function writeBenchmarkSection(file: string, name: string, body: string, placement: SectionPlacement = "end"): Promise<void> {
  const current = await readFile(file, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, replaceSection(current, name, body, { file, placement }), "utf8");
  await rename(temp, file);
}

/** The body between a section's markers, or undefined when the file has no such section. */
export function sectionBody(text: string, name: string): string | undefined {
  const start = `<!-- bench:${name}:start -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(`<!-- bench:${name}:end -->`);
  return from >= 0 && to > from ? text.slice(from + start.length, to).trim() : undefined;
}
