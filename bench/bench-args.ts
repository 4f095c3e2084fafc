/** The command line of `npm run bench` (bench/bench.ts). */
import { parseArgs } from "node:util";
import { DEVICES, type Device } from "@sftscore/engine";

export const BENCH_USAGE = `Usage: npm run bench -- [--device cpu|cuda] [--only name[,name...]]

Runs the benchmark sections one after another and rewrites their parts of BENCHMARKS.md.

  --device cpu|cuda   where engines run (default cpu); cuda is checked before anything else runs
  --only names        run only these sections (comma-separated or repeated); the others' text stays
  --help              show this text
`;

/** What the command line asks for. */
export interface BenchArgs {
  readonly device: Device;
  /** Sections to run, in registry order; every registered section when `--only` is not given. */
  readonly sections: readonly string[];
  readonly help: boolean;
}

/** A bad command line; `npm run bench` exits 2 with its message and the usage text. */
export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

/**
 * Parses `argv` (without node and the script) against the registered section names.
 *
 * @throws BenchUsageError for an unknown flag, a device other than cpu/cuda, an unknown or empty
 *   section name, or a positional argument.
 */
export function parseBenchArgs(argv: readonly string[], sectionNames: readonly string[]): BenchArgs {
  let values: { device?: string; only?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { device: { type: "string" }, only: { type: "string", multiple: true }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
  const device = values.device ?? "cpu";
  if (!isDevice(device)) throw new BenchUsageError(`--device must be one of ${DEVICES.join(", ")}, got "${device}"`);
  const sections = values.only === undefined ? sectionNames : selectSections(values.only, sectionNames);
  return { device, sections, help: values.help === true };
}

function selectSections(only: readonly string[], sectionNames: readonly string[]): string[] {
  const asked = only.flatMap((value) => value.split(",")).map((name) => name.trim());
  for (const name of asked) {
    if (!sectionNames.includes(name)) throw new BenchUsageError(`--only: unknown section "${name}"; the sections are ${sectionNames.join(", ")}`);
  }
  return sectionNames.filter((name) => asked.includes(name));
}

function isDevice(value: string): value is Device {
  return (DEVICES as readonly string[]).includes(value);
}
