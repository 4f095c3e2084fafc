/**
 * Transport tests of the client's fault handling: fake engines (test-support/fake-engine.ts) that
 * break streams, stall, repeat answers or refuse sequences. Faults of real engines (a killed
 * `sftscore serve`) are tested in test/client/.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ErrorCode, type ScoreRequest } from "@sftscore/proto";
import { afterEach, describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { EngineClient } from "./engine-client.js";
import type { EngineClientOptions } from "./client-options.js";
import { answerAll, collect, countingSource, failCall, fakeRequests, fakeResult, fakeScore, startFakeEngine, type FakeEngine, type FakeEngineOptions } from "./test-support/fake-engine.js";

const engines: FakeEngine[] = [];
const clients: EngineClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const engine of engines.splice(0)) engine.close();
});

async function fake(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const engine = await startFakeEngine(options);
  engines.push(engine);
  return engine;
}

const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

function client(targets: FakeEngine[], options: Omit<EngineClientOptions, "targets"> = {}): EngineClient {
  const created = new EngineClient({ targets: targets.map((t) => t.address), retry: FAST_RETRY, ...options });
  clients.push(created);
  return created;
}

const byId = <T extends { id: string }>(items: readonly T[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const sent = (engine: FakeEngine) => engine.log.requests.flatMap((r) => r.sequences.map((s) => s.id));

async function failure(iterable: AsyncIterable<unknown>): Promise<ClientError> {
  const error = await collect(iterable).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

describe("score() faults (transport test, fake engines)", () => {
  it("keeps the first answer per id and drops repeated and unknown ones", async () => {
    const engine = await fake({
      onRequest(request, call) {
        answerAll(request, call);
        answerAll(request, call);
        call.write({ results: [fakeResult({ id: "stranger", tokenIds: [1, 2], spans: [], wantTokenLogprobs: false })], errors: [] });
      },
    });
    const requests = fakeRequests(30);
    const results = await collect(client([engine]).score(countingSource(requests)));
    expect(results).toHaveLength(30);
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
  });

  it("resends OVERLOADED, CANCELLED and MODEL_FAILED sequences, to another engine when there is one", async () => {
    const codes = [ErrorCode.OVERLOADED, ErrorCode.CANCELLED, ErrorCode.MODEL_FAILED];
    const flaky = await fake({
      onRequest(request, call) {
        call.write({ results: [], errors: request.sequences.map((s, i) => ({ id: s.id, code: codes[i % 3], message: "try elsewhere" })) });
      },
    });
    const steady = await fake();
    const requests = fakeRequests(60);
    const results = await collect(client([flaky, steady]).score(countingSource(requests)));
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
    expect(sent(flaky).length).toBeGreaterThan(0);
    expect(new Set(sent(steady))).toEqual(new Set(requests.map((r) => r.id)));
  });

  it("keeps an engine that refuses everything at once from drawing the work to itself", async () => {
    const refusing = await fake({
      onRequest(request, call) {
        call.write({ results: [], errors: request.sequences.map((s) => ({ id: s.id, code: ErrorCode.CANCELLED, message: "the engine is shutting down" })) });
      },
    });
    const steady = await fake();
    const requests = fakeRequests(200);
    // The input arrives over time, as a planner produces it, so picks happen all along the run.
    async function* trickle() {
      for (let i = 0; i < requests.length; i += 10) {
        yield* requests.slice(i, i + 10);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const results = await collect(client([refusing, steady], { retry: { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1_000 } }).score(trickle()));
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
    expect(sent(refusing).length).toBeLessThan(60);
  });

  it("retries on the same engine after a backoff when it is the only one", async () => {
    const tried = new Set<string>();
    const engine = await fake({
      onRequest(request, call) {
        const fresh = request.sequences.filter((s) => !tried.has(s.id));
        for (const s of fresh) tried.add(s.id);
        call.write({ results: request.sequences.filter((s) => !fresh.includes(s)).map(fakeResult), errors: fresh.map((s) => ({ id: s.id, code: ErrorCode.OVERLOADED, message: "queue full" })) });
      },
    });
    const requests = fakeRequests(10);
    expect(byId(await collect(client([engine]).score(countingSource(requests))))).toEqual(byId(requests.map(fakeScore)));
    expect(sent(engine)).toHaveLength(20);
  });

  it("fails with invalid-argument naming the sequence and the engine's reason, without resending it", async () => {
    const engine = await fake({
      onRequest(request, call) {
        const bad = request.sequences.filter((s) => s.id === "s3");
        call.write({ results: request.sequences.filter((s) => s.id !== "s3").map(fakeResult), errors: bad.map((s) => ({ id: s.id, code: ErrorCode.INVALID_ARGUMENT, message: "token_ids[2] 5000 >= vocab_size 1000" })) });
      },
    });
    const error = await failure(client([engine]).score(countingSource(fakeRequests(8))));
    expect(error).toMatchObject({ code: "invalid-argument", sequenceId: "s3", target: engine.address });
    expect(error.message).toBe(`sequence "s3" was refused by engine ${engine.address}: token_ids[2] 5000 >= vocab_size 1000`);
    expect(sent(engine).filter((id) => id === "s3")).toHaveLength(1);
  });

  it("fails a sequence that keeps failing after retry.maxAttempts answers", async () => {
    const engine = await fake({
      onRequest(request, call) {
        call.write({ results: request.sequences.filter((s) => s.id !== "s2").map(fakeResult), errors: request.sequences.filter((s) => s.id === "s2").map((s) => ({ id: s.id, code: ErrorCode.MODEL_FAILED, message: "out of memory" })) });
      },
    });
    const error = await failure(client([engine]).score(countingSource(fakeRequests(4))));
    expect(error).toMatchObject({ code: "internal", sequenceId: "s2" });
    expect(error.message).toMatch(/"s2" was not scored after 4 attempts; last, engine .* answered MODEL_FAILED: out of memory/);
  });

  it("resends what a broken stream left unanswered to the other engine, nothing lost or repeated", async () => {
    let broke = 0;
    const breaking = await fake({
      onRequest(request, call) {
        // Answers half of the first message, then the stream breaks.
        if (broke++ === 0) call.write({ results: request.sequences.slice(0, 2).map(fakeResult), errors: [] });
        failCall(call, GrpcStatus.UNAVAILABLE, "connection reset by peer");
      },
    });
    const steady = await fake();
    const requests = fakeRequests(80);
    const engineClient = client([breaking, steady]);
    const results = await collect(engineClient.score(countingSource(requests)));
    expect(results).toHaveLength(80);
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
    expect(engineClient.targetStats()[0].lastError?.message).toMatch(/UNAVAILABLE: connection reset by peer/);
  });

  it("cancels a stream that stays silent past deadlineMs and resends its sequences", async () => {
    const silent = await fake({ onRequest: () => undefined });
    const steady = await fake();
    const requests = fakeRequests(12);
    const engineClient = client([silent, steady], { deadlineMs: 200 });
    const results = await collect(engineClient.score(countingSource(requests)));
    expect(byId(results)).toEqual(byId(requests.map(fakeScore)));
    expect(sent(silent).length).toBeGreaterThan(0);
    expect(engineClient.targetStats()[0].lastError).toMatchObject({ code: "deadline-exceeded", message: expect.stringMatching(/no answer for 200 ms/) });
  });

  it("survives its only engine failing a stream, retrying it after a backoff", async () => {
    let streams = 0;
    const engine = await fake({
      onRequest(request: ScoreRequest, call) {
        if (streams++ < 2) failCall(call, GrpcStatus.UNAVAILABLE, "engine restarting");
        else answerAll(request, call);
      },
    });
    const requests = fakeRequests(20);
    expect(byId(await collect(client([engine], { streamsPerTarget: 1 }).score(countingSource(requests))))).toEqual(byId(requests.map(fakeScore)));
  });

  it("fails with unavailable, saying what finished and why each engine failed, when every engine is gone", async () => {
    let first = true;
    const partial = await fake({
      onRequest(request, call) {
        // Scores three sequences, then dies: every later stream fails at once.
        if (first) call.write({ results: request.sequences.slice(0, 3).map(fakeResult), errors: [] });
        first = false;
        failCall(call, GrpcStatus.UNAVAILABLE, "engine killed");
      },
    });
    const gone = await fake({ onRequest: (_request, call) => failCall(call, GrpcStatus.UNAVAILABLE, "engine killed") });
    const engineClient = client([partial, gone], { streamsPerTarget: 1 });
    const error = await failure(engineClient.score(countingSource(fakeRequests(40))));
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/^every engine failed: .*; \d+ sequences were scored, \d+ were not$/);
    expect(Number(/(\d+) sequences were scored/.exec(error.message)?.[1])).toBeGreaterThanOrEqual(3);
    expect(error.message).toMatch(new RegExp(`${partial.address} given up after 4 failures over [\\d.]+ s \\(UNAVAILABLE: engine killed\\)`));
    expect(error.message).toMatch(new RegExp(`${gone.address} given up after 4 failures over [\\d.]+ s \\(UNAVAILABLE: engine killed\\)`));
    // Given up means for good: a later call fails at once, reading nothing.
    const source = countingSource(fakeRequests(5));
    expect(await failure(engineClient.score(source))).toMatchObject({ code: "unavailable", message: expect.stringMatching(/^every engine failed: .*; 0 sequences were scored, 0 were not and the input was not read to its end$/) });
    expect(source.pulled).toBe(0);
  });

  it("with a time budget (retry.maxElapsedMs), keeps retrying its only engine until the budget is spent, however many attempts that takes", async () => {
    const gone = await fake({ onRequest: (_request, call) => failCall(call, GrpcStatus.UNAVAILABLE, "connection refused") });
    const engineClient = client([gone], { streamsPerTarget: 1, retry: { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 300 } });
    const error = await failure(engineClient.score(countingSource(fakeRequests(10))));
    expect(error.code).toBe("unavailable");
    const [, failures, seconds] = /given up after (\d+) failures over ([\d.]+) s \(UNAVAILABLE: connection refused\)/.exec(error.message) ?? [];
    // At most 20 ms apart, so a 300 ms budget takes well over the 4 attempts of the count budget.
    expect(Number(failures)).toBeGreaterThan(FAST_RETRY.maxAttempts);
    expect(Number(seconds)).toBeGreaterThanOrEqual(0.3);
    expect(engineClient.targetStats()[0]).toMatchObject({ retired: true, failures: Number(failures) });
  });

  it("gives up its only engine when it stays silent past deadlineMs on every attempt of the budget", async () => {
    const stalled = await fake({ onRequest: () => undefined });
    const engineClient = client([stalled], { deadlineMs: 100, retry: { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 200 } });
    const error = await failure(engineClient.score(countingSource(fakeRequests(6))));
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(new RegExp(`^every engine failed: ${stalled.address} given up after \\d+ failures over [\\d.]+ s \\(no answer for 100 ms with \\d+ sequences outstanding`));
  });

  it("never cancels a stream that keeps answering, however long the run lasts (the deadline is between answers)", async () => {
    // One message answered every 20 ms, in order: the run lasts far longer than deadlineMs, and no
    // answer is ever more than 20 ms after the one before (or after the stream's first send).
    const queue: (() => void)[] = [];
    let ticking: NodeJS.Timeout | undefined;
    const engine = await fake({
      info: { limits: { maxSequencesPerMessage: 2, maxTokensPerSequence: 64, maxMessageBytes: 1 << 20, maxBatchTokens: 128 } },
      onRequest(request, call) {
        queue.push(() => answerAll(request, call));
        ticking ??= setInterval(() => queue.shift()?.(), 20);
      },
    });
    const requests = fakeRequests(80);
    const engineClient = client([engine], { deadlineMs: 400, streamsPerTarget: 1 });
    try {
      expect(byId(await collect(engineClient.score(countingSource(requests))))).toEqual(byId(requests.map(fakeScore)));
    } finally {
      clearInterval(ticking);
    }
    // 40 messages, one per tick: the stream was open for at least 800 ms, twice deadlineMs.
    expect(engine.log.requests).toHaveLength(40);
    expect(engine.log.streams).toBe(1);
    expect(engineClient.targetStats()[0]).toMatchObject({ failures: 0, scored: 80 });
    expect(engineClient.targetStats()[0].lastError).toBeUndefined();
  });

  it("fails at once, without retrying, when an engine refuses the stream as unauthenticated", async () => {
    const engine = await fake({ onRequest: (_request, call) => failCall(call, GrpcStatus.UNAUTHENTICATED, "wrong bearer token") });
    const error = await failure(client([engine]).score(countingSource(fakeRequests(3))));
    expect(error).toMatchObject({ code: "unauthenticated", message: expect.stringMatching(/UNAUTHENTICATED: wrong bearer token/) });
    expect(sent(engine)).toHaveLength(3);
  });

  it("fails with invalid-argument when an id is reused while its first copy is outstanding", async () => {
    const engine = await fake({ onRequest: () => undefined });
    const [one] = fakeRequests(1);
    const error = await failure(client([engine]).score(countingSource([one, one])));
    expect(error).toMatchObject({ code: "invalid-argument", sequenceId: "s0" });
  });
});
