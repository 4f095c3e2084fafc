import { ClientError } from "./client-error.js";

/**
 * How failed work is retried: capped exponential backoff with jitter and a bounded number of
 * attempts. The same policy governs unary calls (GetModelInfo), engines whose streams fail, and
 * sequences that an engine answers with a retryable error.
 */
export interface RetryPolicy {
  /**
   * Attempts before giving up: a GetModelInfo call is tried this many times; an engine whose Score
   * streams fail this many times in a row (with no answer in between) is given up for the rest of
   * the client's life; a sequence answered with OVERLOADED, CANCELLED or MODEL_FAILED this many
   * times fails the run. Default 8.
   */
  readonly maxAttempts: number;
  /** Delay after the first failure, in ms; doubles with each further one. Default 200. */
  readonly baseDelayMs: number;
  /**
   * Cap of the delay, in ms. Default 10 000: with the other defaults, a target is given up after
   * about 11 to 23 s of backoff in all.
   */
  readonly maxDelayMs: number;
}

/** Defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Applies defaults to a partial policy and checks it.
 *
 * @throws ClientError `invalid-argument` naming the field.
 */
export function resolveRetryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedFields(options) };
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ClientError("invalid-argument", `retry.maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  }
  for (const name of ["baseDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(policy[name]) || policy[name] < 0) throw new ClientError("invalid-argument", `retry.${name} must be a non-negative number of ms, got ${policy[name]}`);
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
 * Waits `ms`, or rejects with a `cancelled` ClientError as soon as `signal` fires. The timer does
 * not keep the process alive.
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
    timer.unref();
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
