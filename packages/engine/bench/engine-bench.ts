/**
 * Engine benchmark (issue 3, "Benchmark"): on the `bench-small` fixture (hidden 512, 8 layers,
 * 151,936-token vocabulary, random weights), CPU, the same sequences for every contender:
 *
 *   (a) the engine, all defaults except threads;
 *   (b) the source model returning full logits, log-softmax in JavaScript;
 *   (c) the compute floor: the model's body alone plus the LM head at the scored positions only;
 *
 * plus the engine with the full-logits head, a probe of the first run at new shapes, and the engine
 * with and without shape bucketing on a small-batch workload. Each contender runs in its own child
 * process, one after another, so that its peak RSS is its own; the parent builds the model and the
 * sequences once and hands the same sequences to each. Prints a table to stderr and writes the
 * Markdown of the `engine` section of BENCHMARKS.md to `--markdown FILE` (stdout without it) and its
 * targets as JSON to `--targets FILE`; the `engine` section of `npm run bench` (bench/engine.ts) runs
 * it so and writes BENCHMARKS.md. Takes 4–5 minutes on 2 quiet cores.
 *
 * Usage: `npm run bench -- --only engine` (root) or `npx tsx packages/engine/bench/engine-bench.ts
 * [--copies N] [--warm-passes N] [--threads N] [--markdown FILE] [--targets FILE]`.
 */
import { fork } from "node:child_process";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { loadBenchData, repeatRequests } from "./bench-data.js";
import { presetConfig } from "../src/fixture/llama-config.js";
import { BENCH_CACHE_DIR, ensureBenchModel, WORKSPACE_ROOT } from "./bench-model.js";
import type { ContenderJob, ContenderReply } from "./contender-protocol.js";
import { planWorkload } from "./session-contenders.js";
import { summarize, type ContenderRun } from "./engine-figures.js";
import { renderConsole, renderMarkdown } from "./engine-report.js";

const PRESET = "bench-small";
const SEED = 0;
const FULL_LOGITS_WARM_PASSES = 1;
/** Extra warm passes allowed while the fastest one was contended (see `runPasses`). */
const MAX_EXTRA_PASSES = 2;
const FULL_LOGITS_MAX_EXTRA_PASSES = 1;
const CHURN_ROUNDS = 3;
const CHURN_GROUP_SIZE = 4;
const CHURN_SEED = 20240601;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      copies: { type: "string", default: "1" },
      "warm-passes": { type: "string", default: "2" },
      threads: { type: "string", default: "2" },
      markdown: { type: "string" },
      targets: { type: "string" },
    },
  });
  const copies = positiveInteger(values.copies, "--copies");
  const warmPasses = positiveInteger(values["warm-passes"], "--warm-passes");
  const threads = positiveInteger(values.threads, "--threads");
  const startedAt = new Date();
  const loadAtStart = os.loadavg();

  const model = await ensureBenchModel(PRESET, SEED);
  log(model.built ? `built ${model.dir} in ${model.buildSeconds.toFixed(1)} s` : `reusing ${model.dir}`);
  const examplesPath = path.join(WORKSPACE_ROOT, "examples", "alpaca_mixed.json");
  const data = await loadBenchData(examplesPath, model.dir, presetConfig(PRESET, 1).maxPositionEmbeddings);
  const requests = repeatRequests(data.requests, copies, "bench");
  const exampleRequests = repeatRequests(data.requests, 1, "example");
  log(`workload: ${requests.length} sequences, ${data.tokens * copies} tokens (${copies} × ${data.records} records)`);

  const extendedCacheDir = path.join(BENCH_CACHE_DIR, "bench-extended-models");
  const common = { modelDir: model.dir, extendedCacheDir, threads, requests };
  // Each group of the churn workload becomes its own small batch, so shapes follow the data.
  const churn = { requests: exampleRequests, rounds: CHURN_ROUNDS, groupSize: CHURN_GROUP_SIZE, seed: CHURN_SEED };
  const runs: ContenderRun[] = [];
  const engine = await runContender({
    ...common,
    contender: "engine",
    warmPasses,
    maxExtraPasses: MAX_EXTRA_PASSES,
    ...(copies > 1 ? { exampleRequests } : {}),
    shapeProbe: true,
  });
  runs.push(engine);
  const limits = engine.result.engine?.limits;
  if (!limits) throw new Error("the engine contender did not report its limits");
  // The full-logits contenders are 5-7x slower; one warm pass keeps the run within minutes.
  const heavy = { warmPasses: FULL_LOGITS_WARM_PASSES, maxExtraPasses: FULL_LOGITS_MAX_EXTRA_PASSES };
  runs.push(await runContender({ ...common, contender: "js-log-softmax", limits, ...heavy }));
  runs.push(await runContender({ ...common, contender: "floor", limits, warmPasses, maxExtraPasses: MAX_EXTRA_PASSES }));
  runs.push(await runContender({ ...common, contender: "engine-full-logits", ...heavy }));
  runs.push(await runContender({ ...common, contender: "shape-churn", churn }));

  const summary = summarize(runs, planWorkload(exampleRequests, limits));
  const context = {
    startedAt,
    totalSeconds: (Date.now() - startedAt.getTime()) / 1000,
    loadAtStart: loadAtStart[0],
    onnxruntime: ort.env.versions.node ?? "unknown",
    preset: PRESET,
    seed: SEED,
    model,
    data,
    copies,
    warmPasses,
    fullLogitsWarmPasses: FULL_LOGITS_WARM_PASSES,
    maxExtraPasses: { light: MAX_EXTRA_PASSES, heavy: FULL_LOGITS_MAX_EXTRA_PASSES },
    churn: { rounds: CHURN_ROUNDS, groupSize: CHURN_GROUP_SIZE },
    threads,
  };
  console.error(renderConsole(summary, context));
  const markdown = renderMarkdown(summary, context);
  if (values.markdown === undefined) process.stdout.write(markdown);
  else await writeFile(values.markdown, markdown);
  if (values.targets !== undefined) {
    const targets: EngineBenchTarget[] = summary.targets.map((t) => ({ figure: t.figure, value: t.value, target: t.target, met: t.met }));
    await writeFile(values.targets, JSON.stringify(targets));
  }
}

/** One target as `--targets` writes it (a JSON array of these). */
interface EngineBenchTarget {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
}

/** Runs one contender in a fresh child process and waits for it to exit. */
async function runContender(job: ContenderJob): Promise<ContenderRun> {
  log(`running ${job.contender} …`);
  const started = performance.now();
  // The child inherits this process's tsx loader flags (execArgv), so it runs the TypeScript sources too.
  const child = fork(fileURLToPath(new URL("./contender-process.ts", import.meta.url)), [], { serialization: "advanced", stdio: "inherit" });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const reply = await new Promise<ContenderReply | undefined>((resolve) => {
    child.once("message", (message: ContenderReply) => resolve(message));
    child.once("exit", () => resolve(undefined));
    child.send(job);
  });
  const code = await exited;
  if (!reply) throw new Error(`${job.contender}: the child process exited (code ${code}) without a result`);
  if (reply.type === "error") throw new Error(`${job.contender} failed in its child process:\n${reply.message}`);
  const wallSeconds = (performance.now() - started) / 1000;
  log(`${job.contender}: done in ${wallSeconds.toFixed(1)} s`);
  return { name: job.contender, result: reply.result, wallSeconds };
}

function positiveInteger(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got ${text}`);
  return value;
}

function log(message: string): void {
  console.error(`[engine-bench] ${message}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
