import { createChatPromptSet, type ReversedRequest } from "./chat-prompts.js";
import type { IfdVariant } from "./compose.js";
import type { OneshotMode } from "./metric-math.js";
import { METRIC_NAMES, type MetricName } from "./metric-row.js";
import { MetricsError } from "./metrics-error.js";
import { checkSeed } from "./partners.js";
import { FULL_SHARING, type WorkSharing } from "./plan.js";
import type { Sample } from "./sample.js";
import type { ModelInfo } from "./scorer.js";
import type { TaskIndex } from "./task-index.js";
import type { TemplateSet } from "./template-file.js";
import { ALPACA_TEMPLATES, createTemplatePromptSet, withSelectiveReflectionReverse, type PromptSet } from "./templates.js";
import { createTokenizer, type Tokenizer } from "./tokenization.js";

/** Options of `scoreSamples`; every field is optional. */
export interface ScoreOptions {
  /** Metrics to compute, any order; default all eight ({@link METRIC_NAMES}). */
  readonly metrics?: readonly MetricName[];
  /** Prompt templates: `alpaca` (default, the seed's), `chat` (the model's chat template), or a set from `loadTemplateSetFile`. */
  readonly templates?: "alpaca" | "chat" | TemplateSet;
  /** r-IFD reverse prompt: `seed` (default) or `selective-reflection` (Li et al. 2024). */
  readonly rifdTemplate?: ReversedRequest;
  /** `ifd` as `perplexity-ratio` (default, the seed) or `loss-ratio` (Cherry LLM's code). */
  readonly ifdVariant?: IfdVariant;
  /** `oneshot_validity` averages `sign` (default) or `raw` differences of perplexities. */
  readonly oneshotMode?: OneshotMode;
  /** K, the partners drawn per sample from its task; default 3 (the seed's `one_shot_sample_cnt`). */
  readonly oneshotPartners?: number;
  /**
   * Score every sample against this fixed anchor set instead of partners from its own task (Nuggets,
   * Li et al. 2023, "One-shot learning as instruction data prospector"); `oneshotPartners` and tasks
   * are then unused, and `oneshot_partners` lists anchor positions.
   */
  readonly anchors?: readonly Sample[];
  /** Seed of the partner draw, an unsigned 32-bit integer; default 0. */
  readonly seed?: number;
  /**
   * Task membership of the whole input (from a first pass, see `buildTaskIndex`). Needed for
   * `oneshot_validity` with task partners when `samples` is not an array.
   */
  readonly taskIndex?: TaskIndex;
  /**
   * Random access to sample `index` of the input, to fetch partners outside the current window.
   * Needed with `taskIndex`; an array input provides its own.
   */
  readonly sampleAt?: (index: number) => Sample | Promise<Sample>;
  /**
   * Input index of the first sample of `samples`, default 0: a resumed run passes the samples after
   * the rows already written, and their rows keep their indices (and so their partner draws).
   */
  readonly firstIndex?: number;
  /** Truncation length in tokens; default and maximum: the model's `maxLength`. */
  readonly maxLength?: number;
  /** Samples per window; default 2048. Memory grows linearly with it. */
  readonly windowSize?: number;
  /** Windows planned or scored at once (planning overlaps scoring); default 2. */
  readonly windowsInFlight?: number;
  /**
   * Span scores of response sequences kept across windows, so a partner's zero-shot sequence scored
   * in one window is not rescored in another; counted in sequences (one per sample, about 70 bytes
   * each, in typed arrays reserved at the start); default 131072 (about 9 MB).
   */
  readonly scoreCacheEntries?: number;
  /**
   * For benchmarks: turn off shared passes or dedup (both on by default) to measure what each saves.
   * The values stay the same; only the number of sequences scored grows (see `WorkSharing`).
   */
  readonly sharing?: Partial<WorkSharing>;
  /** A tokenizer to reuse (its `maxLength` wins); default one built from the scorer's `tokenizer.json`. */
  readonly tokenizer?: Tokenizer;
  /** Cancels scoring; the iterator then throws a `cancelled` MetricsError. */
  readonly signal?: AbortSignal;
}

/** Defaults of {@link ScoreOptions}. */
export const SCORE_DEFAULTS = {
  oneshotPartners: 3,
  seed: 0,
  windowSize: 2048,
  windowsInFlight: 2,
  scoreCacheEntries: 131_072,
} as const;

/** Options with defaults applied and the model's tokenizer and prompts built. */
export interface ScoreSettings {
  readonly metrics: ReadonlySet<MetricName>;
  readonly prompts: PromptSet;
  readonly tokenizer: Tokenizer;
  readonly ifdVariant: IfdVariant;
  readonly oneshotMode: OneshotMode;
  readonly oneshotPartners: number;
  readonly anchors?: readonly Sample[];
  readonly seed: number;
  readonly windowSize: number;
  readonly windowsInFlight: number;
  readonly scoreCacheEntries: number;
  readonly sharing: WorkSharing;
}

/**
 * Applies defaults and validates options against the model.
 *
 * @throws MetricsError `invalid-argument` naming the option; `invalid-template` / `invalid-tokenizer`
 *   when the prompts or the tokenizer cannot be built.
 */
export async function resolveScoreSettings(options: ScoreOptions, info: ModelInfo): Promise<ScoreSettings> {
  const metrics = new Set(options.metrics ?? METRIC_NAMES);
  for (const metric of metrics) {
    if (!METRIC_NAMES.includes(metric)) {
      throw new MetricsError("invalid-argument", `unknown metric "${String(metric)}" (known: ${METRIC_NAMES.join(", ")})`);
    }
  }
  if (metrics.size === 0) throw new MetricsError("invalid-argument", "metrics: request at least one metric");
  const positive = (name: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < 1) throw new MetricsError("invalid-argument", `${name} must be a positive integer, got ${value}`);
    return value;
  };
  const oneshotPartners = options.oneshotPartners ?? SCORE_DEFAULTS.oneshotPartners;
  if (!Number.isSafeInteger(oneshotPartners) || oneshotPartners < 0) {
    throw new MetricsError("invalid-argument", `oneshotPartners must be a non-negative integer, got ${oneshotPartners}`);
  }
  const seed = options.seed ?? SCORE_DEFAULTS.seed;
  checkSeed(seed);
  const scoreCacheEntries = options.scoreCacheEntries ?? SCORE_DEFAULTS.scoreCacheEntries;
  if (!Number.isSafeInteger(scoreCacheEntries) || scoreCacheEntries < 0) {
    throw new MetricsError("invalid-argument", `scoreCacheEntries must be a non-negative integer, got ${scoreCacheEntries}`);
  }
  const sharing: WorkSharing = {
    sharedPasses: booleanOption("sharing.sharedPasses", options.sharing?.sharedPasses ?? FULL_SHARING.sharedPasses),
    dedup: booleanOption("sharing.dedup", options.sharing?.dedup ?? FULL_SHARING.dedup),
  };
  if (options.maxLength !== undefined && options.maxLength > info.maxLength) {
    throw new MetricsError("invalid-argument", `maxLength ${options.maxLength} exceeds the model's maximum of ${info.maxLength} tokens`);
  }
  const tokenizer = options.tokenizer ?? (await createTokenizer(info, { maxLength: options.maxLength ?? info.maxLength }));
  if (tokenizer.maxLength > info.maxLength) {
    throw new MetricsError("invalid-argument", `tokenizer maxLength ${tokenizer.maxLength} exceeds the model's maximum of ${info.maxLength} tokens`);
  }
  return {
    metrics,
    prompts: promptSetOf(options, info),
    tokenizer,
    ifdVariant: options.ifdVariant ?? "perplexity-ratio",
    oneshotMode: options.oneshotMode ?? "sign",
    oneshotPartners,
    ...(options.anchors === undefined ? {} : { anchors: options.anchors }),
    seed,
    windowSize: positive("windowSize", options.windowSize ?? SCORE_DEFAULTS.windowSize),
    windowsInFlight: positive("windowsInFlight", options.windowsInFlight ?? SCORE_DEFAULTS.windowsInFlight),
    scoreCacheEntries,
    sharing,
  };
}

function booleanOption(name: string, value: boolean): boolean {
  if (typeof value !== "boolean") throw new MetricsError("invalid-argument", `${name} must be true or false, got ${String(value)}`);
  return value;
}

/** The prompt set the options name, with the r-IFD template variant applied. */
export function promptSetOf(options: Pick<ScoreOptions, "templates" | "rifdTemplate">, info: Pick<ModelInfo, "tokenizerConfigJson">): PromptSet {
  const rifd = options.rifdTemplate ?? "seed";
  if (rifd !== "seed" && rifd !== "selective-reflection") {
    throw new MetricsError("invalid-argument", `rifdTemplate must be "seed" or "selective-reflection", got "${String(rifd)}"`);
  }
  const templates = options.templates ?? "alpaca";
  if (typeof templates === "string" && templates !== "alpaca" && templates !== "chat") {
    throw new MetricsError("invalid-argument", `templates must be "alpaca", "chat" or a template set, got "${String(templates)}"`);
  }
  if (templates === "chat") return createChatPromptSet(info.tokenizerConfigJson, { reversedRequest: rifd });
  const [name, text] = templates === "alpaca" ? ["alpaca", ALPACA_TEMPLATES] : [templates.name, templates.templates];
  return createTemplatePromptSet(rifd === "selective-reflection" ? withSelectiveReflectionReverse(text) : text, { name });
}
