import { setMaxListeners } from "node:events";
import { status as GrpcStatus, type ServerDuplexStream } from "@grpc/grpc-js";
import type { ScoreRequest, ScoreResponse, Sequence } from "@sftscore/proto";
import type { SequenceScore } from "@sftscore/metrics";
import type { Engine } from "../engine.js";
import { EngineError, type EngineErrorCode } from "../engine-error.js";
import type { Ticket } from "../scheduler.js";
import { grpcStatusOf, type GrpcFailure } from "./grpc-status.js";
import { createResponseOutbox } from "./response-outbox.js";
import { sequenceErrorOf, sequenceRequestOf, sequenceResultOf, type WireLimits } from "./wire-messages.js";

/** The server side of one `ScoringService.Score` call. */
export type ScoreCall = ServerDuplexStream<ScoreRequest, ScoreResponse>;

/** What a Score stream reports, for metrics. */
export interface ScoreStreamObserver {
  /** A sequence the engine admitted was answered, `seconds` after it was submitted. */
  sequenceSettled?(seconds: number): void;
  /** The server itself answered a sequence with an error the engine never saw (engine errors are in its stats). */
  sequenceRejected?(code: EngineErrorCode): void;
}

/** Options of {@link serveScoreStream}. */
export interface ScoreStreamOptions {
  readonly engine: Pick<Engine, "submit">;
  readonly limits: WireLimits;
  /** Coalescing target for responses, in bytes; at most `limits.maxMessageBytes`. */
  readonly maxResponseBytes: number;
  readonly log: (line: string) => void;
  readonly observer?: ScoreStreamObserver;
}

/** A running Score stream. */
export interface ScoreStream {
  /**
   * Stops admitting work: sequences that arrive from now on are answered CANCELLED at once (the
   * client may resend them elsewhere), those already received are scored. Once all are answered the
   * call ends: OK if the client has half-closed, UNAVAILABLE otherwise.
   */
  drain(): void;
  /** Settles when the call is over, however it ended. Never rejects. */
  readonly done: Promise<void>;
}

const SHUTTING_DOWN: GrpcFailure = {
  code: GrpcStatus.UNAVAILABLE,
  details: "the engine is shutting down: every sequence received on this stream was answered; send further work to another engine",
};

/**
 * Responses that may wait to go out before the stream stops reading requests. Two keep the socket
 * busy while the next response is built; more would only hold memory for a client that is slow.
 */
const MAX_UNFLUSHED_RESPONSES = 2;

const SHUTDOWN_CANCEL_MESSAGE = "the engine is shutting down and took no new work; resend the sequence to another engine";

/**
 * Serves one Score call over the engine. Every sequence received is answered exactly once, with a
 * result or a SequenceError; answers are sent coalesced as batches finish.
 *
 * Back-pressure: while a request's sequences are being submitted (the engine's `submit` waits for
 * queue room) or while the client is not reading responses, the call is paused, so gRPC flow
 * control stops a fast client instead of the server buffering its requests.
 *
 * Cancellation: the client cancelling, the deadline passing (grpc-js ends the call and emits
 * `cancelled` for both) or the stream failing aborts a signal passed to every `submit`, so this
 * stream's queued sequences are dropped before they are batched.
 */
export function serveScoreStream(call: ScoreCall, options: ScoreStreamOptions): ScoreStream {
  const { engine, limits, log, observer } = options;
  const controller = new AbortController();
  // The engine adds one abort listener per queued sequence; thousands are normal on one stream.
  setMaxListeners(0, controller.signal);
  /** Sequences received and not yet answered. */
  let outstanding = 0;
  let clientHalfClosed = false;
  /** The server is shutting down: no new work is admitted. */
  let draining = false;
  /** A request's sequences are being submitted: reading stays paused until all are queued. */
  let submitting = false;
  /** Responses are not going out (see {@link MAX_UNFLUSHED_RESPONSES}): reading stays paused. */
  let writeBlocked = false;
  /** A status was sent or the call went away: nothing more is written. */
  let over = false;
  let settleDone!: () => void;
  const done = new Promise<void>((resolve) => (settleDone = resolve));

  /** Responses handed to grpc-js whose bytes have not yet gone out (the client is not reading). */
  let unflushed = 0;
  const outbox = createResponseOutbox({
    maxResponseBytes: options.maxResponseBytes,
    maxMessageBytes: limits.maxMessageBytes,
    send(response) {
      if (over) return;
      unflushed++;
      // Counted by write callbacks rather than write()'s return value: the stream's high-water mark
      // is 16 responses, up to 16 × maxResponseBytes held in memory for a client that stops reading.
      call.write(response, () => {
        unflushed--;
        if (writeBlocked && unflushed < MAX_UNFLUSHED_RESPONSES) {
          writeBlocked = false;
          updateFlow();
        }
      });
      if (unflushed >= MAX_UNFLUSHED_RESPONSES && !writeBlocked) {
        writeBlocked = true;
        updateFlow();
      }
    },
  });

  function updateFlow(): void {
    if (over) return;
    if (submitting || writeBlocked) call.pause();
    else call.resume();
  }

  /** Ends the call once: sends the pending answers, then OK or the failure's status. */
  function finish(failure?: GrpcFailure): void {
    if (over) return;
    outbox.flush();
    over = true;
    // Drops this stream's sequences that are still queued (none remain after a normal end).
    controller.abort();
    // grpc-js turns an 'error' event into the call's status (after the writes above are flushed).
    if (failure) call.emit("error", Object.assign(new Error(failure.details), failure));
    else call.end();
  }

  function maybeEnd(): void {
    if (over || submitting || outstanding > 0) return;
    if (clientHalfClosed) finish();
    else if (draining) finish(SHUTTING_DOWN);
  }

  function answerResult(sequence: Sequence, score: SequenceScore, startedMs: number): void {
    outstanding--;
    observer?.sequenceSettled?.((performance.now() - startedMs) / 1000);
    if (over) return;
    if (!outbox.addResult(sequenceResultOf(score, sequence.wantTokenLogprobs))) observer?.sequenceRejected?.("invalid-argument");
    maybeEnd();
  }

  function answerFailure(id: string, error: unknown, startedMs?: number): void {
    outstanding--;
    if (startedMs !== undefined) observer?.sequenceSettled?.((performance.now() - startedMs) / 1000);
    if (over) return;
    const failure = EngineError.from(error);
    const answer = sequenceErrorOf(id, failure, log);
    if (answer === undefined) finish(grpcStatusOf(failure, log));
    else {
      outbox.addError(answer);
      maybeEnd();
    }
  }

  async function accept(request: ScoreRequest): Promise<void> {
    const sequences = request.sequences;
    if (sequences.length > limits.maxSequencesPerMessage) {
      for (const sequence of sequences) {
        observer?.sequenceRejected?.("invalid-argument");
        outstanding++;
        answerFailure(
          sequence.id,
          new EngineError(
            "invalid-argument",
            `sequence "${sequence.id}": its ScoreRequest carries ${sequences.length} sequences, more than the engine's max_sequences_per_message of ${limits.maxSequencesPerMessage}; send them in smaller messages`,
            { sequenceId: sequence.id },
          ),
        );
      }
      return;
    }
    for (const sequence of sequences) {
      // After the call is over nothing can be answered, so the rest is not even queued.
      if (over) return;
      outstanding++;
      const tooLong = lengthViolation(sequence, limits.maxTokensPerSequence);
      if (tooLong !== undefined) {
        observer?.sequenceRejected?.("invalid-argument");
        answerFailure(sequence.id, tooLong);
        continue;
      }
      const startedMs = performance.now();
      let ticket: Ticket;
      try {
        ticket = await engine.submit(sequenceRequestOf(sequence), controller.signal);
      } catch (error) {
        answerFailure(sequence.id, error);
        continue;
      }
      ticket.result.then(
        (score) => answerResult(sequence, score, startedMs),
        (error: unknown) => answerFailure(sequence.id, error, startedMs),
      );
    }
  }

  call.on("data", (request: ScoreRequest) => {
    if (over) return;
    if (draining) {
      // Reading goes on while draining so that the client's half-close is seen and the stream can
      // end OK; what arrives now is refused rather than left unanswered.
      for (const sequence of request.sequences) {
        outstanding++;
        answerFailure(sequence.id, new EngineError("cancelled", `sequence "${sequence.id}": ${SHUTDOWN_CANCEL_MESSAGE}`, { sequenceId: sequence.id }));
      }
      maybeEnd();
      return;
    }
    submitting = true;
    updateFlow();
    accept(request)
      .catch((error: unknown) => finish(grpcStatusOf(error, log)))
      .finally(() => {
        submitting = false;
        updateFlow();
        maybeEnd();
      });
  });
  call.on("end", () => {
    clientHalfClosed = true;
    maybeEnd();
  });
  const gone = () => {
    over = true;
    controller.abort();
    settleDone();
  };
  // 'cancelled' follows every end of the call: client cancellation, deadline, and any status sent.
  call.on("cancelled", gone);
  call.on("close", gone);
  // grpc-js also listens and turns the error into the status; this listener only stops the work.
  call.on("error", () => {
    over = true;
    controller.abort();
  });

  return {
    drain() {
      draining = true;
      maybeEnd();
    },
    done,
  };
}

/** The error for a sequence over the engine's `max_tokens_per_sequence`, or `undefined` when it fits. */
function lengthViolation(sequence: Sequence, maxTokensPerSequence: number): EngineError | undefined {
  const tokens = sequence.tokenIds.length;
  if (tokens <= maxTokensPerSequence) return undefined;
  return new EngineError(
    "invalid-argument",
    `sequence "${sequence.id}": has ${tokens} tokens, more than the engine's max_tokens_per_sequence of ${maxTokensPerSequence}; truncate it`,
    { sequenceId: sequence.id },
  );
}
