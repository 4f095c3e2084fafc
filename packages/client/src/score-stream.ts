import { status as GrpcStatus, type ClientDuplexStream, type StatusObject } from "@grpc/grpc-js";
import type { SequenceRequest } from "@sftscore/metrics";
import type { ScoreRequest, ScoreResponse, SequenceError, SequenceResult } from "@sftscore/proto";
import { ClientError, clientErrorOfStatus, isRetryableStatus } from "./client-error.js";
import { createMessagePacker } from "./message-packer.js";
import type { EngineLimits } from "./wire-messages.js";

/** How a stream reports what happens on it. Each id it was given is reported once at most. */
export interface ScoreStreamEvents {
  /** An answer to a sequence this stream had outstanding. */
  answer(answer: { readonly result: SequenceResult } | { readonly error: SequenceError }): void;
  /**
   * The stream is over. `failure` is absent when it ended OK with nothing outstanding; otherwise it
   * says why, and `retryable` whether the same work may succeed again (a broken connection, a
   * deadline, an engine shutting down) or not (authentication, a refused message). `unanswered` are
   * the ids the stream still had outstanding: they were not scored and may be resent.
   */
  end(outcome: { readonly failure?: ClientError; readonly retryable: boolean; readonly unanswered: readonly string[] }): void;
}

/** Options of {@link openScoreStream}. */
export interface ScoreStreamOptions {
  readonly target: string;
  readonly limits: EngineLimits;
  /** A stream with sequences outstanding that receives nothing for this long is cancelled. */
  readonly deadlineMs: number;
  readonly events: ScoreStreamEvents;
}

/** The client side of one `ScoringService.Score` call. */
export interface ScoreStream {
  /** Packs a sequence (checked; `bytes` from `checkSequence`) and writes the messages it completes. */
  send(request: SequenceRequest, bytes: number): void;
  /** Writes the partly filled message, if any. */
  flush(): void;
  /** Half-closes: the engine ends the stream OK once it has answered everything. */
  halfClose(): void;
  /** Cancels the call; no further events are reported. */
  cancel(): void;
  /** Tokens sent or packed and not yet answered. */
  readonly outstandingTokens: number;
  /** Sequences sent or packed and not yet answered. */
  readonly outstandingSequences: number;
  /** Answers ignored because their id was not outstanding here (a repeated or unknown id). */
  readonly droppedAnswers: number;
  /** True once the stream has ended or been cancelled. */
  readonly over: boolean;
}

/**
 * Runs one Score call: packs sequences into messages within the engine's limits, matches answers to
 * outstanding ids, drops answers to ids that are not outstanding, and watches for an idle engine.
 */
export function openScoreStream(call: ClientDuplexStream<ScoreRequest, ScoreResponse>, options: ScoreStreamOptions): ScoreStream {
  const { events, target, deadlineMs } = options;
  const packer = createMessagePacker(options.limits);
  const outstanding = new Map<string, number>();
  let outstandingTokens = 0;
  let droppedAnswers = 0;
  let over = false;
  let status: StatusObject | undefined;
  let ended = false;
  let idleTimer: NodeJS.Timeout | undefined;

  /** Restarts the idle deadline while something is outstanding; stops it otherwise. */
  const watchIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    if (over || outstanding.size === 0) return;
    idleTimer = setTimeout(() => {
      const failure = new ClientError(
        "deadline-exceeded",
        `engine ${target}: no answer for ${deadlineMs} ms with ${outstanding.size} sequences outstanding (deadlineMs)`,
        { target },
      );
      finish(failure, true);
      call.cancel();
    }, deadlineMs);
    idleTimer.unref();
  };

  const finish = (failure: ClientError | undefined, retryable: boolean) => {
    if (over) return;
    over = true;
    clearTimeout(idleTimer);
    const unanswered = [...outstanding.keys()];
    outstanding.clear();
    outstandingTokens = 0;
    events.end({ ...(failure ? { failure } : {}), retryable, unanswered });
  };

  const settle = (id: string): boolean => {
    const tokens = outstanding.get(id);
    if (tokens === undefined) {
      droppedAnswers++;
      return false;
    }
    outstanding.delete(id);
    outstandingTokens -= tokens;
    return true;
  };

  const write = (message: ScoreRequest | undefined) => {
    if (message && !over) call.write(message);
  };

  call.on("data", (response: ScoreResponse) => {
    if (over) return;
    for (const result of response.results) if (settle(result.id)) events.answer({ result });
    for (const error of response.errors) if (settle(error.id)) events.answer({ error });
    watchIdle();
  });
  // grpc-js reports a non-OK status as an 'error' too; the 'status' listener handles both.
  call.on("error", () => undefined);
  call.on("status", (received: StatusObject) => {
    status = received;
    if (received.code !== GrpcStatus.OK) {
      finish(clientErrorOfStatus(received, target), isRetryableStatus(received.code));
    } else if (ended) endOk();
  });
  // An OK status can arrive before the last responses are delivered; 'end' comes after them.
  call.on("end", () => {
    ended = true;
    if (status?.code === GrpcStatus.OK) endOk();
  });
  const endOk = () => {
    if (outstanding.size === 0) finish(undefined, true);
    else finish(new ClientError("internal", `engine ${target} ended a Score stream without answering ${outstanding.size} sequences`, { target }), true);
  };

  return {
    send(request, bytes) {
      if (over) throw new ClientError("internal", `send on a Score stream to ${target} that is over`);
      if (outstanding.has(request.id)) {
        throw new ClientError("invalid-argument", `sequence "${request.id}" was sent again while its first copy is still outstanding; ids must be unique among outstanding sequences`, { sequenceId: request.id });
      }
      outstanding.set(request.id, request.tokenIds.length);
      outstandingTokens += request.tokenIds.length;
      for (const message of packer.add(request, bytes)) write(message);
      if (idleTimer === undefined) watchIdle();
    },
    flush: () => write(packer.flush()),
    halfClose() {
      if (!over) {
        write(packer.flush());
        call.end();
      }
    },
    cancel() {
      if (over) return;
      over = true;
      clearTimeout(idleTimer);
      outstanding.clear();
      outstandingTokens = 0;
      call.cancel();
    },
    get outstandingTokens() {
      return outstandingTokens;
    },
    get outstandingSequences() {
      return outstanding.size;
    },
    get droppedAnswers() {
      return droppedAnswers;
    },
    get over() {
      return over;
    },
  };
}
