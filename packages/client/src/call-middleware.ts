import { ClientError, isRetryable } from "./client-error.js";
import { cancelledBy, nextAttemptAtMs, sleep, type RetryPolicy } from "./retry-policy.js";

/** What one attempt of a unary call gets to work with. */
export interface CallContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** When the attempt must be over (gRPC `deadline` call option); absent: no deadline. */
  readonly deadline?: Date;
  /** Cancels the attempt (the caller's signal). */
  readonly signal?: AbortSignal;
}

/** A unary call; it rejects with a {@link ClientError}. */
export type UnaryCall<T> = (context: CallContext) => Promise<T>;

/** Wraps a call in behaviour (a deadline, retries); compose with {@link composeMiddleware}. */
export type CallMiddleware = <T>(next: UnaryCall<T>) => UnaryCall<T>;

/**
 * Middleware in the order given: the first is outermost. The client uses
 * `composeMiddleware(withRetry(policy), withDeadline(deadlineMs))`: each attempt gets its own
 * deadline, and a deadline that passes is a retryable failure like UNAVAILABLE.
 */
export function composeMiddleware(...middleware: readonly CallMiddleware[]): CallMiddleware {
  return <T>(call: UnaryCall<T>) => middleware.reduceRight<UnaryCall<T>>((next, wrap) => wrap(next), call);
}

/** Gives every attempt a deadline `deadlineMs` from its start. */
export function withDeadline(deadlineMs: number): CallMiddleware {
  return <T>(next: UnaryCall<T>): UnaryCall<T> =>
    (context) => next({ ...context, deadline: new Date(Date.now() + deadlineMs) });
}

/** Options of {@link withRetry}. */
export interface RetryMiddlewareOptions {
  /** Which failures are retried; default {@link isRetryable}. */
  readonly retryable?: (error: ClientError) => boolean;
  /** Uniform random numbers in [0, 1) for the jitter. */
  readonly random?: () => number;
  /** Called before each wait (for logs and tests). */
  readonly onRetry?: (error: ClientError, attempt: number, delayMs: number) => void;
}

/**
 * Retries a failed call within the policy's budget (`maxAttempts` attempts in all, `maxElapsedMs`
 * from the first failure), waiting {@link backoffDelayMs} between attempts. Stops at once, with a
 * `cancelled` error, when the context's signal fires; a non-retryable failure, or the last
 * attempt's, is rethrown as a ClientError.
 */
export function withRetry(policy: RetryPolicy, options: RetryMiddlewareOptions = {}): CallMiddleware {
  const retryable = options.retryable ?? isRetryable;
  return <T>(next: UnaryCall<T>): UnaryCall<T> =>
    async (context) => {
      let failingSinceMs: number | undefined;
      for (let attempt = 1; ; attempt++) {
        if (context.signal?.aborted) throw cancelledBy(context.signal);
        try {
          return await next({ ...context, attempt });
        } catch (caught) {
          const error = ClientError.from(caught);
          if (context.signal?.aborted) throw cancelledBy(context.signal);
          const nowMs = Date.now();
          failingSinceMs ??= nowMs;
          const retryAtMs = retryable(error) ? nextAttemptAtMs(attempt, failingSinceMs, nowMs, policy, options.random) : undefined;
          if (retryAtMs === undefined) throw error;
          const delayMs = retryAtMs - nowMs;
          options.onRetry?.(error, attempt, delayMs);
          await sleep(delayMs, context.signal);
        }
      }
    };
}
