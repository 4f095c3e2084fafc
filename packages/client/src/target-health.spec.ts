import { describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import {
  admitTarget,
  allRetired,
  anyRoom,
  canTake,
  createTargetHealth,
  describeTargets,
  nextRetryAtMs,
  pickTarget,
  recordTargetAnswer,
  recordTargetFailure,
  recordTargetRefusal,
  streamsAllowed,
  type TargetHealth,
} from "./target-health.js";

const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: Number.POSITIVE_INFINITY };
const broken = new ClientError("unavailable", "engine a: UNAVAILABLE: connection reset");
const noJitter = () => 1 - Number.EPSILON;

function targets(...loads: number[]): TargetHealth[] {
  return loads.map((load, i) => {
    const target = createTargetHealth(`t${i}`);
    admitTarget(target, 1_000, 100);
    target.outstandingTokens = load;
    return target;
  });
}

describe("pickTarget (load spreading by outstanding tokens)", () => {
  it("picks the target with the fewest outstanding tokens, the first on a tie", () => {
    expect(pickTarget(targets(500, 200, 300), 10, 0)).toBe(1);
    expect(pickTarget(targets(0, 0, 0), 10, 0)).toBe(0);
  });

  it("spreads a stream of equal sequences evenly over equal targets", () => {
    const all = targets(0, 0, 0);
    for (let i = 0; i < 30; i++) all[pickTarget(all, 20, 0) ?? -1].outstandingTokens += 20;
    expect(all.map((t) => t.outstandingTokens)).toEqual([200, 200, 200]);
  });

  it("skips a full target; an idle one takes even a sequence larger than its budget", () => {
    const all = targets(990, 0);
    expect(pickTarget(all, 20, 0)).toBe(1);
    expect(canTake(all[1], 5_000, 0)).toBe(true);
    all[1].outstandingTokens = 995;
    expect(pickTarget(all, 20, 0)).toBeUndefined();
    expect(anyRoom(all, 0)).toBe(true);
    all[0].outstandingTokens = 1_000;
    all[1].outstandingTokens = 1_000;
    expect(anyRoom(all, 0)).toBe(false);
  });

  it("prefers another target than the one a sequence failed on, and uses it only when allowed", () => {
    const all = targets(0, 900);
    expect(pickTarget(all, 10, 0, 0)).toBe(1);
    all[1].retired = true;
    expect(pickTarget(all, 10, 0, 0)).toBe(0);
    expect(pickTarget(all, 10, 0, 0, false)).toBeUndefined();
  });

  it("never picks a target that is not validated yet", () => {
    expect(pickTarget([createTargetHealth("new")], 1, 0)).toBeUndefined();
  });
});

describe("target health (circuit breaker)", () => {
  it("counts streams that die together as one failure and backs off", () => {
    const [target] = targets(0);
    const epoch = target.epoch;
    for (let stream = 0; stream < 4; stream++) recordTargetFailure(target, epoch, broken, policy, 1_000, noJitter);
    expect(target.failures).toBe(1);
    expect(target.lastError).toBe(broken);
    expect(pickTarget([target], 1, 1_050)).toBeUndefined();
    expect(nextRetryAtMs([target], 1_050)).toBeCloseTo(1_100);
    expect(pickTarget([target], 1, 1_100)).toBe(0);
  });

  it("shrinks a recovering target to one stream and one batch (a probe), and heals on an answer", () => {
    const [target] = targets(0);
    recordTargetFailure(target, target.epoch, broken, policy, 0, noJitter);
    expect(streamsAllowed(target, 4)).toBe(1);
    target.outstandingTokens = 90;
    expect(canTake(target, 20, 10_000)).toBe(false);
    recordTargetAnswer(target);
    expect(target.failures).toBe(0);
    expect(streamsAllowed(target, 4)).toBe(4);
    expect(canTake(target, 20, 10_000)).toBe(true);
  });

  it("gives a target up after maxAttempts consecutive failures, with growing backoff", () => {
    const [target, other] = targets(0, 0);
    recordTargetFailure(target, target.epoch, broken, policy, 0, noJitter);
    expect(target.retryAtMs).toBeCloseTo(100);
    recordTargetFailure(target, target.epoch, broken, policy, 100, noJitter);
    expect(target.retryAtMs).toBeCloseTo(300);
    recordTargetFailure(target, target.epoch, broken, policy, 300, noJitter);
    expect(target.retired).toBe(true);
    expect(allRetired([target, other])).toBe(false);
    other.retired = true;
    expect(allRetired([target, other])).toBe(true);
    expect(describeTargets([target])).toBe("t0 given up after 3 failures over 0.3 s (engine a: UNAVAILABLE: connection reset)");
  });

  it("with a time budget, keeps trying a failing target until the budget's end, then gives it up", () => {
    const timed = { ...policy, maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 5_000 };
    const [target] = targets(0);
    let now = 10_000;
    for (let failure = 1; failure <= 8; failure++) {
      recordTargetFailure(target, target.epoch, broken, timed, now, noJitter);
      now = target.retryAtMs;
    }
    expect(target.retired).toBe(false);
    expect(target.retryAtMs).toBe(15_000);
    recordTargetFailure(target, target.epoch, broken, timed, 15_000, noJitter);
    expect(target.retired).toBe(true);
    expect(describeTargets([target])).toBe("t0 given up after 9 failures over 5.0 s (engine a: UNAVAILABLE: connection reset)");
  });

  it("starts a new streak, with a new time budget, after an answer", () => {
    const timed = { ...policy, maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 5_000 };
    const [target] = targets(0);
    recordTargetFailure(target, target.epoch, broken, timed, 0, noJitter);
    recordTargetAnswer(target);
    recordTargetFailure(target, target.epoch, broken, timed, 60_000, noJitter);
    expect(target.retired).toBe(false);
    expect(target.failingSinceMs).toBe(60_000);
  });
});

describe("recordTargetRefusal", () => {
  it("keeps an engine that refuses work (OVERLOADED, CANCELLED) out of picks for a backoff, without counting a failure", () => {
    const all = targets(0, 500);
    recordTargetRefusal(all[0], policy, 1_000, noJitter);
    expect(all[0].failures).toBe(0);
    expect(pickTarget(all, 10, 1_050)).toBe(1);
    expect(pickTarget(all, 10, 1_100)).toBe(0);
  });
});
