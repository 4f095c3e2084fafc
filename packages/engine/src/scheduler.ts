import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { buildBatchFeeds, scoredPositions } from "./batch-tensors.js";
import { planBatches, type BatchingPolicy, type BatchItem, type BatchLimits } from "./batcher.js";
import { EngineError } from "./engine-error.js";
import type { SessionHost } from "./session-host.js";
import { scoreSequence, scoreBatch } from "./span-sums.js";

/** What the scheduler reports as it works (for metrics endpoints and benchmarks). */
export interface SchedulerObserver {
  onBatch?(batch: {
    rows: number;
    realTokens: number;
    paddedTokens: number;
    scoredTokens: number;
    seconds: number;
    /** The run's sequences, in row order. */
    sequenceIds: readonly string[];
    paddedLength: number;
  }): void;
  onError?(error: EngineError): void;
}

export interface SchedulerOptions {
  readonly hosts: readonly SessionHost[];
  readonly limits: BatchLimits;
  /** Default `token-budget`. */
  readonly batching?: BatchingPolicy;
  /** Tokens that may wait in the queue before `submit` waits for room (back-pressure). */
  readonly maxQueuedTokens: number;
  readonly observer?: SchedulerObserver;
}

/** A queued sequence's result, wrapped so that awaiting admission does not await the result. */
export interface Ticket {
  readonly result: Promise<SequenceScore>;
}

/**
 * One queue for all callers in front of the session workers. Sequences wait in the queue, the
 * scheduler packs them into batches (longest first under the token budget, always including the
 * oldest waiting sequence so none starves) and hands each batch to an idle worker.
 */
export interface Scheduler {
  /**
   * Queues a validated request. Resolves once it is queued — waiting while the queue is full —
   * with a ticket whose result settles when it is scored. Aborting `signal` drops it if it has not
   * been batched yet (the result rejects with `cancelled`).
   */
  submit(request: SequenceRequest, signal?: AbortSignal): Promise<Ticket>;
  readonly queueDepth: number;
  readonly queuedTokens: number;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
}

interface Queued {
  readonly request: SequenceRequest;
  readonly positions: Uint32Array;
  readonly signal?: AbortSignal;
  readonly resolve: (score: SequenceScore) => void;
  readonly reject: (error: EngineError) => void;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const queue: Queued[] = [];
  let queuedTokens = 0;
  let running = 0;
  const roomWaiters: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];

  let pumpScheduled = false;
  // One abort listener per signal, not per sequence: a stream's signal covers thousands of them.
  const watched = new Map<AbortSignal, { items: Set<Queued>; onAbort: () => void }>();

  function watch(item: Queued, signal: AbortSignal): void {
    let group = watched.get(signal);
    if (!group) {
      const items = new Set<Queued>();
      const onAbort = () => {
        for (const queued of [...items]) {
          remove(queued);
          queued.reject(new EngineError("cancelled", `sequence "${queued.request.id}" was cancelled before it was scored`, { sequenceId: queued.request.id }));
        }
        notify();
      };
      group = { items, onAbort };
      watched.set(signal, group);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    group.items.add(item);
  }

  function unwatch(item: Queued): void {
    const signal = item.signal;
    const group = signal && watched.get(signal);
    if (!signal || !group) return;
    group.items.delete(item);
    if (group.items.size === 0) {
      signal.removeEventListener("abort", group.onAbort);
      watched.delete(signal);
    }
  }
  const hasRoom = (tokens: number) => queue.length === 0 || queuedTokens + tokens <= options.maxQueuedTokens;

  function remove(item: Queued): boolean {
    const at = queue.indexOf(item);
    if (at < 0) return false;
    queue.splice(at, 1);
    queuedTokens -= item.request.tokenIds.length;
    if (item.signal) unwatch(item);
    return true;
  }

  function notify(): void {
    while (roomWaiters.length > 0 && hasRoom(0)) roomWaiters.shift()?.();
    if (queue.length === 0 && running === 0) idleWaiters.splice(0).forEach((wake) => wake());
  }

  function pump(): void {
    for (const host of options.hosts) {
      if (queue.length === 0) break;
      if (host.busy || host.failed) continue;
      dispatch(host, takeBatch());
    }
    if (queue.length > 0 && options.hosts.every((h) => h.failed)) {
      const error = new EngineError("model-failed", "every session worker has failed; the engine cannot score");
      for (const item of [...queue]) {
        remove(item);
        item.reject(error);
      }
    }
    notify();
  }

  function takeBatch(): Queued[] {
    const batching = options.batching ?? "token-budget";
    // The queue is in arrival order, so its head holds the oldest waiting sequences.
    const taken = batching === "token-budget" ? plannedBatch() : queue.slice(0, batching.fixedBatchSize);
    for (const item of taken) remove(item);
    return taken;
  }

  /** The planned batch that holds the oldest waiting sequence, so none starves. */
  function plannedBatch(): Queued[] {
    const items: BatchItem[] = queue.map((q, index) => ({ index, length: q.request.tokenIds.length, scoredCount: q.positions.length }));
    const batches = planBatches(items, options.limits);
    const chosen = batches.find((b) => b.items.some((item) => item.index === 0)) ?? batches[0];
    return chosen.items.map((item) => queue[item.index]);
  }

  function dispatch(host: SessionHost, items: Queued[]): void {
    const requests = items.map((item) => item.request);
    const paddedLength = options.limits.lengthBucket?.(Math.max(...requests.map((r) => r.tokenIds.length))) ?? Math.max(...requests.map((r) => r.tokenIds.length));
    const batch = { items: requests.map((r, index) => ({ index, length: r.tokenIds.length, scoredCount: items[index].positions.length })), paddedLength };
    const feeds = buildBatchFeeds(requests, batch);
    running++;
    host.run(feeds).then(
      (result) => {
        const scores = scoreBatch(requests, feeds, result.tokenLogprobs);
        feeds.rows.forEach((row, i) => items[row.requestIndex].resolve(scores[i]));
        const realTokens = requests.reduce((sum, r) => sum + r.tokenIds.length, 0);
        options.observer?.onBatch?.({
          rows: requests.length,
          realTokens,
          paddedTokens: requests.length * paddedLength,
          scoredTokens: feeds.scoredIndex.length,
          seconds: result.seconds,
          sequenceIds: requests.map((r) => r.id),
          paddedLength,
        });
      },
      (error: unknown) => {
        const failure = EngineError.from(error);
        options.observer?.onError?.(failure);
        for (const item of items) item.reject(failure);
      },
    ).finally(() => {
      running--;
      pump();
    });
  }

  return {
    async submit(request, signal) {
      if (signal?.aborted) throw new EngineError("cancelled", `sequence "${request.id}" was cancelled before it was queued`, { sequenceId: request.id });
      const positions = scoredPositions(request);
      if (positions.length === 0) {
        // Nothing to score (only empty spans): answer without a model run.
        return { result: Promise.resolve(scoreSequence(request, positions, new Float32Array(0))) };
      }
      const tokens = request.tokenIds.length;
      while (!hasRoom(tokens)) await new Promise<void>((wake) => roomWaiters.push(wake));
      if (signal?.aborted) throw new EngineError("cancelled", `sequence "${request.id}" was cancelled before it was queued`, { sequenceId: request.id });
      let settle!: Pick<Queued, "resolve" | "reject">;
      const result = new Promise<SequenceScore>((resolve, reject) => (settle = { resolve, reject }));
      const item: Queued = { request, positions, ...(signal === undefined ? {} : { signal }), ...settle };
      // Handled here so a cancelled ticket nobody awaits is not an unhandled rejection; the caller's
      // own await still sees the rejection.
      result.catch(() => undefined);
      if (signal) watch(item, signal);
      queue.push(item);
      queuedTokens += tokens;
      if (!pumpScheduled) {
        pumpScheduled = true;
        // Let the rest of the caller's current burst arrive before packing a batch.
        setImmediate(() => {
          pumpScheduled = false;
          pump();
        });
      }
      return { result };
    },
    get queueDepth() {
      return queue.length;
    },
    get queuedTokens() {
      return queuedTokens;
    },
    idle() {
      if (queue.length === 0 && running === 0) return Promise.resolve();
      return new Promise<void>((wake) => idleWaiters.push(wake));
    },
  };
}
