/**
 * `BENCHMARKS.md` at the workspace root holds one section per benchmark, each between its own pair of
 * markers; a benchmark rewrites only its section, so reruns replace rather than append, and other
 * benchmarks' sections stay as they are.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";

const HEADER = `# Benchmarks

Measured results of the benchmarks that \`npm run bench\` runs (each project's \`bench\` target). Each
section is rewritten by its benchmark on every run; the numbers are from the machine and date stated
in the section.
`;

/** The machine a benchmark ran on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly kernel: string;
}

/** Reads the CPU model from `/proc/cpuinfo` (falling back to Node's view) and the rest from Node. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  return { cpuModel: model, cores: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version, kernel: `${os.type()} ${os.release()}` };
}

/**
 * Replaces the text between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in `file`
 * with `body` (markers kept), appends the section when the markers are missing, and creates the file
 * with a short header when it does not exist. Written to a temporary file and renamed into place.
 *
 * @throws Error when the file has a start marker without an end marker after it (or the reverse).
 */
export async function writeBenchmarkSection(file: string, name: string, body: string): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = await readFile(file, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  let next: string;
  if (current === undefined) {
    next = `${HEADER}\n${section}\n`;
  } else {
    const from = current.indexOf(start);
    const to = current.indexOf(end);
    if (from < 0 && to < 0) next = `${current.trimEnd()}\n\n${section}\n`;
    else if (from < 0 || to < from) throw new Error(`${file}: the markers of section "${name}" are unbalanced; fix the file by hand`);
    else next = current.slice(0, from) + section + current.slice(to + end.length);
  }
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, next, "utf8");
  await rename(temp, file);
}
