/**
 * What the benchmark's parent process sends to a contender's child process, and what comes back.
 * Each contender runs in its own process so that its peak RSS is its own.
 */
import type { SequenceRequest } from "@sftscore/metrics";

/**
 * - `engine`: `createEngine` with defaults except threads (a);
 * - `engine-full-logits`: the same with `forceFullLogits: true`;
 * - `shape-churn`: two engines in one process, `defaultLengthBucket` and `lengthBucket: (n) => n`,
 *   taking turns round by round on the shape-churn workload;
 * - `js-log-softmax`: the source model's full logits copied out, log-softmax + gather in JavaScript (b);
 * - `floor`: the body graph (hidden states out) plus the LM head and loss on the scored rows only (c).
 */
export type ContenderName = "engine" | "engine-full-logits" | "shape-churn" | "js-log-softmax" | "floor";

/** The batch limits the engine reports; the session-level contenders plan the same batches with them. */
export interface PlanLimits {
  readonly maxBatchTokens: number;
  readonly maxBatchSize: number;
  readonly maxScoredTokens: number;
  readonly maxAttentionCells: number;
  readonly maxLength: number;
}

export interface ContenderJob {
  readonly contender: ContenderName;
  readonly modelDir: string;
  /** Cache of loss-head-extended models (engine contenders). */
  readonly extendedCacheDir: string;
  readonly threads: number;
  /** The workload, identical for every contender. */
  readonly requests: readonly SequenceRequest[];
  /** Passes over `requests` after the first (cold) pass; 0 for none, `undefined` to skip the workload entirely. */
  readonly warmPasses?: number;
  /** Passes to add, at most, while the fastest warm pass ran with other processes busy (see `runPasses`). */
  readonly maxExtraPasses?: number;
  /** Required by `js-log-softmax` and `floor`. */
  readonly limits?: PlanLimits;
  /** `engine` only: one extra pass over these (one copy of the example data) for its fill ratio. */
  readonly exampleRequests?: readonly SequenceRequest[];
  /** `engine` only: measure the first run at new shapes against later runs at the same shapes. */
  readonly shapeProbe?: boolean;
  /** Required by `shape-churn` (see {@link ChurnOptions}). */
  readonly churn?: ChurnOptions;
}

/**
 * A latency-bound client: `rounds` passes over `requests`, each in a fresh seeded order, sent in
 * groups of `groupSize` with each group awaited before the next, so every group is its own small
 * batch and batch shapes vary with the group's longest sequence.
 */
export interface ChurnOptions {
  readonly requests: readonly SequenceRequest[];
  readonly rounds: number;
  readonly groupSize: number;
  readonly seed: number;
}

/** One round of the shape-churn workload. */
export interface ChurnRound {
  readonly seconds: number;
  readonly realTokens: number;
  readonly batches: number;
  /** Shapes first seen in this round. */
  readonly newShapes: number;
  readonly otherCpuShare: number;
}

/** One pass over the workload. */
export interface PassResult {
  /** Wall time of the whole pass. */
  readonly seconds: number;
  readonly realTokens: number;
  readonly paddedTokens: number;
  readonly scoredTokens: number;
  readonly batches: number;
  /** Time inside `session.run` (summed over the runs of the pass). */
  readonly sessionSeconds: number;
  /** Parts of the pass, by name (e.g. `body`, `head`, `jsLogSoftmax`), in seconds. */
  readonly parts: Readonly<Record<string, number>>;
  /** Σ log p over every scored token, float64: the contenders must agree on it. */
  readonly sumLogprob: number;
  /** Distinct `[rows, padded length]` shapes run so far in this process (engine contenders). */
  readonly shapesSoFar?: number;
  /** Share of all cores' time that other processes used during the pass (see `cpu-contention.ts`). */
  readonly otherCpuShare: number;
}

/** First run at a new `[rows, padded length]` shape against later runs at that shape. */
export interface ShapeProbeResult {
  readonly rows: number;
  readonly paddedLength: number;
  /** `session.run` time of the first run at the shape. */
  readonly firstSeconds: number;
  /** `session.run` times of the following runs. */
  readonly laterSeconds: readonly number[];
}

export interface ContenderResult {
  readonly contender: ContenderName;
  /** Pass 0 is the cold pass (every shape new to the process); the rest are warm. */
  readonly passes: readonly PassResult[];
  /** `process.resourceUsage().maxRSS` at the end, in bytes: the peak of this process. */
  readonly maxRssBytes: number;
  /** Peak RSS before the model was loaded (Node, tokenizer-free baseline with the requests), in bytes. */
  readonly baselineRssBytes: number;
  /** Time to load the model (engine: createEngine, including the content hash and loss-head cache). */
  readonly loadSeconds: number;
  /** Engine contenders: the engine's loss head and limits. */
  readonly engine?: { readonly lossHead: string; readonly limits: PlanLimits };
  readonly exampleFill?: { readonly realTokens: number; readonly paddedTokens: number; readonly batches: number };
  readonly shapeProbe?: readonly ShapeProbeResult[];
  /** `shape-churn`: rounds of each engine, in the order they ran (alternating). */
  readonly churn?: { readonly defaultBuckets: readonly ChurnRound[]; readonly exactLengths: readonly ChurnRound[] };
}

/** Messages from a child. */
export type ContenderReply = { readonly type: "result"; readonly result: ContenderResult } | { readonly type: "error"; readonly message: string };
