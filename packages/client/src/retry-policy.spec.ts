import { describe, expect, it } from "vitest";
import { composeMiddleware, withDeadline, withRetry, type CallContext } from "./call-middleware.js";
import { ClientError } from "./client-error.js";
import { backoffDelayMs, nextAttemptAtMs, resolveRetryPolicy, sleep, DEFAULT_RETRY_POLICY } from "./retry-policy.js";

const policy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, maxElapsedMs: Number.POSITIVE_INFINITY };

describe("backoffDelayMs", () => {
  it("doubles from baseDelayMs and stops at maxDelayMs", () => {
    const top = () => 1 - Number.EPSILON;
    expect([1, 2, 3, 4, 5, 9].map((n) => Math.round(backoffDelayMs(n, DEFAULT_RETRY_POLICY, top)))).toEqual([200, 400, 800, 1600, 3200, 10_000]);
  });

  it("jitters into the upper half of the nominal delay", () => {
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, () => 0)).toBe(400);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelayMs(3, DEFAULT_RETRY_POLICY);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it("rejects a policy that cannot work, naming the field", () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(/retry\.maxAttempts must be a positive integer or Infinity/);
    expect(() => resolveRetryPolicy({ maxAttempts: Number.POSITIVE_INFINITY })).toThrow(/retry\.maxAttempts and retry\.maxElapsedMs are both Infinity/);
    expect(() => resolveRetryPolicy({ maxElapsedMs: -1 })).toThrow(/retry\.maxElapsedMs must be a non-negative number of ms or Infinity, got -1/);
    expect(() => resolveRetryPolicy({ baseDelayMs: 50, maxDelayMs: 10 })).toThrow(/retry\.maxDelayMs \(10\) must not be below retry\.baseDelayMs \(50\)/);
    expect(resolveRetryPolicy({ maxAttempts: undefined, baseDelayMs: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, baseDelayMs: 5 });
  });
});

describe("nextAttemptAtMs (the retry budget of a failure streak)", () => {
  const top = () => 1 - Number.EPSILON;

  it("waits the backoff after each failure and stops after maxAttempts", () => {
    expect(nextAttemptAtMs(1, 0, 0, DEFAULT_RETRY_POLICY, top)).toBeCloseTo(200);
    expect(nextAttemptAtMs(7, 0, 50_000, DEFAULT_RETRY_POLICY, top)).toBeCloseTo(60_000);
    expect(nextAttemptAtMs(8, 0, 60_000, DEFAULT_RETRY_POLICY, top)).toBeUndefined();
  });

  it("with a time budget, times the last attempt to its end and stops once it is spent, however many attempts that took", () => {
    const timed = resolveRetryPolicy({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 30_000 });
    expect(nextAttemptAtMs(20, 1_000, 25_000, timed, top)).toBe(31_000);
    expect(nextAttemptAtMs(21, 1_000, 31_000, timed, top)).toBeUndefined();
    expect(nextAttemptAtMs(3, 1_000, 2_000, timed, top)).toBeCloseTo(2_800);
  });
});

describe("withRetry over withDeadline", () => {
  const unavailable = () => new ClientError("unavailable", "engine 127.0.0.1:1: UNAVAILABLE: connection refused");

  it("retries retryable failures until one succeeds, giving every attempt its own deadline", async () => {
    const seen: CallContext[] = [];
    const call = composeMiddleware(withRetry(policy), withDeadline(5_000))(async (context) => {
      seen.push(context);
      if (context.attempt < 3) throw unavailable();
      return "ok";
    });
    expect(await call({ attempt: 1 })).toBe("ok");
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    for (const context of seen) expect(context.deadline?.getTime()).toBeGreaterThan(Date.now() + 4_000);
    expect(new Set(seen.map((c) => c.deadline?.getTime())).size).toBeGreaterThan(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    let attempts = 0;
    const call = withRetry(policy)(async () => {
      attempts++;
      throw unavailable();
    });
    await expect(call({ attempt: 1 })).rejects.toMatchObject({ code: "unavailable" });
    expect(attempts).toBe(4);
  });

  it("gives up once maxElapsedMs has passed since the first failure, the last attempt at its end", async () => {
    const attemptsAtMs: number[] = [];
    const started = Date.now();
    const call = withRetry({ maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 20, maxDelayMs: 40, maxElapsedMs: 150 })(async () => {
      attemptsAtMs.push(Date.now() - started);
      throw unavailable();
    });
    await expect(call({ attempt: 1 })).rejects.toMatchObject({ code: "unavailable" });
    // 10–20, then 20–40 ms apart until the budget: never fewer than 5 attempts, and one at its end.
    expect(attemptsAtMs.length).toBeGreaterThanOrEqual(5);
    expect(attemptsAtMs.at(-1)).toBeGreaterThanOrEqual(150);
  });

  it("does not retry a failure that would fail again", async () => {
    let attempts = 0;
    const call = withRetry(policy)(async () => {
      attempts++;
      throw new ClientError("unauthenticated", "engine x: UNAUTHENTICATED: bad token");
    });
    await expect(call({ attempt: 1 })).rejects.toMatchObject({ code: "unauthenticated" });
    expect(attempts).toBe(1);
  });

  it("stops waiting as soon as the signal fires", async () => {
    const controller = new AbortController();
    const call = withRetry({ ...DEFAULT_RETRY_POLICY, maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 })(async () => {
      setTimeout(() => controller.abort(), 10);
      throw unavailable();
    });
    const started = Date.now();
    await expect(call({ attempt: 1, signal: controller.signal })).rejects.toMatchObject({ code: "cancelled" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("sleep rejects at once for a signal that already fired", async () => {
    await expect(sleep(10_000, AbortSignal.abort())).rejects.toBeInstanceOf(ClientError);
  });
});
