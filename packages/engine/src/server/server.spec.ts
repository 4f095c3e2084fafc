import { credentials, makeGenericClientConstructor, status as GrpcStatus, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { ErrorCode, type Sequence } from "@sftscore/proto";
import { service as healthService } from "grpc-health-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, getModelInfo, removeTempDirs, scoreStream, sequencesFor, startTestServer, tinyModel, type TestServer, type TinyModel } from "../test-support/grpc-harness.js";
import { SCORING_SERVICE_NAME } from "./server.js";

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

/** grpc.health.v1.Health, typed for the two calls the tests make. */
interface HealthClient {
  check(request: { service: string }, callback: (error: ServiceError | null, response?: { status: string }) => void): void;
  watch(request: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}
const HealthClientConstructor = makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
function healthClient(port: number): HealthClient {
  return new HealthClientConstructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as HealthClient;
}
function check(client: HealthClient, service: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => client.check({ service }, (error, response) => (error ? reject(error) : resolve(response?.status))));
}

/** `count` sequences of ~`length` tokens made of the fixture's rows. */
function batchOf(prefix: string, count: number, length: number): Sequence[] {
  const source = model.rows.flatMap((row) => Array.from(row));
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    tokenIds: Array.from({ length }, (_, t) => source[(t + i) % source.length]),
    spans: [{ start: 1, end: length }],
    wantTokenLogprobs: false,
  }));
}

function metricValue(text: string, name: string): number {
  const match = text.match(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m"));
  if (!match) throw new Error(`${name} not in metrics:\n${text}`);
  return Number(match[1]);
}

describe("startServer", () => {
  it("reports SERVING on grpc.health.v1.Health for the server and the scoring service", async () => {
    const { server } = await serve();
    const health = healthClient(server.port);
    try {
      expect(await check(health, "")).toBe("SERVING");
      expect(await check(health, SCORING_SERVICE_NAME)).toBe("SERVING");
    } finally {
      health.close();
    }
  });

  it("serves Prometheus metrics with tokens scored, batches, fill ratio, durations and errors after a run", async () => {
    const { server, client, engine } = await serve({ server: { metricsPort: 0 } });
    expect(server.metricsPort).toBeGreaterThan(0);
    const sequences = sequencesFor(model.rows);
    const bad: Sequence = { id: "bad", tokenIds: [1, 2], spans: [{ start: 1, end: 9 }], wantTokenLogprobs: false };
    const outcome = await scoreStream(client, [{ sequences: [...sequences, bad] }]);
    expect(outcome.results.size).toBe(sequences.length);

    const response = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    const realTokens = model.rows.reduce((sum, row) => sum + row.length, 0);
    expect(metricValue(text, "sftscore_tokens_scored_total")).toBe(realTokens);
    expect(metricValue(text, "sftscore_batches_total")).toBe(engine.stats().batches);
    expect(metricValue(text, "sftscore_batches_total")).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, "sftscore_padded_tokens_total")).toBeGreaterThanOrEqual(realTokens);
    expect(metricValue(text, "sftscore_batch_fill_ratio")).toBeCloseTo(realTokens / engine.stats().paddedTokens, 12);
    expect(metricValue(text, "sftscore_sequences_total")).toBe(sequences.length);
    expect(metricValue(text, "sftscore_queue_depth")).toBe(0);
    expect(metricValue(text, "sftscore_request_duration_seconds_count")).toBe(sequences.length);
    expect(metricValue(text, 'sftscore_errors_total{code="invalid-argument"}')).toBe(1);

    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/other`)).status).toBe(404);
  });

  it("counts a message over max_sequences_per_message in sftscore_errors_total", async () => {
    const { server, client } = await serve({ server: { metricsPort: 0, maxSequencesPerMessage: 2 } });
    await scoreStream(client, [{ sequences: sequencesFor(model.rows.slice(0, 3)) }]);
    const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(metricValue(text, 'sftscore_errors_total{code="invalid-argument"}')).toBe(3);
  });
});

describe("RunningServer.close", () => {
  it("finishes an in-flight stream the client has half-closed: every sequence is scored and the stream ends OK", async () => {
    // A small queue, so most of the message waits in the server (admitted, not yet queued) at close.
    const { server, client, engine } = await serve({ engine: { maxBatchTokens: 2048, maxQueuedTokens: 4096 } });
    const requests = [{ sequences: batchOf("f", 40, 1000) }];
    let closing: Promise<void> | undefined;
    const outcome = await scoreStream(client, requests, { onResponse: () => (closing ??= server.close()) });
    expect(closing).toBeDefined();
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.duplicates).toEqual([]);
    expect(outcome.errors.size).toBe(0);
    expect(outcome.results.size).toBe(40);
    await closing;
    await expect(engine.submit({ id: "late", tokenIds: Uint32Array.of(1, 2), spans: [] })).rejects.toMatchObject({ code: "unavailable" });
    const fresh = connect(server.port);
    await expect(getModelInfo(fresh)).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    fresh.close();
  });

  it("answers everything an open stream sent before closing, refuses what comes after, and ends it UNAVAILABLE", async () => {
    const { server, client } = await serve();
    const call = client.score();
    const answered = new Map<string, number>();
    call.on("data", (response: { results: { id: string }[]; errors: { id: string; code: number }[] }) => {
      for (const result of response.results) answered.set(result.id, 0);
      for (const error of response.errors) answered.set(error.id, error.code);
    });
    call.on("error", () => undefined);
    const status = new Promise<number>((resolve) => call.on("status", (s: { code: number }) => resolve(s.code)));
    call.write({ sequences: batchOf("before", 10, 500) });
    await new Promise<void>((resolve) => call.once("data", () => resolve()));
    const closed = server.close();
    call.write({ sequences: batchOf("after", 3, 20) });
    expect(await status).toBe(GrpcStatus.UNAVAILABLE);
    await closed;
    for (let i = 0; i < 10; i++) expect(answered.get(`before${i}`)).toBe(0);
    // The later message either reached the draining stream (CANCELLED each) or not at all.
    const after = [0, 1, 2].map((i) => answered.get(`after${i}`));
    expect(after.every((code) => code === ErrorCode.CANCELLED) || after.every((code) => code === undefined)).toBe(true);
  });

  it("turns health NOT_SERVING for watchers while it drains", async () => {
    const { server } = await serve();
    const health = healthClient(server.port);
    const watch = health.watch({ service: "" });
    const seen: string[] = [];
    const notServing = new Promise<void>((resolve) =>
      watch.on("data", (update: { status: string }) => {
        seen.push(update.status);
        if (update.status === "NOT_SERVING") resolve();
      }),
    );
    watch.on("error", () => undefined);
    await new Promise<void>((resolve) => watch.once("data", () => resolve()));
    const closed = server.close();
    await notServing;
    await closed;
    health.close();
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
  });
});
