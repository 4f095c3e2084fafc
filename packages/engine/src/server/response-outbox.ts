import { ErrorCode, SequenceError, SequenceResult, type ScoreResponse } from "@sftscore/proto";

/** Options of {@link createResponseOutbox}. */
export interface ResponseOutboxOptions {
  /** Coalescing target: a response grows up to this many encoded bytes before another is started. */
  readonly maxResponseBytes: number;
  /**
   * Largest response the engine may ever send (the advertised `max_message_bytes`). A single result
   * over it is replaced by an INVALID_ARGUMENT error, since no response could carry it.
   */
  readonly maxMessageBytes: number;
  /** Sends one response on the stream. */
  readonly send: (response: ScoreResponse) => void;
  /** Runs the deferred flush; default `setImmediate`, after the current burst of results settles. */
  readonly defer?: (flush: () => void) => void;
}

/**
 * Collects per-sequence answers and sends them coalesced: every answer added in one turn of the
 * event loop (a finished batch settles all its sequences together) goes out in as few responses as
 * fit under the byte target, instead of one response per sequence.
 */
export interface ResponseOutbox {
  /** Queues a result; returns false when it was too large and was answered with an error instead. */
  addResult(result: SequenceResult): boolean;
  addError(error: SequenceError): void;
  /** Sends whatever is pending now (before the stream ends). */
  flush(): void;
  /** Answers added but not yet sent. */
  readonly pending: number;
}

/** Bytes a length-delimited field of `length` bytes takes in its parent: a 1-byte tag, the length varint, the body. */
function fieldBytes(length: number): number {
  let varint = 1;
  for (let rest = length >>> 7; rest > 0; rest >>>= 7) varint++;
  return 1 + varint + length;
}

export function createResponseOutbox(options: ResponseOutboxOptions): ResponseOutbox {
  const defer = options.defer ?? ((flush: () => void) => void setImmediate(flush));
  let current: ScoreResponse = { results: [], errors: [] };
  let currentBytes = 0;
  let pending = 0;
  let scheduled = false;

  const sendCurrent = () => {
    if (current.results.length + current.errors.length === 0) return;
    const response = current;
    pending -= response.results.length + response.errors.length;
    current = { results: [], errors: [] };
    currentBytes = 0;
    options.send(response);
  };

  const add = (bytes: number, put: (response: ScoreResponse) => void) => {
    // Sizes are exact: a response is the concatenation of its fields, so it never exceeds the target
    // unless a single answer does, and then it goes alone.
    if (currentBytes > 0 && currentBytes + bytes > options.maxResponseBytes) sendCurrent();
    put(current);
    currentBytes += bytes;
    pending++;
    if (!scheduled) {
      scheduled = true;
      defer(() => {
        scheduled = false;
        sendCurrent();
      });
    }
  };

  const addError = (error: SequenceError) => {
    add(fieldBytes(SequenceError.encode(error).finish().length), (response) => response.errors.push(error));
  };

  return {
    addResult(result) {
      const bytes = fieldBytes(SequenceResult.encode(result).finish().length);
      if (bytes > options.maxMessageBytes) {
        addError({
          id: result.id,
          code: ErrorCode.INVALID_ARGUMENT,
          message: `sequence "${result.id}": its result takes ${bytes} bytes, more than the engine's max_message_bytes of ${options.maxMessageBytes}; ask without token log-probabilities or send a shorter sequence`,
        });
        return false;
      }
      add(bytes, (response) => response.results.push(result));
      return true;
    },
    addError,
    flush: sendCurrent,
    get pending() {
      return pending;
    },
  };
}
