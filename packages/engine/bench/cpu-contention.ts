/**
 * How much of the machine other processes used while a measurement ran. The benchmark shares its
 * cores with other work, so each timed pass records this next to its time: a pass that competed for
 * the CPU is slower for reasons that have nothing to do with the code under test.
 */
import { readFileSync } from "node:fs";
import os from "node:os";

/** Kernel clock ticks per second for `/proc/stat` (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * Starts a measurement; the returned function gives the share of all cores' time, in [0, 1], that
 * processes other than this one kept busy since the start (system-wide busy time from `/proc/stat`
 * minus this process's CPU time). NaN where `/proc/stat` cannot be read.
 */
export function startContentionMeter(): () => number {
  const busyBefore = busyTicks();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  return () => {
    const busy = (busyTicks() - busyBefore) / TICKS_PER_SECOND;
    const own = process.cpuUsage(ownBefore);
    const ownSeconds = (own.user + own.system) / 1e6;
    const available = ((performance.now() - started) / 1000) * os.availableParallelism();
    return available > 0 ? Math.min(1, Math.max(0, (busy - ownSeconds) / available)) : NaN;
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

/** A warm pass that other processes used more of the cores than this during is retried (see {@link runPasses}). */
export const CONTENTION_LIMIT = 0.1;

/**
 * Runs one cold pass and `warmPasses` warm ones; then, while the fastest warm pass so far ran with
 * other processes using more than {@link CONTENTION_LIMIT} of the cores, up to `maxExtraPasses` more.
 * Interference only slows a pass down, so the fastest pass is the best estimate of the code's speed,
 * and an extra pass gives a quiet moment a chance to show it.
 */
export async function runPasses<T extends { readonly seconds: number; readonly otherCpuShare: number }>(
  warmPasses: number,
  maxExtraPasses: number,
  pass: () => Promise<T>,
): Promise<T[]> {
  const passes: T[] = [];
  for (let i = 0; i <= warmPasses; i++) passes.push(await pass());
  const fastestWarm = () => passes.slice(1).reduce((best, p) => (p.seconds < best.seconds ? p : best));
  for (let extra = 0; warmPasses > 0 && extra < maxExtraPasses && !(fastestWarm().otherCpuShare <= CONTENTION_LIMIT); extra++) {
    passes.push(await pass());
  }
  return passes;
}
