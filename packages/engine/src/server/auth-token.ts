import { createHash, timingSafeEqual } from "node:crypto";
import { ServerInterceptingCall, status as GrpcStatus, type Metadata, type ServerInterceptor } from "@grpc/grpc-js";
import { EngineError } from "../engine-error.js";

/** Why a call was refused: it carried no bearer token, or one that does not match. */
export type AuthRejection = "missing" | "invalid";

/** Checks a call's metadata; `undefined` means the call may go on. */
export type BearerTokenCheck = (metadata: Metadata) => AuthRejection | undefined;

/** Options of {@link authTokenInterceptor}. */
export interface AuthTokenInterceptorOptions {
  /** The token every call must carry as `authorization: Bearer <token>`. */
  readonly token: string;
  /** Methods (`/package.Service/Method`) that need no token. */
  readonly exempt: (path: string) => boolean;
  /** Called once per refused call (for metrics). */
  readonly onRejected?: (reason: AuthRejection) => void;
}

/** The details a refused call gets: what to send, never anything about the expected token. */
const REJECTION_DETAILS: Readonly<Record<AuthRejection, string>> = {
  missing: "this engine requires a bearer token: send `authorization: Bearer <token>` metadata (sftscore: SFTSCORE_AUTH_TOKEN or --auth-token)",
  invalid: "the bearer token does not match this engine's token",
};

/**
 * Token characters: visible ASCII. gRPC metadata values are printable ASCII, and a space would make
 * `Bearer <token>` ambiguous.
 */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** `authorization: Bearer <token>`; the scheme is case-insensitive (RFC 6750). */
const BEARER_PATTERN = /^bearer +(\S+)$/i;

/**
 * A check of `authorization: Bearer <token>` metadata against `token`. Both tokens are compared as
 * SHA-256 digests with `timingSafeEqual`: digests have one length, so neither the comparison's time
 * nor an early length mismatch tells a caller how close its guess was, or how long the token is.
 *
 * @throws EngineError `invalid-argument` for an empty token or one with characters outside visible ASCII.
 */
export function createBearerTokenCheck(token: string): BearerTokenCheck {
  if (!TOKEN_PATTERN.test(token)) throw new EngineError("invalid-argument", "the auth token must be non-empty visible ASCII (no spaces or control characters)");
  const expected = digest(token);
  return (metadata) => {
    const values = metadata.get("authorization");
    if (values.length === 0) return "missing";
    // Several authorization entries make the call ambiguous; refuse rather than pick one.
    if (values.length > 1) return "invalid";
    const match = BEARER_PATTERN.exec(String(values[0]));
    if (match === null) return "invalid";
    return timingSafeEqual(digest(match[1]), expected) ? undefined : "invalid";
  };
}

/**
 * A grpc-js server interceptor that refuses, with UNAUTHENTICATED, every call without the bearer
 * token, except the `exempt` methods. The check runs on the call's metadata, before the handler
 * starts and before any request message is read, so a refused call costs nothing and scores nothing.
 *
 * @throws EngineError `invalid-argument` for an unusable token (see {@link createBearerTokenCheck}).
 */
export function authTokenInterceptor(options: AuthTokenInterceptorOptions): ServerInterceptor {
  const check = createBearerTokenCheck(options.token);
  return (method, call) => {
    if (options.exempt(method.path)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            const rejection = check(metadata);
            if (rejection === undefined) {
              pass(metadata);
              return;
            }
            options.onRejected?.(rejection);
            call.sendStatus({ code: GrpcStatus.UNAUTHENTICATED, details: REJECTION_DETAILS[rejection] });
          },
        });
      },
    });
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
