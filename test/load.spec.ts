/**
 * Load (issue 6): eight EngineClients streaming at once to one `sftscore serve`, together keeping far
 * more work in flight than the engine's queue holds. Every client gets every result exactly once and
 * equal to the other clients' for the same sequence; the engine's queue never exceeds its bound
 * (back-pressure holds the rest in the streams, not in the engine's memory), its RSS stays modest,
 * and afterwards it still reports SERVING and scores.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client, credentials } from "@grpc/grpc-js";
import { EngineClient } from "@sftscore/client";
import { buildFixtureModel } from "@sftscore/engine";
import type { SequenceRequest } from "@sftscore/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, readMetric, startServe, type ServeProcess } from "./support/cli-process.js";
import { randomRequests, streamOf } from "./client/engines.js";

const CLIENTS = 8;
const SEQUENCES_PER_CLIENT = 200;
/** Small batches, so the queue (4 × this, the engine's default bound) is small next to the work offered. */
const MAX_BATCH_TOKENS = 512;
const MAX_QUEUED_TOKENS = 4 * MAX_BATCH_TOKENS;
/** Each client keeps this much in flight: 8 clients offer 64× what the queue holds. */
const CLIENT_IN_FLIGHT_TOKENS = 16 * 1024;
/** Generous: the tiny model's engine runs in a few hundred MiB whatever the load. */
const RSS_LIMIT_BYTES = 1024 ** 3;

let dir: string;
let engine: ServeProcess;
let metricsUrl: string;
let pool: SequenceRequest[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-load-"));
  const model = await buildFixtureModel({ preset: "tiny", out: path.join(dir, "tiny") });
  // Lengths up to 160 tokens keep every sequence within one batch of MAX_BATCH_TOKENS.
  pool = randomRequests(60, model.config.vocabSize, { maxTokens: 160, seed: 7, prefix: "p" });
  engine = await startServe({ model: model.dir, cacheDir: path.join(dir, "cache"), extra: ["--max-batch-tokens", String(MAX_BATCH_TOKENS), "--metrics-port", "0"] });
  if (engine.metricsUrl === undefined) throw new Error(`sftscore serve printed no metrics URL:\n${engine.stdout()}`);
  metricsUrl = engine.metricsUrl;
});
afterAll(async () => {
  if (engine) killAll([engine]);
  await rm(dir, { recursive: true, force: true });
});

/** Client `c`'s requests: the pool over and over from a client-specific offset, ids `c<c>-<i>`. */
function clientRequests(c: number): { requests: SequenceRequest[]; poolIndexOf: Map<string, number> } {
  const poolIndexOf = new Map<string, number>();
  const requests = Array.from({ length: SEQUENCES_PER_CLIENT }, (_, i) => {
    const poolIndex = (i + 7 * c) % pool.length;
    const id = `c${c}-${i}`;
    poolIndexOf.set(id, poolIndex);
    return { ...pool[poolIndex], id };
  });
  return { requests, poolIndexOf };
}

/** Peak VmRSS and queued tokens of the engine, sampled until `until` settles. */
async function sampleEngine(until: Promise<unknown>): Promise<{ peakRssBytes: number; maxQueuedTokens: number; samples: number }> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  let peakRssBytes = 0;
  let maxQueuedTokens = 0;
  let samples = 0;
  while (!done) {
    const status = await readFile(`/proc/${engine.child.pid}/status`, "utf8");
    peakRssBytes = Math.max(peakRssBytes, Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024);
    maxQueuedTokens = Math.max(maxQueuedTokens, await readMetric(metricsUrl, "sftscore_queued_tokens"));
    samples++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { peakRssBytes, maxQueuedTokens, samples };
}

/** grpc.health.v1.Health/Check for the whole server (`service: ""`), answered as the status number (1 = SERVING). */
function healthStatus(address: string): Promise<number> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<number>((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      // HealthCheckRequest { service: "" } has every field at its default, so it encodes to no bytes.
      () => Buffer.alloc(0),
      // HealthCheckResponse { status = 1 }: tag 0x08, then the enum as a one-byte varint; absent = 0.
      (bytes: Buffer) => (bytes.length === 0 ? 0 : bytes[0] === 0x08 ? bytes[1] : Number.NaN),
      {},
      (error, status) => (error ? reject(error) : resolve(status ?? Number.NaN)),
    );
  }).finally(() => client.close());
}

/** Scores `requests` on a fresh client and returns each id's answers (first span sums), closing the client. */
async function scoreAll(client: EngineClient, requests: readonly SequenceRequest[]): Promise<Map<string, number[]>> {
  const answers = new Map<string, number[]>();
  try {
    for await (const score of client.score(streamOf(requests))) answers.set(score.id, [...(answers.get(score.id) ?? []), score.spans[0].sumLogprob]);
  } finally {
    await client.close();
  }
  return answers;
}

describe("load: concurrent clients on one engine", () => {
  it(`gives ${CLIENTS} concurrent clients every result once, keeps the queue bounded and the engine serving`, async () => {
    const work = Array.from({ length: CLIENTS }, (_, c) => clientRequests(c));
    const all = Promise.all(
      work.map(({ requests }) => scoreAll(new EngineClient({ targets: [engine.address], maxInFlightTokens: CLIENT_IN_FLIGHT_TOKENS, streamsPerTarget: 2 }), requests)),
    );
    const sampled = await sampleEngine(all);
    const answers = await all;

    // Every client: each of its ids answered exactly once, and nothing else.
    for (const [c, { requests }] of work.entries()) {
      expect([...answers[c].keys()].sort(), `client ${c}`).toEqual(requests.map((r) => r.id).sort());
      expect([...answers[c].values()].every((sums) => sums.length === 1), `client ${c}: one answer per id`).toBe(true);
    }
    // The same sequence scored for different clients, in different batches, gives the same number.
    const byPoolIndex = new Map<number, Set<number>>();
    for (const [c, { poolIndexOf }] of work.entries()) {
      for (const [id, [sum]] of answers[c]) {
        const index = poolIndexOf.get(id) ?? -1;
        byPoolIndex.set(index, (byPoolIndex.get(index) ?? new Set()).add(sum));
      }
    }
    expect(byPoolIndex.size).toBe(pool.length);
    expect([...byPoolIndex.values()].every((sums) => sums.size === 1)).toBe(true);

    // Back-pressure: the queue filled up to its bound and never beyond it; memory stayed modest.
    // The clients offer 64× what the queue holds, so it is full for most of the run and some of the
    // samples see it more than half full.
    expect(sampled.samples).toBeGreaterThan(0);
    expect(sampled.maxQueuedTokens).toBeGreaterThan(MAX_QUEUED_TOKENS / 2);
    expect(sampled.maxQueuedTokens).toBeLessThanOrEqual(MAX_QUEUED_TOKENS);
    expect(sampled.peakRssBytes).toBeLessThan(RSS_LIMIT_BYTES);

    // Still up: serving, and scoring with the same results as under load.
    expect(engine.child.exitCode).toBeNull();
    expect(await healthStatus(engine.address)).toBe(1);
    const after = await scoreAll(new EngineClient(engine.address), pool);
    expect(pool.every((request, i) => byPoolIndex.get(i)?.has(after.get(request.id)?.[0] ?? Number.NaN))).toBe(true);
  });
});
