/**
 * Real engines for the client's end-to-end tests: the tiny fixture model served in process
 * (`createEngine` + `startServer` on 127.0.0.1 port 0) or as a `sftscore serve` child process
 * that a test can kill -9.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel, createEngine, startServer, type Engine, type RunningServer } from "@sftscore/engine";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { afterAll, afterEach, beforeAll } from "vitest";

/** The installed `sftscore` bin (build first: `npx nx run-many -t build`). */
const BIN = path.join(import.meta.dirname, "..", "..", "node_modules", ".bin", "sftscore");

/** Model directories of one test file, and where engines cache their extended models. */
export interface Models {
  readonly root: string;
  /** The tiny fixture model, seed 0. */
  readonly tiny: string;
  /** The same architecture and tokenizer with other weights (seed 1): another content hash. */
  readonly tinyOtherWeights: string;
  readonly cacheDir: string;
}

/** An engine served in process. */
export interface ServedEngine {
  readonly engine: Engine;
  readonly server: RunningServer;
  readonly address: string;
}

/** A `sftscore serve` child process. */
export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly address: string;
  readonly exit: Promise<number | null>;
}

/**
 * Registers hooks that build the models once per file, close every server a test started after
 * it, and remove the files at the end. The returned helpers are valid inside tests.
 */
export function useEngines() {
  let models: Models | undefined;
  const servers: ServedEngine[] = [];
  const children: ServeProcess[] = [];

  beforeAll(async () => {
    const root = await mkdtemp(path.join(tmpdir(), "sftscore-client-e2e-"));
    const tiny = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "tiny") })).dir;
    const tinyOtherWeights = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "tiny-seed1"), seed: 1 })).dir;
    models = { root, tiny, tinyOtherWeights, cacheDir: path.join(root, "cache") };
  });
  afterEach(async () => {
    for (const served of children.splice(0)) if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill("SIGKILL");
    await Promise.all(servers.splice(0).map((served) => served.server.close({ timeoutMs: 1_000 })));
  });
  afterAll(async () => {
    if (models) await rm(models.root, { recursive: true, force: true });
  });

  const model = (): Models => {
    if (models === undefined) throw new Error("models are built in beforeAll");
    return models;
  };

  return {
    models: model,
    /** An in-process engine on the model (default: tiny). */
    async inProcess(dir = model().tiny, maxBatchTokens?: number): Promise<Engine> {
      return createEngine({ model: dir, threads: 1, cacheDir: model().cacheDir, ...(maxBatchTokens === undefined ? {} : { maxBatchTokens }) });
    },
    /** A gRPC server over a fresh engine; closed after the test. */
    async serve(dir = model().tiny, maxBatchTokens?: number): Promise<ServedEngine> {
      const engine = await createEngine({ model: dir, threads: 1, cacheDir: model().cacheDir, ...(maxBatchTokens === undefined ? {} : { maxBatchTokens }) });
      const server = await startServer({ engine, port: 0, log: () => undefined });
      const served = { engine, server, address: `127.0.0.1:${server.port}` };
      servers.push(served);
      return served;
    },
    /** `sftscore serve` in a child process; killed after the test if still running. */
    async serveProcess(extra: readonly string[] = []): Promise<ServeProcess> {
      const child = spawn(BIN, ["serve", "--model", model().tiny, "--port", "0", "--threads", "1", "--cache-dir", model().cacheDir, ...extra]);
      const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /^listening on 127\.0\.0\.1:(\d+) /m.exec(stdout);
          if (match) resolve(Number(match[1]));
        });
        void exit.then((code) => reject(new Error(`sftscore serve exited with ${code} before listening:\n${stderr}`)));
      });
      const served = { child, address: `127.0.0.1:${port}`, exit };
      children.push(served);
      return served;
    },
  };
}

/** A small deterministic PRNG (mulberry32), so request sets are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` sequences of random token ids below `vocabSize`, 2 to `maxTokens` long, each with a
 * whole span and a second half span; every third asks for per-token log-probabilities.
 */
export function randomRequests(count: number, vocabSize: number, options: { maxTokens?: number; seed?: number; prefix?: string } = {}): SequenceRequest[] {
  const next = random(options.seed ?? 1);
  const maxTokens = options.maxTokens ?? 300;
  return Array.from({ length: count }, (_, i) => {
    const length = 2 + Math.floor(next() * (maxTokens - 1));
    const tokenIds = Uint32Array.from({ length }, () => Math.floor(next() * vocabSize));
    return {
      id: `${options.prefix ?? "q"}${i}`,
      tokenIds,
      spans: [
        { start: 1, end: length },
        { start: Math.ceil(length / 2), end: length },
      ],
      wantTokenLogprobs: i % 3 === 0,
    };
  });
}

/** An async iterable over requests (the Scorer contract takes async iterables). */
export async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/** Scores requests and returns the results keyed by id, failing on a repeated id. */
export async function scoresById(results: AsyncIterable<SequenceScore>): Promise<Map<string, SequenceScore>> {
  const byId = new Map<string, SequenceScore>();
  for await (const result of results) {
    if (byId.has(result.id)) throw new Error(`result for "${result.id}" yielded twice`);
    byId.set(result.id, result);
  }
  return byId;
}
