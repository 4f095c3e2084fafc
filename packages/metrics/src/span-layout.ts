/**
 * Where the scored positions of a metric lie in its token sequence (DESIGN.md §1). Pure functions of
 * encodings, so every boundary rule is unit-tested without a model.
 */
import type { NullReason } from "./metric-row.js";
import type { Span } from "./scorer.js";
import type { Encoding } from "./tokenization.js";

/** A span to score, or why there is none. */
export type SpanLayout = { readonly span: Span } | { readonly span: null; readonly reason: NullReason };

/** `enc(prompt + target)` laid out against `enc(prompt)`, the seed's way. */
export interface ConditionalLayout {
  /** `enc(prompt + target)`. */
  readonly joint: Encoding;
  /** `enc(prompt)`. */
  readonly prompt: Encoding;
  /** The boundary `k = len(enc(prompt))`, as in the seed and Cherry LLM. */
  readonly boundary: number;
  /** The target's positions `[max(k, 1), n)` of the joint sequence. */
  readonly target: SpanLayout;
  /** The prompt's positions `[1, k)`; they are the joint sequence's when not {@link merged}. */
  readonly promptSpan: SpanLayout;
  /**
   * `enc(prompt + target)` does not start with `enc(prompt)`: tokens merged across the boundary. The
   * target span is still `[k, n)` (the seed's way); the prompt's own score then needs `enc(prompt)`.
   */
  readonly merged: boolean;
  /** Either encoding was truncated. */
  readonly truncated: boolean;
}

/**
 * Lays out a conditional perplexity: the target is scored at `[max(k, 1), n)` of `joint`. An empty
 * span is `truncated-away` when the joint sequence was truncated and the target text is not empty,
 * else `no-scored-tokens`.
 */
export function conditionalLayout(prompt: Encoding, joint: Encoding, targetText: string): ConditionalLayout {
  const boundary = prompt.ids.length;
  const n = joint.ids.length;
  const start = Math.max(boundary, 1);
  const target: SpanLayout =
    start < n
      ? { span: { start, end: n } }
      : { span: null, reason: joint.truncated && targetText !== "" ? "truncated-away" : "no-scored-tokens" };
  return {
    joint,
    prompt,
    boundary,
    target,
    // A prompt cut to one token by truncation cannot happen: maxLength exceeds the special tokens.
    promptSpan: boundary > 1 ? { span: { start: 1, end: boundary } } : { span: null, reason: "no-scored-tokens" },
    merged: !startsWith(joint.ids, prompt.ids),
    truncated: joint.truncated || prompt.truncated,
  };
}

/**
 * Lays out the perplexity of a whole text: positions `[1, n)` of `enc(text)` (token 0 is never
 * scored). Empty when `n ≤ 1`: `truncated-away` if truncation cut a non-empty text, else
 * `no-scored-tokens` (empty text, or one token and no BOS).
 */
export function wholeLayout(encoding: Encoding, text: string): SpanLayout {
  const n = encoding.ids.length;
  if (n > 1) return { span: { start: 1, end: n } };
  return { span: null, reason: encoding.truncated && text !== "" ? "truncated-away" : "no-scored-tokens" };
}

/** Whether `ids` begins with every id of `prefix`. */
export function startsWith(ids: Uint32Array, prefix: Uint32Array): boolean {
  if (prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}
