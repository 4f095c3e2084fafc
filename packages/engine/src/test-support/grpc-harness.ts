import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { credentials, status as GrpcStatus, type CallOptions, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { ScoringServiceClient, type GetModelInfoResponse, type ScoreRequest, type ScoreResponse, type Sequence, type SequenceError, type SequenceResult } from "@sftscore/proto";
import { Tokenizer } from "tokenizers";
import { createEngine, type Engine, type EngineOptions } from "../engine.js";
import { buildFixtureModel } from "../fixture/build-fixture.js";
import { startServer, type RunningServer, type ServerOptions } from "../server/server.js";

/** Texts of different lengths and scripts, tokenized by the fixture's own tokenizer. */
export const SAMPLE_TEXTS = [
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nGive three tips for staying healthy.\n\n### Response:Eat well, sleep enough, and walk every day.",
  "保持健康的三个提示。多喝水，早睡早起，每天锻炼身体。",
  "Translate: 今天天气很好 → The weather is nice today 😀",
  "短句。",
  "A second English line, a little longer than the short one but shorter than the prompt.",
];

/** Temporary directories made by this module, removed by {@link removeTempDirs}. */
const temps: string[] = [];

export async function tempDir(prefix = "sftscore-server-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** The tiny fixture model in a temp directory, with {@link SAMPLE_TEXTS} tokenized. */
export interface TinyModel {
  readonly dir: string;
  readonly cacheDir: string;
  readonly rows: Uint32Array[];
}

export async function tinyModel(): Promise<TinyModel> {
  const dir = await tempDir();
  await buildFixtureModel({ preset: "tiny", out: dir });
  const tokenizer = Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
  const rows = await Promise.all(SAMPLE_TEXTS.map(async (text) => Uint32Array.from((await tokenizer.encode(text)).getIds())));
  return { dir, cacheDir: await tempDir(), rows };
}

/** A server on 127.0.0.1 port 0 over a fresh engine, with a client connected to it. */
export interface TestServer {
  readonly engine: Engine;
  readonly server: RunningServer;
  readonly client: ScoringServiceClient;
  /** Lines the server logged. */
  readonly logs: string[];
  /** Closes the client and the server (and so the engine). */
  close(): Promise<void>;
}

export async function startTestServer(
  model: TinyModel,
  options: { engine?: Partial<EngineOptions>; server?: Partial<Omit<ServerOptions, "engine" | "port">> } = {},
): Promise<TestServer> {
  const engine = await createEngine({ model: model.dir, threads: 1, cacheDir: model.cacheDir, ...options.engine });
  const logs: string[] = [];
  const server = await startServer({ engine, port: 0, log: (line) => logs.push(line), ...options.server });
  const client = connect(server.port);
  return {
    engine,
    server,
    client,
    logs,
    async close() {
      client.close();
      await server.close({ timeoutMs: 5_000 });
    },
  };
}

export function connect(port: number): ScoringServiceClient {
  return new ScoringServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
}

/** Sequences over whole rows: a full span and a second half span, with per-token log-probs. */
export function sequencesFor(rows: readonly Uint32Array[], prefix = "s"): Sequence[] {
  return rows.map((tokenIds, i) => ({
    id: `${prefix}${i}`,
    tokenIds: Array.from(tokenIds),
    spans: [
      { start: 1, end: tokenIds.length },
      { start: Math.ceil(tokenIds.length / 2), end: tokenIds.length },
    ],
    wantTokenLogprobs: true,
  }));
}

/** Everything a Score call returned. */
export interface StreamOutcome {
  readonly responses: ScoreResponse[];
  readonly results: Map<string, SequenceResult>;
  readonly errors: Map<string, SequenceError>;
  /** Ids answered more than once (the contract says: never). */
  readonly duplicates: string[];
  readonly status: StatusObject;
}

/**
 * Runs one Score call: writes `requests`, half-closes unless `halfClose` is false, and collects
 * every response until the call's status arrives. Never rejects for a non-OK status.
 */
export function scoreStream(
  client: ScoringServiceClient,
  requests: readonly ScoreRequest[],
  options: { call?: Partial<CallOptions>; halfClose?: boolean; onResponse?: (response: ScoreResponse, call: ReturnType<ScoringServiceClient["score"]>) => void } = {},
): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const call = client.score(options.call ?? {});
    const responses: ScoreResponse[] = [];
    const results = new Map<string, SequenceResult>();
    const errors = new Map<string, SequenceError>();
    const duplicates: string[] = [];
    let status: StatusObject | undefined;
    let ended = false;
    const settle = () => {
      // An OK status can arrive before the last 'data' events are delivered; wait for 'end' too.
      if (status && (ended || status.code !== GrpcStatus.OK)) resolve({ responses, results, errors, duplicates, status });
    };
    call.on("data", (response: ScoreResponse) => {
      responses.push(response);
      for (const result of response.results) {
        if (results.has(result.id) || errors.has(result.id)) duplicates.push(result.id);
        results.set(result.id, result);
      }
      for (const error of response.errors) {
        if (results.has(error.id) || errors.has(error.id)) duplicates.push(error.id);
        errors.set(error.id, error);
      }
      options.onResponse?.(response, call);
    });
    call.on("error", (_error: ServiceError) => undefined);
    call.on("status", (received: StatusObject) => {
      status = received;
      settle();
    });
    call.on("end", () => {
      ended = true;
      settle();
    });
    for (const request of requests) call.write(request);
    if (options.halfClose !== false) call.end();
  });
}

/** Calls GetModelInfo. */
export function getModelInfo(client: ScoringServiceClient): Promise<GetModelInfoResponse> {
  return new Promise((resolve, reject) =>
    client.getModelInfo({}, (error, response) => (error ? reject(error) : resolve(response))),
  );
}
