import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import type { ModelInfo, Scorer, SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS, defaultLengthBucket, type BatchingPolicy } from "./batcher.js";
import { executionProviders, type Device } from "./devices.js";
import { EngineError, type EngineErrorCode } from "./engine-error.js";
import { PAST_INPUT, PRESENT_OUTPUT, presentNameOf } from "./kv-cache-names.js";
import type { LossHeadKind } from "./loss-head.js";
import { defaultModelCacheDir, openModelDirectory } from "./model-directory.js";
import { extendedModelSessionInput, loadExtendedModel } from "./onnx-model-file.js";
import { validateRequest } from "./request-validation.js";
import { createResultChannel } from "./result-channel.js";
import { createScheduler, type PrefixSharing, type Ticket } from "./scheduler.js";
import { SessionHost } from "./session-host.js";

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** A Hugging Face-layout model directory (or an `.onnx` file inside one). */
  readonly model: string;
  /** Name reported as the model id; default: the directory's name. */
  readonly modelId?: string;
  /** Default `cpu`. */
  readonly device?: Device;
  /** ONNX Runtime intra-op threads per session; default: all cores. */
  readonly threads?: number;
  /** Sessions, each in its own worker thread with its own copy of the model; default 1. */
  readonly workers?: number;
  /** Batch budget: rows × padded length; default 8192 tokens. */
  readonly maxBatchTokens?: number;
  /** Rows per batch; default 64. */
  readonly maxBatchSize?: number;
  /**
   * Scored positions per run. The `[scored, vocab]` float32 log-softmax (and the logits before it)
   * are the memory peak, so the default keeps them near 0.5 GB: ⌊512 MiB / (vocab × 4 B × 2)⌋,
   * capped at maxBatchTokens (441 for a 151,936-token vocabulary).
   */
  readonly maxScoredTokens?: number;
  /**
   * Rows × padded length² per run (see `BatchLimits.maxAttentionCells`). Unfused attention holds a few
   * `[rows, heads, L, L]` float32 tensors at once, so the default keeps one of them within 64 MiB:
   * ⌊64 MiB / (heads × 4 B)⌋ with `num_attention_heads` from config.json (no limit when it is absent).
   * Only long rows feel it: with 14 heads, 512-token rows go 4 to a run and 256-token rows 18 (a
   * token budget of 8192 allows 16 and 32); with the tiny fixture model's 4 heads, one 2048-token row.
   */
  readonly maxAttentionCells?: number;
  /** Tokens that may wait in the queue before callers wait (back-pressure); default 4 × maxBatchTokens. */
  readonly maxQueuedTokens?: number;
  /** Where loss-head-extended models are cached; default `~/.cache/sftscore/extended-models` (`$SFTSCORE_CACHE`). */
  readonly cacheDir?: string;
  /** Always use the full-logits loss head (benchmarks and tests). */
  readonly forceFullLogits?: boolean;
  /**
   * Padded length, in tokens, of a batch whose longest row has `length` tokens: an integer ≥ `length`
   * that never decreases as `length` grows; capped at the model's maximum length. Default
   * `defaultLengthBucket` (a coarse grid, so ONNX Runtime sees few distinct shapes). Benchmarks pass
   * `(n) => n` to measure what bucketing buys.
   */
  readonly lengthBucket?: (length: number) => number;
  /**
   * How queued sequences are grouped into runs: `token-budget` (default; longest first under the
   * limits above) or `{ fixedBatchSize: n }`, the n oldest in arrival order whatever their lengths —
   * the way a straightforward port batches, for benchmarks that measure what token-budget batching buys.
   */
  readonly batching?: BatchingPolicy;
  /**
   * Bytes of KV cache kept for shared prefixes, over all workers; default 256 MiB, 0 turns prefix
   * sharing off. Sequences that start with the same tokens (a template's preamble, a one-shot
   * example repeated for each partner) then compute those tokens once. Needs a with-past export
   * (`past_key_values.*` inputs, `present.*` outputs) with `position_ids` and `attention_mask`
   * inputs, and token-budget batching; otherwise every sequence runs whole. Scores are bit-identical
   * either way.
   */
  readonly prefixCacheBytes?: number;
  /** Called after each successful model run (benchmarks replay the runs); must not throw. */
  readonly onBatch?: (batch: EngineBatch) => void;
}

/** Default {@link EngineOptions.prefixCacheBytes}. */
export const DEFAULT_PREFIX_CACHE_BYTES = 256 * 1024 ** 2;

/** One model run, as {@link EngineOptions.onBatch} reports it. */
export interface EngineBatch {
  /** `prefixes`: a run that computed shared prefixes and scored nothing. */
  readonly kind: "sequences" | "prefixes";
  /** Ids of the run's sequences, in row order (none in a prefix run). */
  readonly sequenceIds: readonly string[];
  /** Length every row was right-padded to, in tokens, after the past. */
  readonly paddedLength: number;
  /** Tokens every row took from a stored prefix instead of running them. */
  readonly pastLength: number;
  /** Time inside `session.run`, in seconds. */
  readonly seconds: number;
}

/** {@link ModelInfo} plus what only an engine knows: its loss head and limits. */
export interface EngineInfo extends ModelInfo {
  readonly lossHead: LossHeadKind;
  /** Why the full-logits head is used, when it is. */
  readonly lossHeadReason?: string;
  readonly maxBatchTokens: number;
  readonly maxScoredTokens: number;
  readonly maxAttentionCells: number;
  readonly threads: number;
  readonly workers: number;
  /** Bytes of KV cache for shared prefixes; 0 when prefix sharing is off (or the model cannot do it). */
  readonly prefixCacheBytes: number;
}

/** Running totals, for metrics endpoints and benchmarks. */
export interface EngineStats {
  readonly sequences: number;
  readonly batches: number;
  /** Real (unpadded) tokens run through the model. */
  readonly realTokens: number;
  /** Tokens including padding (rows × padded length). */
  readonly paddedTokens: number;
  readonly scoredTokens: number;
  /** Runs that computed shared prefixes, and the tokens they ran. */
  readonly prefixRuns: number;
  readonly prefixTokens: number;
  /** Tokens sequences took from shared prefixes instead of running them. */
  readonly reusedTokens: number;
  /** Time inside `session.run`, summed over workers. */
  readonly runSeconds: number;
  readonly errors: Readonly<Partial<Record<EngineErrorCode, number>>>;
  readonly queueDepth: number;
  readonly queuedTokens: number;
  /** Distinct `[batch, padded length]` shapes run (ONNX Runtime re-plans memory for each new one). */
  readonly shapes: number;
}

/** The in-process scoring engine: a {@link Scorer} over ONNX Runtime sessions in worker threads. */
export interface Engine extends Scorer {
  info(): Promise<EngineInfo>;
  /**
   * Validates and queues one sequence (waiting while the queue is full). The ticket's result
   * settles when it is scored.
   *
   * @throws EngineError `invalid-argument` for a bad request, `unavailable` after close.
   */
  submit(request: SequenceRequest, signal?: AbortSignal): Promise<Ticket>;
  stats(): EngineStats;
  /** Finishes queued and running work, then releases the sessions. */
  close(): Promise<void>;
}

/**
 * Bytes the `[scored, vocab]` loss-head tensors may take per run. The head's time is per scored row
 * whatever the run, but GB-sized intermediates are fresh memory on every growth of the arena (page
 * faults, zeroing) and pass through RAM several times: on the whole-job benchmark (vocabulary
 * 151,936) 441 rows per run took 8% less time than 1,766 (a 2 GiB budget), and less memory.
 */
const LOSS_HEAD_BUDGET_BYTES = 512 * 1024 ** 2;

/**
 * Bytes one float32 `[rows, heads, L, L]` attention tensor may take per run. Measured on the tiny
 * fixture model, a run's resident memory is about 7 such tensors (scores, masked scores, softmax and
 * ONNX Runtime's arena slack), so this keeps the attention part of a run near 0.5 GB at any length;
 * the token budget alone let four 2048-token rows take 1.8 GB. Splitting long rows into smaller runs
 * costs little: their attention work is per row, and the matrix products are large either way.
 */
const ATTENTION_BUDGET_BYTES = 64 * 1024 ** 2;

/**
 * Loads a model and starts its session workers.
 *
 * @throws EngineError `not-found`/`invalid-argument` for a directory that is not a causal LM,
 *   `failed-precondition` when CUDA is asked for but not installed, `model-failed` when ONNX
 *   Runtime cannot load the graph.
 * @example
 * const engine = await createEngine({ model: "models/tiny", threads: 2 });
 * for await (const score of engine.score(requests)) console.log(score.id, score.spans[0].sumLogprob);
 * await engine.close();
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const batching = options.batching ?? "token-budget";
  if (batching !== "token-budget" && !(Number.isSafeInteger(batching.fixedBatchSize) && batching.fixedBatchSize > 0)) {
    throw new EngineError("invalid-argument", `batching.fixedBatchSize must be a positive integer, got ${String(batching.fixedBatchSize)}`);
  }
  const device = options.device ?? "cpu";
  const providers = executionProviders(device);
  const directory = await openModelDirectory(options.model, options.modelId === undefined ? {} : { modelId: options.modelId });
  const extended = await loadExtendedModel(directory.modelPath, options.cacheDir ?? defaultModelCacheDir(), { forceFullLogits: options.forceFullLogits === true });
  const sessionInput = await extendedModelSessionInput(extended);

  const threads = options.threads ?? availableParallelism();
  const workers = options.workers ?? 1;
  const maxBatchTokens = options.maxBatchTokens ?? Math.max(DEFAULT_MAX_BATCH_TOKENS, directory.maxLength);
  const maxScoredTokens = options.maxScoredTokens ?? Math.max(64, Math.min(maxBatchTokens, Math.floor(LOSS_HEAD_BUDGET_BYTES / (directory.vocabSize * 4 * 2))));
  const maxAttentionCells = options.maxAttentionCells ?? (directory.attentionHeads === undefined ? Infinity : Math.floor(ATTENTION_BUDGET_BYTES / (directory.attentionHeads * 4)));
  const hosts: SessionHost[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      hosts.push(
        await SessionHost.start({
          model: sessionInput.model,
          extra: sessionInput.extra,
          executionProviders: providers,
          threads,
          ...(directory.kvHeads === undefined ? {} : { kvHeads: directory.kvHeads }),
          ...(directory.headDim === undefined ? {} : { headDim: directory.headDim }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(hosts.map((h) => h.close()));
    throw error;
  }

  const prefixCacheBytes = batching === "token-budget" ? Math.max(0, options.prefixCacheBytes ?? DEFAULT_PREFIX_CACHE_BYTES) : 0;
  const prefixSharing = prefixCacheBytes > 0 ? prefixSharingOf(hosts[0], directory, extended.dtype, prefixCacheBytes) : undefined;
  const totals = { sequences: 0, batches: 0, realTokens: 0, paddedTokens: 0, scoredTokens: 0, prefixRuns: 0, prefixTokens: 0, reusedTokens: 0, runSeconds: 0 };
  const errors: Partial<Record<EngineErrorCode, number>> = {};
  const shapes = new Set<string>();
  const countError = (error: EngineError) => (errors[error.code] = (errors[error.code] ?? 0) + 1);
  const lengthBucket = options.lengthBucket ?? defaultLengthBucket;
  const scheduler = createScheduler({
    hosts,
    limits: { maxBatchTokens, maxBatchSize: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE, maxScoredTokens, maxAttentionCells, lengthBucket: (n) => Math.min(lengthBucket(n), directory.maxLength) },
    batching,
    maxQueuedTokens: options.maxQueuedTokens ?? 4 * maxBatchTokens,
    ...(prefixSharing ? { prefixSharing } : {}),
    observer: {
      onBatch(batch) {
        totals.batches++;
        if (batch.kind === "sequences") {
          totals.sequences += batch.rows;
          totals.reusedTokens += batch.rows * batch.pastLength;
        } else {
          totals.prefixRuns++;
          totals.prefixTokens += batch.realTokens;
        }
        totals.realTokens += batch.realTokens;
        totals.paddedTokens += batch.paddedTokens;
        totals.scoredTokens += batch.scoredTokens;
        totals.runSeconds += batch.seconds;
        shapes.add(`${batch.rows}x${batch.paddedLength}+${batch.pastLength}`);
        options.onBatch?.({ kind: batch.kind, sequenceIds: batch.sequenceIds, paddedLength: batch.paddedLength, pastLength: batch.pastLength, seconds: batch.seconds });
      },
      onError: countError,
    },
  });

  const info: EngineInfo = {
    modelId: directory.modelId,
    contentHash: extended.sourceHash,
    vocabSize: directory.vocabSize,
    maxLength: directory.maxLength,
    dtype: extended.dtype,
    device,
    tokenizerJson: directory.tokenizerJson,
    tokenizerHash: createHash("sha256").update(directory.tokenizerJson).digest("hex"),
    tokenizerConfigJson: directory.tokenizerConfigJson,
    lossHead: extended.lossHead,
    ...(extended.reason === undefined ? {} : { lossHeadReason: extended.reason }),
    maxBatchTokens,
    maxScoredTokens,
    maxAttentionCells,
    threads,
    workers,
    prefixCacheBytes: prefixSharing ? prefixCacheBytes : 0,
  };
  let closing: Promise<void> | undefined;

  const submit = async (request: SequenceRequest, signal?: AbortSignal): Promise<Ticket> => {
    if (closing) throw new EngineError("unavailable", "the engine is shutting down", { sequenceId: request.id });
    try {
      validateRequest(request, { vocabSize: directory.vocabSize, maxTokens: directory.maxLength });
    } catch (error) {
      const failure = EngineError.from(error);
      countError(failure);
      throw failure;
    }
    return scheduler.submit(request, signal);
  };

  return {
    info: () => Promise.resolve(info),
    submit,
    score(requests: AsyncIterable<SequenceRequest> | Iterable<SequenceRequest>, scoreOptions: { signal?: AbortSignal } = {}): AsyncIterable<SequenceScore> {
      const channel = createResultChannel<SequenceScore>();
      const signal = scoreOptions.signal;
      // Count outstanding results instead of holding their promises: a stream may carry millions.
      let outstanding = 0;
      let inputDone = false;
      const settle = () => {
        if (inputDone && outstanding === 0) channel.end();
      };
      void (async () => {
        try {
          for await (const request of requests) {
            const ticket = await submit(request, signal);
            outstanding++;
            ticket.result.then(
              (score) => {
                channel.push(score);
                outstanding--;
                settle();
              },
              (error: unknown) => channel.fail(EngineError.from(error)),
            );
          }
          inputDone = true;
          settle();
        } catch (error) {
          channel.fail(EngineError.from(error));
        }
      })();
      return channel;
    },
    stats: () => ({ ...totals, errors: { ...errors }, queueDepth: scheduler.queueDepth, queuedTokens: scheduler.queuedTokens, shapes: shapes.size }),
    close() {
      closing ??= (async () => {
        await scheduler.idle();
        await Promise.all(hosts.map((h) => h.close()));
      })();
      return closing;
    },
  };
}

/**
 * Prefix sharing for a session, when its graph can take a stored prefix as its past: optimum's
 * `past_key_values.*` inputs with a `present.*` output each, explicit positions and a mask, and
 * config.json's cache shape. Otherwise `undefined`: sequences run whole.
 */
function prefixSharingOf(
  host: SessionHost,
  directory: { readonly kvHeads?: number; readonly headDim?: number },
  dtype: string,
  cacheBytes: number,
): PrefixSharing | undefined {
  const pasts = host.inputNames.filter((name) => PAST_INPUT.test(name));
  const presents = new Set(host.outputNames.filter((name) => PRESENT_OUTPUT.test(name)));
  const { kvHeads, headDim } = directory;
  const capable =
    pasts.length > 0 &&
    pasts.every((name) => presents.has(presentNameOf(name))) &&
    host.inputNames.includes("position_ids") &&
    host.inputNames.includes("attention_mask") &&
    (dtype === "float32" || dtype === "float16");
  if (!capable || kvHeads === undefined || headDim === undefined) return undefined;
  const bytesPerValue = dtype === "float16" ? 2 : 4;
  return { cacheBytes, bytesPerToken: pasts.length * kvHeads * headDim * bytesPerValue };
}
