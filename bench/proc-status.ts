/**
 * Memory and CPU time of a running process from Linux's `/proc`, for processes the benchmark did not
 * start in-process (`sftscore serve` children), whose own counters it cannot ask.
 */
import { readFile } from "node:fs/promises";

/** Resident memory of a process, in bytes. */
export interface ProcessMemory {
  /** `VmRSS`: resident now. */
  readonly rssBytes: number;
  /** `VmHWM`: the peak resident size since the process started. */
  readonly peakRssBytes: number;
}

/**
 * `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
 *
 * @throws Error when either line is missing (not a Linux status file, or a zombie process).
 */
export function parseProcStatus(text: string): ProcessMemory {
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!match) throw new Error(`/proc status has no ${field} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** {@link parseProcStatus} of a live process. */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, "utf8"));
}

/** Linux's USER_HZ, the unit of the CPU times in `/proc/<pid>/stat`; 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds from the text of `/proc/<pid>/stat` (all threads of the process). The
 * command name in parentheses may hold spaces, so fields are counted after its closing parenthesis.
 *
 * @throws Error for text that is not a stat line.
 */
export function parseProcStatCpuSeconds(text: string): number {
  // After the name: state is field 3 of stat(5), utime field 14 and stime field 15.
  return statFieldsSum(text, 11, 12);
}

/**
 * User + system CPU seconds of the process's children that have exited and been waited for
 * (`cutime` and `cstime`, fields 16 and 17 of stat(5)), from the text of `/proc/<pid>/stat`.
 *
 * @throws Error for text that is not a stat line.
 */
export function parseProcStatChildrenCpuSeconds(text: string): number {
  return statFieldsSum(text, 13, 14);
}

/** The sum of two tick counts after the command name (index 0 = the state, stat(5) field 3), in seconds. */
function statFieldsSum(text: string, first: number, second: number): number {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const a = Number(fields[first]);
  const b = Number(fields[second]);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`);
  return (a + b) / CLOCK_TICKS_PER_SECOND;
}

/** {@link parseProcStatCpuSeconds} of a live process. */
export async function processCpuSeconds(pid: number): Promise<number> {
  return parseProcStatCpuSeconds(await readFile(`/proc/${pid}/stat`, "utf8"));
}

/** {@link parseProcStatChildrenCpuSeconds} of this process: the CPU its finished child commands used. */
export async function finishedChildrenCpuSeconds(): Promise<number> {
  return parseProcStatChildrenCpuSeconds(await readFile("/proc/self/stat", "utf8"));
}
