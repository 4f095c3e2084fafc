import { ErrorCode, type SequenceError } from "@sftscore/proto";
import { ClientError } from "./client-error.js";

/** True for answers by which an engine refuses work it could do later (busy, or shutting down). */
export function isRefusal(error: SequenceError): boolean {
  return error.code === ErrorCode.OVERLOADED || error.code === ErrorCode.CANCELLED;
}

/**
 * True for answers worth resending (while the retry budget lasts): OVERLOADED, CANCELLED,
 * MODEL_FAILED and an unset code, treated like them. INVALID_ARGUMENT is not: it would fail the same
 * way on any engine.
 */
export function isResendable(error: SequenceError): boolean {
  return error.code !== ErrorCode.INVALID_ARGUMENT;
}

/**
 * The error that ends a run for a sequence an engine answered with `error`, when it is not resent:
 * `invalid-argument` quoting the engine's reason for a refused sequence, else `unavailable` (the
 * engines kept refusing it) or `internal` (the model kept failing on it) once the retry budget is spent.
 *
 * @param attempts Error answers for this sequence so far, this one included.
 */
export function finalSequenceError(id: string, error: SequenceError, target: string, attempts: number): ClientError {
  if (!isResendable(error)) {
    return new ClientError("invalid-argument", `sequence "${id}" was refused by engine ${target}: ${error.message}`, { sequenceId: id, target });
  }
  const code = isRefusal(error) ? "unavailable" : "internal";
  const name = ErrorCode[error.code] ?? `error code ${error.code}`;
  return new ClientError(code, `sequence "${id}" was not scored after ${attempts} attempts; last, engine ${target} answered ${name}: ${error.message}`, {
    sequenceId: id,
    target,
  });
}
