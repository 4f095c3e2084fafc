/**
 * Why a metrics operation failed.
 *
 * - `invalid-argument`: an option or a sample is unusable (the message names it).
 * - `invalid-template`: a template set (built in, from a file, or a chat template) cannot be used.
 * - `invalid-tokenizer`: `tokenizer.json` cannot be loaded or would crash the tokenizer.
 * - `scorer-failed`: the {@link Scorer} broke its contract (missing or malformed result) or threw.
 * - `cancelled`: the caller's signal fired.
 */
export type MetricsErrorCode = "invalid-argument" | "invalid-template" | "invalid-tokenizer" | "scorer-failed" | "cancelled";

/** The metrics package's one error type: a code, a message a user can act on, and the cause. */
export class MetricsError extends Error {
  override readonly name = "MetricsError";
  readonly code: MetricsErrorCode;

  constructor(code: MetricsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /**
   * Normalises anything caught into a MetricsError. Aborts become `cancelled`; anything else that is
   * not already a MetricsError is attributed to the scorer, the only foreign code metrics calls into
   * while scoring.
   */
  static from(error: unknown): MetricsError {
    if (error instanceof MetricsError) return error;
    if (error instanceof Error && error.name === "AbortError") {
      return new MetricsError("cancelled", "scoring was cancelled", { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new MetricsError("scorer-failed", message, { cause: error });
  }
}
