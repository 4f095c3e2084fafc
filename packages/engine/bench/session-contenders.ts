/**
 * The contenders that drive ONNX Runtime sessions directly, on the batches the engine's planner makes
 * with the engine's own limits (same rows, same padded lengths, same feeds):
 *
 * - (b) `js-log-softmax`: the source `model.onnx` returns `[batch, seq, vocab]` logits, which are
 *   copied out to JavaScript, where a loop computes log-softmax and picks the label at each scored
 *   position (only there: a generous baseline);
 * - (c) `floor`: the body graph returns the final hidden states, JavaScript gathers the scored rows,
 *   and the head graph applies the LM head, log-softmax and label gather to those rows only.
 */
import path from "node:path";
import type { SequenceRequest } from "@sftscore/metrics";
import ort from "onnxruntime-node";
import { buildBatchFeeds, scoredPositions, type BatchFeeds } from "../src/batch-tensors.js";
import { defaultLengthBucket, planBatches, type PlannedBatch } from "../src/batcher.js";
import type { ContenderJob, ContenderResult, PassResult, PlanLimits } from "./contender-protocol.js";
import { runPasses, startContentionMeter } from "./cpu-contention.js";
import { deriveFloorGraphs, HEAD_HIDDEN_INPUT, HEAD_LABELS_INPUT, HEAD_OUTPUT, type DerivedGraph } from "./floor-graphs.js";

/** Runs one planned batch; returns Σ log p of its scored tokens and adds its time to `parts`. */
type BatchRunner = (feeds: BatchFeeds, parts: Record<string, number>) => Promise<number>;

export async function runSessionContender(job: ContenderJob, baselineRssBytes: number): Promise<ContenderResult> {
  if (!job.limits) throw new Error(`${job.contender} needs the engine's batch limits`);
  const plan = planWorkload(job.requests, job.limits);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ["cpu"],
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  };
  const loadStarted = performance.now();
  const { runner, release } = job.contender === "floor" ? await floorRunner(job.modelDir, options) : await jsLogSoftmaxRunner(job.modelDir, options);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  try {
    const passes = await runPasses(job.warmPasses ?? 0, job.maxExtraPasses ?? 0, () => planPass(job.requests, plan, runner));
    return { contender: job.contender, passes, maxRssBytes: 0, baselineRssBytes, loadSeconds };
  } finally {
    await release();
  }
}

/** The engine planner's batches for the whole workload, with the engine's limits and length buckets. */
export function planWorkload(requests: readonly SequenceRequest[], limits: PlanLimits): PlannedBatch[] {
  const items = requests.map((request, index) => ({ index, length: request.tokenIds.length, scoredCount: scoredPositions(request).length }));
  return planBatches(items, { ...limits, lengthBucket: (n) => Math.min(defaultLengthBucket(n), limits.maxLength) });
}

async function planPass(requests: readonly SequenceRequest[], plan: readonly PlannedBatch[], runner: BatchRunner): Promise<PassResult> {
  const parts: Record<string, number> = {};
  let sumLogprob = 0;
  let realTokens = 0;
  let paddedTokens = 0;
  let scoredTokens = 0;
  const contention = startContentionMeter();
  const started = performance.now();
  for (const batch of plan) {
    const feeds = buildBatchFeeds(requests, batch);
    sumLogprob += await runner(feeds, parts);
    realTokens += batch.items.reduce((sum, item) => sum + item.length, 0);
    paddedTokens += batch.items.length * batch.paddedLength;
    scoredTokens += feeds.scoredIndex.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const otherCpuShare = contention();
  const sessionSeconds = (parts.session ?? 0) + (parts.body ?? 0) + (parts.head ?? 0);
  return { seconds, realTokens, paddedTokens, scoredTokens, batches: plan.length, sessionSeconds, parts, sumLogprob, otherCpuShare };
}

function modelFeeds(session: ort.InferenceSession, feeds: BatchFeeds): Record<string, ort.Tensor> {
  const dims = [feeds.batchSize, feeds.paddedLength];
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", feeds.inputIds, dims),
    attention_mask: new ort.Tensor("int64", feeds.attentionMask, dims),
    position_ids: new ort.Tensor("int64", feeds.positionIds, dims),
  };
  return Object.fromEntries(session.inputNames.map((name) => {
    const tensor = all[name];
    if (!tensor) throw new Error(`the benchmark model takes an input it cannot feed: ${name}`);
    return [name, tensor];
  }));
}

function addTime(parts: Record<string, number>, name: string, since: number): number {
  const now = performance.now();
  parts[name] = (parts[name] ?? 0) + (now - since) / 1000;
  return now;
}

async function jsLogSoftmaxRunner(modelDir: string, options: ort.InferenceSession.SessionOptions): Promise<{ runner: BatchRunner; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(path.join(modelDir, "model.onnx"), options);
  const runner: BatchRunner = async (feeds, parts) => {
    let time = performance.now();
    const output = (await session.run(modelFeeds(session, feeds), ["logits"])).logits;
    time = addTime(parts, "session", time);
    const logits = output.data as Float32Array;
    const vocab = Number(output.dims[2]);
    let sum = 0;
    for (let k = 0; k < feeds.scoredIndex.length; k++) {
      const base = Number(feeds.scoredIndex[k]) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
      let total = 0;
      for (let v = 0; v < vocab; v++) total += Math.exp(logits[base + v] - max);
      sum += logits[base + Number(feeds.labels[k])] - max - Math.log(total);
    }
    addTime(parts, "jsLogSoftmax", time);
    return sum;
  };
  return { runner, release: () => session.release() };
}

async function floorRunner(modelDir: string, options: ort.InferenceSession.SessionOptions): Promise<{ runner: BatchRunner; release: () => Promise<void> }> {
  const graphs = await deriveFloorGraphs(modelDir);
  // Two sessions means two intra-op thread pools on the same cores. A pool spin-waits for a while
  // after its run, and measured here that spinning took a core from the other session (the body ran
  // 20% slower after the head's run). The engine runs one session and pays nothing of the kind, so
  // the floor's pools sleep instead of spinning.
  const quiet = (extra: DerivedGraph["extra"]) => ({ ...options, extra: { session: { ...extra.session, intra_op: { allow_spinning: "0" } } } });
  const body = await ort.InferenceSession.create(graphs.body.bytes, quiet(graphs.body.extra));
  const head = await ort.InferenceSession.create(graphs.head.bytes, quiet(graphs.head.extra));
  const hiddenSize = graphs.hiddenSize;
  const runner: BatchRunner = async (feeds, parts) => {
    let time = performance.now();
    const hidden = (await body.run(modelFeeds(body, feeds), [graphs.hiddenStatesName]))[graphs.hiddenStatesName].data as Float32Array;
    time = addTime(parts, "body", time);
    const scored = feeds.scoredIndex.length;
    const rows = new Float32Array(scored * hiddenSize);
    for (let k = 0; k < scored; k++) {
      const row = Number(feeds.scoredIndex[k]);
      rows.set(hidden.subarray(row * hiddenSize, (row + 1) * hiddenSize), k * hiddenSize);
    }
    time = addTime(parts, "gather", time);
    const output = await head.run({
      [HEAD_HIDDEN_INPUT]: new ort.Tensor("float32", rows, [scored, hiddenSize]),
      [HEAD_LABELS_INPUT]: new ort.Tensor("int64", feeds.labels, [scored]),
    });
    addTime(parts, "head", time);
    return (output[HEAD_OUTPUT].data as Float32Array).reduce((a, b) => a + b, 0);
  };
  return { runner, release: async () => void (await Promise.all([body.release(), head.release()])) };
}
