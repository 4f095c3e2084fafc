/**
 * The plan: for a window of samples and the requested metrics, which token sequences to score and
 * which spans of them each metric reads, with passes shared and identical sequences deduplicated
 * (DESIGN.md §1, "Work sharing").
 */
import type { CountColumn, MetricName, NullReason, PerplexityMetric } from "./metric-row.js";
import type { Sample } from "./sample.js";
import { createSequencePool, type PlannedSequence, type SequencePool, type SpanRef } from "./sequence-pool.js";
import { conditionalLayout, wholeLayout, type ConditionalLayout, type SpanLayout } from "./span-layout.js";
import type { PromptSet } from "./templates.js";
import type { Encoding, Tokenizer } from "./tokenization.js";

/** A one-shot partner of a sample: `label` is its sample index, or its anchor position when `anchor` is set. */
export interface Partner {
  readonly label: number;
  readonly sample: Sample;
  readonly anchor?: boolean;
}

/** One sample of the window, with its partners when `oneshot_validity` is requested. */
export interface WindowRow {
  readonly index: number;
  readonly sample: Sample;
  readonly partners?: readonly Partner[];
}

/** Where a perplexity's span score comes from: a span of a planned sequence, or nowhere (and why). */
export type SpanSource = { readonly kind: "span"; readonly ref: SpanRef } | { readonly kind: "missing"; readonly reason: NullReason };

/** One one-shot comparison of a row: partner j's zero-shot and one-shot response spans. */
export interface OneshotPlan {
  readonly label: number;
  readonly zeroShot: SpanSource;
  readonly oneShot: SpanSource;
}

/** What one row needs from the scored sequences, and what is known before scoring. */
export interface RowPlan {
  readonly index: number;
  readonly id?: string;
  readonly sources: Readonly<Partial<Record<PerplexityMetric, SpanSource>>>;
  /** Present when `oneshot_validity` is requested; empty when the sample has no partner. */
  readonly oneshot?: readonly OneshotPlan[];
  readonly counts: Readonly<Partial<Record<CountColumn, number>>>;
  readonly truncated: boolean;
  readonly boundaryMerged: boolean;
}

/** The deduplicated sequences of a window and each row's references into them. */
export interface WindowPlan {
  readonly sequences: readonly PlannedSequence[];
  readonly rows: readonly RowPlan[];
}

/**
 * Which work the plan shares (DESIGN.md §1, "Work sharing"). Both are on unless a benchmark turns
 * them off to measure what each saves; either way the values are the same, since equal token ids
 * get equal scores (up to the float rounding of the batches they happen to run in).
 */
export interface WorkSharing {
  /**
   * One pass serves every metric that needs its tokens: `prompt_ppl` is read from the response pass,
   * and partner j's zero-shot sequence is j's response sequence. Off: every metric gets its own
   * sequences, as the seed builds its lists (`enc(P0)` for the prompt, a zero-shot sequence per
   * one-shot comparison; with dedup on, equal ones within a list are still scored once).
   */
  readonly sharedPasses: boolean;
  /**
   * Sequences with identical token ids planned for different samples or comparisons (duplicated
   * rows, a task's repeated instruction, repeated one-shot pairs) are scored once, in a window and,
   * through the span cache, across windows. Off: each sample's and each comparison's sequences are
   * its own.
   */
  readonly dedup: boolean;
}

/** Sharing and dedup both on: the default. */
export const FULL_SHARING: WorkSharing = { sharedPasses: true, dedup: true };

/** What {@link planWindow} works with. */
export interface PlanSettings {
  readonly metrics: ReadonlySet<MetricName>;
  readonly prompts: PromptSet;
  readonly tokenizer: Tokenizer;
  /** Default {@link FULL_SHARING}. */
  readonly sharing?: WorkSharing;
}

/** Rows whose texts are encoded in one native batch: bounds the strings held at once. */
const ROWS_PER_ENCODE_BATCH = 256;

/**
 * Plans a window. Per sample e (P0 = zero-shot prompt, R = reversed prompt, P1_j(e) = one-shot prompt
 * of partner j with e as example):
 *
 * | sequence | spans | metrics |
 * |---|---|---|
 * | enc(P0 + output) | [k, n), and [1, k) when it starts with enc(P0) | response_ppl, ifd, prompt_ppl |
 * | enc(P0) (only when the above merged, or for prompt_ppl alone) | [1, k) | prompt_ppl |
 * | enc(output) | [1, n) | output_ppl, ifd |
 * | enc(instruction) | [1, n) | instruction_ppl, rifd |
 * | enc(R + instruction) | [k_R, n) | reverse_response_ppl, rifd |
 * | enc(P1_j(e) + output_j), each partner j | [k1, n) | oneshot_validity |
 * | enc(P0_j + output_j), each partner j | [k, n) | oneshot_validity (j's response sequence, shared) |
 *
 * Identical token sequences anywhere in the window are planned once, with their spans merged;
 * `settings.sharing` turns that and the shared passes off for benchmarks.
 */
export async function planWindow(rows: readonly WindowRow[], settings: PlanSettings): Promise<WindowPlan> {
  const pool = createSequencePool();
  const plans: RowPlan[] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_ENCODE_BATCH) {
    const chunk = rows.slice(start, start + ROWS_PER_ENCODE_BATCH);
    const texts = chunk.map((row) => textsOf(row, settings));
    const encoder = await encodeTexts(texts, settings);
    chunk.forEach((row, i) => plans.push(planRow(row, texts[i], encoder, pool, settings)));
  }
  return { sequences: pool.sequences, rows: plans };
}

/** A prompt and the text scored after it. */
interface ConditionalText {
  readonly prompt: string;
  readonly target: string;
}

/** The texts a row needs encoded; absent entries are not needed for the requested metrics. */
interface RowTexts {
  readonly response?: ConditionalText;
  readonly output?: string;
  readonly instruction?: string;
  readonly reverse?: ConditionalText;
  readonly oneshot?: readonly { readonly label: number; readonly anchor: boolean; readonly zeroShot: ConditionalText; readonly oneShot: ConditionalText }[];
}

interface Needs {
  readonly prompt: boolean;
  readonly response: boolean;
  readonly output: boolean;
  readonly instruction: boolean;
  readonly reverse: boolean;
  readonly oneshot: boolean;
}

function needsOf(metrics: ReadonlySet<MetricName>): Needs {
  return {
    prompt: metrics.has("prompt_ppl"),
    response: metrics.has("response_ppl") || metrics.has("ifd"),
    output: metrics.has("output_ppl") || metrics.has("ifd"),
    instruction: metrics.has("instruction_ppl") || metrics.has("rifd"),
    reverse: metrics.has("reverse_response_ppl") || metrics.has("rifd"),
    oneshot: metrics.has("oneshot_validity"),
  };
}

function textsOf(row: WindowRow, settings: PlanSettings): RowTexts {
  const needs = needsOf(settings.metrics);
  const { prompts } = settings;
  const e = row.sample;
  return {
    // prompt_ppl alone needs only enc(P0); an empty target makes the joint text the prompt itself.
    response: needs.response ? { prompt: prompts.zeroShot(e), target: e.output } : needs.prompt ? { prompt: prompts.zeroShot(e), target: "" } : undefined,
    output: needs.output ? e.output : undefined,
    instruction: needs.instruction ? e.instruction : undefined,
    reverse: needs.reverse ? { prompt: prompts.reversed(e), target: e.instruction } : undefined,
    oneshot: needs.oneshot
      ? (row.partners ?? []).map(({ label, anchor, sample: j }) => ({
          label,
          anchor: anchor === true,
          zeroShot: { prompt: prompts.zeroShot(j), target: j.output },
          oneShot: { prompt: prompts.oneShot(j, e), target: j.output },
        }))
      : undefined,
  };
}

/** Encodings of a chunk's texts: plain texts with special tokens, prompts as the prompt set says. */
interface ChunkEncodings {
  plain(text: string): Encoding;
  conditional(text: ConditionalText): ConditionalLayout;
}

async function encodeTexts(texts: readonly RowTexts[], settings: PlanSettings): Promise<ChunkEncodings> {
  const plain = new Set<string>();
  const prompted = new Set<string>();
  const addConditional = (c: ConditionalText | undefined): void => {
    if (c === undefined) return;
    prompted.add(c.prompt);
    prompted.add(c.prompt + c.target);
  };
  for (const t of texts) {
    if (t.output !== undefined) plain.add(t.output);
    if (t.instruction !== undefined) plain.add(t.instruction);
    addConditional(t.response);
    addConditional(t.reverse);
    for (const o of t.oneshot ?? []) {
      addConditional(o.zeroShot);
      addConditional(o.oneShot);
    }
  }
  const { tokenizer, prompts } = settings;
  const [plainList, promptedList] = [[...plain], [...prompted]];
  const [plainEncodings, promptedEncodings] = await Promise.all([
    tokenizer.encodeBatch(plainList, { addSpecialTokens: true }),
    tokenizer.encodeBatch(promptedList, { addSpecialTokens: prompts.addSpecialTokens }),
  ]);
  const plainMap = new Map(plainList.map((text, i) => [text, plainEncodings[i]]));
  const promptedMap = new Map(promptedList.map((text, i) => [text, promptedEncodings[i]]));
  const lookup = (map: Map<string, Encoding>, text: string): Encoding => {
    const encoding = map.get(text);
    if (encoding === undefined) throw new Error("plan: a text was not encoded");
    return encoding;
  };
  return {
    plain: (text) => lookup(plainMap, text),
    conditional: (c) => conditionalLayout(lookup(promptedMap, c.prompt), lookup(promptedMap, c.prompt + c.target), c.target),
  };
}

/** The seed's sequence lists: what a sequence is planned for. */
type Pass = "prompt" | "response" | "output" | "instruction" | "reverse" | "oneshot-zero" | "oneshot-one";

/**
 * The pool scope of a sequence planned for `pass` on behalf of `owner` (a sample, or a one-shot
 * comparison): one scope for everything when both kinds of sharing are on, one per pass without
 * shared passes, one per pass and owner without dedup.
 */
function scopeOf(pass: Pass, owner: string, sharing: WorkSharing): string {
  if (sharing.dedup) return sharing.sharedPasses ? "" : pass;
  return `${pass}@${owner}`;
}

function planRow(row: WindowRow, texts: RowTexts, encoder: ChunkEncodings, pool: SequencePool, settings: PlanSettings): RowPlan {
  const needs = needsOf(settings.metrics);
  const sharing = settings.sharing ?? FULL_SHARING;
  const rowOwner = String(row.index);
  const sources: Partial<Record<PerplexityMetric, SpanSource>> = {};
  const counts: Partial<Record<CountColumn, number>> = {};
  let truncated = false;
  let merged = false;
  const use = (layout: ConditionalLayout): ConditionalLayout => {
    truncated ||= layout.truncated;
    merged ||= layout.merged;
    return layout;
  };
  // A response sequence is also its sample's zero-shot sequence when others draw it as a partner.
  const source = (ids: Uint32Array, layout: SpanLayout, pass: Pass, owner = rowOwner): SpanSource =>
    layout.span === null ? { kind: "missing", reason: layout.reason } : { kind: "span", ref: pool.add(ids, layout.span, scopeOf(pass, owner, sharing), pass === "response") };

  if (texts.response !== undefined) {
    const response = encoder.conditional(texts.response);
    counts.prompt_tokens = response.boundary;
    if (needs.response) {
      use(response);
      sources.response_ppl = source(response.joint.ids, response.target, "response");
      counts.response_tokens = spanLength(response.target);
    } else {
      truncated ||= response.prompt.truncated;
    }
    if (needs.prompt) {
      // The prompt rides on the response pass when that pass starts with enc(P0): a causal model's
      // scores at those positions are then the same numbers.
      sources.prompt_ppl =
        sharing.sharedPasses && needs.response && !response.merged
          ? source(response.joint.ids, response.promptSpan, "response")
          : source(response.prompt.ids, response.promptSpan, "prompt");
    }
  }
  if (texts.output !== undefined) {
    const output = encoder.plain(texts.output);
    truncated ||= output.truncated;
    sources.output_ppl = source(output.ids, wholeLayout(output, texts.output), "output");
    counts.output_tokens = output.ids.length;
  }
  if (texts.instruction !== undefined) {
    const instruction = encoder.plain(texts.instruction);
    truncated ||= instruction.truncated;
    sources.instruction_ppl = source(instruction.ids, wholeLayout(instruction, texts.instruction), "instruction");
    counts.instruction_tokens = instruction.ids.length;
  }
  if (texts.reverse !== undefined) {
    const reverse = use(encoder.conditional(texts.reverse));
    sources.reverse_response_ppl = source(reverse.joint.ids, reverse.target, "reverse");
    counts.reverse_response_tokens = spanLength(reverse.target);
  }
  const oneshot = texts.oneshot?.map(({ label, anchor, zeroShot, oneShot }): OneshotPlan => {
    const zero = use(encoder.conditional(zeroShot));
    const one = use(encoder.conditional(oneShot));
    const partnerOwner = anchor ? `a${label}` : String(label);
    const comparisonOwner = `${rowOwner}>${partnerOwner}`;
    if (!sharing.sharedPasses) {
      return { label, zeroShot: source(zero.joint.ids, zero.target, "oneshot-zero", comparisonOwner), oneShot: source(one.joint.ids, one.target, "oneshot-one", comparisonOwner) };
    }
    if (needs.prompt && needs.response && !zero.merged) {
      // Ask for the partner's response sequence with exactly the spans the partner's own row asks for,
      // so a window that scores it for the partner fills the cache for the partner's own window too.
      source(zero.joint.ids, zero.promptSpan, "response", partnerOwner);
    }
    return { label, zeroShot: source(zero.joint.ids, zero.target, "response", partnerOwner), oneShot: source(one.joint.ids, one.target, "oneshot-one", comparisonOwner) };
  });
  return {
    index: row.index,
    ...(row.sample.id === undefined ? {} : { id: row.sample.id }),
    sources,
    ...(oneshot === undefined ? {} : { oneshot }),
    counts,
    truncated,
    boundaryMerged: merged,
  };
}

function spanLength(layout: SpanLayout): number {
  return layout.span === null ? 0 : layout.span.end - layout.span.start;
}
