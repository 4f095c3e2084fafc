import { ClientError } from "./client-error.js";

/**
 * How failed work is retried: capped exponential backoff with jitter, bounded by a number of
 * attempts, a time, or both (whichever runs out first). The same policy governs unary calls
 * (GetModelInfo), engines whose streams fail, and sequences that an engine answers with a retryable
 * error.
 */
export interface RetryPolicy {
  /**
   * Attempts before giving up: a GetModelInfo call is tried this many times; an engine whose Score
   * streams fail this many times in a row (with no answer in between) is given up for the rest of
   * the client's life; a sequence answered with OVERLOADED, CANCELLED or MODEL_FAILED this many
   * times fails the run. `Infinity` leaves the bound to `maxElapsedMs`. Default 8.
   */
  readonly maxAttempts: number;
  /** Delay after the first failure, in ms; doubles with each further one. Default 200. */
  readonly baseDelayMs: number;
  /**
   * Cap of the delay, in ms. Default 10 000: with the other defaults, a target is given up after
   * about 11 to 23 s of backoff in all.
   */
  readonly maxDelayMs: number;
  /**
   * Time budget of a failure streak, in ms from its first failure: once it is spent, the next
   * failure gives up (the engine, the GetModelInfo call, the sequence). The last retry is timed to
   * the end of the budget rather than past it, so a target that stays down is given up about
   * `maxElapsedMs` plus one attempt after it first failed. Default `Infinity` (`maxAttempts` alone).
   */
  readonly maxElapsedMs: number;
}

/** Defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 10_000, maxElapsedMs: Number.POSITIVE_INFINITY };

/**
 * Applies defaults to a partial policy and checks it.
 *
 * @throws ClientError `invalid-argument` naming the field.
 */
export function resolveRetryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedFields(options) };
  if (!(Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts === Number.POSITIVE_INFINITY) || policy.maxAttempts < 1) {
    throw new ClientError("invalid-argument", `retry.maxAttempts must be a positive integer or Infinity, got ${policy.maxAttempts}`);
  }
  for (const name of ["baseDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(policy[name]) || policy[name] < 0) throw new ClientError("invalid-argument", `retry.${name} must be a non-negative number of ms, got ${policy[name]}`);
  }
  if (Number.isNaN(policy.maxElapsedMs) || policy.maxElapsedMs < 0) {
    throw new ClientError("invalid-argument", `retry.maxElapsedMs must be a non-negative number of ms or Infinity, got ${policy.maxElapsedMs}`);
  }
  if (policy.maxAttempts === Number.POSITIVE_INFINITY && policy.maxElapsedMs === Number.POSITIVE_INFINITY) {
    throw new ClientError("invalid-argument", "retry.maxAttempts and retry.maxElapsedMs are both Infinity: failing work would be retried forever; bound one of them");
  }
  if (policy.maxDelayMs < policy.baseDelayMs) {
    throw new ClientError("invalid-argument", `retry.maxDelayMs (${policy.maxDelayMs}) must not be below retry.baseDelayMs (${policy.baseDelayMs})`);
  }
  return policy;
}

/**
 * The wait after the `failures`-th consecutive failure (1-based): `baseDelayMs × 2^(failures−1)`,
 * capped at `maxDelayMs`, then jittered uniformly into its upper half so that clients which failed
 * together do not come back together, while the wait stays at least half the nominal one.
 *
 * @param random A source of uniform numbers in [0, 1); tests pass a fixed one.
 */
export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return nominal / 2 + (nominal / 2) * random();
}

/**
 * When to try again after the `failures`-th consecutive failure of a streak that began at
 * `sinceMs`: after {@link backoffDelayMs}, but no later than the end of the streak's time budget.
 * `undefined` once the budget is spent: `failures` reached `maxAttempts`, or `maxElapsedMs` has
 * passed since `sinceMs`.
 *
 * @param random A source of uniform numbers in [0, 1); tests pass a fixed one.
 */
export function nextAttemptAtMs(failures: number, sinceMs: number, nowMs: number, policy: RetryPolicy, random: () => number = Math.random): number | undefined {
  if (failures >= policy.maxAttempts || nowMs - sinceMs >= policy.maxElapsedMs) return undefined;
  return Math.min(nowMs + backoffDelayMs(failures, policy, random), sinceMs + policy.maxElapsedMs);
}

/**
 * Waits `ms`, or rejects with a `cancelled` ClientError as soon as `signal` fires. The timer keeps
 * the process alive: while an engine is unreachable grpc-js holds no handle open, so a process
 * whose only work is waiting to retry would otherwise exit (status 13) with the call unsettled.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelledBy(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledBy(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The `cancelled` ClientError for a fired signal, with its reason as the cause. */
export function cancelledBy(signal: AbortSignal | undefined, what = "the operation"): ClientError {
  return new ClientError("cancelled", `${what} was cancelled`, signal?.reason === undefined ? {} : { cause: signal.reason });
}

function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
