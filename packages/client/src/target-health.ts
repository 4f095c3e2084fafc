import type { ClientError } from "./client-error.js";
import { backoffDelayMs, nextAttemptAtMs, type RetryPolicy } from "./retry-policy.js";

/**
 * What the client knows about one engine target, shared by every `score()` call of a client: its
 * load (tokens outstanding) and its health (a circuit breaker). Mutated only through the functions
 * of this module, which take the time as an argument so that they stay pure and testable.
 */
export interface TargetHealth {
  /** The target as given (`host:port` or a gRPC target URI). */
  readonly address: string;
  /** Tokens of sequences sent (or packed to send) to the target and not yet answered. */
  outstandingTokens: number;
  /** Outstanding-token budget while healthy; 0 until GetModelInfo has told the client the limits. */
  capacityTokens: number;
  /** Budget while recovering from a failure: one engine batch, a probe that risks little. */
  probeTokens: number;
  /** Consecutive stream failures with no answer in between; 0 when healthy. */
  failures: number;
  /** When the current streak of failures began and when its latest failure was (ms since the epoch). */
  failingSinceMs: number;
  lastFailureAtMs: number;
  /**
   * Bumped by each counted failure. A stream remembers the epoch it was opened in, and its failure
   * counts only if no other failure was counted since: the four streams that die together when an
   * engine is killed are one failure, not four.
   */
  epoch: number;
  /** No new work before this time (ms since the epoch), while backing off after a failure. */
  retryAtMs: number;
  /** Given up for good: never used again by this client. */
  retired: boolean;
  /** The last failure seen, for the error that reports failed targets. */
  lastError?: ClientError;
  /** Sequences this target scored (results, not error answers), for reports and tests. */
  scored: number;
}

/** A target not yet validated (capacity 0 until its limits are known). */
export function createTargetHealth(address: string): TargetHealth {
  return { address, outstandingTokens: 0, capacityTokens: 0, probeTokens: 0, failures: 0, failingSinceMs: 0, lastFailureAtMs: 0, epoch: 0, retryAtMs: 0, retired: false, scored: 0 };
}

/** Sets the budgets once the target's limits are known; it can take work from then on. */
export function admitTarget(target: TargetHealth, capacityTokens: number, probeTokens: number): void {
  target.capacityTokens = capacityTokens;
  target.probeTokens = Math.min(probeTokens, capacityTokens);
}

/** Gives a target up for good (its GetModelInfo failed, or its failures used up the budget). */
export function retireTarget(target: TargetHealth, error: ClientError): void {
  target.retired = true;
  target.lastError = error;
}

/**
 * Counts a failed stream (broken, refused, or past its deadline) opened in `epochAtOpen`: starts a
 * backoff (see {@link nextAttemptAtMs}), or retires the target once the streak has used up the
 * policy's budget (`maxAttempts` consecutive failures, or `maxElapsedMs` since the first).
 */
export function recordTargetFailure(
  target: TargetHealth,
  epochAtOpen: number,
  error: ClientError,
  policy: RetryPolicy,
  nowMs: number,
  random: () => number = Math.random,
): void {
  target.lastError = error;
  if (target.retired || epochAtOpen !== target.epoch) return;
  if (target.failures === 0) target.failingSinceMs = nowMs;
  target.failures++;
  target.epoch++;
  target.lastFailureAtMs = nowMs;
  const retryAtMs = nextAttemptAtMs(target.failures, target.failingSinceMs, nowMs, policy, random);
  if (retryAtMs === undefined) target.retired = true;
  else target.retryAtMs = retryAtMs;
}

/** A result arrived from the target: it is healthy again. */
export function recordTargetAnswer(target: TargetHealth): void {
  target.scored++;
  if (target.failures > 0) {
    target.failures = 0;
    target.retryAtMs = 0;
  }
}

/**
 * The target answered a sequence OVERLOADED or CANCELLED: it is up but refusing work (busy, or
 * shutting down), so it gets no new work for a backoff. Not counted as a failure. Without this, an
 * engine that refuses everything at once would look like the least-loaded target and draw all the
 * work to itself.
 */
export function recordTargetRefusal(target: TargetHealth, policy: RetryPolicy, nowMs: number, random: () => number = Math.random): void {
  target.retryAtMs = Math.max(target.retryAtMs, nowMs + backoffDelayMs(Math.max(1, target.failures), policy, random));
}

/** Streams a run may open on the target: all of them when healthy, one probe while recovering. */
export function streamsAllowed(target: TargetHealth, streamsPerTarget: number): number {
  return target.failures > 0 ? 1 : streamsPerTarget;
}

/** True when the target is validated, not retired and not backing off. */
export function isUsable(target: TargetHealth, nowMs: number): boolean {
  return !target.retired && target.capacityTokens > 0 && nowMs >= target.retryAtMs;
}

/** Tokens the target may still be given (its budget shrinks to a probe while it recovers). */
export function roomOf(target: TargetHealth): number {
  const budget = target.failures > 0 ? target.probeTokens : target.capacityTokens;
  return budget - target.outstandingTokens;
}

/**
 * True when a usable target can take a sequence of `tokens` tokens. An idle target takes any
 * sequence, so one longer than the budget still goes somewhere.
 */
export function canTake(target: TargetHealth, tokens: number, nowMs: number): boolean {
  return isUsable(target, nowMs) && (target.outstandingTokens === 0 || tokens <= roomOf(target));
}

/**
 * The least-loaded target (fewest outstanding tokens; the first listed on a tie) that can take
 * `tokens` now, preferring any target other than `avoid` (the one a sequence just failed on), and
 * falling back to `avoid` itself only when `allowAvoided`. `undefined` when none can.
 */
export function pickTarget(targets: readonly TargetHealth[], tokens: number, nowMs: number, avoid?: number, allowAvoided = true): number | undefined {
  let best: number | undefined;
  let fallback: number | undefined;
  targets.forEach((target, i) => {
    if (!canTake(target, tokens, nowMs)) return;
    if (i === avoid) fallback = i;
    else if (best === undefined || target.outstandingTokens < targets[best].outstandingTokens) best = i;
  });
  return best ?? (allowAvoided ? fallback : undefined);
}

/** True when some usable target has room left (so reading more input is worth it). */
export function anyRoom(targets: readonly TargetHealth[], nowMs: number): boolean {
  return targets.some((target) => isUsable(target, nowMs) && (target.outstandingTokens === 0 || roomOf(target) > 0));
}

/** The earliest time a backing-off target becomes usable again; `undefined` when none is waiting. */
export function nextRetryAtMs(targets: readonly TargetHealth[], nowMs: number): number | undefined {
  let next: number | undefined;
  for (const target of targets) {
    if (!target.retired && target.capacityTokens > 0 && target.retryAtMs > nowMs) next = Math.min(next ?? Infinity, target.retryAtMs);
  }
  return next;
}

/** True when every target is retired: nothing can be scored any more. */
export function allRetired(targets: readonly TargetHealth[]): boolean {
  return targets.every((target) => target.retired);
}

/**
 * Each target's state and last error (`127.0.0.1:5001 given up after 8 failures over 21.4 s
 * (UNAVAILABLE: …)`), for the error that ends a run.
 */
export function describeTargets(targets: readonly TargetHealth[]): string {
  return targets
    .map((target) => {
      const streak =
        target.failures === 0 ? "" : target.failures === 1 ? " after 1 failure" : ` after ${target.failures} failures over ${formatSeconds(target.lastFailureAtMs - target.failingSinceMs)}`;
      const state = target.retired ? `given up${streak}` : target.failures > 0 ? `backing off${streak}` : "healthy";
      const last = target.lastError?.message.replace(`engine ${target.address}: `, "");
      return `${target.address} ${state}${last === undefined ? "" : ` (${last})`}`;
    })
    .join("; ");
}

/** `0.4 s`, `21.4 s`, `95 s`. */
function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
