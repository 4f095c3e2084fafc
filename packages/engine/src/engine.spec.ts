import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { Tokenizer } from "tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executionProviders } from "./devices.js";
import { defaultLengthBucket } from "./batcher.js";
import { createEngine, type Engine, type EngineBatch, type EngineOptions } from "./engine.js";
import { EngineError } from "./engine-error.js";
import { buildFixtureModel, type FixtureModelOptions } from "./fixture/build-fixture.js";
import { readLlamaModel, type LoadedLlamaModel } from "./fixture/fixture-model-reader.js";
import { referenceTokenLogprobs } from "./fixture/reference-forward.js";

const TEXTS = [
  "Below is a description of the task. Please write an appropriate response to complete the request.\n\n### Instruction:\nGive three tips for staying healthy.\n\n### Response:Eat well, sleep enough, and walk every day.",
  "保持健康的三个提示。多喝水，早睡早起，每天锻炼身体。",
  "Translate: 今天天气很好 → The weather is nice today 😀 {input}",
  "短句。",
  "A second English line, a little longer than the short one but shorter than the prompt.",
];

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-engine-"));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

async function fixture(options: Omit<FixtureModelOptions, "out" | "preset"> = {}) {
  const dir = await tempDir();
  await buildFixtureModel({ preset: "tiny", out: dir, ...options });
  const tokenizer = Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
  const rows = await Promise.all(TEXTS.map(async (t) => Uint32Array.from((await tokenizer.encode(t)).getIds())));
  return { dir, rows, model: await readLlamaModel(dir) };
}

async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function scoreAll(engine: Engine, requests: SequenceRequest[]): Promise<Map<string, SequenceScore>> {
  const results = new Map<string, SequenceScore>();
  for await (const score of engine.score(streamOf(requests))) results.set(score.id, score);
  return results;
}

/** Whole-row span, a response-like half span, and per-token log-probs. */
function requestsFor(rows: Uint32Array[], prefix = "r"): SequenceRequest[] {
  return rows.map((tokenIds, i) => ({
    id: `${prefix}${i}`,
    tokenIds,
    spans: [
      { start: 1, end: tokenIds.length },
      { start: Math.ceil(tokenIds.length / 2), end: tokenIds.length },
    ],
    wantTokenLogprobs: true,
  }));
}

function maxReferenceDiff(model: LoadedLlamaModel, requests: SequenceRequest[], results: Map<string, SequenceScore>): number {
  let maxDiff = 0;
  for (const request of requests) {
    const expected = referenceTokenLogprobs(model.config, model.weights, Array.from(request.tokenIds));
    const got = results.get(request.id);
    if (!got?.tokenLogprobs) throw new Error(`no result for ${request.id}`);
    expect(got.tokenLogprobs.length).toBe(expected.length);
    expected.forEach((value, i) => (maxDiff = Math.max(maxDiff, Math.abs(value - (got.tokenLogprobs?.[i] ?? NaN)))));
    request.spans.forEach((span, s) => {
      let sum = 0;
      for (let i = span.start; i < span.end; i++) sum += expected[i - 1];
      expect(got.spans[s].count).toBe(span.end - span.start);
      maxDiff = Math.max(maxDiff, Math.abs(got.spans[s].sumLogprob - sum) / Math.max(1, span.end - span.start));
    });
  }
  return maxDiff;
}

const VARIANTS: { name: string; options: Omit<FixtureModelOptions, "out" | "preset">; engine?: Partial<EngineOptions>; tolerance: number }[] = [
  { name: "with position_ids", options: {}, tolerance: 1e-4 },
  { name: "without position_ids", options: { positionIds: false }, tolerance: 1e-4 },
  { name: "with past_key_values inputs", options: { withPast: true }, tolerance: 1e-4 },
  { name: "with external data", options: { externalData: true }, tolerance: 1e-4 },
  { name: "through the full-logits fallback head", options: {}, engine: { forceFullLogits: true }, tolerance: 1e-4 },
  // float16: activations round at 2^-11 relative and logits reach |20|; the fixture's own float16
  // logits differ from the float64 reference by ~4e-3 (reference-agreement.spec.ts).
  { name: "float16 with past_key_values inputs", options: { dtype: "float16", withPast: true }, tolerance: 0.02 },
];

describe.each(VARIANTS)("engine on the tiny fixture $name", ({ options, engine: engineOptions, tolerance }) => {
  let engine: Engine;
  let setup: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    setup = await fixture(options);
    engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir(), ...engineOptions });
  });
  afterAll(() => engine.close());

  it("returns per-position log-probabilities and span sums equal to the float64 reference", async () => {
    const requests = requestsFor(setup.rows);
    const diff = maxReferenceDiff(setup.model, requests, await scoreAll(engine, requests));
    if (process.env.SFTSCORE_PRINT_AGREEMENT) console.log(`max diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(tolerance);
  });
});

describe("engine batching", () => {
  let setup: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    setup = await fixture();
  });

  it("gives the same numbers whatever the batch size, order and token budget", async () => {
    const cacheDir = await tempDir();
    const requests = requestsFor(setup.rows);
    const configs: Partial<EngineOptions>[] = [{ maxBatchSize: 1 }, { maxBatchTokens: 128 }, { maxBatchSize: 64 }, { maxScoredTokens: 40 }];
    const runs: Map<string, SequenceScore>[] = [];
    for (const config of configs) {
      const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir, ...config });
      const order = runs.length % 2 === 0 ? requests : [...requests].reverse();
      runs.push(await scoreAll(engine, order));
      expect(engine.stats().batches).toBeGreaterThan(0);
      await engine.close();
    }
    for (const run of runs.slice(1)) {
      for (const request of requests) {
        const a = runs[0].get(request.id);
        const b = run.get(request.id);
        a?.spans.forEach((span, s) => {
          if (process.env.SFTSCORE_PRINT_AGREEMENT && span.sumLogprob !== b?.spans[s].sumLogprob) console.log("differs", request.id, span.sumLogprob - (b?.spans[s].sumLogprob ?? NaN));
          expect(Math.abs(span.sumLogprob - (b?.spans[s].sumLogprob ?? NaN))).toBeLessThanOrEqual(1e-5);
        });
      }
    }
  });

  it("packs many sequences into few batches and reports fill", async () => {
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
    const requests = Array.from({ length: 40 }, (_, i) => ({ ...requestsFor(setup.rows, `m${i}-`)[i % setup.rows.length], id: `m${i}` }));
    const results = await scoreAll(engine, requests);
    expect(results.size).toBe(40);
    const stats = engine.stats();
    expect(stats.sequences).toBe(40);
    expect(stats.batches).toBeLessThan(10);
    expect(stats.realTokens / stats.paddedTokens).toBeGreaterThan(0.5);
    await engine.close();
  });

  it("with fixed batches runs the oldest n sequences in arrival order, with the same span sums", async () => {
    const cacheDir = await tempDir();
    const requests = requestsFor(setup.rows);
    const batches: EngineBatch[] = [];
    const fixed = await createEngine({ model: setup.dir, threads: 1, cacheDir, batching: { fixedBatchSize: 2 }, onBatch: (batch) => batches.push(batch) });
    const fixedScores = await scoreAll(fixed, requests);
    await fixed.close();
    const budget = await createEngine({ model: setup.dir, threads: 1, cacheDir });
    const budgetScores = await scoreAll(budget, requests);
    await budget.close();

    expect(batches.map((b) => b.sequenceIds)).toEqual([["r0", "r1"], ["r2", "r3"], ["r4"]]);
    const longest = (ids: readonly string[]) => Math.max(...ids.map((id) => requests.find((r) => r.id === id)?.tokenIds.length ?? 0));
    expect(batches.map((b) => b.paddedLength)).toEqual(batches.map((b) => defaultLengthBucket(longest(b.sequenceIds))));
    for (const request of requests) {
      expect(fixedScores.get(request.id)?.spans).toEqual(budgetScores.get(request.id)?.spans);
    }
  });

  it("counts the distinct [rows, padded length] shapes it ran", async () => {
    const [short, long] = [setup.rows[3], setup.rows[0]];
    expect(defaultLengthBucket(short.length)).not.toBe(defaultLengthBucket(long.length));
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir(), batching: { fixedBatchSize: 2 } });
    const rows = [short, short, long, long, short, short];
    await scoreAll(engine, rows.map((tokenIds, i) => ({ id: `s${i}`, tokenIds, spans: [{ start: 1, end: tokenIds.length }] })));
    expect(engine.stats()).toMatchObject({ batches: 3, shapes: 2 });
    await engine.close();
  });

  it("runs long rows alone by the attention budget its heads give (one 2048-token row for the tiny model)", async () => {
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
    // 4 heads × 2048² cells × 4 B = the 64 MiB budget.
    expect((await engine.info()).maxAttentionCells).toBe(2048 * 2048);
    const long = Uint32Array.from({ length: 2048 }, (_, i) => 1 + (i % 200));
    const short = setup.rows[0];
    const requests = [long, long, short, short].map((tokenIds, i) => ({ id: `a${i}`, tokenIds, spans: [{ start: 1, end: 8 }] }));
    expect((await scoreAll(engine, requests)).size).toBe(4);
    expect(engine.stats()).toMatchObject({ batches: 3, shapes: 2 });
    await engine.close();
  });

  it("rejects a fixed batch size that is not a positive integer", async () => {
    await expect(createEngine({ model: setup.dir, batching: { fixedBatchSize: 0 } })).rejects.toMatchObject({
      code: "invalid-argument",
      message: expect.stringMatching(/batching.fixedBatchSize must be a positive integer, got 0/),
    });
  });

  it("answers a sequence whose spans are all empty without a model run", async () => {
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
    const results = await scoreAll(engine, [{ id: "empty", tokenIds: setup.rows[0], spans: [{ start: 3, end: 3 }] }]);
    expect(results.get("empty")?.spans).toEqual([{ sumLogprob: 0, count: 0 }]);
    expect(engine.stats().batches).toBe(0);
    await engine.close();
  });

  it("applies back-pressure: submit waits while the queue is full", async () => {
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir(), maxQueuedTokens: 1 });
    const [first, second] = requestsFor(setup.rows);
    const ticket = await engine.submit(first);
    let admitted = false;
    const waiting = engine.submit(second).then((t) => ((admitted = true), t));
    expect(engine.stats().queueDepth + (admitted ? 1 : 0)).toBeLessThanOrEqual(2);
    await ticket.result;
    await (await waiting).result;
    expect(admitted).toBe(true);
    await engine.close();
  });

  it("drops a cancelled sequence before it is batched", async () => {
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
    const controller = new AbortController();
    const ticket = await engine.submit(requestsFor(setup.rows)[0], controller.signal);
    controller.abort();
    await expect(ticket.result).rejects.toMatchObject({ code: "cancelled" });
    expect(engine.stats().batches).toBe(0);
    await engine.close();
  });
});

describe("engine input validation", () => {
  let engine: Engine;
  let rows: Uint32Array[];
  beforeAll(async () => {
    const setup = await fixture();
    rows = setup.rows;
    engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
  });
  afterAll(() => engine.close());

  it.each([
    ["an id outside the vocabulary", { id: "v", tokenIds: Uint32Array.of(1, 5000), spans: [{ start: 1, end: 2 }] }, /token 1 is 5000, outside the vocabulary \(size 1024\)/],
    ["a span starting at 0", { id: "z", tokenIds: Uint32Array.of(1, 2, 3), spans: [{ start: 0, end: 2 }] }, /span 0 starts at 0/],
    ["a span past the end", { id: "p", tokenIds: Uint32Array.of(1, 2, 3), spans: [{ start: 1, end: 4 }] }, /ends at 4, past the sequence's 3 tokens/],
    ["a sequence over the model's maximum", { id: "l", tokenIds: new Uint32Array(2049), spans: [] }, /2049 tokens, more than the model's maximum of 2048/],
    ["an empty sequence", { id: "e", tokenIds: new Uint32Array(0), spans: [] }, /has no tokens/],
  ])("rejects %s with invalid-argument naming the sequence", async (_name, request, message) => {
    const error = await engine.submit(request).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ code: "invalid-argument", sequenceId: request.id });
    expect((error as Error).message).toMatch(message);
  });

  it("keeps working after a bad request", async () => {
    await engine.submit({ id: "bad", tokenIds: Uint32Array.of(1, 99999), spans: [] }).catch(() => undefined);
    const results = await scoreAll(engine, requestsFor(rows.slice(0, 1)));
    expect(results.size).toBe(1);
  });
});

describe("engine model loading", () => {
  it("rejects a model directory without tokenizer.json, naming the file", async () => {
    const setup = await fixture();
    const copy = await tempDir();
    await cp(setup.dir, copy, { recursive: true });
    await rm(path.join(copy, "tokenizer.json"));
    await expect(createEngine({ model: copy, cacheDir: await tempDir() })).rejects.toThrow(/has no tokenizer\.json/);
  });

  it("rejects an .onnx that is not a causal LM, naming what is missing", async () => {
    const setup = await fixture();
    const dir = await tempDir();
    await cp(setup.dir, dir, { recursive: true });
    const { buildLlamaGraph } = await import("./fixture/llama-graph.js");
    const { encodeModel } = await import("./fixture/onnx-graph.js");
    const model = buildLlamaGraph(setup.model.config, setup.model.weights, { positionIds: true, withPast: false, dtype: "float32" });
    if (!model.graph) throw new Error("fixture model has no graph");
    model.graph.output = [];
    await writeFile(path.join(dir, "model.onnx"), encodeModel(model));
    await expect(createEngine({ model: dir, cacheDir: await tempDir() })).rejects.toThrow(/not a causal language model.*no logits output/);
  });

  it("rejects a missing directory with not-found", async () => {
    await expect(createEngine({ model: "/nonexistent/model", cacheDir: await tempDir() })).rejects.toMatchObject({ code: "not-found" });
  });

  it("fails clearly when CUDA is asked for but its provider is not installed", () => {
    expect(() => executionProviders("cuda", { bindingDir: "/nonexistent" })).toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(executionProviders("cpu")).toEqual(["cpu"]);
  });

  it("reports model info with the tokenizer and its hash", async () => {
    const setup = await fixture();
    const engine = await createEngine({ model: setup.dir, threads: 1, cacheDir: await tempDir() });
    const info = await engine.info();
    expect(info).toMatchObject({ vocabSize: 1024, maxLength: 2048, dtype: "float32", device: "cpu", lossHead: "scored-positions" });
    expect(info.tokenizerHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(info.tokenizerJson).model.type).toBe("BPE");
    await engine.close();
  });
});
