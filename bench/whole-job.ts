/**
 * The whole-job benchmark (issue 7 §1 and §2): sftscore against the seed's way on the same samples,
 * model and partners; what each of sftscore's optimisations gives (each turned off in turn); and
 * sftscore's time against the compute floor of the same job.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createEngine, DEFAULT_MAX_BATCH_SIZE, defaultLengthBucket, type BatchLimits, type EngineOptions, type EngineStats, type FixturePreset } from "@sftscore/engine";
import { assertSample, scoreSamples, type MetricRow, type Sample, type ScoreOptions, type Scorer, type SequenceRequest, type SequenceScore } from "@sftscore/metrics";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { startContentionMeter } from "./cpu-contention.js";
import { countFloorWork, readModelShape, timeFloor, type FloorTiming, type FloorWork, type ModelShape } from "./compute-floor.js";
import { ensureFixtureModel } from "./fixture-models.js";
import { describeMachine, machineInfo } from "./machine-info.js";
import { runSeedWay, type SeedMetrics, type SeedWayRun } from "./seed-way.js";
import { renderWholeJob } from "./whole-job-report.js";
import { WORKSPACE_ROOT } from "./workspace.js";

/** The benchmark's data: realistic short Chinese and English samples with task labels. */
export const WHOLE_JOB_DATA = path.join(WORKSPACE_ROOT, "examples", "alpaca_bench.jsonl");
const PARTNERS = 3;
const PARTNER_SEED = 0;
const THREADS = 2;
/** The seed's `batch_size` default in `calculate_sample_perplexity_resortable`. */
const SEED_BATCH_SIZE = 5;
/** Agreement required of every pair of runs: relative difference of the log values. */
export const AGREEMENT_TOLERANCE = 1e-6;

/** Options of {@link createWholeJobSection}. */
export interface WholeJobOptions {
  /** Default `bench-small` (vocabulary 151,936); tests use `tiny`. */
  readonly preset?: FixturePreset;
  /** A JSONL file of Alpaca samples with a `task` field; default {@link WHOLE_JOB_DATA}. */
  readonly data?: string;
  /**
   * Samples scored by both, the first ones of the file; default 200. With `bench-small` on 2 cores
   * each costs about 2.9 s of the section's time (2.3 s of it the seed way).
   */
  readonly samples?: number;
  /**
   * Samples the ablations score, the first ones; default 30 (at most {@link samples}), which keeps
   * `npm run bench` under 30 minutes on 2 cores. Each costs about 2.6 s (six sftscore runs).
   */
  readonly ablationSamples?: number;
}

/** One sftscore configuration of the breakdown. */
export interface Ablation {
  readonly name: string;
  readonly engine?: Partial<EngineOptions>;
  readonly sharing?: ScoreOptions["sharing"];
}

/** Each optimisation turned off in turn. */
export const ABLATIONS: readonly Ablation[] = [
  { name: "prefix sharing off", engine: { prefixCacheBytes: 0 } },
  { name: "shared passes off", sharing: { sharedPasses: false } },
  { name: "dedup off", sharing: { dedup: false } },
  { name: "loss head off (forceFullLogits)", engine: { forceFullLogits: true } },
  { name: "token-budget batching off (fixed batches of 5)", engine: { batching: { fixedBatchSize: SEED_BATCH_SIZE } } },
];

/** What one sftscore run took and gave. */
export interface SftscoreRun {
  readonly name: string;
  readonly samples: number;
  /** The truncation length the rows were scored with (the model's maximum). */
  readonly maxLength: number;
  readonly rows: readonly MetricRow[];
  readonly loadSeconds: number;
  /** `scoreSamples` from the first sample to the last row: tokenization, planning, scoring, composition. */
  readonly seconds: number;
  /** Share of all cores other processes used meanwhile (see `startContentionMeter`). */
  readonly otherCpuShare: number;
  readonly stats: EngineStats;
  /** The engine's batch limits (the floor plans its runs with them). */
  readonly limits: BatchLimits;
  /** The sequences sent, by id. */
  readonly requests: ReadonlyMap<string, SequenceRequest>;
  /** Σ of every returned span score. */
  readonly sumLogprob: number;
}

/** Largest disagreement between two runs, per metric and overall. */
export interface Agreement {
  readonly byMetric: Readonly<Record<keyof SeedMetrics, number>>;
  readonly max: number;
}

/** Everything the report shows. */
export interface WholeJobResult {
  readonly startedAt: Date;
  readonly dataFile: string;
  /** Largest difference allowed between runs' values (see {@link agreementOf}). */
  readonly tolerance: number;
  readonly totalSeconds: number;
  readonly loadAverage: number;
  readonly machine: string;
  readonly model: { readonly dir: string; readonly preset: FixturePreset; readonly built: boolean; readonly shape: ModelShape };
  readonly samples: readonly Sample[];
  readonly sftscore: SftscoreRun;
  readonly seed: SeedWayRun;
  readonly seedOtherCpuShare: number;
  readonly seedAgreement: Agreement;
  readonly ablationBase: SftscoreRun;
  readonly ablations: readonly { readonly run: SftscoreRun; readonly agreement: Agreement }[];
  readonly floorWork: FloorWork;
  readonly floor: FloorTiming;
  readonly floorOtherCpuShare: number;
  /** The process's peak RSS after each measured run, in run order. */
  readonly peakRss: readonly { readonly run: string; readonly bytes: number }[];
}

/** The section; tests run it on the tiny model and a few samples. */
export function createWholeJobSection(options: WholeJobOptions = {}): BenchSection {
  const samples = options.samples ?? 200;
  const settings = {
    preset: options.preset ?? "bench-small",
    data: options.data ?? WHOLE_JOB_DATA,
    samples,
    ablationSamples: options.ablationSamples ?? Math.min(30, samples),
  };
  if (settings.ablationSamples > settings.samples) throw new Error(`ablationSamples (${settings.ablationSamples}) exceeds samples (${settings.samples})`);
  return {
    name: "whole-job",
    estimateSeconds: Math.round(3.2 * settings.samples + 2.6 * settings.ablationSamples),
    run: (context) => runWholeJob(context, settings),
  };
}

/** `npm run bench`'s whole-job section: 200 samples, the ablations on the first 30. */
export const wholeJobSection: BenchSection = createWholeJobSection();

async function runWholeJob(context: BenchContext, settings: Required<WholeJobOptions>): Promise<SectionResult> {
  const startedAt = new Date();
  const loadAverage = os.loadavg()[0];
  // With a KV cache, as optimum's with-past exports: sftscore computes shared prefixes once on it; the
  // seed way and the floor feed it an empty cache.
  const model = await ensureFixtureModel(context.modelCacheDir, settings.preset, 0, { withPast: true });
  context.log(model.built ? `built ${model.dir} in ${model.buildSeconds.toFixed(1)} s` : `reusing ${model.dir}`);
  const shape = await readModelShape(model.dir);
  const samples = await readSamples(settings.data, settings.samples);
  const cacheDir = path.join(context.modelCacheDir, "extended-models");

  const peakRss: { run: string; bytes: number }[] = [];
  const notePeakRss = (run: string) => peakRss.push({ run, bytes: process.resourceUsage().maxRSS * 1024 });

  context.log(`sftscore on ${samples.length} samples …`);
  const sftscore = await runSftscore(model.dir, cacheDir, samples, { name: "sftscore" });
  notePeakRss("sftscore");
  context.log(`sftscore: ${sftscore.seconds.toFixed(1)} s; the seed way …`);
  let contention = startContentionMeter();
  const seed = await runSeedWay({
    modelDir: model.dir,
    triplets: samples,
    partners: sftscore.rows.map((row) => row.oneshot_partners ?? []),
    threads: THREADS,
    maxLength: sftscore.maxLength,
    batchSize: SEED_BATCH_SIZE,
    onProgress: (done, total) => {
      if (done % 100 === 0) context.log(`seed way: batch ${done} of ${total}`);
    },
  });
  const seedOtherCpuShare = contention();
  notePeakRss("the seed way");
  context.log(`seed way: ${seed.seconds.toFixed(1)} s; the compute floor …`);
  const floorWork = countFloorWork([...sftscore.requests.values()], shape);
  contention = startContentionMeter();
  const floor = await timeFloor(model.dir, [...sftscore.requests.values()], sftscore.limits, THREADS);
  const floorOtherCpuShare = contention();
  notePeakRss("the compute floor");

  const subset = samples.slice(0, settings.ablationSamples);
  const ablationBase = subset.length === samples.length ? sftscore : await runSftscore(model.dir, cacheDir, subset, { name: "sftscore" });
  const ablations = [];
  for (const ablation of ABLATIONS) {
    context.log(`ablation: ${ablation.name} on ${subset.length} samples …`);
    const run = await runSftscore(model.dir, cacheDir, subset, ablation);
    notePeakRss(ablation.name);
    ablations.push({ run, agreement: agreementOf(ablationBase.rows, (i, metric) => run.rows[i][metric] ?? null) });
  }

  const result: WholeJobResult = {
    startedAt,
    dataFile: settings.data,
    tolerance: AGREEMENT_TOLERANCE,
    totalSeconds: (Date.now() - startedAt.getTime()) / 1000,
    loadAverage,
    machine: describeMachine(await machineInfo()),
    model: { dir: model.dir, preset: settings.preset, built: model.built, shape },
    samples,
    sftscore,
    seed,
    seedOtherCpuShare,
    seedAgreement: agreementOf(sftscore.rows, (i, metric) => seed.metrics[i][metric]),
    ablationBase,
    ablations,
    floorWork,
    floor,
    floorOtherCpuShare,
    peakRss,
  };
  return { markdown: renderWholeJob(result), targets: targetsOf(result) };
}

function targetsOf(result: WholeJobResult): TargetOutcome[] {
  const speedup = result.seed.seconds / result.sftscore.seconds;
  const overFloor = result.sftscore.seconds / result.floor.seconds;
  return [
    {
      description: `sftscore and the seed way agree: max relative difference of the log values ${result.seedAgreement.max.toExponential(2)} ≤ ${AGREEMENT_TOLERANCE}`,
      met: result.seedAgreement.max <= AGREEMENT_TOLERANCE,
      required: true,
    },
    ...result.ablations.map(({ run, agreement }) => ({
      description: `${run.name} gives sftscore's values: max relative difference ${agreement.max.toExponential(2)} ≤ ${AGREEMENT_TOLERANCE}`,
      met: agreement.max <= AGREEMENT_TOLERANCE,
      required: true,
    })),
    { description: `sftscore ≥ 10× the seed way's samples/s: ${speedup.toFixed(2)}×`, met: speedup >= 10, required: false },
    { description: `sftscore's time ≤ 1.2× the compute floor's: ${overFloor.toFixed(2)}×`, met: overFloor <= 1.2, required: false },
  ];
}

/** Reads the first `count` samples of a JSONL file, validated with the file and line named. */
export async function readSamples(file: string, count: number): Promise<Sample[]> {
  const lines = (await readFile(file, "utf8")).split("\n");
  const samples: Sample[] = [];
  for (const [i, line] of lines.entries()) {
    if (samples.length === count) break;
    if (line.trim() === "") continue;
    const where = `${path.relative(WORKSPACE_ROOT, file)} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
    assertSample(value, where);
    samples.push(value);
  }
  if (samples.length < count) throw new Error(`${file} has ${samples.length} samples; the benchmark needs ${count}`);
  return samples;
}

/**
 * Scores `samples` the way `sftscore score` does (createEngine, then scoreSamples; all metrics, K = 3,
 * seed 0), with a fresh engine whose load is timed apart, recording the sequences sent and the batches run.
 */
async function runSftscore(modelDir: string, cacheDir: string, samples: readonly Sample[], variant: Ablation): Promise<SftscoreRun> {
  const loadStarted = performance.now();
  const engine = await createEngine({ model: modelDir, threads: THREADS, cacheDir, ...variant.engine });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  try {
    const requests = new Map<string, SequenceRequest>();
    let sumLogprob = 0;
    const scorer = recordingScorer(engine, requests, (score) => score.spans.forEach((span) => (sumLogprob += span.sumLogprob)));
    const rows: MetricRow[] = [];
    const contention = startContentionMeter();
    const started = performance.now();
    const options: ScoreOptions = { oneshotPartners: PARTNERS, seed: PARTNER_SEED, ...(variant.sharing === undefined ? {} : { sharing: variant.sharing }) };
    for await (const row of scoreSamples(samples, scorer, options)) rows.push(row);
    const seconds = (performance.now() - started) / 1000;
    const otherCpuShare = contention();
    const info = await engine.info();
    const limits: BatchLimits = {
      maxBatchTokens: info.maxBatchTokens,
      maxBatchSize: variant.engine?.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
      maxScoredTokens: info.maxScoredTokens,
      maxAttentionCells: info.maxAttentionCells,
      lengthBucket: (length) => Math.min(defaultLengthBucket(length), info.maxLength),
    };
    return { name: variant.name, samples: samples.length, maxLength: info.maxLength, rows, loadSeconds, seconds, otherCpuShare, stats: engine.stats(), limits, requests, sumLogprob };
  } finally {
    await engine.close();
  }
}

/** `scorer`, with every request it is sent put in `requests` and every score shown to `onScore`. */
function recordingScorer(scorer: Scorer, requests: Map<string, SequenceRequest>, onScore: (score: SequenceScore) => void): Scorer {
  async function* record(stream: AsyncIterable<SequenceRequest>): AsyncGenerator<SequenceRequest> {
    for await (const request of stream) {
      requests.set(request.id, request);
      yield request;
    }
  }
  async function* observe(scores: AsyncIterable<SequenceScore>): AsyncGenerator<SequenceScore> {
    for await (const score of scores) {
      onScore(score);
      yield score;
    }
  }
  return { info: () => scorer.info(), close: () => scorer.close(), score: (stream, options) => observe(scorer.score(record(stream), options)) };
}

const COMPARED: readonly (keyof SeedMetrics)[] = ["prompt_ppl", "response_ppl", "output_ppl", "ifd", "instruction_ppl", "reverse_response_ppl", "rifd", "oneshot_validity"];

/** The perplexities whose logs a ratio is the difference of. */
const RATIO_OPERANDS = { ifd: ["response_nll", "output_nll"], rifd: ["reverse_response_nll", "instruction_nll"] } as const;

/**
 * How far `other` is from `rows`, per metric, as a relative difference of the log values. For a
 * perplexity, `|ln a − ln b| / |ln a|` (its log is the mean NLL). For `ifd` and `rifd`, whose logs are
 * differences of two mean NLLs and can be near 0, `|ln a − ln b| / (|ln num| + |ln den|)`: the most
 * that relative errors of this size in the two logs can move the ratio's log. For `oneshot_validity`,
 * a mean of signs, `|a − b|`. Missing on both sides (null, NaN) agrees; on one side it is an
 * infinite difference.
 */
export function agreementOf(rows: readonly MetricRow[], other: (index: number, metric: keyof SeedMetrics) => number | null): Agreement {
  const byMetric = Object.fromEntries(COMPARED.map((metric) => [metric, 0])) as Record<keyof SeedMetrics, number>;
  rows.forEach((row, i) => {
    for (const metric of COMPARED) byMetric[metric] = Math.max(byMetric[metric], differenceOf(row, metric, other(i, metric)));
  });
  return { byMetric, max: Math.max(...Object.values(byMetric)) };
}

function differenceOf(row: MetricRow, metric: keyof SeedMetrics, b: number | null): number {
  const a = row[metric] ?? null;
  const missing = (x: number | null): x is null => x === null || Number.isNaN(x);
  if (missing(a) || missing(b)) return missing(a) && missing(b) ? 0 : Infinity;
  if (metric === "oneshot_validity") return Math.abs(a - b);
  const difference = Math.abs(Math.log(a) - Math.log(b));
  if (difference === 0) return 0;
  const scale = metric === "ifd" || metric === "rifd" ? RATIO_OPERANDS[metric].reduce((sum, column) => sum + Math.abs(row[column] ?? NaN), 0) : Math.abs(Math.log(a));
  return difference / scale;
}
