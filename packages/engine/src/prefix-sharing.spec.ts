import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { Tokenizer } from "tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine, type EngineBatch, type EngineOptions } from "./engine.js";
import { buildFixtureModel, type FixtureModelOptions } from "./fixture/build-fixture.js";
import { readLlamaModel, type LoadedLlamaModel } from "./fixture/fixture-model-reader.js";
import { referenceTokenLogprobs } from "./fixture/reference-forward.js";

const PREAMBLE = "Below is a description of the task and a reference example. Please write an appropriate response to complete the new task based on the reference example.\n\n";
const EXAMPLES = ["### Example\nName three colours.\nRed, green and blue.\n\n", "### Example\n把句子翻译成英文。\n今天天气很好。\n\n"];
const TASKS = ["### New task\nGive a fruit.\n### Response:", "### New task\nCount to three.\n### Response:", "### New task\n说一个城市。\n### Response:"];
const ANSWERS = ["Apple.", "One, two, three.", "北京。"];

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-prefix-"));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

/** The fixture tokenizer's ids of a text. */
function encoderOf(dir: string): (text: string) => Promise<Uint32Array> {
  const tokenizer = Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
  return async (text) => Uint32Array.from((await tokenizer.encode(text)).getIds());
}

/**
 * One-shot-like sequences: every one starts with the preamble, each example is repeated for every
 * task, and the answer (after the prompt) is scored; plus prompt-only scoring of a zero-shot prompt
 * and a sequence with nothing shared.
 */
async function requestsOf(dir: string): Promise<SequenceRequest[]> {
  const ids = encoderOf(dir);
  const requests: SequenceRequest[] = [];
  for (const [e, example] of EXAMPLES.entries()) {
    for (const [t, task] of TASKS.entries()) {
      const prompt = await ids(PREAMBLE + example + task);
      const tokenIds = await ids(PREAMBLE + example + task + ANSWERS[t]);
      requests.push({ id: `e${e}t${t}`, tokenIds, spans: [{ start: prompt.length, end: tokenIds.length }] });
    }
  }
  const zeroShot = await ids(PREAMBLE + TASKS[0] + ANSWERS[0]);
  requests.push({ id: "zero", tokenIds: zeroShot, spans: [{ start: 1, end: zeroShot.length }] });
  const alone = await ids("A line that shares nothing with the others.");
  requests.push({ id: "alone", tokenIds: alone, spans: [{ start: 3, end: alone.length }] });
  return requests;
}

/**
 * Prompt-perplexity-like sequences: every position after the first is scored, so the preamble's
 * scores (and each example's, on top of it) are the same in every sequence; one asks for its
 * per-token log-probabilities, one scores the preamble only up to its middle.
 */
async function scoredPrefixRequestsOf(dir: string): Promise<SequenceRequest[]> {
  const ids = encoderOf(dir);
  const requests: SequenceRequest[] = [];
  for (const [e, example] of EXAMPLES.entries()) {
    for (const [t, task] of TASKS.entries()) {
      const prompt = await ids(PREAMBLE + example + task);
      const tokenIds = await ids(PREAMBLE + example + task + ANSWERS[t]);
      requests.push({ id: `p${e}t${t}`, tokenIds, spans: [{ start: 1, end: prompt.length }, { start: prompt.length, end: tokenIds.length }], wantTokenLogprobs: e === 1 && t === 2 });
    }
  }
  const preamble = await ids(PREAMBLE);
  const half = await ids(PREAMBLE + TASKS[1]);
  requests.push({ id: "half", tokenIds: half, spans: [{ start: 1, end: preamble.length >> 1 }, { start: preamble.length, end: half.length }] });
  return requests;
}

async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function scoreAll(engine: Engine, requests: readonly SequenceRequest[]): Promise<Map<string, SequenceScore>> {
  const results = new Map<string, SequenceScore>();
  for await (const score of engine.score(streamOf(requests))) results.set(score.id, score);
  return results;
}

/** Largest |engine − float64 reference| of a span's mean log-probability. */
function referenceDiff(model: LoadedLlamaModel, requests: readonly SequenceRequest[], results: ReadonlyMap<string, SequenceScore>): number {
  let worst = 0;
  for (const request of requests) {
    const expected = referenceTokenLogprobs(model.config, model.weights, Array.from(request.tokenIds));
    request.spans.forEach((span, s) => {
      let sum = 0;
      for (let i = span.start; i < span.end; i++) sum += expected[i - 1];
      worst = Math.max(worst, Math.abs((results.get(request.id)?.spans[s].sumLogprob ?? NaN) - sum) / (span.end - span.start));
    });
  }
  return worst;
}

function expectIdentical(a: ReadonlyMap<string, SequenceScore>, b: ReadonlyMap<string, SequenceScore>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [id, score] of a) {
    expect(b.get(id)?.spans, id).toEqual(score.spans);
    expect(b.get(id)?.tokenLogprobs, id).toEqual(score.tokenLogprobs);
  }
}

describe.each([
  { name: "float32", options: {}, tolerance: 1e-4 },
  { name: "float16", options: { dtype: "float16" }, tolerance: 0.02 },
] satisfies { name: string; options: Omit<FixtureModelOptions, "out" | "preset">; tolerance: number }[])("prefix sharing on a $name with-past model", ({ options, tolerance }) => {
  let dir: string;
  let model: LoadedLlamaModel;
  let requests: SequenceRequest[];
  let whole: Map<string, SequenceScore>;
  let wholeTokens: number;
  let cacheDir: string;

  async function run(engineOptions: Partial<EngineOptions>, batches: EngineBatch[] = [], list: readonly SequenceRequest[] = requests) {
    const engine = await createEngine({ model: dir, threads: 1, cacheDir, onBatch: (b) => batches.push(b), ...engineOptions });
    try {
      const results = await scoreAll(engine, list);
      return { results, stats: engine.stats(), info: await engine.info(), batches };
    } finally {
      await engine.close();
    }
  }

  beforeAll(async () => {
    dir = await tempDir();
    cacheDir = await tempDir();
    await buildFixtureModel({ preset: "tiny", out: dir, withPast: true, ...options });
    model = await readLlamaModel(dir);
    requests = await requestsOf(dir);
    const off = await run({ prefixCacheBytes: 0 });
    expect(off.info.prefixCacheBytes).toBe(0);
    expect(off.stats.prefixRuns).toBe(0);
    whole = off.results;
    wholeTokens = off.stats.realTokens;
  });

  it("computes shared prefixes once and scores bit-identically to whole runs, as the float64 reference", async () => {
    const on = await run({});
    expect(on.info.prefixCacheBytes).toBeGreaterThan(0);
    expectIdentical(whole, on.results);
    expect(referenceDiff(model, requests, on.results)).toBeLessThan(tolerance);
    expect(on.stats.prefixRuns).toBeGreaterThan(0);
    expect(on.stats.reusedTokens).toBeGreaterThan(0);
    // Every token is run once: as part of a prefix, or after a sequence's past.
    expect(on.stats.realTokens + on.stats.reusedTokens - on.stats.prefixTokens).toBe(wholeTokens);
    expect(on.stats.realTokens).toBeLessThan(0.7 * wholeTokens);
    for (const batch of on.batches) if (batch.kind === "prefixes") expect(batch.sequenceIds).toEqual([]);
    expect(on.batches.some((batch) => batch.kind === "sequences" && batch.pastLength > 0)).toBe(true);
    expect(on.batches.filter((b) => b.kind === "sequences").reduce((n, b) => n + b.sequenceIds.length, 0)).toBe(requests.length);
  });

  it("reuses prefixes stored by an earlier stream, and evicts to stay within a small cache, with the same scores", async () => {
    const engine = await createEngine({ model: dir, threads: 1, cacheDir });
    try {
      await scoreAll(engine, requests.slice(0, 3));
      const before = engine.stats();
      const rest = await scoreAll(engine, requests.slice(3));
      const after = engine.stats();
      // The preamble (with the first example) is stored; the second stream starts from it.
      expect(after.reusedTokens - before.reusedTokens).toBeGreaterThan(0);
      expectIdentical(new Map(requests.slice(3).map((r) => [r.id, whole.get(r.id) as SequenceScore])), rest);
    } finally {
      await engine.close();
    }
    const small = await run({ prefixCacheBytes: 64 * 1024 });
    expectIdentical(whole, small.results);
  });

  it("scores positions inside a shared prefix once, bit-identically to whole runs", async () => {
    const scoredRequests = await scoredPrefixRequestsOf(dir);
    const off = await run({ prefixCacheBytes: 0 }, [], scoredRequests);
    const on = await run({}, [], scoredRequests);
    expectIdentical(off.results, on.results);
    expect(referenceDiff(model, scoredRequests, on.results)).toBeLessThan(tolerance);
    expect(on.results.get("p1t2")?.tokenLogprobs?.length).toBe(scoredRequests[5].tokenIds.length - 1);
    // The preamble and the examples are scored once, not in every sequence.
    expect(on.stats.scoredTokens).toBeLessThan(0.6 * off.stats.scoredTokens);
    expect(on.stats.realTokens).toBeLessThan(0.6 * off.stats.realTokens);
    expect(on.stats.errors).toEqual({});
  });

  it("does not take scores from a stored prefix that lacks them", async () => {
    const scoredRequests = await scoredPrefixRequestsOf(dir);
    const wholeScored = (await run({ prefixCacheBytes: 0 }, [], scoredRequests)).results;
    const engine = await createEngine({ model: dir, threads: 1, cacheDir });
    try {
      // The first stream stores the preamble without its scores: its sequences score answers only.
      await scoreAll(engine, requests);
      expect(engine.stats().prefixRuns).toBeGreaterThan(0);
      expectIdentical(wholeScored, await scoreAll(engine, scoredRequests));
      expect(engine.stats().errors).toEqual({});
    } finally {
      await engine.close();
    }
  });

  it("scores identically with two workers, each with its own store", async () => {
    const two = await run({ workers: 2 });
    expectIdentical(whole, two.results);
    expect(two.stats.prefixRuns).toBeGreaterThan(0);
  });
});

describe("prefix sharing off", () => {
  it("is off for a model without past inputs and with fixed batches; scores are unchanged", async () => {
    const dir = await tempDir();
    await buildFixtureModel({ preset: "tiny", out: dir });
    const requests = await requestsOf(dir);
    const engine = await createEngine({ model: dir, threads: 1, cacheDir: await tempDir() });
    expect((await engine.info()).prefixCacheBytes).toBe(0);
    await scoreAll(engine, requests);
    expect(engine.stats().prefixRuns).toBe(0);
    await engine.close();
    const pastDir = await tempDir();
    await buildFixtureModel({ preset: "tiny", out: pastDir, withPast: true });
    const fixed = await createEngine({ model: pastDir, threads: 1, cacheDir: await tempDir(), batching: { fixedBatchSize: 5 } });
    expect((await fixed.info()).prefixCacheBytes).toBe(0);
    await scoreAll(fixed, await requestsOf(pastDir));
    expect(fixed.stats()).toMatchObject({ prefixRuns: 0, reusedTokens: 0 });
    await fixed.close();
  });
});
