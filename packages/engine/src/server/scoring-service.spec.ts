import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { ErrorCode, LossHead, ScoreResponse, type Sequence } from "@sftscore/proto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { getModelInfo, removeTempDirs, scoreStream, sequencesFor, startTestServer, tinyModel, type TestServer, type TinyModel } from "../test-support/grpc-harness.js";

let model: TinyModel;
let running: TestServer | undefined;
beforeAll(async () => {
  model = await tinyModel();
});
afterEach(async () => {
  await running?.close();
  running = undefined;
});
afterAll(removeTempDirs);

async function serve(options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  running = await startTestServer(model, options);
  return running;
}

async function* each<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

/** A sequence of `length` tokens cycling through the fixture's first rows (all valid ids). */
function longSequence(id: string, length: number): Sequence {
  const source = model.rows.flatMap((row) => Array.from(row));
  const tokenIds = Array.from({ length }, (_, i) => source[i % source.length]);
  return { id, tokenIds, spans: [{ start: Math.floor(length / 2), end: length }], wantTokenLogprobs: false };
}

describe("ScoringService.Score over gRPC", () => {
  it("returns exactly the in-process engine's numbers for the same sequences", async () => {
    const { client, engine } = await serve();
    const sequences = sequencesFor(model.rows);
    sequences[1] = { ...sequences[1], wantTokenLogprobs: false };
    const outcome = await scoreStream(client, [{ sequences }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.errors.size).toBe(0);

    const requests: SequenceRequest[] = sequences.map((s) => ({ id: s.id, tokenIds: Uint32Array.from(s.tokenIds), spans: s.spans, wantTokenLogprobs: s.wantTokenLogprobs }));
    const local = new Map<string, SequenceScore>();
    for await (const score of engine.score(each(requests))) local.set(score.id, score);

    for (const sequence of sequences) {
      const remote = outcome.results.get(sequence.id);
      const expected = local.get(sequence.id);
      expect(remote?.spans).toEqual(expected?.spans.map((s) => ({ sumLogprob: s.sumLogprob, count: s.count })));
      expect(remote?.tokenLogprobs).toEqual(sequence.wantTokenLogprobs ? Array.from(expected?.tokenLogprobs ?? []) : []);
    }
  });

  it("answers every sequence of several messages exactly once, coalescing answers that finish together", async () => {
    const { client } = await serve();
    const requests = [0, 1, 2].map((m) => ({ sequences: sequencesFor(model.rows, `m${m}-`) }));
    const outcome = await scoreStream(client, requests);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.duplicates).toEqual([]);
    expect([...outcome.results.keys()].sort()).toEqual(requests.flatMap((r) => r.sequences.map((s) => s.id)).sort());
    expect(outcome.responses.length).toBeLessThan(outcome.results.size);
  });

  it("keeps every response under max_message_bytes, splitting answers across responses", async () => {
    const maxMessageBytes = 16 * 1024;
    const { client } = await serve({ server: { maxMessageBytes } });
    // 20 × ~230 token log-probs ≈ 20 KB of answers: more than one response must carry them.
    const sequences = Array.from({ length: 20 }, (_, i) => ({ ...longSequence(`x${i}`, 230), wantTokenLogprobs: true }));
    const outcome = await scoreStream(client, [{ sequences }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.results.size).toBe(20);
    expect(outcome.responses.length).toBeGreaterThan(1);
    for (const response of outcome.responses) expect(ScoreResponse.encode(response).finish().length).toBeLessThanOrEqual(maxMessageBytes);
  });

  it("answers bad sequences with INVALID_ARGUMENT naming the id, scores the good ones, and keeps serving", async () => {
    const { client } = await serve();
    const { vocabSize, maxLength } = await getModelInfo(client);
    const [good0, good1] = sequencesFor(model.rows.slice(0, 2), "good");
    const row = Array.from(model.rows[0]);
    const bad: Sequence[] = [
      { id: "bad-vocab", tokenIds: [row[0], vocabSize, row[1]], spans: [{ start: 1, end: 3 }], wantTokenLogprobs: false },
      { id: "bad-span", tokenIds: row, spans: [{ start: 1, end: row.length + 1 }], wantTokenLogprobs: false },
      { id: "bad-start", tokenIds: row, spans: [{ start: 0, end: 2 }], wantTokenLogprobs: false },
      longSequence("too-long", maxLength + 1),
      { id: "no-tokens", tokenIds: [], spans: [], wantTokenLogprobs: false },
    ];
    const outcome = await scoreStream(client, [{ sequences: [good0, ...bad, good1] }, { sequences: sequencesFor(model.rows, "after") }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.duplicates).toEqual([]);
    expect([...outcome.errors.keys()].sort()).toEqual(bad.map((s) => s.id).sort());
    for (const error of outcome.errors.values()) {
      expect(error.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toContain(`sequence "${error.id}"`);
    }
    expect(outcome.errors.get("bad-vocab")?.message).toMatch(new RegExp(`${vocabSize}, outside the vocabulary`));
    expect(outcome.errors.get("bad-span")?.message).toMatch(/span 0 ends at \d+, past the sequence/);
    expect(outcome.errors.get("bad-start")?.message).toMatch(/position 0 has no context/);
    // The engine's max_tokens_per_sequence defaults to the model's maximum length.
    expect(outcome.errors.get("too-long")?.message).toMatch(new RegExp(`has ${maxLength + 1} tokens, more than the engine's max_tokens_per_sequence of ${maxLength}`));
    expect(outcome.results.has("good0")).toBe(true);
    expect(outcome.results.has("good1")).toBe(true);
    expect(outcome.results.size).toBe(2 + model.rows.length);

    const next = await scoreStream(client, [{ sequences: sequencesFor(model.rows) }]);
    expect(next.status.code).toBe(GrpcStatus.OK);
    expect(next.results.size).toBe(model.rows.length);
  });

  it("answers every sequence of a message over max_sequences_per_message with INVALID_ARGUMENT, and the stream goes on", async () => {
    const { client } = await serve({ server: { maxSequencesPerMessage: 3 } });
    const tooMany = sequencesFor(model.rows.slice(0, 4), "many");
    const outcome = await scoreStream(client, [{ sequences: tooMany }, { sequences: sequencesFor(model.rows.slice(0, 3), "ok") }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect([...outcome.errors.keys()].sort()).toEqual(tooMany.map((s) => s.id));
    for (const error of outcome.errors.values()) {
      expect(error.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toMatch(new RegExp(`sequence "${error.id}": .*4 sequences, more than the engine's max_sequences_per_message of 3`));
    }
    expect([...outcome.results.keys()].sort()).toEqual(["ok0", "ok1", "ok2"]);
  });

  it("fails a stream whose message exceeds max_message_bytes with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const { client } = await serve({ server: { maxMessageBytes: 64 * 1024 } });
    const huge = Array.from({ length: 40 }, (_, i) => longSequence(`huge${i}`, 2000));
    const outcome = await scoreStream(client, [{ sequences: huge }]);
    expect(outcome.status.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(outcome.results.size).toBe(0);

    const next = await scoreStream(client, [{ sequences: sequencesFor(model.rows) }]);
    expect(next.status.code).toBe(GrpcStatus.OK);
    expect(next.results.size).toBe(model.rows.length);
  });

  it("drops a cancelled stream's queued sequences and keeps serving", async () => {
    const { client, engine } = await serve({ engine: { maxBatchTokens: 2048, maxQueuedTokens: 4096 } });
    const total = 200;
    const requests = Array.from({ length: total / 10 }, (_, m) => ({ sequences: Array.from({ length: 10 }, (_, i) => longSequence(`c${m}-${i}`, 1000)) }));
    const outcome = await scoreStream(client, requests, { halfClose: false, onResponse: (_response, call) => call.cancel() });
    expect(outcome.status.code).toBe(GrpcStatus.CANCELLED);

    // Queued behind whatever the cancelled stream left: it finishes only after that is dropped or run.
    const next = await scoreStream(client, [{ sequences: sequencesFor(model.rows) }]);
    expect(next.status.code).toBe(GrpcStatus.OK);
    expect(next.results.size).toBe(model.rows.length);
    const scoredOfCancelled = engine.stats().sequences - model.rows.length;
    expect(scoredOfCancelled).toBeLessThan(total / 4);
    expect(engine.stats().queueDepth).toBe(0);
  });

  it("ends a stream at its deadline with DEADLINE_EXCEEDED and drops its queued sequences", async () => {
    const { client, engine } = await serve({ engine: { maxBatchTokens: 2048, maxQueuedTokens: 4096 } });
    const total = 400;
    const requests = Array.from({ length: total / 10 }, (_, m) => ({ sequences: Array.from({ length: 10 }, (_, i) => longSequence(`d${m}-${i}`, 1000)) }));
    const outcome = await scoreStream(client, requests, { call: { deadline: Date.now() + 300 } });
    expect(outcome.status.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(outcome.results.size).toBeLessThan(total);

    const next = await scoreStream(client, [{ sequences: sequencesFor(model.rows) }]);
    expect(next.status.code).toBe(GrpcStatus.OK);
    expect(engine.stats().sequences - model.rows.length).toBeLessThan(total / 4);
  });
});

describe("ScoringService.GetModelInfo", () => {
  it("describes the model, its tokenizer, loss head and the server's limits", async () => {
    const { client, engine } = await serve({ server: { maxMessageBytes: 1 << 20, maxSequencesPerMessage: 8 } });
    const info = await getModelInfo(client);
    const local = await engine.info();
    const tokenizerJson = await readFile(path.join(model.dir, "tokenizer.json"), "utf8");
    expect(info).toEqual({
      modelId: path.basename(model.dir),
      contentHash: local.contentHash,
      vocabSize: local.vocabSize,
      maxLength: 2048,
      dtype: "float32",
      device: "cpu",
      tokenizerJson,
      tokenizerHash: createHash("sha256").update(tokenizerJson).digest("hex"),
      tokenizerConfigJson: await readFile(path.join(model.dir, "tokenizer_config.json"), "utf8"),
      lossHead: LossHead.SCORED_POSITIONS,
      limits: { maxSequencesPerMessage: 8, maxTokensPerSequence: 2048, maxMessageBytes: 1 << 20, maxBatchTokens: local.maxBatchTokens },
    });
    expect(info.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(info.limits?.maxBatchTokens).toBeGreaterThanOrEqual(2048);
  });
});
