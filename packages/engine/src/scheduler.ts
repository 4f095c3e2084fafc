import type { SequenceRequest, SequenceScore, Span } from "@sftscore/metrics";
import { buildBatchFeeds, scoredPositions } from "./batch-tensors.js";
import { planBatches, type BatchingPolicy, type BatchItem, type BatchLimits } from "./batcher.js";
import { EngineError } from "./engine-error.js";
import { createPrefixCache, type PrefixEntry } from "./prefix-cache.js";
import { countAtMost, pastFor, planPrefixes, type PrefixPlanSettings, type PrefixSource } from "./prefix-plan.js";
import type { RunPrefixes, SessionHost } from "./session-host.js";
import { joinLogprobs, scoreBatch, scoreSequence, type StoredLogprobs } from "./span-sums.js";

/**
 * Default {@link PrefixSharing.plan}: a shared prefix must save at least 8 tokens per extra use and
 * is charged 16 tokens for its run, at most three new prefixes are chained, and a scored position
 * costs as much as a token run. Measured on the whole-job benchmark (200 samples, K = 3) before
 * prefixes shared their scores: 48,488 tokens run and 45.2 s, against 52,468 tokens and 48.5 s
 * with 16 / 32 / 2; planning a pathological 512-sequence nest takes 0.56 s instead of 0.29.
 */
export const DEFAULT_PREFIX_PLAN: PrefixPlanSettings = { minNewTokens: 8, newPrefixCostTokens: 16, maxNewLevels: 3, scoredRowCostTokens: 1 };

/** Computing shared prefixes once, through the session workers' KV caches. */
export interface PrefixSharing {
  /** Most bytes of stored prefixes, over all workers. */
  readonly cacheBytes: number;
  /** Keys and values of one position, all layers, in bytes. */
  readonly bytesPerToken: number;
  /** Default {@link DEFAULT_PREFIX_PLAN}. */
  readonly plan?: PrefixPlanSettings;
}

/** What the scheduler reports as it works (for metrics endpoints and benchmarks). */
export interface SchedulerObserver {
  onBatch?(batch: {
    /** `prefixes`: a run that computes shared prefixes (and the scores they hold) for later runs. */
    kind: "sequences" | "prefixes";
    rows: number;
    /** Tokens run, not counting the past. */
    realTokens: number;
    paddedTokens: number;
    scoredTokens: number;
    seconds: number;
    /** The run's sequences, in row order (none in a prefix run). */
    sequenceIds: readonly string[];
    paddedLength: number;
    /** Tokens of stored past every row started from. */
    pastLength: number;
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
  /** Absent (or with fixed batches): every sequence runs from its first token. */
  readonly prefixSharing?: PrefixSharing;
}

/** A queued sequence's result, wrapped so that awaiting admission does not await the result. */
export interface Ticket {
  readonly result: Promise<SequenceScore>;
}

/**
 * One queue for all callers in front of the session workers. Sequences wait in the queue, the
 * scheduler packs them into batches (longest first under the token budget, always including the
 * oldest waiting sequence so none starves) and hands each batch to an idle worker.
 *
 * With prefix sharing, queued sequences are first planned against each other and the stored prefixes
 * ({@link planPrefixes}); a shared prefix is computed in a run of its own, kept in the worker, and the
 * sequences that start with it run only their remaining tokens on top of it, taking the scores of
 * positions inside it from the prefix's run. A run holds rows whose pasts have one length, so no
 * row's cache is padded: its scores are then bit-identical to a whole run's, and rows never depend
 * on which sequences happened to share.
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

/** Most sequences planned together for prefix sharing (see `planFresh`). */
const PLAN_CHUNK = 512;

interface Queued {
  readonly request: SequenceRequest;
  readonly positions: Uint32Array;
  /** Planned against the other queued sequences for prefix sharing. */
  planned: boolean;
  /** The stored prefix this sequence runs on top of. */
  prefix?: PrefixEntry;
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
          forget(queued);
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

  const batching = options.batching ?? "token-budget";
  const sharing = batching === "token-budget" ? options.prefixSharing : undefined;
  const cache = sharing && createPrefixCache(sharing.cacheBytes, sharing.bytesPerToken);
  /** Prefixes waiting for their run, oldest first. */
  let pendingPrefixes: PrefixEntry[] = [];

  function pump(): void {
    for (const [worker, host] of options.hosts.entries()) {
      if (queue.length === 0) break;
      if (host.busy || host.failed) continue;
      planFresh();
      const prefixes = takePrefixes(worker);
      if (prefixes) {
        dispatchPrefixes(worker, host, prefixes);
        continue;
      }
      const items = takeBatch(worker);
      if (items.length > 0) dispatch(worker, host, items);
    }
    if (queue.length > 0 && options.hosts.every((h) => h.failed)) {
      const error = new EngineError("model-failed", "every session worker has failed; the engine cannot score");
      for (const item of [...queue]) {
        remove(item);
        forget(item);
        item.reject(error);
      }
    }
    notify();
  }

  /** Whether a row whose past is `entry` can run on `worker` now. */
  const runnable = (entry: PrefixEntry | undefined, worker: number) => entry === undefined || (entry.state === "ready" && entry.worker === worker);
  /** Tokens of its prefix a sequence's run takes as its past. */
  const pastOf = (item: Queued) => pastFor(item.prefix?.tokens.length ?? 0, item.positions[0]);
  /** Tokens of its parent a prefix's run takes as its past. */
  const prefixPastOf = (entry: PrefixEntry) => pastFor(entry.parent?.tokens.length ?? 0, entry.scoreFrom);

  /**
   * Plans the sequences queued since the last plan: which prefixes they share, and which to compute.
   * At most {@link PLAN_CHUNK} at a time: the plan's time grows with sequences × nesting depth, and
   * a bigger chunk finds little more to share.
   */
  function planFresh(): void {
    // Without sharing nothing is planned: no pass over the queue on every pump.
    if (!cache) return;
    const fresh = queue.filter((item) => !item.planned);
    for (let start = 0; start < fresh.length; start += PLAN_CHUNK) planChunk(fresh.slice(start, start + PLAN_CHUNK));
  }

  function planChunk(fresh: readonly Queued[]): void {
    if (!cache || !sharing) return;
    const along = fresh.map((item) => usablePrefixes(item));
    const cached = along.map(({ entries }) => entries);
    // Held while planning, so adding a prefix cannot evict one the plan reuses.
    const held = new Set(cached.flat());
    held.forEach((entry) => cache.retain(entry));
    const plan = planPrefixes(
      fresh.map((item, i) => ({ tokens: item.request.tokenIds, shareable: along[i].shareable, scored: item.positions, cachedLengths: cached[i].map((entry) => entry.tokens.length) })),
      sharing.plan ?? DEFAULT_PREFIX_PLAN,
    );
    const created: (PrefixEntry | undefined)[] = [];
    const entryOf = (source: PrefixSource): PrefixEntry | undefined =>
      source.kind === "none" ? undefined : source.kind === "new" ? created[source.index] : cached[source.candidate].find((entry) => entry.tokens.length === source.length);
    for (const prefix of plan.newPrefixes) {
      const parent = entryOf(prefix.parent);
      // A parent that did not fit in the cache takes its chain with it.
      const entry = prefix.parent.kind === "new" && !parent ? undefined : cache.add(fresh[prefix.candidate].request.tokenIds.slice(0, prefix.length), parent, prefix.scoreFrom);
      if (entry) pendingPrefixes.push(entry);
      created.push(entry);
    }
    fresh.forEach((item, i) => {
      item.planned = true;
      const entry = entryOf(plan.sources[i]);
      if (entry) {
        cache.retain(entry);
        item.prefix = entry;
      }
    });
    // Children before parents, so a dropped child's reference on its parent is gone first.
    for (const entry of created.reverse()) if (entry && entry.refs === 0) cache.remove(entry);
    held.forEach((entry) => cache.release(entry));
  }

  /**
   * The stored prefixes along a sequence that can serve it, and how far it may share: up to its last
   * token but one, and short of a stored prefix that lacks the scores it would need from it (one
   * computed for sequences that score later positions).
   */
  function usablePrefixes(item: Queued): { entries: PrefixEntry[]; shareable: number } {
    const tokens = item.request.tokenIds;
    const firstScored = item.positions[0];
    const entries: PrefixEntry[] = [];
    for (const entry of cache?.along(tokens, tokens.length - 1) ?? []) {
      const length = entry.tokens.length;
      if (firstScored < length && entry.scoreFrom > firstScored) return { entries, shareable: length - 1 };
      entries.push(entry);
    }
    return { entries, shareable: tokens.length - 1 };
  }

  /** The pending prefixes to compute next on `worker`: one past length, planned like sequences. */
  function takePrefixes(worker: number): PrefixEntry[] | undefined {
    pendingPrefixes = pendingPrefixes.filter((entry) => entry.state === "pending" && entry.refs > 0);
    const ready = pendingPrefixes.filter((entry) => runnable(entry.parent, worker));
    if (ready.length === 0) return undefined;
    const pastLength = prefixPastOf(ready[0]);
    const group = ready.filter((entry) => prefixPastOf(entry) === pastLength);
    const items = group.map((entry, index) => ({ index, length: entry.tokens.length - pastLength, scoredCount: prefixScoredCount(entry, pastLength) }));
    return oldestBatch(items, true).map((index) => group[index]);
  }

  function takeBatch(worker: number): Queued[] {
    let taken: Queued[];
    if (batching === "token-budget") {
      // The queue is in arrival order, so the oldest runnable sequence leads.
      const ready = queue.filter((item) => runnable(item.prefix, worker));
      if (ready.length === 0) return [];
      const pastLength = pastOf(ready[0]);
      const group = ready.filter((item) => pastOf(item) === pastLength);
      const items = group.map((item, index) => ({ index, length: item.request.tokenIds.length - pastLength, scoredCount: runScoredCount(item.positions, pastLength) }));
      taken = oldestBatch(items, pastLength > 0).map((index) => group[index]);
    } else {
      taken = queue.slice(0, batching.fixedBatchSize);
    }
    for (const item of taken) remove(item);
    return taken;
  }

  /** Indices of the planned batch that holds item 0 (the oldest), so none starves. */
  function oldestBatch(items: readonly BatchItem[], exact: boolean): number[] {
    const batches = planBatches(items, bucketed(exact));
    const chosen = batches.find((b) => b.items.some((item) => item.index === 0)) ?? batches[0];
    return chosen.items.map((item) => item.index);
  }

  /**
   * The length bucket exists so ONNX Runtime sees few shapes; a run with a past, or one that computes
   * prefixes, has a shape of its own anyway (its past length, its prefixes' lengths), so those are
   * padded only to their longest row. Measured on the whole-job benchmark: 4% less time.
   */
  function bucketed(exact: boolean): BatchLimits {
    return exact ? { ...options.limits, lengthBucket: (length) => length } : options.limits;
  }

  function paddedLengthOf(lengths: readonly number[], exact: boolean): number {
    const longest = Math.max(...lengths);
    return bucketed(exact).lengthBucket?.(longest) ?? longest;
  }

  /** Releases what a sequence held in the prefix cache. */
  function forget(item: Queued): void {
    if (item.prefix) cache?.release(item.prefix);
    item.prefix = undefined;
  }

  /**
   * Drops prefixes that can no longer be used (their run failed, or their worker died): the
   * sequences waiting on them, or on prefixes computed from them, run from their first token instead.
   */
  function dropPrefixes(dropped: Set<PrefixEntry>): void {
    if (!cache || dropped.size === 0) return;
    const dependsOnDropped = (entry: PrefixEntry | undefined): boolean => entry !== undefined && (dropped.has(entry) || dependsOnDropped(entry.parent));
    for (const entry of cache.entries()) if (dependsOnDropped(entry)) dropped.add(entry);
    for (const item of queue) if (dependsOnDropped(item.prefix)) item.prefix = undefined;
    for (const entry of dropped) cache.remove(entry);
  }

  function runPrefixes(worker: number, pastIds: readonly PrefixEntry[] | undefined, store?: RunPrefixes["store"]): RunPrefixes {
    return {
      evict: cache?.takeEvicted(worker) ?? [],
      ...(pastIds ? { pastIds: Int32Array.from(pastIds, (entry) => entry.id) } : {}),
      ...(store ? { store } : {}),
    };
  }

  function onRunFailed(worker: number, host: SessionHost, error: unknown): EngineError {
    const failure = EngineError.from(error);
    options.observer?.onError?.(failure);
    if (host.failed && cache) dropPrefixes(new Set([...cache.entries()].filter((entry) => entry.worker === worker)));
    return failure;
  }

  function dispatchPrefixes(worker: number, host: SessionHost, entries: PrefixEntry[]): void {
    const pastLength = prefixPastOf(entries[0]);
    const requests = entries.map((entry) => prefixRequest(entry, pastLength));
    const lengths = entries.map((entry) => entry.tokens.length - pastLength);
    const paddedLength = paddedLengthOf(lengths, true);
    const batch = { items: lengths.map((length, index) => ({ index, length, scoredCount: prefixScoredCount(entries[index], pastLength) })), paddedLength };
    const feeds = buildBatchFeeds(requests, batch, pastLength);
    for (const entry of entries) {
      entry.state = "running";
      entry.worker = worker;
    }
    const parents = pastLength > 0 ? entries.map((entry) => entry.parent as PrefixEntry) : undefined;
    const store = { ids: Int32Array.from(entries, (entry) => entry.id), lengths: Int32Array.from(entries, (entry) => entry.tokens.length) };
    running++;
    host.run(feeds, runPrefixes(worker, parents, store)).then(
      (result) => {
        const failed = new Set<PrefixEntry>();
        for (const row of feeds.rows) {
          const entry = entries[row.requestIndex];
          const own = result.tokenLogprobs.subarray(row.scoredOffset, row.scoredOffset + row.scoredPositions.length);
          try {
            if (entry.scoreFrom < entry.tokens.length) {
              const values = joinLogprobs(rangeFrom(entry.scoreFrom, entry.tokens.length), pastLength, storedOf(entry.parent), own);
              // `own` is a view of the run's whole output: copied, so the entry keeps only its values.
              entry.logprobs = values === own ? own.slice() : values;
            }
          } catch (error) {
            // Its sequences then run from their first token: slower, never wrong.
            options.observer?.onError?.(EngineError.from(error));
            failed.add(entry);
          }
        }
        for (const entry of entries) {
          entry.state = "ready";
          // Its own cache holds the parent's positions too: the parent is no longer needed for it.
          const parent = entry.parent;
          entry.parent = undefined;
          if (parent) cache?.release(parent);
        }
        const realTokens = lengths.reduce((sum, length) => sum + length, 0);
        const scoredTokens = feeds.scoredIndex.length;
        options.observer?.onBatch?.({ kind: "prefixes", rows: entries.length, realTokens, paddedTokens: entries.length * paddedLength, scoredTokens, seconds: result.seconds, sequenceIds: [], paddedLength, pastLength });
        dropPrefixes(failed);
      },
      (error: unknown) => {
        onRunFailed(worker, host, error);
        dropPrefixes(new Set(entries));
      },
    ).finally(() => {
      running--;
      pump();
    });
  }

  function dispatch(worker: number, host: SessionHost, items: Queued[]): void {
    const pastLength = pastOf(items[0]);
    const requests = items.map((item) => runRequest(item.request, pastLength));
    const lengths = requests.map((r) => r.tokenIds.length - pastLength);
    const paddedLength = paddedLengthOf(lengths, pastLength > 0);
    const batch = { items: lengths.map((length, index) => ({ index, length, scoredCount: runScoredCount(items[index].positions, pastLength) })), paddedLength };
    const feeds = buildBatchFeeds(requests, batch, pastLength);
    const pasts = pastLength > 0 ? items.map((item) => item.prefix as PrefixEntry) : undefined;
    running++;
    host.run(feeds, runPrefixes(worker, pasts)).then(
      (result) => {
        try {
          const scores = scoreBatch(requests, feeds, result.tokenLogprobs, pastLength > 0 ? items.map((item) => ({ request: item.request, positions: item.positions, stored: storedOf(item.prefix) })) : undefined);
          feeds.rows.forEach((row, i) => items[row.requestIndex].resolve(scores[i]));
        } catch (error) {
          // A collation bug fails this run's sequences, not the engine.
          const failure = EngineError.from(error);
          options.observer?.onError?.(failure);
          for (const item of items) item.reject(failure);
        }
        const realTokens = lengths.reduce((sum, length) => sum + length, 0);
        options.observer?.onBatch?.({
          kind: "sequences",
          rows: requests.length,
          realTokens,
          paddedTokens: requests.length * paddedLength,
          scoredTokens: feeds.scoredIndex.length,
          seconds: result.seconds,
          sequenceIds: requests.map((r) => r.id),
          paddedLength,
          pastLength,
        });
      },
      (error: unknown) => {
        const failure = onRunFailed(worker, host, error);
        for (const item of items) item.reject(failure);
      },
    ).finally(() => {
      items.forEach(forget);
      running--;
      pump();
    });
  }

  const storedOf = (entry: PrefixEntry | undefined): StoredLogprobs | undefined => (entry?.logprobs ? { from: entry.scoreFrom, values: entry.logprobs } : undefined);

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
      const item: Queued = { request, positions, planned: false, ...(signal === undefined ? {} : { signal }), ...settle };
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

/**
 * What a prefix's run scores: its positions from `scoreFrom` that come after its past (the ones
 * before come from its parent).
 */
function prefixRequest(entry: PrefixEntry, pastLength: number): SequenceRequest {
  const end = entry.tokens.length;
  const start = Math.max(entry.scoreFrom, pastLength + 1);
  return { id: `prefix ${entry.id}`, tokenIds: entry.tokens, spans: start < end ? [{ start, end }] : [] };
}

/** How many positions a prefix's run scores over a past of `pastLength` tokens (see {@link prefixRequest}). */
function prefixScoredCount(entry: PrefixEntry, pastLength: number): number {
  return Math.max(0, entry.tokens.length - Math.max(entry.scoreFrom, pastLength + 1));
}

/** How many of a sequence's scored positions its run scores over a past of `pastLength` tokens. */
function runScoredCount(positions: Uint32Array, pastLength: number): number {
  return positions.length - countAtMost(positions, pastLength);
}

/**
 * The request a sequence's run is given over a past of `pastLength` tokens: the positions the past
 * covers are not scored again (their scores come from the prefix); the rest are, as asked.
 */
function runRequest(request: SequenceRequest, pastLength: number): SequenceRequest {
  if (pastLength === 0) return request;
  if (request.wantTokenLogprobs === true) return { id: request.id, tokenIds: request.tokenIds, spans: [{ start: pastLength + 1, end: request.tokenIds.length }] };
  return { ...request, spans: request.spans.map((span: Span) => ({ start: Math.max(span.start, pastLength + 1), end: span.end })) };
}

function rangeFrom(start: number, end: number): Uint32Array {
  return Uint32Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k);
}
