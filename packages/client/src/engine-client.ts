import type { ModelInfo, Scorer, SequenceRequest, SequenceScore } from "@sftscore/metrics";
import type { GetModelInfoResponse } from "@sftscore/proto";
import { composeMiddleware, withDeadline, withRetry } from "./call-middleware.js";
import { ClientError, isRetryable } from "./client-error.js";
import { CLIENT_DEFAULTS, resolveClientOptions, type EngineClientInput, type ResolvedClientOptions } from "./client-options.js";
import { createEngineConnection, type EngineConnection } from "./engine-connection.js";
import { checkSameModel } from "./model-identity.js";
import { cancelledBy } from "./retry-policy.js";
import { runScore } from "./score-run.js";
import { admitTarget, createTargetHealth, describeTargets, retireTarget, type TargetHealth } from "./target-health.js";
import { limitsOf, modelInfoOf, type EngineLimits } from "./wire-messages.js";

/** One target's state, from {@link EngineClient.targetStats}. */
export interface TargetStats {
  readonly address: string;
  /** Tokens sent and not yet answered. */
  readonly outstandingTokens: number;
  /** Sequences the target scored since the client was created. */
  readonly scored: number;
  /** Consecutive failures (0 when healthy). */
  readonly failures: number;
  /** Given up for good: the client sends it nothing more. */
  readonly retired: boolean;
  readonly lastError?: ClientError;
}

/**
 * A {@link Scorer} over gRPC to one or more sftscore engines (`sftscore serve`), or to a load
 * balancer in front of several.
 *
 * - `info()` asks every target for its model (GetModelInfo, with deadline and retries) and refuses
 *   to mix models: all must report the same `content_hash` and `tokenizer_hash`.
 * - `score()` reads its input lazily, packs sequences into messages within each engine's limits,
 *   sends each to the least-loaded target over several streams per target, yields results as they
 *   arrive (any order, keyed by id), and resends to another target what an engine did not answer.
 *   Scoring is deterministic, so results equal an in-process run's.
 *
 * @example
 * const client = new EngineClient({ targets: ["gpu-1:50051", "gpu-2:50051"], token: process.env.SFTSCORE_TOKEN });
 * try {
 *   for await (const score of client.score(requests)) console.log(score.id, score.spans[0].sumLogprob);
 * } finally {
 *   await client.close();
 * }
 */
export class EngineClient implements Scorer {
  readonly #options: ResolvedClientOptions;
  readonly #targets: TargetHealth[];
  readonly #connections: EngineConnection[];
  readonly #limits: (EngineLimits | undefined)[];
  /** Aborted by close(): ends GetModelInfo retries and every run in flight. */
  readonly #closing = new AbortController();
  #ready: Promise<ModelInfo> | undefined;
  /** Dispatchers of the runs in flight (see ScoreRunContext.runs). */
  readonly #runs = new Set<() => void>();

  /**
   * @param input Addresses (`"host:port"`, `"a:1,b:2"`, `["a:1", "b:2"]`) or {@link EngineClientOptions}.
   * @throws ClientError `invalid-argument` for a bad address or option. Nothing connects until first use.
   */
  constructor(input: EngineClientInput) {
    this.#options = resolveClientOptions(input);
    const { tls, token, channelOptions } = this.#options;
    this.#targets = this.#options.targets.map(createTargetHealth);
    this.#connections = this.#options.targets.map((address) =>
      createEngineConnection(address, { channelOptions, ...(tls === undefined ? {} : { tls }), ...(token === undefined ? {} : { token }) }),
    );
    this.#limits = this.#targets.map(() => undefined);
  }

  /** The targets, canonical form, in the order given. */
  get targets(): readonly string[] {
    return this.#options.targets;
  }

  /** A snapshot of every target's load and health. */
  targetStats(): TargetStats[] {
    return this.#targets.map((t) => ({
      address: t.address,
      outstandingTokens: t.outstandingTokens,
      scored: t.scored,
      failures: t.failures,
      retired: t.retired,
      ...(t.lastError === undefined ? {} : { lastError: t.lastError }),
    }));
  }

  /**
   * The model every target serves. The first call asks each target (GetModelInfo, retried like any
   * call); later calls reuse the answer. A target that stays unreachable through the retry budget
   * is given up and the others are used. `maxLength` is the smallest of the model's and the
   * engines' `max_tokens_per_sequence`: the longest sequence every engine accepts.
   *
   * @throws ClientError `model-mismatch` when targets report different content or tokenizer hashes;
   *   `unavailable` when no target answers; `unauthenticated` when one refuses the token;
   *   `cancelled` after close().
   */
  info(): Promise<ModelInfo> {
    if (this.#closing.signal.aborted) return Promise.reject(this.#closedError());
    this.#ready ??= this.#connect().catch((error: unknown) => {
      // A failure is not remembered: the next call asks again.
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /**
   * Scores every request; yields results as they arrive, in any order, keyed by `id`, each id once.
   *
   * @throws ClientError (from the iterator) `invalid-argument` for a sequence the client or an engine
   *   refuses (the message names its id and the engine's reason; not retried); `unavailable` when
   *   every target is given up (the message says how many sequences finished and why each target
   *   failed) or a sequence keeps failing; `unauthenticated`; `cancelled` when `signal` fires or the
   *   client is closed; anything `info()` throws. Errors thrown by the input iterable pass through.
   */
  async *score(requests: AsyncIterable<SequenceRequest>, options: { signal?: AbortSignal } = {}): AsyncGenerator<SequenceScore, void, undefined> {
    const signal = options.signal === undefined ? this.#closing.signal : AbortSignal.any([options.signal, this.#closing.signal]);
    if (signal.aborted) throw this.#closing.signal.aborted ? this.#closedError() : cancelledBy(signal, "scoring");
    await abortable(this.info(), signal);
    yield* runScore(
      requests,
      {
        targets: this.#targets,
        connections: this.#connections,
        limits: this.#limits,
        streamsPerTarget: this.#options.streamsPerTarget,
        deadlineMs: this.#options.deadlineMs,
        retry: this.#options.retry,
        runs: this.#runs,
      },
      signal,
    );
  }

  /** Cancels work in flight (its iterators throw `cancelled`) and closes every channel. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(this.#closedError());
    for (const connection of this.#connections) connection.close();
  }

  #closedError(): ClientError {
    return new ClientError("cancelled", "the EngineClient is closed");
  }

  async #connect(): Promise<ModelInfo> {
    const { retry, deadlineMs } = this.#options;
    const call = composeMiddleware(withRetry(retry), withDeadline(Math.min(deadlineMs, CLIENT_DEFAULTS.infoDeadlineMs)));
    const outcomes = await Promise.allSettled(
      this.#connections.map((connection) => call<GetModelInfoResponse>((context) => connection.getModelInfo(context))({ attempt: 1, signal: this.#closing.signal })),
    );
    if (this.#closing.signal.aborted) throw this.#closedError();
    const answered: { index: number; response: GetModelInfoResponse }[] = [];
    outcomes.forEach((outcome, index) => {
      if (outcome.status === "fulfilled") answered.push({ index, response: outcome.value });
      else {
        const error = ClientError.from(outcome.reason);
        // A refused token or a server that is no engine is a setup error, not a dead engine.
        if (!isRetryable(error)) throw error;
        retireTarget(this.#targets[index], error);
      }
    });
    if (answered.length === 0) throw new ClientError("unavailable", `no engine answered GetModelInfo: ${describeTargets(this.#targets)}`);
    checkSameModel(answered.map(({ index, response }) => ({ target: this.#targets[index].address, info: response })));
    for (const { index, response } of answered) {
      const limits = limitsOf(response);
      this.#limits[index] = limits;
      const capacity = this.#options.maxInFlightTokens ?? CLIENT_DEFAULTS.batchesInFlightPerTarget * limits.maxBatchTokens;
      admitTarget(this.#targets[index], capacity, limits.maxBatchTokens);
    }
    const info = modelInfoOf(answered[0].response);
    // An engine may accept fewer tokens than its model; reporting that as the maximum length makes
    // callers truncate to it instead of sending sequences every engine refuses.
    const maxTokens = Math.min(...answered.map(({ index }) => this.#limits[index]?.maxTokensPerSequence ?? info.maxLength));
    return maxTokens < info.maxLength ? { ...info, maxLength: maxTokens } : info;
  }
}

/** `promise`, or a `cancelled` rejection as soon as `signal` fires. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelledBy(signal, "scoring"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
