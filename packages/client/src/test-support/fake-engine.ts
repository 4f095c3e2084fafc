/**
 * A fake ScoringService for transport tests: it speaks the wire contract but runs no model. Each
 * sequence's "scores" are a pure function of its tokens ({@link fakeScore}), so tests can check
 * that the client delivers exactly what an engine sent. Tests about numbers use a real engine
 * (test/client/).
 */
import { Server, ServerCredentials, type Metadata, type ServerDuplexStream, type status as GrpcStatus } from "@grpc/grpc-js";
import {
  ScoringServiceService,
  type GetModelInfoResponse,
  type ScoringServiceServer,
  type ScoreRequest,
  type ScoreResponse,
  type Sequence,
  type SequenceResult,
} from "@sftscore/proto";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";

export type FakeScoreCall = ServerDuplexStream<ScoreRequest, ScoreResponse>;

/** What a fake engine saw. */
export interface FakeEngineLog {
  /** Every ScoreRequest received, in order. */
  readonly requests: ScoreRequest[];
  /** Score calls opened. */
  streams: number;
  /** `authorization` metadata of every call (GetModelInfo and Score). */
  readonly authorizations: (string | undefined)[];
}

export interface FakeEngineOptions {
  /** Fields of the GetModelInfo answer over the defaults ({@link fakeModelInfo}). */
  readonly info?: Partial<GetModelInfoResponse>;
  /** Handles each received ScoreRequest; default: answer every sequence with {@link fakeResult} at once. */
  readonly onRequest?: (request: ScoreRequest, call: FakeScoreCall) => void;
  /** Fails GetModelInfo with this status instead of answering. */
  readonly infoStatus?: { code: GrpcStatus; details: string };
  /** Serve TLS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

export interface FakeEngine {
  readonly address: string;
  readonly log: FakeEngineLog;
  /** Open Score calls. */
  readonly calls: Set<FakeScoreCall>;
  /** Stops at once, cancelling open calls. */
  close(): void;
}

/** The default model description: hashes `a…`, tiny limits that tests can override. */
export function fakeModelInfo(overrides: Partial<GetModelInfoResponse> = {}): GetModelInfoResponse {
  return {
    modelId: "fake",
    contentHash: "a".repeat(64),
    vocabSize: 1000,
    maxLength: 64,
    dtype: "float32",
    device: "cpu",
    tokenizerJson: "{}",
    tokenizerHash: "b".repeat(64),
    tokenizerConfigJson: "",
    lossHead: 1,
    limits: { maxSequencesPerMessage: 16, maxTokensPerSequence: 64, maxMessageBytes: 1 << 20, maxBatchTokens: 128 },
    ...overrides,
  };
}

/** The fake's answer for a sequence: each span sums `−token/1000` over its positions. */
export function fakeResult(sequence: Pick<Sequence, "id" | "tokenIds" | "spans" | "wantTokenLogprobs">): SequenceResult {
  const logprob = (position: number) => -sequence.tokenIds[position] / 1000;
  return {
    id: sequence.id,
    spans: sequence.spans.map((span) => {
      let sum = 0;
      for (let i = span.start; i < span.end; i++) sum += logprob(i);
      return { sumLogprob: sum, count: span.end - span.start };
    }),
    tokenLogprobs: sequence.wantTokenLogprobs ? sequence.tokenIds.slice(1).map((_, i) => logprob(i + 1)) : [],
  };
}

/** What the client should yield for a request answered by {@link fakeResult}. */
export function fakeScore(request: SequenceRequest): SequenceScore {
  const result = fakeResult({ id: request.id, tokenIds: Array.from(request.tokenIds), spans: request.spans.map((span) => ({ ...span })), wantTokenLogprobs: request.wantTokenLogprobs === true });
  return request.wantTokenLogprobs
    ? { id: result.id, spans: result.spans, tokenLogprobs: Float32Array.from(result.tokenLogprobs) }
    : { id: result.id, spans: result.spans };
}

/** Answers every sequence of a request with {@link fakeResult}. */
export function answerAll(request: ScoreRequest, call: FakeScoreCall): void {
  call.write({ results: request.sequences.map(fakeResult), errors: [] });
}

/** Starts a fake engine on 127.0.0.1, port 0. */
export async function startFakeEngine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const log: FakeEngineLog = { requests: [], streams: 0, authorizations: [] };
  const calls = new Set<FakeScoreCall>();
  const authorization = (metadata: Metadata) => {
    const value = metadata.get("authorization")[0];
    log.authorizations.push(value === undefined ? undefined : String(value));
  };
  const server = new Server();
  const handlers: ScoringServiceServer = {
    getModelInfo(call, callback) {
      authorization(call.metadata);
      if (options.infoStatus) callback(Object.assign(new Error(options.infoStatus.details), options.infoStatus));
      else callback(null, fakeModelInfo(options.info));
    },
    score(call: FakeScoreCall) {
      authorization(call.metadata);
      log.streams++;
      calls.add(call);
      call.on("data", (request: ScoreRequest) => {
        log.requests.push(request);
        (options.onRequest ?? answerAll)(request, call);
      });
      call.on("end", () => call.end());
      call.on("error", () => undefined);
      call.on("cancelled", () => calls.delete(call));
      call.on("close", () => calls.delete(call));
    },
  };
  server.addService(ScoringServiceService, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      options.tls ? ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false) : ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    log,
    calls,
    close: () => server.forceShutdown(),
  };
}

/** Ends a call with a status (as an engine that fails a whole stream does). */
export function failCall(call: FakeScoreCall, code: GrpcStatus, details: string): void {
  call.emit("error", Object.assign(new Error(details), { code, details }));
}

/** Requests with ids `prefix0…`, `tokens` tokens each (values vary), one span over all but token 0. */
export function fakeRequests(count: number, tokens = 8, prefix = "s"): SequenceRequest[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    tokenIds: Uint32Array.from({ length: tokens }, (_, t) => (i * 31 + t * 7) % 1000),
    spans: [{ start: 1, end: tokens }],
    wantTokenLogprobs: i % 2 === 0,
  }));
}

/** An async iterable over `items` that counts how many were pulled. */
export function countingSource<T>(items: readonly T[]): AsyncIterable<T> & { readonly pulled: number } {
  let pulled = 0;
  return {
    get pulled() {
      return pulled;
    },
    async *[Symbol.asyncIterator]() {
      for (const item of items) {
        pulled++;
        yield item;
      }
    },
  };
}

/** Collects every result of an iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of iterable) all.push(item);
  return all;
}
