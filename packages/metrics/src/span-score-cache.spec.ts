import { describe, expect, it } from "vitest";
import type { Span, SpanScore } from "./scorer.js";
import { createSpanScoreCache, SPANS_PER_SEQUENCE } from "./span-score-cache.js";

const span = (start: number, end: number): Span => ({ start, end });
const score = (sumLogprob: number, s: Span): SpanScore => ({ sumLogprob, count: s.end - s.start });

/** The behaviour the cache must have, written the plain way: a Map in recency order. */
function referenceCache(capacity: number) {
  const entries = new Map<string, Map<string, number>>();
  return {
    get(key: string, spans: readonly Span[]): (SpanScore | undefined)[] {
      const entry = entries.get(key);
      if (entry !== undefined) {
        entries.delete(key);
        entries.set(key, entry);
      }
      return spans.map((s) => {
        const sum = entry?.get(`${s.start}:${s.end}`);
        return sum === undefined ? undefined : score(sum, s);
      });
    },
    set(key: string, spans: readonly Span[], scores: readonly (SpanScore | undefined)[]): void {
      if (capacity === 0 || scores.every((s) => s === undefined)) return;
      const entry = entries.get(key) ?? new Map<string, number>();
      entries.delete(key);
      entries.set(key, entry);
      spans.forEach((s, i) => {
        const known = scores[i];
        const spanKey = `${s.start}:${s.end}`;
        if (known !== undefined && entry.size < SPANS_PER_SEQUENCE && !entry.has(spanKey)) entry.set(spanKey, known.sumLogprob);
      });
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
  };
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function randomOf(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("createSpanScoreCache", () => {
  it("returns what was set, per span, and undefined for spans or keys it does not hold", () => {
    const cache = createSpanScoreCache(4);
    const [a, b, c] = [span(1, 5), span(5, 9), span(2, 3)];
    cache.set("seq", [a, b], [score(-1.5, a), undefined]);
    expect(cache.get("seq", [a, b])).toEqual([{ sumLogprob: -1.5, count: 4 }, undefined]);
    cache.set("seq", [b, c], [score(-2.25, b), score(-0.5, c)]);
    // The second span joined the entry; a third does not fit.
    expect(cache.get("seq", [c, b, a])).toEqual([undefined, { sumLogprob: -2.25, count: 4 }, { sumLogprob: -1.5, count: 4 }]);
    expect(cache.get("other", [a])).toEqual([undefined]);
    expect(cache.size).toBe(1);
  });

  it("keeps a span's first score: a sequence's scores do not change", () => {
    const cache = createSpanScoreCache(2);
    const a = span(1, 4);
    cache.set("seq", [a], [score(-3, a)]);
    cache.set("seq", [a], [score(-7, a)]);
    expect(cache.get("seq", [a])).toEqual([{ sumLogprob: -3, count: 3 }]);
  });

  it("evicts the least recently used sequence, a get counting as a use", () => {
    const cache = createSpanScoreCache(2);
    const a = span(1, 2);
    cache.set("x", [a], [score(-1, a)]);
    cache.set("y", [a], [score(-2, a)]);
    cache.get("x", [a]);
    cache.set("z", [a], [score(-3, a)]);
    expect(cache.get("y", [a])).toEqual([undefined]);
    expect(cache.get("x", [a])).toEqual([{ sumLogprob: -1, count: 1 }]);
    expect(cache.get("z", [a])).toEqual([{ sumLogprob: -3, count: 1 }]);
    expect(cache.size).toBe(2);
  });

  it("stores nothing with capacity 0, and nothing for a set without any score", () => {
    const a = span(1, 2);
    const off = createSpanScoreCache(0);
    off.set("x", [a], [score(-1, a)]);
    expect(off.get("x", [a])).toEqual([undefined]);
    const cache = createSpanScoreCache(1);
    cache.set("x", [a], [undefined]);
    expect(cache.size).toBe(0);
  });

  it("rejects a capacity that is not a non-negative integer", () => {
    expect(() => createSpanScoreCache(-1)).toThrow(/non-negative integer, got -1/);
    expect(() => createSpanScoreCache(1.5)).toThrow(/non-negative integer, got 1.5/);
  });

  it.each([1, 3, 16, 100])("behaves like a Map in recency order over 20,000 random operations (capacity %i)", (capacity) => {
    const random = randomOf(capacity);
    const cache = createSpanScoreCache(capacity);
    const reference = referenceCache(capacity);
    // More keys than slots, so probe runs form, entries are evicted from their middle and moved back.
    const keys = Array.from({ length: capacity * 3 + 2 }, (_, i) => (i % 5 === 0 ? `pass@${i}/k` : `key-${i}`));
    const spans = [span(1, 3), span(3, 8), span(2, 8)];
    for (let op = 0; op < 20_000; op++) {
      const key = keys[Math.floor(random() * keys.length)];
      const chosen = spans.filter(() => random() < 0.6);
      if (random() < 0.5) {
        expect(cache.get(key, chosen), `op ${op}: get ${key}`).toEqual(reference.get(key, chosen));
      } else {
        const scores = chosen.map((s) => (random() < 0.8 ? score(-Math.floor(random() * 1000) / 8, s) : undefined));
        cache.set(key, chosen, scores);
        reference.set(key, chosen, scores);
      }
      expect(cache.size).toBe(reference.size);
    }
    for (const key of keys) expect(cache.get(key, spans), key).toEqual(reference.get(key, spans));
  });
});
