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
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3 of stat(5), utime field 14 and stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** {@link parseProcStatCpuSeconds} of a live process. */
export async function processCpuSeconds(pid: number): Promise<number> {
  return parseProcStatCpuSeconds(await readFile(`/proc/${pid}/stat`, "utf8"));
}
