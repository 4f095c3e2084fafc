/**
 * Transport tests: EngineClient against fake engines (test-support/fake-engine.ts) that speak the
 * wire contract without a model. Numbers from a real engine are checked in test/client/.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { EngineClient } from "./engine-client.js";
import { MAX_UNREAD_RESULTS } from "./score-run.js";
import { answerAll, collect, countingSource, fakeRequests, fakeScore, startFakeEngine, type FakeEngine, type FakeScoreCall } from "./test-support/fake-engine.js";
import type { ScoreRequest } from "@sftscore/proto";

const engines: FakeEngine[] = [];
const clients: EngineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const engine of engines.splice(0)) engine.close();
});

async function fake(options: Parameters<typeof startFakeEngine>[0] = {}): Promise<FakeEngine> {
  const engine = await startFakeEngine(options);
  engines.push(engine);
  return engine;
}

function client(...args: ConstructorParameters<typeof EngineClient>): EngineClient {
  const created = new EngineClient(...args);
  clients.push(created);
  return created;
}

/** Waits until `value()` has not changed for 300 ms (at most 10 s). */
async function steady(value: () => number): Promise<void> {
  let last = -1;
  for (let unchanged = 0, waited = 0; unchanged < 6 && waited < 10_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    unchanged = value() === last ? unchanged + 1 : 0;
    last = value();
  }
}

const byId = <T extends { id: string }>(items: readonly T[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

describe("EngineClient.info (transport test, fake engines)", () => {
  it("returns the model of engines that agree", async () => {
    const [a, b] = [await fake(), await fake()];
    const info = await client([a.address, b.address]).info();
    expect(info).toMatchObject({ modelId: "fake", contentHash: "a".repeat(64), tokenizerHash: "b".repeat(64), maxLength: 64 });
  });

  it("refuses engines with different content hashes, naming both targets and hashes", async () => {
    const [a, b] = [await fake(), await fake({ info: { contentHash: "c".repeat(64), modelId: "other" } })];
    const error = await client(`${a.address},${b.address}`).info().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: "model-mismatch", target: b.address });
    expect((error as Error).message).toContain(`${a.address} reports content_hash ${"a".repeat(64)} (model fake)`);
    expect((error as Error).message).toContain(`${b.address} reports content_hash ${"c".repeat(64)} (model other)`);
  });

  it("refuses engines with different tokenizers", async () => {
    const [a, b] = [await fake(), await fake({ info: { tokenizerHash: "d".repeat(64) } })];
    await expect(client([a.address, b.address]).info()).rejects.toMatchObject({ code: "model-mismatch", message: expect.stringMatching(/tokenizer_hash d{64}/) });
  });

  it("gives up an unreachable target after the retry budget and uses the others", async () => {
    const dead = await fake();
    dead.close();
    const live = await fake();
    const engineClient = client({ targets: [dead.address, live.address], retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await engineClient.info();
    expect(engineClient.targetStats().map((t) => t.retired)).toEqual([true, false]);
    const requests = fakeRequests(5);
    expect(byId(await collect(engineClient.score(countingSource(requests))))).toEqual(byId(requests.map(fakeScore)));
  });

  it("fails unauthenticated at once when an engine refuses the token", async () => {
    const engine = await fake({ infoStatus: { code: GrpcStatus.UNAUTHENTICATED, details: "missing or wrong bearer token" } });
    await expect(client({ targets: [engine.address], token: "nope" }).info()).rejects.toMatchObject({ code: "unauthenticated", message: expect.stringMatching(/missing or wrong bearer token/) });
    expect(engine.log.authorizations).toEqual(["Bearer nope"]);
  });
});

describe("EngineClient.score (transport test, fake engines)", () => {
  it("sends the bearer token on every call and returns exactly what the engine answered", async () => {
    const engine = await fake();
    const requests = fakeRequests(20);
    const results = await collect(client({ targets: [engine.address], token: "s3cret" }).score(countingSource(requests)));
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
    expect(results.find((r) => r.id === "s0")?.tokenLogprobs).toBeInstanceOf(Float32Array);
    expect(results.find((r) => r.id === "s1")).not.toHaveProperty("tokenLogprobs");
    expect(engine.log.authorizations.length).toBeGreaterThan(1);
    expect(new Set(engine.log.authorizations)).toEqual(new Set(["Bearer s3cret"]));
  });

  it("packs sequences into messages within the engine's max_sequences_per_message and max_message_bytes", async () => {
    const engine = await fake({ info: { limits: { maxSequencesPerMessage: 3, maxTokensPerSequence: 64, maxMessageBytes: 200, maxBatchTokens: 64 } } });
    const requests = fakeRequests(40, 20);
    await collect(client({ targets: [engine.address], streamsPerTarget: 1, maxInFlightTokens: 10_000 }).score(countingSource(requests)));
    const sizes = engine.log.requests.map((r) => r.sequences.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it("opens several streams per target and spreads work over targets by outstanding tokens", async () => {
    const [a, b] = [await fake(), await fake()];
    const requests = fakeRequests(200);
    const engineClient = client({ targets: [a.address, b.address], streamsPerTarget: 3 });
    expect(byId(await collect(engineClient.score(countingSource(requests))))).toEqual(byId(requests.map(fakeScore)));
    const counts = [a, b].map((engine) => engine.log.requests.reduce((sum, r) => sum + r.sequences.length, 0));
    expect(counts[0] + counts[1]).toBe(200);
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect([a.log.streams, b.log.streams]).toEqual([3, 3]);
    expect(engineClient.targetStats().map((t) => t.outstandingTokens)).toEqual([0, 0]);
  });

  it("reads the input lazily: no more than the in-flight budget while the engine does not answer", async () => {
    const held: { request: ScoreRequest; call: FakeScoreCall }[] = [];
    const engine = await fake({ onRequest: (request, call) => held.push({ request, call }) });
    const requests = fakeRequests(100, 10);
    const source = countingSource(requests);
    const results = collect(client({ targets: [engine.address], maxInFlightTokens: 100 }).score(source));
    await steady(() => source.pulled);
    // 100 tokens in flight = 10 sequences of 10 tokens; the 11th is not read until answers come.
    expect(source.pulled).toBe(10);
    const release = setInterval(() => {
      for (const { request, call } of held.splice(0)) answerAll(request, call);
    }, 5);
    try {
      expect((await results).length).toBe(100);
    } finally {
      clearInterval(release);
    }
  });

  it("lets concurrent score() calls share a target's budget: room one frees wakes the others", async () => {
    const engine = await fake({ onRequest: (request, call) => setTimeout(() => answerAll(request, call), 2) });
    const engineClient = client({ targets: [engine.address], maxInFlightTokens: 16 });
    const runs = [fakeRequests(40, 8, "a"), fakeRequests(40, 8, "b"), fakeRequests(40, 8, "c")];
    const results = await Promise.all(runs.map((requests) => collect(engineClient.score(countingSource(requests)))));
    results.forEach((got, i) => expect(byId(got)).toEqual(byId(runs[i].map(fakeScore))));
  });

  it("stops reading the input while the consumer does not read results", async () => {
    const engine = await fake();
    const source = countingSource(fakeRequests(10_000, 2));
    const iterator = client(engine.address).score(source)[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    await steady(() => source.pulled);
    // Unread results are capped (MAX_UNREAD_RESULTS), plus what is in flight (1024 tokens here).
    expect(source.pulled).toBeGreaterThanOrEqual(MAX_UNREAD_RESULTS);
    expect(source.pulled).toBeLessThanOrEqual(MAX_UNREAD_RESULTS + 1 + 512);
    let read = 1;
    while (!(await iterator.next()).done) read++;
    expect(read).toBe(10_000);
  });

  it("fails with cancelled when the signal fires, and after close()", async () => {
    const engine = await fake({ onRequest: () => undefined });
    const engineClient = client(engine.address);
    const controller = new AbortController();
    const run = collect(engineClient.score(countingSource(fakeRequests(5)), { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    await expect(run).rejects.toMatchObject({ code: "cancelled" });
    const second = collect(engineClient.score(countingSource(fakeRequests(5))));
    setTimeout(() => void engineClient.close(), 100);
    await expect(second).rejects.toMatchObject({ code: "cancelled" });
    await expect(engineClient.info()).rejects.toMatchObject({ code: "cancelled", message: "the EngineClient is closed" });
  });
});
