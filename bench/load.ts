/**
 * Load section (issue 6 "Load", issue 7 §3): one `sftscore serve` engine under N = 1, 4 and 16
 * concurrent clients, each its own process streaming sequences for a fixed time; total tokens/s,
 * per-sequence latency percentiles, the engine's memory and queue, and whether every client got
 * every result exactly once.
 *
 * The engine serves the `tiny` model: a run takes milliseconds, so the server's own per-request work
 * (streams, queue, batching, result routing) is what the load exercises, and a 20 s window yields
 * thousands of latencies per N. With `bench-small` a run takes seconds, latency is the model's run
 * time times the queue length (which the scale section measures), and each window would see a few
 * dozen answers.
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EngineClient } from "@sftscore/client";
import type { SequenceRequest } from "@sftscore/metrics";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { loadExampleSequences, tokensOf } from "./example-sequences.js";
import { describeFixtureModel, ensureFixtureModel } from "./fixture-models.js";
import type { LoadClientMessage, LoadClientReport, LoadParentMessage } from "./load-protocol.js";
import { formatMiB } from "./machine-info.js";
import { markdownTable } from "./markdown-table.js";
import { summarizeLatencies } from "./percentiles.js";
import { processCpuSeconds, processMemory } from "./proc-status.js";
import { readMetric, startServe, type ServeProcess } from "./serve-process.js";
import { streamOf } from "./stream-of.js";
import { WORKSPACE_ROOT } from "./workspace.js";

/** The engine's batch budget, passed explicitly so the queue bound below is known. */
const MAX_BATCH_TOKENS = 8192;
/** The engine's default queue bound: 4 × maxBatchTokens (EngineOptions.maxQueuedTokens). */
const MAX_QUEUED_TOKENS = 4 * MAX_BATCH_TOKENS;
/** Each client: one stream with two batches in flight, one running and one queued (the SDK's own rule per stream). */
const STREAMS_PER_CLIENT = 1;
const CLIENT_IN_FLIGHT_TOKENS = 2 * MAX_BATCH_TOKENS;
const SAMPLE_INTERVAL_MS = 200;
/**
 * Under the most clients, the engine's RSS in the second half of the window may exceed its peak in
 * the first half by this factor at most: an engine that buffered what it cannot score yet would grow
 * for as long as the clients offer work.
 */
const RSS_DRIFT_LIMIT = 1.1;

/** One N's outcome. */
interface LoadPhase {
  readonly clients: number;
  readonly reports: readonly LoadClientReport[];
  /** From "go" to the last client's report. */
  readonly wallSeconds: number;
  readonly maxQueuedTokens: number;
  /** Largest VmRSS sampled during the phase. */
  readonly peakRssBytes: number;
  /** Largest VmRSS sampled in the first and in the second half of the offering window. */
  readonly rssHalvesBytes: readonly [number, number];
  readonly engineCpuSeconds: number;
}

/** Options of {@link createLoadSection}; the defaults are the benchmark's. */
export interface LoadOptions {
  /** Concurrent clients of each phase, one phase after the other; default 1, 4, 16. */
  readonly clientCounts?: readonly number[];
  /** How long the clients of a phase offer work; default 20 000. */
  readonly durationMs?: number;
}

/** Settings of one run, as the report states them. */
interface LoadSettings {
  readonly clientCounts: readonly number[];
  readonly durationMs: number;
}

/** The load section; tests run it with fewer clients for a shorter time. */
export function createLoadSection(options: LoadOptions = {}): BenchSection {
  const settings: LoadSettings = { clientCounts: options.clientCounts ?? [1, 4, 16], durationMs: options.durationMs ?? 20_000 };
  return { name: "load", estimateSeconds: 120, run: (context) => runLoad(context, settings) };
}

export const loadSection = createLoadSection();

async function runLoad(context: BenchContext, settings: LoadSettings): Promise<SectionResult> {
  const model = await ensureFixtureModel(context.modelCacheDir, "tiny");
  const pool = await loadExampleSequences(model.dir);
  const engine = await startServe([
    "--model",
    model.dir,
    "--threads",
    "1",
    "--max-batch-tokens",
    String(MAX_BATCH_TOKENS),
    "--metrics-port",
    "0",
    "--cache-dir",
    path.join(context.modelCacheDir, "extended-models"),
  ]);
  try {
    const metricsUrl = engine.metricsUrl;
    if (metricsUrl === undefined) throw new Error("sftscore serve printed no metrics URL");
    const phases: LoadPhase[] = [];
    for (const clients of settings.clientCounts) {
      context.log(`${clients} client${clients === 1 ? "" : "s"} for ${settings.durationMs / 1000} s …`);
      const phase = await runPhase(engine, metricsUrl, pool, clients, settings.durationMs);
      const tokens = phase.reports.reduce((sum, r) => sum + r.tokens, 0);
      context.log(`${clients}: ${(tokens / phase.wallSeconds).toFixed(0)} tokens/s, max queued ${phase.maxQueuedTokens} tokens, RSS ${formatMiB(phase.peakRssBytes)}`);
      phases.push(phase);
    }
    const afterwards = await stillScores(engine, pool);
    const peak = await processMemory(engine.pid);
    return report(phases, pool, afterwards, { settings, model: await describeFixtureModel(model), lifetimePeakRssBytes: peak.peakRssBytes });
  } finally {
    await engine.stop();
  }
}

/** Starts `clients` client processes, lets them stream for `durationMs`, and samples the engine meanwhile. */
async function runPhase(engine: ServeProcess, metricsUrl: string, pool: readonly SequenceRequest[], clients: number, durationMs: number): Promise<LoadPhase> {
  const children = Array.from({ length: clients }, () => forkClient());
  try {
    await Promise.all(
      children.map((child, clientIndex) =>
        exchange(child, { type: "setup", address: engine.address, clientIndex, pool, maxInFlightTokens: CLIENT_IN_FLIGHT_TOKENS, streamsPerTarget: STREAMS_PER_CLIENT }, "ready"),
      ),
    );
    const sampler = startSampler(engine.pid, metricsUrl, durationMs);
    const started = performance.now();
    const reports = await Promise.all(
      children.map(async (child) => {
        const reply = await exchange(child, { type: "go", durationMs }, "done");
        if (reply.type !== "done") throw new Error("load client: no report");
        return reply.report;
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const sampled = await sampler.stop();
    return { clients, reports, wallSeconds, ...sampled };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  }
}

function forkClient(): ChildProcess {
  // tsx runs the TypeScript source, whether this process runs under tsx (npm run bench) or vitest.
  return fork(fileURLToPath(new URL("./load-client.ts", import.meta.url)), [], {
    cwd: WORKSPACE_ROOT,
    execArgv: ["--import", "tsx"],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** Sends `message` and resolves with the child's reply of type `expected`; rejects on its error or exit. */
function exchange(child: ChildProcess, message: LoadParentMessage, expected: "ready" | "done"): Promise<LoadClientMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: LoadClientMessage) => {
      if (reply.type === "error") finish(() => reject(new Error(`load client failed:\n${reply.message}`)));
      else if (reply.type === expected) finish(() => resolve(reply));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`load client exited (code ${code}) before "${expected}"`)));
    const finish = (settle: () => void) => {
      child.off("message", onMessage);
      child.off("exit", onExit);
      settle();
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message);
  });
}

/** Samples the engine's RSS and queued tokens every {@link SAMPLE_INTERVAL_MS} until stopped. */
function startSampler(
  pid: number,
  metricsUrl: string,
  durationMs: number,
): { stop(): Promise<{ maxQueuedTokens: number; peakRssBytes: number; rssHalvesBytes: [number, number]; engineCpuSeconds: number }> } {
  let maxQueuedTokens = 0;
  let peakRssBytes = 0;
  const rssHalvesBytes: [number, number] = [0, 0];
  let stopped = false;
  const started = performance.now();
  const cpuStart = processCpuSeconds(pid);
  const loop = (async () => {
    while (!stopped) {
      const [memory, queued] = await Promise.all([processMemory(pid), readMetric(metricsUrl, "sftscore_queued_tokens")]);
      peakRssBytes = Math.max(peakRssBytes, memory.rssBytes);
      const elapsedMs = performance.now() - started;
      if (elapsedMs <= durationMs) {
        const half = elapsedMs < durationMs / 2 ? 0 : 1;
        rssHalvesBytes[half] = Math.max(rssHalvesBytes[half], memory.rssBytes);
      }
      maxQueuedTokens = Math.max(maxQueuedTokens, queued);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { maxQueuedTokens, peakRssBytes, rssHalvesBytes, engineCpuSeconds: (await processCpuSeconds(pid)) - (await cpuStart) };
    },
  };
}

/** After the load: a fresh client scores the whole pool (the scores are compared with the clients' in the report). */
async function stillScores(engine: ServeProcess, pool: readonly SequenceRequest[]): Promise<{ running: boolean; scores: Map<string, number> }> {
  const client = new EngineClient(engine.address);
  const scores = new Map<string, number>();
  try {
    for await (const score of client.score(streamOf(pool))) scores.set(score.id, score.spans[0]?.sumLogprob ?? Number.NaN);
  } finally {
    await client.close();
  }
  return { running: engine.running(), scores };
}

function report(
  phases: readonly LoadPhase[],
  pool: readonly SequenceRequest[],
  afterwards: { running: boolean; scores: Map<string, number> },
  notes: { settings: LoadSettings; model: string; lifetimePeakRssBytes: number },
): SectionResult {
  const complete = phases.every((phase) => phase.reports.every((r) => r.answered === r.sent && r.duplicates === 0 && r.unknown === 0));
  // Every answer for a pool sequence, from any client under any N and after the load, must be the same number.
  const disagreeing = pool.filter((request, i) => {
    const sums = [...phases.flatMap((phase) => phase.reports.map((r) => r.poolSums[i])), afterwards.scores.get(request.id) ?? Number.NaN].filter((sum) => !Number.isNaN(sum));
    return sums.some((sum) => sum !== sums[0]);
  }).length;
  const maxQueued = Math.max(...phases.map((phase) => phase.maxQueuedTokens));
  const last = phases[phases.length - 1];
  const drift = last.rssHalvesBytes[1] / last.rssHalvesBytes[0];
  const targets: TargetOutcome[] = [
    { description: `every client got every result exactly once (N = ${notes.settings.clientCounts.join(", ")})`, met: complete, required: true },
    { description: `equal sequences got equal scores across clients and N (${disagreeing} of ${pool.length} differ)`, met: disagreeing === 0, required: true },
    { description: "the engine stays up and scores after the load", met: afterwards.running && afterwards.scores.size === pool.length, required: true },
    { description: `queued tokens never above maxQueuedTokens = ${MAX_QUEUED_TOKENS} (max sampled ${maxQueued})`, met: maxQueued <= MAX_QUEUED_TOKENS, required: true },
    {
      description: `engine RSS flat under N = ${last.clients}: peak ${formatMiB(last.rssHalvesBytes[1])} in the window's second half against ${formatMiB(last.rssHalvesBytes[0])} in its first (${drift.toFixed(2)}×, target ≤ ${RSS_DRIFT_LIMIT}×)`,
      met: drift <= RSS_DRIFT_LIMIT,
      required: false,
    },
  ];
  const rows = phases.map((phase) => {
    const latencies = summarizeLatencies(concat(phase.reports.map((r) => r.latenciesMs)));
    const tokens = phase.reports.reduce((sum, r) => sum + r.tokens, 0);
    const sequences = phase.reports.reduce((sum, r) => sum + r.answered, 0);
    const clientCpu = phase.reports.reduce((sum, r) => sum + r.cpuSeconds, 0);
    const allAnswered = phase.reports.every((r) => r.answered === r.sent && r.duplicates === 0 && r.unknown === 0);
    return [
      String(phase.clients),
      sequences.toLocaleString("en-US"),
      (tokens / phase.wallSeconds).toFixed(0),
      (latencies.p50 / 1000).toFixed(2),
      (latencies.p99 / 1000).toFixed(2),
      phase.maxQueuedTokens.toLocaleString("en-US"),
      formatMiB(phase.peakRssBytes),
      `${((phase.engineCpuSeconds / phase.wallSeconds) * 100).toFixed(0)}% / ${((clientCpu / phase.wallSeconds) * 100).toFixed(0)}%`,
      allAnswered ? "yes" : "**no**",
    ];
  });
  const markdown = `## Load: one engine, 1 to ${last.clients} concurrent clients (\`bench/load.ts\`)

- **Engine:** \`sftscore serve --threads 1 --max-batch-tokens ${MAX_BATCH_TOKENS}\` on the ${notes.model}: a model run takes milliseconds, so this measures the server's own work per request (streams, queue, batching, result routing) under concurrency; how a compute-bound model shares out is the scale section's subject. Its queue holds at most ${MAX_QUEUED_TOKENS.toLocaleString("en-US")} tokens (4 × maxBatchTokens); further submissions wait, and the server stops reading their streams (back-pressure). From N = ${Math.ceil((MAX_QUEUED_TOKENS + 1) / CLIENT_IN_FLIGHT_TOKENS)} on, the clients keep more in flight than the queue holds.
- **Clients:** N processes, each an \`EngineClient\` with one stream and at most ${CLIENT_IN_FLIGHT_TOKENS.toLocaleString("en-US")} tokens in flight (two batches: one running, one queued). Each streams the ${pool.length} example sequences (alpaca prompt + output, ${Math.min(...pool.map((r) => r.tokenIds.length))}–${Math.max(...pool.map((r) => r.tokenIds.length))} tokens, ${tokensOf(pool).toLocaleString("en-US")} tokens in all, the output scored) over and over in its own order, as fast as the SDK takes them, for ${notes.settings.durationMs / 1000} s, then waits for the rest of its results.
- **Figures:** a request is one sequence; its latency runs from the SDK taking it from the client's stream (which it does only when it has room in flight) to its score arriving. tokens/s = real tokens of every answered sequence ÷ time from the start signal to the last client's last result. Queued tokens (\`sftscore_queued_tokens\` on the metrics endpoint) and the engine's VmRSS (/proc) are sampled every ${SAMPLE_INTERVAL_MS} ms. CPU = engine process / all client processes, as a share of one core. The engine's peak RSS over its whole life (VmHWM) was ${formatMiB(notes.lifetimePeakRssBytes)}; an engine that buffered the work it cannot take yet would keep growing while the clients offer more, so the last target compares the heaviest phase's RSS in the second half of its window with the first.

${markdownTable(
  [
    { header: "clients", numeric: true },
    { header: "sequences", numeric: true },
    { header: "tokens/s", numeric: true },
    { header: "p50 latency (s)", numeric: true },
    { header: "p99 latency (s)", numeric: true },
    { header: "max queued tokens", numeric: true },
    { header: "engine peak RSS", numeric: true },
    { header: "CPU engine / clients", numeric: true },
    { header: "all results, once each" },
  ],
  rows,
)}

${markdownTable(
  [{ header: "target" }, { header: "met" }],
  targets.map((t) => [t.description, t.met ? "yes" : "**no**"]),
)}
`;
  return { markdown, targets };
}

function concat(arrays: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
