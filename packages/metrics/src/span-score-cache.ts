import { createHash } from "node:crypto";
import type { Span, SpanScore } from "./scorer.js";

/**
 * Span scores of sequences kept across windows, least recently used first out, bounded by a number
 * of sequences. A long run fills it by one sequence per sample, so it lives in typed arrays
 * allocated once (about 70 bytes a sequence) instead of the JavaScript heap: with a `Map` of keys
 * and number arrays the same 131,072 entries took about 200 bytes each, and the heap that V8 grew
 * around them made the CLI's resident memory climb for the whole of a 100,000-row run.
 */
export interface SpanScoreCache {
  /**
   * The cached score of each of `spans` of the sequence `key` (undefined where not cached), and
   * marks the sequence most recently used.
   */
  get(key: string, spans: readonly Span[]): (SpanScore | undefined)[];
  /**
   * Adds the scores of `spans` of the sequence `key` (`scores[i]` for `spans[i]`; undefined ones are
   * skipped) to what the cache holds for it, evicting the least recently used sequence when full.
   * A sequence keeps at most {@link SPANS_PER_SEQUENCE} spans; further ones are not kept.
   */
  set(key: string, spans: readonly Span[], scores: readonly (SpanScore | undefined)[]): void;
  /** Sequences held. */
  readonly size: number;
  /** Sequences it can hold. */
  readonly capacity: number;
}

/**
 * Spans kept per sequence: a response sequence carries the response span and the prompt span that
 * rides on it, and these are the sequences later windows ask for again.
 */
export const SPANS_PER_SEQUENCE = 2;

/** Words of a key's fingerprint: 128 bits of its SHA-256. */
const FINGERPRINT_WORDS = 4;
const NONE = -1;

/**
 * Creates an empty cache for `capacity` sequences (0 turns it off). Keys are kept as 128-bit
 * fingerprints (SHA-256 of the key): two keys colliding among a few hundred thousand has a
 * probability below 1e-27.
 */
export function createSpanScoreCache(capacity: number): SpanScoreCache {
  if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`span score cache: capacity must be a non-negative integer, got ${capacity}`);
  const fingerprints = new Uint32Array(capacity * FINGERPRINT_WORDS);
  const spanCounts = new Uint8Array(capacity);
  const bounds = new Uint32Array(capacity * SPANS_PER_SEQUENCE * 2);
  const sums = new Float64Array(capacity * SPANS_PER_SEQUENCE);
  // Recency list through entry numbers: `older`/`newer` links, `oldest` evicted first.
  const older = new Int32Array(capacity);
  const newer = new Int32Array(capacity);
  let oldest = NONE;
  let newest = NONE;
  // Open addressing with linear probing over at least twice the capacity, so probes stay short.
  const mask = tableSizeFor(capacity) - 1;
  const table = new Int32Array(mask + 1).fill(NONE);
  let size = 0;
  const probe = new Uint32Array(FINGERPRINT_WORDS);

  const fingerprintOf = (key: string): Uint32Array => {
    const digest = createHash("sha256").update(key).digest();
    for (let w = 0; w < FINGERPRINT_WORDS; w++) probe[w] = digest.readUInt32LE(w * 4);
    return probe;
  };
  const matches = (entry: number, fingerprint: Uint32Array): boolean => {
    for (let w = 0; w < FINGERPRINT_WORDS; w++) if (fingerprints[entry * FINGERPRINT_WORDS + w] !== fingerprint[w]) return false;
    return true;
  };
  const homeOf = (entry: number): number => fingerprints[entry * FINGERPRINT_WORDS] & mask;
  /** The table slot holding `fingerprint`, or the empty slot where it would go. */
  const slotOf = (fingerprint: Uint32Array): number => {
    let slot = fingerprint[0] & mask;
    while (table[slot] !== NONE && !matches(table[slot], fingerprint)) slot = (slot + 1) & mask;
    return slot;
  };
  const unlink = (entry: number): void => {
    if (older[entry] === NONE) oldest = newer[entry];
    else newer[older[entry]] = newer[entry];
    if (newer[entry] === NONE) newest = older[entry];
    else older[newer[entry]] = older[entry];
  };
  const linkNewest = (entry: number): void => {
    older[entry] = newest;
    newer[entry] = NONE;
    if (newest === NONE) oldest = entry;
    else newer[newest] = entry;
    newest = entry;
  };
  /** Empties `slot`, moving later entries of its probe run back so every entry stays reachable. */
  const removeSlot = (slot: number): void => {
    let hole = slot;
    let next = (hole + 1) & mask;
    while (table[next] !== NONE) {
      const home = homeOf(table[next]);
      // The entry may fill the hole unless its home lies cyclically in (hole, next].
      const homeAfterHole = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!homeAfterHole) {
        table[hole] = table[next];
        hole = next;
      }
      next = (next + 1) & mask;
    }
    table[hole] = NONE;
  };
  const spanIndexOf = (entry: number, span: Span): number => {
    for (let s = 0; s < spanCounts[entry]; s++) {
      const at = (entry * SPANS_PER_SEQUENCE + s) * 2;
      if (bounds[at] === span.start && bounds[at + 1] === span.end) return s;
    }
    return NONE;
  };

  return {
    get(key, spans) {
      const entry = capacity === 0 ? NONE : table[slotOf(fingerprintOf(key))];
      if (entry === NONE) return spans.map(() => undefined);
      unlink(entry);
      linkNewest(entry);
      return spans.map((span) => {
        const s = spanIndexOf(entry, span);
        return s === NONE ? undefined : { sumLogprob: sums[entry * SPANS_PER_SEQUENCE + s], count: span.end - span.start };
      });
    },
    set(key, spans, scores) {
      if (capacity === 0 || !scores.some((score) => score !== undefined)) return;
      const fingerprint = fingerprintOf(key);
      let slot = slotOf(fingerprint);
      let entry = table[slot];
      if (entry === NONE) {
        if (size < capacity) {
          entry = size++;
        } else {
          entry = oldest;
          unlink(entry);
          removeSlot(slotOf(fingerprints.subarray(entry * FINGERPRINT_WORDS, (entry + 1) * FINGERPRINT_WORDS)));
          slot = slotOf(fingerprint);
        }
        fingerprints.set(fingerprint, entry * FINGERPRINT_WORDS);
        spanCounts[entry] = 0;
        table[slot] = entry;
        linkNewest(entry);
      } else {
        unlink(entry);
        linkNewest(entry);
      }
      spans.forEach((span, i) => {
        const score = scores[i];
        if (score === undefined || spanCounts[entry] === SPANS_PER_SEQUENCE || spanIndexOf(entry, span) !== NONE) return;
        const s = spanCounts[entry]++;
        bounds[(entry * SPANS_PER_SEQUENCE + s) * 2] = span.start;
        bounds[(entry * SPANS_PER_SEQUENCE + s) * 2 + 1] = span.end;
        sums[entry * SPANS_PER_SEQUENCE + s] = score.sumLogprob;
      });
    },
    get size() {
      return size;
    },
    capacity,
  };
}

/** The smallest power of two at least twice `capacity` (and at least 2). */
function tableSizeFor(capacity: number): number {
  let size = 2;
  while (size < capacity * 2) size *= 2;
  return size;
}
