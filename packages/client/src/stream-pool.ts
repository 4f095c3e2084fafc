import type { SequenceError, SequenceResult } from "@sftscore/proto";
import { ClientError } from "./client-error.js";
import type { ScoreRunContext } from "./score-run.js";
import { openScoreStream, type ScoreStream, type ScoreStreamEvents } from "./score-stream.js";
import { streamsAllowed } from "./target-health.js";

/** One Score stream of a run, on one target. */
export interface StreamSlot {
  readonly target: number;
  /** The target's failure epoch when the stream was opened (see TargetHealth.epoch). */
  readonly epoch: number;
  readonly stream: ScoreStream;
}

/** A run's open Score streams, per target. */
export interface StreamPool {
  /**
   * The stream to put one more sequence on: an idle one; else a new one while the target allows
   * more (all `streamsPerTarget` when healthy, one while it recovers); else the least loaded.
   */
  streamOn(target: number): StreamSlot;
  /** Forgets a stream that ended. */
  remove(slot: StreamSlot): void;
  /** Every open stream. */
  all(): StreamSlot[];
  /** Forgets every stream and returns them (to cancel or half-close). */
  takeAll(): StreamSlot[];
}

/** What the pool reports from its streams, with the slot each event came from. */
export interface StreamPoolEvents {
  answer(slot: StreamSlot, answer: { readonly result: SequenceResult } | { readonly error: SequenceError }): void;
  end(slot: StreamSlot, outcome: Parameters<ScoreStreamEvents["end"]>[0]): void;
}

/** Opens streams lazily, so a run over a few sequences opens only as many as it uses. */
export function createStreamPool(context: ScoreRunContext, events: StreamPoolEvents): StreamPool {
  const open: StreamSlot[][] = context.targets.map(() => []);

  const openOn = (target: number): StreamSlot => {
    const limits = context.limits[target];
    const address = context.targets[target].address;
    if (limits === undefined) throw new ClientError("internal", `target ${address} has no limits: it was never admitted`);
    const epoch = context.targets[target].epoch;
    // Stream events arrive asynchronously, after `slot` below is set.
    const stream = openScoreStream(context.connections[target].openScore(), {
      target: address,
      limits,
      deadlineMs: context.deadlineMs,
      events: {
        answer: (answer) => events.answer(slot, answer),
        end: (outcome) => events.end(slot, outcome),
      },
    });
    const slot: StreamSlot = { target, epoch, stream };
    open[target].push(slot);
    return slot;
  };

  return {
    streamOn(target) {
      const streams = open[target];
      const idle = streams.find((slot) => slot.stream.outstandingSequences === 0);
      if (idle) return idle;
      // More streams than one, so that an L7 balancer in front of several engines spreads them.
      if (streams.length < streamsAllowed(context.targets[target], context.streamsPerTarget)) return openOn(target);
      return streams.reduce((least, slot) => (slot.stream.outstandingTokens < least.stream.outstandingTokens ? slot : least));
    },
    remove(slot) {
      const streams = open[slot.target];
      const index = streams.indexOf(slot);
      if (index >= 0) streams.splice(index, 1);
    },
    all: () => open.flat(),
    takeAll: () => open.flatMap((streams) => streams.splice(0)),
  };
}
