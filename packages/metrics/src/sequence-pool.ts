import { createHash } from "node:crypto";
import type { Span } from "./scorer.js";

/** A token sequence the plan sends to the scorer once, with every span any metric needs from it. */
export interface PlannedSequence {
  /**
   * Identity of the sequence: its scope, if any, and the SHA-256 of its token ids (base64url). Equal
   * keys mean equal token ids in the same scope.
   */
  readonly key: string;
  readonly tokenIds: Uint32Array;
  /** Distinct spans, in the order they were first asked for. */
  readonly spans: readonly Span[];
  /**
   * Whether later windows will ask for this sequence's spans again: a sample's response sequence is
   * also the zero-shot sequence of every sample that draws it as a one-shot partner, anywhere in the
   * input. Only such spans are worth keeping in the span-score cache.
   */
  readonly sharedAcrossWindows: boolean;
}

/** Where one requested span ended up: sequence `sequence` of the pool, its span number `span`. */
export interface SpanRef {
  readonly sequence: number;
  readonly span: number;
}

/**
 * Deduplicates sequences by their token ids and merges their spans: asking twice for the same ids
 * (repeated instructions, duplicated rows, a partner's zero-shot sequence that is also its response
 * sequence) yields one sequence; asking twice for the same span of it yields one span.
 */
export interface SequencePool {
  /**
   * Registers `span` of the sequence `tokenIds` and says where its score will be. Sequences merge
   * only within one `scope` (default `""`): the plan uses scopes to keep passes apart when sharing
   * or dedup is turned off. `sharedAcrossWindows` marks the sequence so (see {@link PlannedSequence}).
   */
  add(tokenIds: Uint32Array, span: Span, scope?: string, sharedAcrossWindows?: boolean): SpanRef;
  readonly sequences: readonly PlannedSequence[];
}

/** Creates an empty {@link SequencePool}. */
export function createSequencePool(): SequencePool {
  const sequences: { key: string; tokenIds: Uint32Array; spans: Span[]; sharedAcrossWindows: boolean }[] = [];
  const byKey = new Map<string, number>();
  // Encodings come from the tokenizer's cache, so the same array is added many times (a partner's
  // response sequence, repeated prompts): hash each array once.
  const keys = new WeakMap<Uint32Array, string>();
  return {
    add(tokenIds, span, scope = "", sharedAcrossWindows = false) {
      let hash = keys.get(tokenIds);
      if (hash === undefined) {
        hash = sequenceKeyOf(tokenIds);
        keys.set(tokenIds, hash);
      }
      // Hashes are 43 characters without "/", so a scoped key never equals another scope's or an unscoped one.
      const key = scope === "" ? hash : `${scope}/${hash}`;
      let sequence = byKey.get(key);
      if (sequence === undefined) {
        sequence = sequences.length;
        sequences.push({ key, tokenIds, spans: [], sharedAcrossWindows });
        byKey.set(key, sequence);
      }
      sequences[sequence].sharedAcrossWindows ||= sharedAcrossWindows;
      const spans = sequences[sequence].spans;
      let spanIndex = spans.findIndex((s) => s.start === span.start && s.end === span.end);
      if (spanIndex < 0) {
        spanIndex = spans.length;
        spans.push({ start: span.start, end: span.end });
      }
      return { sequence, span: spanIndex };
    },
    sequences,
  };
}

/**
 * A key for token ids: SHA-256 of their little-endian uint32 bytes, so keys stay 43 characters
 * however long the sequence (memory for dedup and the score cache does not grow with length).
 */
export function sequenceKeyOf(tokenIds: Uint32Array): string {
  const bytes = new Uint8Array(tokenIds.buffer, tokenIds.byteOffset, tokenIds.byteLength);
  return createHash("sha256").update(bytes).digest("base64url");
}
