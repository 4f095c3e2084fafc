import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import type { SequenceError, SequenceResult } from "@sftscore/proto";
import { createAsyncQueue } from "./async-queue.js";
import { ClientError } from "./client-error.js";
import type { EngineConnection } from "./engine-connection.js";
import { checkSequence } from "./message-packer.js";
import { cancelledBy, nextAttemptAtMs, type RetryPolicy } from "./retry-policy.js";
import type { ScoreStreamEvents } from "./score-stream.js";
import { finalSequenceError, isRefusal, isResendable } from "./sequence-errors.js";
import { createStreamPool, type StreamSlot } from "./stream-pool.js";
import {
  allRetired,
  anyRoom,
  describeTargets,
  nextRetryAtMs,
  pickTarget,
  recordTargetAnswer,
  recordTargetFailure,
  recordTargetRefusal,
  type TargetHealth,
} from "./target-health.js";
import { sequenceScoreOf, strictestLimits, type EngineLimits } from "./wire-messages.js";

/** What a run shares with its client: the targets, their channels and limits, and the settings. */
export interface ScoreRunContext {
  readonly targets: readonly TargetHealth[];
  readonly connections: readonly EngineConnection[];
  /** Limits per target; `undefined` for a target that never answered GetModelInfo (it is retired). */
  readonly limits: readonly (EngineLimits | undefined)[];
  readonly streamsPerTarget: number;
  readonly deadlineMs: number;
  readonly retry: RetryPolicy;
  readonly random?: () => number;
  /**
   * The dispatchers of the client's runs in flight. Runs share the targets' budgets, so room that
   * one run frees may be what another is waiting for: every run is told when any run frees some.
   */
  readonly runs: Set<() => void>;
}

/**
 * Results waiting for the consumer beyond which the input is not read further: a consumer that
 * stops reading (or reads slowly) must not make the client read and score the whole input into memory.
 */
export const MAX_UNREAD_RESULTS = 4096;

/** A sequence read from the input and not yet answered. */
interface Pending {
  readonly request: SequenceRequest;
  readonly tokens: number;
  readonly bytes: number;
  /** Retryable per-sequence errors (OVERLOADED, CANCELLED, MODEL_FAILED) so far, and when the first came. */
  errors: number;
  firstErrorAtMs: number;
  /** The target it last failed on, and until when only another target may take it. */
  avoid?: number;
  notBeforeMs: number;
  /** The stream it is outstanding on, if any. */
  slot?: StreamSlot;
}

/**
 * One `score()` call: reads `requests` while some target has room, sends each sequence to the
 * least-loaded target over one of several streams, yields results as they arrive, and resends what
 * an engine did not answer. See the package README ("Balancing and retries") for the rules.
 */
export function runScore(requests: AsyncIterable<SequenceRequest>, context: ScoreRunContext, signal?: AbortSignal): AsyncIterable<SequenceScore> {
  const { targets, retry } = context;
  const results = createAsyncQueue<SequenceScore>();
  const pending = new Map<string, Pending>();
  /** Read and not on any stream: new sequences, and retries waiting for a target. */
  let waiting: Pending[] = [];
  const streams = createStreamPool(context, { answer: onAnswer, end: onStreamEnd });
  // Sequences are checked once against the strictest engine, so that any target can take any of them.
  const strictest = strictestLimits(context.limits.filter((limits): limits is EngineLimits => limits !== undefined));
  let answered = 0;
  let inputDone = false;
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  let flushScheduled = false;
  let dispatchScheduled = false;
  let wakeFeeder: (() => void) | undefined;

  const wake = () => {
    const resolve = wakeFeeder;
    wakeFeeder = undefined;
    resolve?.();
  };

  function fail(error: unknown): void {
    if (over) return;
    over = true;
    context.runs.delete(scheduleDispatch);
    clearTimeout(timer);
    for (const item of pending.values()) release(item);
    for (const slot of streams.takeAll()) slot.stream.cancel();
    signal?.removeEventListener("abort", onAbort);
    results.fail(error);
    wake();
  }

  function finishIfDone(): void {
    if (over || !inputDone || pending.size > 0) return;
    over = true;
    context.runs.delete(scheduleDispatch);
    clearTimeout(timer);
    for (const slot of streams.takeAll()) slot.stream.halfClose();
    signal?.removeEventListener("abort", onAbort);
    results.end();
  }

  /** Takes a sequence off its stream's books (the stream itself forgets it on its own). */
  function release(item: Pending): void {
    if (item.slot === undefined) return;
    targets[item.slot.target].outstandingTokens -= item.tokens;
    item.slot = undefined;
    for (const kick of context.runs) kick();
  }

  function dispatch(): void {
    dispatchScheduled = false;
    if (over) return;
    const now = Date.now();
    const left: Pending[] = [];
    for (const item of waiting) {
      // Until its backoff has passed, a sequence that failed on a target goes only to another one.
      const target = pickTarget(targets, item.tokens, now, item.avoid, now >= item.notBeforeMs);
      if (target === undefined) {
        left.push(item);
        continue;
      }
      const slot = streams.streamOn(target);
      item.slot = slot;
      targets[target].outstandingTokens += item.tokens;
      slot.stream.send(item.request, item.bytes);
      scheduleFlush();
    }
    waiting = left;
    if ((waiting.length > 0 || !inputDone) && allRetired(targets)) {
      const unread = inputDone ? "" : " and the input was not read to its end";
      fail(new ClientError("unavailable", `every engine failed: ${describeTargets(targets)}; ${answered} sequences were scored, ${pending.size} were not${unread}`));
      return;
    }
    armTimer(now);
    if (waiting.length === 0) wake();
  }

  function scheduleDispatch(): void {
    if (dispatchScheduled) return;
    dispatchScheduled = true;
    queueMicrotask(dispatch);
  }

  /** Wakes the run when a backing-off target or a waiting sequence's backoff comes due. */
  function armTimer(now: number): void {
    clearTimeout(timer);
    timer = undefined;
    let due = nextRetryAtMs(targets, now) ?? Infinity;
    for (const item of waiting) if (item.notBeforeMs > now) due = Math.min(due, item.notBeforeMs);
    if (due === Infinity) return;
    // Not unref'd: while every engine backs off, this timer is all that keeps the run going.
    timer = setTimeout(() => {
      dispatch();
      wake();
    }, due - now);
  }

  /** Writes partly filled messages once the input has stopped coming synchronously. */
  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      for (const slot of streams.all()) slot.stream.flush();
    });
  }

  function onAnswer(slot: StreamSlot, answer: { readonly result: SequenceResult } | { readonly error: SequenceError }): void {
    const id = "result" in answer ? answer.result.id : answer.error.id;
    const item = pending.get(id);
    // The first answer per id wins; anything else is a repeat from a misbehaving engine.
    if (over || item === undefined || item.slot !== slot) return;
    const target = targets[slot.target];
    release(item);
    if ("result" in answer) {
      recordTargetAnswer(target);
      pending.delete(id);
      answered++;
      results.push(sequenceScoreOf(answer.result, item.request.wantTokenLogprobs === true));
      finishIfDone();
    } else {
      if (isRefusal(answer.error)) recordTargetRefusal(target, retry, Date.now(), context.random);
      retrySequence(item, slot.target, answer.error);
    }
    scheduleDispatch();
  }

  function retrySequence(item: Pending, target: number, error: SequenceError): void {
    const now = Date.now();
    if (item.errors === 0) item.firstErrorAtMs = now;
    item.errors++;
    const retryAtMs = nextAttemptAtMs(item.errors, item.firstErrorAtMs, now, retry, context.random);
    if (!isResendable(error) || retryAtMs === undefined) {
      fail(finalSequenceError(item.request.id, error, targets[target].address, item.errors));
      return;
    }
    item.avoid = target;
    item.notBeforeMs = retryAtMs;
    waiting.push(item);
  }

  function onStreamEnd(slot: StreamSlot, outcome: Parameters<ScoreStreamEvents["end"]>[0]): void {
    streams.remove(slot);
    if (over) return;
    for (const id of outcome.unanswered) {
      const item = pending.get(id);
      if (item === undefined || item.slot !== slot) continue;
      release(item);
      item.avoid = slot.target;
      waiting.push(item);
    }
    if (outcome.failure !== undefined) {
      if (!outcome.retryable) {
        fail(outcome.failure);
        return;
      }
      recordTargetFailure(targets[slot.target], slot.epoch, outcome.failure, retry, Date.now(), context.random);
    }
    scheduleDispatch();
  }

  function accept(request: SequenceRequest): void {
    const bytes = checkSequence(request, strictest);
    if (pending.has(request.id)) {
      throw new ClientError("invalid-argument", `sequence id "${request.id}" was given again while its first copy is still being scored; ids must be unique among outstanding sequences`, {
        sequenceId: request.id,
      });
    }
    const item: Pending = { request, tokens: request.tokenIds.length, bytes, errors: 0, firstErrorAtMs: 0, notBeforeMs: 0 };
    pending.set(request.id, item);
    waiting.push(item);
    dispatch();
  }

  async function feed(): Promise<void> {
    const iterator = requests[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Back-pressure: the input is read only while nothing waits, some engine has room, and the
        // consumer keeps up with the results.
        while (!over && (waiting.length > 0 || !anyRoom(targets, Date.now()) || results.size >= MAX_UNREAD_RESULTS)) {
          await new Promise<void>((resolve) => (wakeFeeder = resolve));
        }
        if (over) break;
        const next = await iterator.next();
        if (over) break;
        if (next.done === true) {
          inputDone = true;
          dispatch();
          finishIfDone();
          return;
        }
        accept(next.value);
      }
    } catch (error) {
      // The input's own errors reach the consumer unchanged.
      fail(error);
    }
    try {
      // Lets a generator input run its `finally` (close a file) when the run ends early.
      await iterator.return?.();
    } catch {
      // The run is over; what the input does while closing no longer matters.
    }
  }

  const onAbort = () => fail(cancelledBy(signal, "scoring"));
  if (signal?.aborted) fail(cancelledBy(signal, "scoring"));
  else {
    signal?.addEventListener("abort", onAbort, { once: true });
    results.onAbandon(() => fail(new ClientError("cancelled", "the consumer stopped reading results")));
    results.onRead(() => {
      if (results.size < MAX_UNREAD_RESULTS) wake();
    });
    context.runs.add(scheduleDispatch);
    // Fails at once if every target was given up earlier, and arms the timer for targets backing off.
    dispatch();
    void feed();
  }
  return results;
}
