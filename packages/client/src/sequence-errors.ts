import { ErrorCode, type SequenceError } from "@sftscore/proto";
import { ClientError } from "./client-error.js";

/** True for answers by which an engine refuses work it could do later (busy, or shutting down). */
export function isRefusal(error: SequenceError): boolean {
  return error.code === ErrorCode.OVERLOADED || error.code === ErrorCode.CANCELLED;
}

/**
 * The error that ends a run for a sequence an engine answered with `error`, or `undefined` when the
 * sequence should be resent: INVALID_ARGUMENT is final (it fails the same way on any engine);
 * OVERLOADED, CANCELLED, MODEL_FAILED (and an unset code, treated like it) are resent until
 * `attempts` of them reach `maxAttempts`.
 *
 * @param attempts Error answers for this sequence so far, this one included.
 */
export function finalSequenceError(id: string, error: SequenceError, target: string, attempts: number, maxAttempts: number): ClientError | undefined {
  if (error.code === ErrorCode.INVALID_ARGUMENT) {
    return new ClientError("invalid-argument", `sequence "${id}" was refused by engine ${target}: ${error.message}`, { sequenceId: id, target });
  }
  if (attempts < maxAttempts) return undefined;
  const code = isRefusal(error) ? "unavailable" : "internal";
  const name = ErrorCode[error.code] ?? `error code ${error.code}`;
  return new ClientError(code, `sequence "${id}" was not scored after ${attempts} attempts; last, engine ${target} answered ${name}: ${error.message}`, {
    sequenceId: id,
    target,
  });
}
