/**
 * Resident memory of a child process against the rows it has written: the child's `/proc` status is
 * read every few hundred milliseconds next to the number of lines in its output file, so memory can
 * be read off at 10,000 or 100,000 rows.
 */
import type { ChildProcess } from "node:child_process";
import { open, type FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { processCpuSeconds, processMemory } from "./proc-status.js";

/** One reading. */
export interface RssSample {
  /** Since sampling started. */
  readonly seconds: number;
  /** Complete lines in the output file. */
  readonly rows: number;
  /** `VmRSS`: resident now, every thread of the process included. */
  readonly rssBytes: number;
  /** `VmHWM`: the peak resident size so far. */
  readonly peakRssBytes: number;
  /** User + system CPU time of the process so far. */
  readonly cpuSeconds: number;
}

/** Counts the newlines of a file that another process appends to, reading only what is new. */
export interface LineCounter {
  /** Lines so far; 0 while the file does not exist. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** A {@link LineCounter} over `file`, which may not exist yet. */
export function createLineCounter(file: string): LineCounter {
  const buffer = Buffer.alloc(1024 * 1024);
  let handle: FileHandle | undefined;
  let offset = 0;
  let lines = 0;
  return {
    async count() {
      handle ??= await open(file, "r").catch(() => undefined);
      if (handle === undefined) return 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) return lines;
        offset += bytesRead;
        const chunk = buffer.subarray(0, bytesRead);
        for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
      }
    },
    async close() {
      await handle?.close();
      handle = undefined;
    },
  };
}

/** Options of {@link sampleUntilExit}. */
export interface SamplingOptions {
  /** The file whose lines are the rows written. */
  readonly outputFile: string;
  readonly intervalMs: number;
  /** Called with each sample as it is taken (progress lines). */
  readonly onSample?: (sample: RssSample) => void;
}

/** What {@link sampleUntilExit} saw. */
export interface SampledRun {
  readonly samples: readonly RssSample[];
  /** The exit code, or 1 when a signal ended the process. */
  readonly code: number;
  /** Rows in the output once the process had exited. */
  readonly finalRows: number;
  /** From spawn to exit as seen here. */
  readonly wallSeconds: number;
}

/**
 * Samples a running child until it exits. A reading that fails because the process is exiting (its
 * status no longer has memory lines) ends the sampling; the exit is then awaited.
 */
export async function sampleUntilExit(child: ChildProcess, options: SamplingOptions): Promise<SampledRun> {
  const pid = child.pid;
  if (pid === undefined) throw new Error("the child process has no pid: it failed to start");
  const started = performance.now();
  const exit = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  let exited = false;
  void exit.then(() => (exited = true));
  const counter = createLineCounter(options.outputFile);
  const samples: RssSample[] = [];
  try {
    while (!exited) {
      await Promise.race([sleep(options.intervalMs), exit]);
      if (exited) break;
      const reading = await Promise.all([processMemory(pid), processCpuSeconds(pid)]).catch(() => undefined);
      if (reading === undefined) break;
      const [memory, cpuSeconds] = reading;
      const sample = { seconds: (performance.now() - started) / 1000, rows: await counter.count(), ...memory, cpuSeconds };
      samples.push(sample);
      options.onSample?.(sample);
    }
    const code = await exit;
    const wallSeconds = (performance.now() - started) / 1000;
    return { samples, code, finalRows: await counter.count(), wallSeconds };
  } finally {
    await counter.close();
  }
}

/**
 * The first sample taken once the output held at least `rows` lines: the process's memory when it
 * had written that many. Undefined when no sample saw that many (the process exited first).
 */
export function sampleAtRows(samples: readonly RssSample[], rows: number): RssSample | undefined {
  return samples.find((sample) => sample.rows >= rows);
}
