/**
 * What shape bucketing buys: two engines in one process, one with `defaultLengthBucket` and one
 * padding to exact lengths, take turns on the shape-churn workload (a latency-bound client whose
 * small groups each become their own batch). Taking turns in one process keeps machine noise and
 * process-to-process differences out of the comparison.
 */
import type { SequenceRequest } from "@sftscore/metrics";
import { createEngine, type Engine } from "../src/engine.js";
import { seededRandom } from "../src/test-support/seeded-random.js";
import type { ChurnOptions, ChurnRound, ContenderJob, ContenderResult } from "./contender-protocol.js";
import { startContentionMeter } from "./cpu-contention.js";
import { stream } from "./engine-contender.js";

export async function runChurnContender(job: ContenderJob, baselineRssBytes: number): Promise<ContenderResult> {
  const options = job.churn;
  if (!options) throw new Error("shape-churn needs its churn options");
  const common = { model: job.modelDir, threads: job.threads, cacheDir: job.extendedCacheDir };
  const loadStarted = performance.now();
  const bucketed = await createEngine(common);
  const exact = await createEngine({ ...common, lengthBucket: (length) => length });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  try {
    const random = seededRandom(options.seed);
    const defaultBuckets: ChurnRound[] = [];
    const exactLengths: ChurnRound[] = [];
    for (let round = 0; round < options.rounds; round++) {
      // Both engines get the same order in a round, a fresh one per round.
      const order = shuffled(options.requests, random).map((request) => ({ ...request, id: `${request.id}@churn${round}` }));
      defaultBuckets.push(await churnRound(bucketed, order, options));
      exactLengths.push(await churnRound(exact, order, options));
    }
    return { contender: job.contender, passes: [], maxRssBytes: 0, baselineRssBytes, loadSeconds, churn: { defaultBuckets, exactLengths } };
  } finally {
    await Promise.all([bucketed.close(), exact.close()]);
  }
}

/** Sends `order` in groups of `groupSize`, awaiting each group's results before the next. */
async function churnRound(engine: Engine, order: readonly SequenceRequest[], options: ChurnOptions): Promise<ChurnRound> {
  const before = engine.stats();
  const contention = startContentionMeter();
  const started = performance.now();
  for (let at = 0; at < order.length; at += options.groupSize) {
    for await (const _score of engine.score(stream(order.slice(at, at + options.groupSize)))) {
      // Only the timing matters here.
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const after = engine.stats();
  return {
    seconds,
    realTokens: after.realTokens - before.realTokens,
    batches: after.batches - before.batches,
    newShapes: after.shapes - before.shapes,
    otherCpuShare: contention(),
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
