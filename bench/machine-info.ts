/** The machine a benchmark ran on, as BENCHMARKS.md states it. */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";

/** CPU, memory and the runtime versions that decide a benchmark's numbers. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly kernel: string;
  readonly onnxruntime: string;
}

/** Reads the CPU model from `/proc/cpuinfo` (falling back to Node's view) and the rest from Node. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  // The package's own version, read without loading its native binding.
  const onnxruntime = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
  return { cpuModel: model, cores: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version, kernel: `${os.type()} ${os.release()}`, onnxruntime };
}

/** One line: `AMD EPYC, 2 cores, 23.5 GiB RAM, Linux 6.1; Node v20.20.2, onnxruntime-node 1.30.0`. */
export function describeMachine(machine: MachineInfo): string {
  return `${machine.cpuModel}, ${machine.cores} cores, ${formatGiB(machine.memoryBytes)} RAM, ${machine.kernel}; Node ${machine.node}, onnxruntime-node ${machine.onnxruntime}`;
}

/** Bytes as GiB with two decimals, e.g. `2.15 GiB`. */
export function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Bytes as MiB without decimals, e.g. `312 MiB`. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
