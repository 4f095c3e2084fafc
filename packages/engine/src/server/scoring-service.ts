import { status as GrpcStatus } from "@grpc/grpc-js";
import type { ScoringServiceServer } from "@sftscore/proto";
import type { Engine } from "../engine.js";
import { grpcStatusOf } from "./grpc-status.js";
import { serveScoreStream, type ScoreStream, type ScoreStreamObserver } from "./score-stream.js";
import { modelInfoResponseOf, type WireLimits } from "./wire-messages.js";

/**
 * grpc-js clients refuse messages over 4 MiB unless configured otherwise, so responses are
 * coalesced up to this size even when the engine allows larger requests: a client with default
 * settings can read every response but one holding a single oversized result.
 */
export const DEFAULT_CLIENT_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Options of {@link createScoringService}. */
export interface ScoringServiceOptions {
  /** The engine that scores; the service never closes it. */
  readonly engine: Pick<Engine, "info" | "submit">;
  /** Largest ScoreRequest the server accepts (its gRPC receive limit) and response it sends, in bytes. */
  readonly maxMessageBytes: number;
  /** Most sequences one ScoreRequest may carry; more get INVALID_ARGUMENT each. */
  readonly maxSequencesPerMessage: number;
  /** Longest sequence accepted, in tokens (at most the model's maximum); longer ones get INVALID_ARGUMENT. */
  readonly maxTokensPerSequence: number;
  /** Receives one line per internal error (causes are logged, never sent). */
  readonly log: (line: string) => void;
  readonly observer?: ScoreStreamObserver;
}

/** The `sftscore.v1.ScoringService` implementation over an engine, with graceful draining. */
export interface ScoringService {
  /** The grpc-js handlers: `server.addService(ScoringServiceService, service.handlers)`. */
  readonly handlers: ScoringServiceServer;
  /**
   * Refuses new Score calls (UNAVAILABLE) and has every open stream finish the work it admitted and
   * answer later sequences CANCELLED (see {@link ScoreStream.drain}). Resolves when every stream is over.
   */
  drain(): Promise<void>;
  /** Score calls currently open. */
  readonly openStreams: number;
}

/**
 * Implements `GetModelInfo` and the bidirectional `Score` stream (see {@link serveScoreStream}) over
 * an engine. No error from one call reaches another or the process: every failure becomes that
 * call's gRPC status or a per-sequence error.
 *
 * @example
 * const service = createScoringService({ engine, maxMessageBytes: 16 << 20, maxSequencesPerMessage: 1024, maxTokensPerSequence: 2048, log: console.error });
 * server.addService(ScoringServiceService, service.handlers);
 */
export function createScoringService(options: ScoringServiceOptions): ScoringService {
  const limits: WireLimits = {
    maxMessageBytes: options.maxMessageBytes,
    maxSequencesPerMessage: options.maxSequencesPerMessage,
    maxTokensPerSequence: options.maxTokensPerSequence,
  };
  const maxResponseBytes = Math.min(options.maxMessageBytes, DEFAULT_CLIENT_RECEIVE_BYTES);
  const streams = new Set<ScoreStream>();
  let draining = false;

  const handlers: ScoringServiceServer = {
    getModelInfo(_call, callback) {
      options.engine.info().then(
        (info) => callback(null, modelInfoResponseOf(info, limits)),
        (error: unknown) => callback(grpcStatusOf(error, options.log)),
      );
    },
    score(call) {
      if (draining) {
        call.emit("error", Object.assign(new Error("the engine is shutting down"), { code: GrpcStatus.UNAVAILABLE, details: "the engine is shutting down; use another engine" }));
        return;
      }
      try {
        const stream = serveScoreStream(call, { engine: options.engine, limits, maxResponseBytes, log: options.log, ...(options.observer ? { observer: options.observer } : {}) });
        streams.add(stream);
        void stream.done.then(() => streams.delete(stream));
      } catch (error) {
        // Setting up a stream does not throw today; if it ever does, only this call fails.
        call.emit("error", Object.assign(new Error("internal error"), grpcStatusOf(error, options.log)));
      }
    },
  };

  return {
    handlers,
    async drain() {
      draining = true;
      for (const stream of streams) stream.drain();
      await Promise.all([...streams].map((stream) => stream.done));
    },
    get openStreams() {
      return streams.size;
    },
  };
}
