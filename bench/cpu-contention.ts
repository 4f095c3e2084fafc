/**
 * How much of the machine other processes used while a measurement ran. Benchmarks share their
 * cores with other work, so each timed run records this next to its time: a run that competed for
 * the CPU is slower for reasons that have nothing to do with the code under test.
 */
import { readFileSync } from "node:fs";
import os from "node:os";

/** Kernel clock ticks per second for `/proc/stat` (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * Starts a measurement; the returned function gives the share of all cores' time, in [0, 1], that
 * processes other than this one kept busy since the start (system-wide busy time from `/proc/stat`
 * minus this process's CPU time, worker threads included). NaN where `/proc/stat` cannot be read.
 */
export function startContentionMeter(): () => number {
  const busyBefore = busyTicks();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  return () => {
    const busy = (busyTicks() - busyBefore) / TICKS_PER_SECOND;
    const own = process.cpuUsage(ownBefore);
    const available = ((performance.now() - started) / 1000) * os.availableParallelism();
    return available > 0 ? Math.min(1, Math.max(0, (busy - (own.user + own.system) / 1e6) / available)) : NaN;
  };
}

/** user + nice + system + irq + softirq + steal ticks of the `cpu` line of `/proc/stat`. */
function busyTicks(): number {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return user + nice + system + irq + softirq + steal;
  } catch {
    return NaN;
  }
}
