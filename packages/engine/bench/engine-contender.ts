/**
 * The engine as a user runs it — `createEngine` and `engine.score()` over the whole workload — timed
 * pass by pass, with its own statistics for padding and shapes.
 */
import type { SequenceRequest } from "@sftscore/metrics";
import { DEFAULT_MAX_BATCH_SIZE } from "../src/batcher.js";
import { createEngine, type Engine, type EngineOptions } from "../src/engine.js";
import type { ContenderJob, ContenderResult, PassResult, ShapeProbeResult } from "./contender-protocol.js";
import { runPasses, startContentionMeter } from "./cpu-contention.js";

/**
 * New shapes for the probe: padded lengths beyond the example data's longest bucket (384), so
 * certainly unseen. The first two hold fewer tokens than the workload's batches; the last is one long
 * row, whose `[heads, L, L]` attention scores are larger than any tensor the workload needed.
 */
const PROBE_SHAPES: readonly { rows: number; length: number }[] = [
  { rows: 4, length: 450 },
  { rows: 2, length: 700 },
  { rows: 1, length: 2000 },
];
/** Runs at each probe shape after the first. */
const PROBE_REPEATS = 2;
/** Scored positions per probe row: 4 rows of them stay within the default 441 rows of the loss head at vocabulary 151,936. */
const PROBE_SCORED = 100;

export async function runEngineContender(job: ContenderJob, baselineRssBytes: number): Promise<ContenderResult> {
  const options: EngineOptions = {
    model: job.modelDir,
    threads: job.threads,
    cacheDir: job.extendedCacheDir,
    ...(job.contender === "engine-full-logits" ? { forceFullLogits: true } : {}),
  };
  const loadStarted = performance.now();
  const engine = await createEngine(options);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  try {
    const info = await engine.info();
    const passes = job.warmPasses === undefined ? [] : await runPasses(job.warmPasses, job.maxExtraPasses ?? 0, () => enginePass(engine, job.requests));
    const example = job.exampleRequests ? await enginePass(engine, job.exampleRequests) : undefined;
    const shapeProbe = job.shapeProbe ? await probeShapes(engine, job.requests) : undefined;
    return {
      contender: job.contender,
      passes,
      maxRssBytes: 0,
      baselineRssBytes,
      loadSeconds,
      engine: {
        lossHead: info.lossHead,
        limits: { maxBatchTokens: info.maxBatchTokens, maxBatchSize: DEFAULT_MAX_BATCH_SIZE, maxScoredTokens: info.maxScoredTokens, maxAttentionCells: info.maxAttentionCells, maxLength: info.maxLength },
      },
      ...(example ? { exampleFill: { realTokens: example.realTokens, paddedTokens: example.paddedTokens, batches: example.batches } } : {}),
      ...(shapeProbe ? { shapeProbe } : {}),
    };
  } finally {
    await engine.close();
  }
}

/** Scores every request once and reports the engine's counters for exactly that pass. */
async function enginePass(engine: Engine, requests: readonly SequenceRequest[]): Promise<PassResult> {
  const before = engine.stats();
  const contention = startContentionMeter();
  const started = performance.now();
  let sumLogprob = 0;
  let results = 0;
  for await (const score of engine.score(stream(requests))) {
    results++;
    for (const span of score.spans) sumLogprob += span.sumLogprob;
  }
  const seconds = (performance.now() - started) / 1000;
  const otherCpuShare = contention();
  const after = engine.stats();
  if (results !== requests.length) throw new Error(`engine answered ${results} of ${requests.length} requests`);
  return {
    seconds,
    realTokens: after.realTokens - before.realTokens,
    paddedTokens: after.paddedTokens - before.paddedTokens,
    scoredTokens: after.scoredTokens - before.scoredTokens,
    batches: after.batches - before.batches,
    sessionSeconds: after.runSeconds - before.runSeconds,
    parts: {},
    sumLogprob,
    shapesSoFar: after.shapes,
    otherCpuShare,
  };
}

/**
 * For each probe shape, sends one batch of `rows` identical-length sequences (real tokens from the
 * workload, the last {@link PROBE_SCORED} positions scored, so that every probe fits the loss head's
 * rows per run) 1 + {@link PROBE_REPEATS} times, and records `session.run` time.
 * The engine's shape counter confirms that the first run was at a new shape and the later ones not.
 */
async function probeShapes(engine: Engine, workload: readonly SequenceRequest[]): Promise<ShapeProbeResult[]> {
  const tokens = workload.flatMap((request) => Array.from(request.tokenIds));
  const results: ShapeProbeResult[] = [];
  for (const { rows, length } of PROBE_SHAPES) {
    const times: number[] = [];
    let paddedLength = 0;
    for (let run = 0; run <= PROBE_REPEATS; run++) {
      const requests = Array.from({ length: rows }, (_, row) => ({
        id: `probe-${rows}x${length}-${run}-${row}`,
        tokenIds: Uint32Array.from(tokens.slice(row * 7, row * 7 + length)),
        spans: [{ start: length - PROBE_SCORED, end: length }],
      }));
      const before = engine.stats();
      for await (const _score of engine.score(stream(requests))) {
        // Only the timing matters here.
      }
      const after = engine.stats();
      const newShapes = after.shapes - before.shapes;
      if (after.batches - before.batches !== 1 || newShapes !== (run === 0 ? 1 : 0)) {
        throw new Error(
          `shape probe ${rows}x${length}: expected one batch at ${run === 0 ? "a new" : "a known"} shape, got ${after.batches - before.batches} batches, ${newShapes} new shapes`,
        );
      }
      paddedLength = (after.paddedTokens - before.paddedTokens) / rows;
      times.push(after.runSeconds - before.runSeconds);
    }
    results.push({ rows, paddedLength, firstSeconds: times[0], laterSeconds: times.slice(1) });
  }
  return results;
}

/** The `Scorer` contract takes an async stream of requests, as the CLI and the gRPC server send them. */
export async function* stream(requests: readonly SequenceRequest[]): AsyncIterable<SequenceRequest> {
  yield* requests;
}
