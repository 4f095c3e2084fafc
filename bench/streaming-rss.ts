/**
 * The `streaming` section (issue 7 §3): `sftscore score` over a generated 100,000-row JSONL with the
 * tiny fixture model, its resident memory sampled against the rows it has written. Targets: a peak
 * under 1 GB, and flat — resident memory at 100,000 rows within 10% of that at 10,000.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { describeFixtureModel, ensureFixtureModel } from "./fixture-models.js";
import { formatMiB } from "./machine-info.js";
import { markdownTable } from "./markdown-table.js";
import { sampleAtRows, sampleUntilExit, type RssSample, type SampledRun } from "./rss-sampler.js";
import { parseScoreSummary } from "./sftscore-cli.js";
import { writeSyntheticJsonl, type SyntheticDatasetStats } from "./synthetic-dataset.js";
import { SFTSCORE_BIN, WORKSPACE_ROOT } from "./workspace.js";

const ROWS = 100_000;
const SEED = 1;
const SAMPLE_INTERVAL_MS = 500;
/** Rows at which resident memory is reported; growth is measured between the second and the last. */
const MARKS = [1_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, ROWS];
const FLAT_FROM_ROWS = 10_000;
/** 1 GB, decimal: the stricter reading of the "under 1 GB". */
const PEAK_TARGET_BYTES = 1e9;
const GROWTH_TARGET = 0.1;
/** Rows per progress line on the console. */
const LOG_EVERY_ROWS = 10_000;

/** Measured on 2 shared cores: see the section's wall time in BENCHMARKS.md. */
const ESTIMATE_SECONDS = 540;

export const streamingSection: BenchSection = {
  name: "streaming",
  estimateSeconds: ESTIMATE_SECONDS,
  run: runStreaming,
};

async function runStreaming(context: BenchContext): Promise<SectionResult> {
  const started = new Date();
  const model = await ensureFixtureModel(context.modelCacheDir, "tiny");
  const data = path.join(context.workDir, "streaming.jsonl");
  const out = path.join(context.workDir, "streaming-scores.jsonl");
  context.log(`streaming: generating ${ROWS.toLocaleString("en-US")} rows`);
  const dataset = await writeSyntheticJsonl(data, ROWS, SEED);
  const args = ["score", data, "--model", model.dir, "--out", out, "--task-field", "task"];
  const loadBefore = os.loadavg()[0];
  context.log(`streaming: sftscore ${args.join(" ")}`);
  // The engine caches its loss-head-extended model under SFTSCORE_CACHE: keep it with the models.
  const child = spawn(SFTSCORE_BIN, args, { cwd: WORKSPACE_ROOT, env: { ...process.env, SFTSCORE_CACHE: context.modelCacheDir }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  let nextLog = LOG_EVERY_ROWS;
  const run = await sampleUntilExit(child, {
    outputFile: out,
    intervalMs: SAMPLE_INTERVAL_MS,
    onSample(sample) {
      if (sample.rows < nextLog) return;
      nextLog = (Math.floor(sample.rows / LOG_EVERY_ROWS) + 1) * LOG_EVERY_ROWS;
      context.log(`streaming: ${sample.rows.toLocaleString("en-US")} rows after ${sample.seconds.toFixed(0)} s, RSS ${formatMiB(sample.rssBytes)}, peak ${formatMiB(sample.peakRssBytes)}`);
    },
  });
  if (run.code !== 0) throw new Error(`sftscore ${args.join(" ")} exited with ${run.code}:\n${stderr.slice(-4000)}`);
  if (run.finalRows !== ROWS) throw new Error(`sftscore wrote ${run.finalRows} rows, expected ${ROWS}`);
  const { tokens } = parseScoreSummary(stderr);
  const figures = streamingFigures(run);
  const modelText = await describeFixtureModel(model);
  const targets: TargetOutcome[] = [
    { description: `streaming: peak RSS of \`sftscore score\` over ${ROWS.toLocaleString("en-US")} rows < 1 GB`, met: figures.peakBytes < PEAK_TARGET_BYTES, required: false },
    {
      description: `streaming: RSS flat from ${FLAT_FROM_ROWS.toLocaleString("en-US")} to ${ROWS.toLocaleString("en-US")} rows (growth < ${GROWTH_TARGET * 100}%)`,
      met: figures.growth !== undefined && figures.growth.fraction < GROWTH_TARGET,
      required: false,
    },
  ];
  const markdown = renderStreaming({ started, sectionSeconds: (Date.now() - started.getTime()) / 1000, modelText, dataset, args, loadBefore, run, tokens, figures, targets });
  return { markdown, targets };
}

/** Resident memory at each mark, the peak, and the growth between the flat-from mark and the end. */
export interface StreamingFigures {
  readonly marks: readonly { readonly rows: number; readonly sample: RssSample | undefined }[];
  /** `VmHWM` of the last sample: the process's peak up to its end. */
  readonly peakBytes: number;
  readonly growth?: { readonly bytes: number; readonly fraction: number };
}

/**
 * Reads the figures off a sampled run. The end mark is the last sample taken before the output held
 * every row, while the last window was being scored: once it is written the process releases its
 * sessions and exits, and a sample then would show memory already given back.
 */
export function streamingFigures(run: Pick<SampledRun, "samples">, marks: readonly number[] = MARKS, flatFrom = FLAT_FROM_ROWS): StreamingFigures {
  const last = run.samples.at(-1);
  const end = marks.at(-1);
  const atMarks = marks.map((rows) => ({ rows, sample: rows === end ? run.samples.findLast((sample) => sample.rows < rows) : sampleAtRows(run.samples, rows) }));
  const from = atMarks.find((mark) => mark.rows === flatFrom)?.sample;
  const to = atMarks.at(-1)?.sample;
  const growth = from && to ? { bytes: to.rssBytes - from.rssBytes, fraction: (to.rssBytes - from.rssBytes) / from.rssBytes } : undefined;
  return { marks: atMarks, peakBytes: last?.peakRssBytes ?? Number.NaN, ...(growth === undefined ? {} : { growth }) };
}

interface StreamingReport {
  readonly started: Date;
  readonly sectionSeconds: number;
  readonly modelText: string;
  readonly dataset: SyntheticDatasetStats;
  readonly args: readonly string[];
  readonly loadBefore: number;
  readonly run: SampledRun;
  readonly tokens: number;
  readonly figures: StreamingFigures;
  readonly targets: readonly TargetOutcome[];
}

function renderStreaming(report: StreamingReport): string {
  const { run, figures, dataset } = report;
  const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);
  const cpuSeconds = run.samples.at(-1)?.cpuSeconds ?? Number.NaN;
  const rowsTable = markdownTable(
    [{ header: "rows written" }, { header: "after (s)", numeric: true }, { header: "RSS (MiB)", numeric: true }, { header: "peak so far (MiB)", numeric: true }],
    figures.marks.map(({ rows, sample }) => [
      sample === undefined ? `${rows.toLocaleString("en-US")} (not sampled)` : sample.rows >= rows ? rows.toLocaleString("en-US") : `${rows.toLocaleString("en-US")} (last sample, at ${sample.rows.toLocaleString("en-US")})`,
      sample === undefined ? "—" : sample.seconds.toFixed(0),
      sample === undefined ? "—" : mib(sample.rssBytes),
      sample === undefined ? "—" : mib(sample.peakRssBytes),
    ]),
  );
  const growth = figures.growth === undefined ? "not measured" : `${figures.growth.bytes >= 0 ? "+" : "−"}${mib(Math.abs(figures.growth.bytes))} MiB (${(figures.growth.fraction * 100).toFixed(1)}%)`;
  const targetTable = markdownTable(
    [{ header: "target" }, { header: "value" }, { header: "met" }],
    [
      [report.targets[0].description.replace(/^streaming: /, ""), `${mib(figures.peakBytes)} MiB (${(figures.peakBytes / 1e9).toFixed(3)} GB)`, report.targets[0].met ? "yes" : "**no**"],
      [report.targets[1].description.replace(/^streaming: /, ""), growth, report.targets[1].met ? "yes" : "**no**"],
    ],
  );
  const command = ["sftscore", ...report.args.map((arg) => (path.isAbsolute(arg) ? path.basename(arg) : arg))].join(" ");
  return `## Streaming: memory over ${ROWS.toLocaleString("en-US")} rows (\`bench/streaming-rss.ts\`)

Written by \`npm run bench\`; a rerun replaces this section.

- **Date:** ${report.started.toISOString()}; the section took ${report.sectionSeconds.toFixed(0)} s.
- **Machine:** ${os.availableParallelism()} cores, shared; 1-minute load average ${report.loadBefore.toFixed(2)} before the start. The CLI used ${cpuSeconds.toFixed(0)} CPU seconds over ${run.wallSeconds.toFixed(0)} s (${((100 * cpuSeconds) / (run.wallSeconds * os.availableParallelism())).toFixed(0)}% of the cores).
- **Model:** ${report.modelText}.
- **Data:** ${dataset.rows.toLocaleString("en-US")} generated Alpaca-style rows (\`bench/synthetic-dataset.ts\`, seed ${SEED}): ${(dataset.bytes / 1024 ** 2).toFixed(1)} MiB of JSONL, a third Chinese, one in five with an input, ${dataset.tasks.toLocaleString("en-US")} tasks from large to singletons.
- **Command:** \`${command}\` — every metric, default settings (one-shot partners from the whole file, fetched by byte offset).
- **Method:** \`VmRSS\` and \`VmHWM\` of the CLI's process (main thread, session worker thread, ONNX Runtime and tokenizer threads) from \`/proc/<pid>/status\` every ${SAMPLE_INTERVAL_MS} ms, against the lines in its output file. Rows are written a window (2,048 samples) at a time, so a mark's figure is the first sample after the output reached it; the last mark's is the last sample before the output held every row (the last window being scored), since the process then releases its sessions and exits.
- **Throughput:** ${ROWS.toLocaleString("en-US")} rows in ${run.wallSeconds.toFixed(0)} s, ${(ROWS / run.wallSeconds).toFixed(0)} rows/s; ${report.tokens.toLocaleString("en-US")} tokens scored (${(report.tokens / ROWS).toFixed(0)} a row over every sequence the metrics need), ${(report.tokens / run.wallSeconds).toFixed(0)} tokens/s.

${rowsTable}

Peak (\`VmHWM\`): ${mib(figures.peakBytes)} MiB. RSS from ${FLAT_FROM_ROWS.toLocaleString("en-US")} to ${ROWS.toLocaleString("en-US")} rows: ${growth}.

${targetTable}
`;
}
