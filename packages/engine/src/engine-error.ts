/**
 * Why an engine operation failed. The codes map one-to-one onto gRPC status codes in the server and
 * onto the wire's per-sequence `ErrorCode`.
 */
export type EngineErrorCode =
  | "invalid-argument"
  | "unauthenticated"
  | "overloaded"
  | "model-failed"
  | "cancelled"
  | "unavailable"
  | "not-found"
  | "failed-precondition"
  | "internal";

/** The engine's one error type: a code, a message a user can act on, and the cause. */
export class EngineError extends Error {
  override readonly name = "EngineError";
  readonly code: EngineErrorCode;
  /** The sequence the error is about, when it is about one. */
  readonly sequenceId?: string;

  constructor(code: EngineErrorCode, message: string, options: { cause?: unknown; sequenceId?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.sequenceId !== undefined) this.sequenceId = options.sequenceId;
  }

  /** Normalises anything caught into an EngineError; unknown errors become `internal`. */
  static from(error: unknown): EngineError {
    if (error instanceof EngineError) return error;
    if (error instanceof Error && error.name === "AbortError") return new EngineError("cancelled", "the operation was cancelled", { cause: error });
    const message = error instanceof Error ? error.message : String(error);
    return new EngineError("internal", message, { cause: error });
  }
}

/** True for errors that another attempt (on this or another engine) may not hit. */
export function isRetryable(error: EngineError): boolean {
  return error.code === "overloaded" || error.code === "unavailable" || error.code === "cancelled";
}
