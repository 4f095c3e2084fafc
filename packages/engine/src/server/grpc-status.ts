import { status as GrpcStatus, type StatusObject } from "@grpc/grpc-js";
import { EngineError, type EngineErrorCode } from "../engine-error.js";

/** What a failed call sends: a gRPC status code and the text a client sees. */
export type GrpcFailure = Pick<StatusObject, "code" | "details">;

/** Sent instead of an unknown error's own message, which may carry internals (paths, stacks). */
export const INTERNAL_ERROR_DETAILS = "internal error in the scoring engine; see the engine's log";

const STATUS_OF_CODE: Readonly<Record<EngineErrorCode, GrpcStatus>> = {
  "invalid-argument": GrpcStatus.INVALID_ARGUMENT,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  overloaded: GrpcStatus.RESOURCE_EXHAUSTED,
  "model-failed": GrpcStatus.INTERNAL,
  cancelled: GrpcStatus.CANCELLED,
  unavailable: GrpcStatus.UNAVAILABLE,
  "not-found": GrpcStatus.NOT_FOUND,
  "failed-precondition": GrpcStatus.FAILED_PRECONDITION,
  internal: GrpcStatus.INTERNAL,
};

/**
 * The one mapping from errors to gRPC status (STYLE.md §4). An {@link EngineError} keeps its
 * message, which is written for users; anything else becomes INTERNAL with a generic message, and
 * its cause goes to `log` instead of to the client.
 *
 * @param error Anything caught while serving a call.
 * @param log Receives one line describing an unknown error (never called for known codes).
 */
export function grpcStatusOf(error: unknown, log: (line: string) => void): GrpcFailure {
  const failure = EngineError.from(error);
  if (failure.code === "internal") {
    log(`internal error: ${describeCause(failure)}`);
    return { code: GrpcStatus.INTERNAL, details: INTERNAL_ERROR_DETAILS };
  }
  return { code: STATUS_OF_CODE[failure.code], details: failure.message };
}

/** The cause's stack when there is one (for the engine's log only). */
export function describeCause(error: EngineError): string {
  const cause = error.cause ?? error;
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
