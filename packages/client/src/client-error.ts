import { status as GrpcStatus, type StatusObject } from "@grpc/grpc-js";

/**
 * Why a client operation failed.
 *
 * - `invalid-argument`: a request or an option is unusable; resending it fails the same way (the
 *   message names the sequence id or the option).
 * - `unavailable`: no engine could do the work (every target failed, or a sequence kept failing).
 * - `deadline-exceeded`: an engine did not answer within `deadlineMs`.
 * - `model-mismatch`: the targets serve different models or tokenizers.
 * - `unauthenticated`: an engine refused the bearer token (or its absence).
 * - `cancelled`: the caller's signal fired, or the client was closed.
 * - `internal`: anything else (a bug on either side, or a broken contract).
 */
export type ClientErrorCode =
  | "invalid-argument"
  | "unavailable"
  | "deadline-exceeded"
  | "model-mismatch"
  | "unauthenticated"
  | "cancelled"
  | "internal";

/** Details a {@link ClientError} may carry besides its code and message. */
export interface ClientErrorDetails {
  readonly cause?: unknown;
  /** The sequence the error is about, when it is about one. */
  readonly sequenceId?: string;
  /** The engine address the error came from, when it came from one. */
  readonly target?: string;
}

/** The client's one error type: a code, a message a user can act on, and the cause. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly code: ClientErrorCode;
  readonly sequenceId?: string;
  readonly target?: string;

  constructor(code: ClientErrorCode, message: string, details: ClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.sequenceId !== undefined) this.sequenceId = details.sequenceId;
    if (details.target !== undefined) this.target = details.target;
  }

  /**
   * Normalises anything caught into a ClientError: a ClientError is returned as is, an abort becomes
   * `cancelled`, a grpc-js `ServiceError` is mapped by its status (see {@link clientErrorOfStatus}),
   * anything else becomes `internal`.
   */
  static from(error: unknown): ClientError {
    if (error instanceof ClientError) return error;
    if (error instanceof Error && error.name === "AbortError") return new ClientError("cancelled", "the operation was cancelled", { cause: error });
    if (isGrpcStatus(error)) return clientErrorOfStatus(error, undefined, error);
    const message = error instanceof Error ? error.message : String(error);
    return new ClientError("internal", message, { cause: error });
  }
}

const CODE_OF_STATUS: Partial<Record<GrpcStatus, ClientErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: "invalid-argument",
  [GrpcStatus.OUT_OF_RANGE]: "invalid-argument",
  [GrpcStatus.FAILED_PRECONDITION]: "invalid-argument",
  [GrpcStatus.UNAUTHENTICATED]: "unauthenticated",
  [GrpcStatus.PERMISSION_DENIED]: "unauthenticated",
  [GrpcStatus.DEADLINE_EXCEEDED]: "deadline-exceeded",
  [GrpcStatus.CANCELLED]: "cancelled",
  [GrpcStatus.UNAVAILABLE]: "unavailable",
  [GrpcStatus.ABORTED]: "unavailable",
};

/**
 * gRPC statuses after which the same call may succeed on this or another engine: transport
 * failures, engine shutdown, deadlines, and the INTERNAL/UNKNOWN that a reset connection can show
 * up as. Authentication, bad requests, RESOURCE_EXHAUSTED (a message over the engine's limit) and
 * UNIMPLEMENTED (not an sftscore engine) would fail again.
 */
const RETRYABLE_STATUSES: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.CANCELLED,
  GrpcStatus.ABORTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNKNOWN,
]);

/** True when a call that ended with `code` may be retried. */
export function isRetryableStatus(code: GrpcStatus): boolean {
  return RETRYABLE_STATUSES.has(code);
}

/**
 * True for errors that another attempt (on this or another engine) may not hit: those from a
 * retryable gRPC status (see {@link isRetryableStatus}), and `unavailable` / `deadline-exceeded`.
 * The caller's own cancellation is checked separately: it is never retried.
 */
export function isRetryable(error: ClientError): boolean {
  if (isGrpcStatus(error.cause)) return isRetryableStatus(error.cause.code);
  return error.code === "unavailable" || error.code === "deadline-exceeded";
}

/**
 * The ClientError for a call that ended with a non-OK gRPC status, naming the target and the
 * status (`UNAVAILABLE: connection refused`).
 */
export function clientErrorOfStatus(status: Pick<StatusObject, "code" | "details">, target: string | undefined, cause?: unknown): ClientError {
  const name = GrpcStatus[status.code] ?? `status ${status.code}`;
  const where = target === undefined ? "" : `engine ${target}: `;
  const details = status.details === "" ? "(no details)" : status.details;
  return new ClientError(CODE_OF_STATUS[status.code] ?? "internal", `${where}${name}: ${details}`, {
    cause: cause ?? status,
    ...(target === undefined ? {} : { target }),
  });
}

/** A grpc-js `ServiceError` or `StatusObject`: anything with a numeric gRPC code and details. */
export function isGrpcStatus(value: unknown): value is Pick<StatusObject, "code" | "details"> {
  if (typeof value !== "object" || value === null) return false;
  const { code, details } = value as { code?: unknown; details?: unknown };
  return typeof code === "number" && code in GrpcStatus && typeof details === "string";
}
