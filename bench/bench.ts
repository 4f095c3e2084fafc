/**
 * `npm run bench [-- --device cpu|cuda] [-- --only name,...]`: runs the benchmark sections one after
 * another in a scratch directory, writes each one's Markdown into its part of BENCHMARKS.md as soon
 * as it finishes, and keeps the summary at the top of the file up to date (when, where and how long
 * each section ran; every target, met or missed).
 *
 * Exit codes: 0 every required target of the sections run was met; 1 a required target was missed or
 * a section failed (its earlier text stays in BENCHMARKS.md); 2 a bad command line, or `--device
 * cuda` on a host where the CUDA execution provider cannot run (checked before anything else).
 */
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchArgs } from "./bench-args.js";
import type { BenchContext, BenchSection, SectionResult } from "./bench-section.js";
import { mergeRecords, parseRecords, renderSummary, requiredFailures, type SectionRecord } from "./bench-summary.js";
import { sectionBody, writeBenchmarkSection } from "./benchmarks-file.js";
import { DeviceUnavailableError, checkDevice } from "./device-check.js";
import { engineSection } from "./engine.js";
import { gpuSection } from "./gpu.js";
import { loadSection } from "./load.js";
import { describeMachine, machineInfo } from "./machine-info.js";
import { scaleSection } from "./scale.js";
import { streamingSection } from "./streaming-rss.js";
import { wholeJobSection } from "./whole-job.js";
import { BENCH_CACHE_DIR, BENCHMARKS_FILE } from "./workspace.js";

/** Every section, in the order they run and appear in BENCHMARKS.md: the one place sections are registered. */
const SECTIONS: readonly BenchSection[] = [engineSection, wholeJobSection, scaleSection, streamingSection, loadSection, gpuSection];

const SUMMARY_SECTION = "summary";

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, SECTIONS.map((section) => section.name));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const modelCacheDir = path.join(BENCH_CACHE_DIR, "bench-models");
  try {
    await checkDevice(args.device, modelCacheDir);
  } catch (error) {
    if (!(error instanceof DeviceUnavailableError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  // Read before anything runs: a damaged summary should stop the run now, not after half an hour.
  const previous = parseRecords(sectionBody(await readExisting(BENCHMARKS_FILE), SUMMARY_SECTION), BENCHMARKS_FILE);

  const selected = SECTIONS.filter((section) => args.sections.includes(section.name));
  const runnable = selected.filter((section) => (section.devices ?? ["cpu"]).includes(args.device));
  const skipped = selected.filter((section) => !runnable.includes(section)).map((section) => section.name);
  const estimate = runnable.reduce((sum, section) => sum + section.estimateSeconds, 0);
  log(`device ${args.device}; sections ${runnable.map((s) => `${s.name} (~${formatDuration(s.estimateSeconds)})`).join(", ")}; about ${formatDuration(estimate)} in all`);
  if (skipped.length > 0) log(`skipped (they do not measure on ${args.device}): ${skipped.join(", ")}`);

  const startedAt = new Date();
  const machine = describeMachine(await machineInfo());
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
  const records: SectionRecord[] = [];
  const workDir = await mkdtemp(path.join(os.tmpdir(), "sftscore-bench-"));
  try {
    // Readable by all: a section's helper processes may run as another user (nginx's worker runs as nobody).
    await chmod(workDir, 0o755);
    for (const section of runnable) {
      records.push(await runSection(section, { device: args.device, workDir, modelCacheDir, machine }));
      const run = { startedAt: startedAt.toISOString(), totalSeconds: secondsSince(startedAt), device: args.device, machine, command, ran: records.map((r) => r.name), skipped };
      await writeBenchmarkSection(BENCHMARKS_FILE, SUMMARY_SECTION, renderSummary(run, mergeRecords(previous, records, SECTIONS.map((s) => s.name))), "top");
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const failures = requiredFailures(records);
  log(`done in ${formatDuration(secondsSince(startedAt))}; ${path.relative(process.cwd(), BENCHMARKS_FILE) || BENCHMARKS_FILE} rewritten`);
  for (const failure of failures) log(`REQUIRED TARGET MISSED: ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

/** Runs one section, writes its Markdown, and returns its record; a section that throws is recorded as failed. */
async function runSection(section: BenchSection, options: { device: BenchContext["device"]; workDir: string; modelCacheDir: string; machine: string }): Promise<SectionRecord> {
  const startedAt = new Date();
  log(`${section.name}: starting (about ${formatDuration(section.estimateSeconds)})`);
  const workDir = path.join(options.workDir, section.name);
  await mkdir(workDir, { mode: 0o755 });
  const context: BenchContext = { device: options.device, workDir, modelCacheDir: options.modelCacheDir, log: (line) => process.stderr.write(`[bench:${section.name}] ${line}\n`) };
  const base = { name: section.name, measuredAt: startedAt.toISOString(), device: options.device, machine: options.machine };
  let result: SectionResult;
  try {
    result = await section.run(context);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`${section.name}: FAILED after ${formatDuration(secondsSince(startedAt))}; its text in BENCHMARKS.md is left as it was:\n${message}`);
    return { ...base, seconds: secondsSince(startedAt), error: message, targets: [] };
  }
  await writeBenchmarkSection(BENCHMARKS_FILE, section.name, result.markdown);
  log(`${section.name}: done in ${formatDuration(secondsSince(startedAt))}`);
  for (const target of result.targets) log(`  ${target.met ? "met   " : target.required ? "MISSED" : "missed"} ${target.description}${target.required ? " (required)" : ""}`);
  return { ...base, seconds: secondsSince(startedAt), targets: result.targets };
}

/** The file's text, or "" when it does not exist yet. */
async function readExisting(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  });
}

function secondsSince(start: Date): number {
  return (Date.now() - start.getTime()) / 1000;
}

function formatDuration(seconds: number): string {
  return seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
