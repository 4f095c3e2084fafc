import { describe, expect, it } from "vitest";
import { type BatchItem, type BatchLimits, DEFAULT_BATCH_OVERHEAD_TOKENS, defaultLengthBucket, type PlannedBatch, planBatches, planFillRatio } from "./batcher.js";
import { randomInt, seededRandom } from "./test-support/seeded-random.js";

function randomItems(random: () => number): BatchItem[] {
  const count = randomInt(random, 0, 200);
  // A mix of short and long sequences, with repeated lengths so the tie-break is exercised.
  const maxLength = random() < 0.5 ? 64 : 4096;
  return Array.from({ length: count }, (_, index) => {
    const length = randomInt(random, 0, maxLength);
    return { index, length, scoredCount: randomInt(random, 0, Math.max(length - 1, 0)) };
  });
}

function randomLimits(random: () => number): BatchLimits {
  return {
    maxBatchTokens: randomInt(random, 16, 16_384),
    maxBatchSize: randomInt(random, 1, 80),
    maxScoredTokens: random() < 0.2 ? Infinity : randomInt(random, 1, 8192),
    ...(random() < 0.5 ? {} : { maxAttentionCells: randomInt(random, 256, 4096 * 4096) }),
  };
}

const LIMITS: BatchLimits = { maxBatchTokens: 8192, maxBatchSize: 64, maxScoredTokens: 4096 };

describe("defaultLengthBucket", () => {
  it("rounds up to multiples of 16 up to 128, then to eighths of the enclosing power of two", () => {
    const cases: [number, number][] = [
      [0, 16], [1, 16], [16, 16], [17, 32], [100, 112], [128, 128],
      [129, 144], [256, 256], [257, 288], [512, 512], [513, 576], [1000, 1024],
      [2049, 2304], [4095, 4096], [4096, 4096], [4097, 4608],
    ];
    for (const [length, padded] of cases) expect(defaultLengthBucket(length), `length ${length}`).toBe(padded);
  });

  // Checked over every length; failures are collected so the loops stay fast.
  it("never pads below the length and never decreases as the length grows", () => {
    const failures: number[] = [];
    let previous = 0;
    for (let length = 0; length <= 70_000; length++) {
      const padded = defaultLengthBucket(length);
      if (padded < length || padded < previous) failures.push(length);
      previous = padded;
    }
    expect(failures).toEqual([]);
  });

  it("wastes at most 15 tokens up to 128 and under one eighth of the length above", () => {
    const failures: number[] = [];
    let worstPaddedShare = 0;
    for (let length = 1; length <= 70_000; length++) {
      const waste = defaultLengthBucket(length) - length;
      if (length <= 128 ? waste > 15 : waste >= length / 8) failures.push(length);
      if (length > 128) worstPaddedShare = Math.max(worstPaddedShare, waste / (length + waste));
    }
    expect(failures).toEqual([]);
    expect(worstPaddedShare).toBeLessThanOrEqual(1 / 9);
    // The bound is tight: just past a power of two the waste is close to a ninth of the padded row.
    expect(worstPaddedShare).toBeGreaterThan(0.11);
  });

  it("maps lengths 1..4096 to 48 shapes, 8 more per doubling", () => {
    const shapes = (maxLength: number) =>
      new Set(Array.from({ length: maxLength }, (_, k) => defaultLengthBucket(k + 1))).size;
    expect(shapes(4096)).toBe(48);
    expect(shapes(8192)).toBe(56);
  });

  it("rejects negative and fractional lengths", () => {
    expect(() => defaultLengthBucket(-1)).toThrow(/non-negative integer/);
    expect(() => defaultLengthBucket(2.5)).toThrow(/non-negative integer/);
  });
});

describe("planBatches", () => {
  it("respects every limit, places every item exactly once, longest first, over random inputs", () => {
    const random = seededRandom(20240611);
    for (let trial = 0; trial < 500; trial++) {
      const items = randomItems(random);
      const limits = randomLimits(random);
      const batches = planBatches(items, limits);
      const context = `trial ${trial}`;

      const planned = batches.flatMap((batch) => batch.items);
      expect(planned.map((item) => item.index).sort((a, b) => a - b), context).toEqual(items.map((item) => item.index));
      const expectedOrder = [...items].sort((a, b) => b.length - a.length || a.index - b.index);
      expect(planned, context).toEqual(expectedOrder);

      for (const batch of batches) {
        expect(batch.items.length, context).toBeGreaterThan(0);
        expect(batch.paddedLength, context).toBe(Math.max(...batch.items.map((item) => defaultLengthBucket(item.length))));
        // A batch of one may exceed a limit (it is never dropped); any larger batch may not.
        if (batch.items.length > 1) {
          expect(batch.items.length, context).toBeLessThanOrEqual(limits.maxBatchSize);
          expect(batch.items.length * batch.paddedLength, context).toBeLessThanOrEqual(limits.maxBatchTokens);
          const scored = batch.items.reduce((total, item) => total + item.scoredCount, 0);
          expect(scored, context).toBeLessThanOrEqual(limits.maxScoredTokens);
          expect(batch.items.length * batch.paddedLength ** 2, context).toBeLessThanOrEqual(limits.maxAttentionCells ?? Infinity);
        }
      }
    }
  });

  it("costs no more than greedy packing in padded tokens plus per-run overhead", () => {
    const random = seededRandom(7);
    const cost = (batches: PlannedBatch[]) => batches.reduce((total, b) => total + b.items.length * b.paddedLength + DEFAULT_BATCH_OVERHEAD_TOKENS, 0);
    for (let trial = 0; trial < 300; trial++) {
      const limits = randomLimits(random);
      const items = randomItems(random);
      expect(cost(planBatches(items, limits)), `trial ${trial}`).toBeLessThanOrEqual(cost(greedyPlan(items, limits)));
    }
  });

  it("keeps short rows out of batches padded for long ones (fill ≥ 0.9 on mixed lengths)", () => {
    // Lengths like prompt + response sequences of instruction data: 49–383 tokens.
    const random = seededRandom(11);
    const items = Array.from({ length: 60 }, (_, index) => ({ index, length: randomInt(random, 49, 383), scoredCount: 20 }));
    const limits = { maxBatchTokens: 8192, maxBatchSize: 64, maxScoredTokens: 1766 };
    expect(planFillRatio(greedyPlan(items, limits))).toBeLessThan(0.8);
    expect(planFillRatio(planBatches(items, limits))).toBeGreaterThanOrEqual(0.9);
  });

  it("puts the longest items first and breaks length ties by ascending index", () => {
    const items: BatchItem[] = [
      { index: 0, length: 10, scoredCount: 9 },
      { index: 1, length: 300, scoredCount: 299 },
      { index: 2, length: 10, scoredCount: 9 },
      { index: 3, length: 50, scoredCount: 49 },
      { index: 4, length: 300, scoredCount: 299 },
    ];
    const batches = planBatches(items, { ...LIMITS, maxBatchSize: 2 });
    // The two 10-token rows share a run rather than padding one of them to 64 next to the 50-token row.
    expect(batches.map((batch) => batch.items.map((item) => item.index))).toEqual([[1, 4], [3], [0, 2]]);
    expect(batches.map((batch) => batch.paddedLength)).toEqual([320, 64, 16]);
  });

  it("gives the same plan whatever the input order", () => {
    const random = seededRandom(99);
    const items = randomItems(random);
    const shuffled = [...items];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = randomInt(random, 0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    expect(planBatches(shuffled, LIMITS)).toEqual(planBatches(items, LIMITS));
  });

  it("gives an item over the token budget a batch of its own", () => {
    const items: BatchItem[] = [
      { index: 0, length: 100, scoredCount: 10 },
      { index: 1, length: 20_000, scoredCount: 10 },
      { index: 2, length: 100, scoredCount: 10 },
    ];
    const batches = planBatches(items, LIMITS);
    expect(batches.map((batch) => batch.items.map((item) => item.index))).toEqual([[1], [0, 2]]);
    expect(batches[0].paddedLength).toBe(defaultLengthBucket(20_000));
  });

  it("gives an item over the scored-token limit a batch of its own, and keeps packing after it", () => {
    const items: BatchItem[] = [
      { index: 0, length: 400, scoredCount: 150 },
      { index: 1, length: 500, scoredCount: 499 },
      { index: 2, length: 450, scoredCount: 100 },
      { index: 3, length: 300, scoredCount: 100 },
    ];
    const batches = planBatches(items, { ...LIMITS, maxScoredTokens: 250 });
    expect(batches.map((batch) => batch.items.map((item) => item.index))).toEqual([[1], [2, 0], [3]]);
  });

  it("splits long rows by the attention budget while short rows still fill the token budget", () => {
    // The tiny fixture model's default: one 2048-token row's attention per run (4 heads, 64 MiB).
    const limits = { ...LIMITS, maxAttentionCells: 2048 * 2048 };
    const long = Array.from({ length: 4 }, (_, index) => ({ index, length: 2048, scoredCount: 100 }));
    const medium = Array.from({ length: 8 }, (_, i) => ({ index: 4 + i, length: 1024, scoredCount: 100 }));
    const short = Array.from({ length: 64 }, (_, i) => ({ index: 12 + i, length: 128, scoredCount: 10 }));
    const rows = (batches: PlannedBatch[]) => batches.map((batch) => `${batch.items.length}x${batch.paddedLength}`);
    expect(rows(planBatches([...long, ...medium, ...short], limits))).toEqual(["1x2048", "1x2048", "1x2048", "1x2048", "4x1024", "4x1024", "64x128"]);
    // Without it the token budget alone packs 4 × 2048 and 8 × 1024.
    expect(rows(planBatches([...long, ...medium, ...short], LIMITS))).toEqual(["4x2048", "8x1024", "64x128"]);
  });

  it("plans one row per batch when maxBatchSize is 1", () => {
    const items = Array.from({ length: 5 }, (_, index) => ({ index, length: 8, scoredCount: 7 }));
    expect(planBatches(items, { ...LIMITS, maxBatchSize: 1 })).toHaveLength(5);
  });

  it("returns no batches for no items", () => {
    expect(planBatches([], LIMITS)).toEqual([]);
  });

  it("uses a custom lengthBucket and rejects one that pads below the length", () => {
    const items: BatchItem[] = [
      { index: 0, length: 37, scoredCount: 1 },
      { index: 1, length: 5, scoredCount: 1 },
    ];
    expect(planBatches(items, { ...LIMITS, lengthBucket: (length) => length })).toEqual([
      { items: [items[0], items[1]], paddedLength: 37 },
    ]);
    expect(() => planBatches(items, { ...LIMITS, lengthBucket: (length) => length - 1 })).toThrow(
      /lengthBucket\(37\) returned 36/,
    );
  });

  it("rejects limits that are not positive integers, and accepts Infinity", () => {
    const items: BatchItem[] = [{ index: 0, length: 4, scoredCount: 3 }];
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => planBatches(items, { ...LIMITS, maxBatchTokens: bad })).toThrow(/maxBatchTokens must be a positive integer/);
      expect(() => planBatches(items, { ...LIMITS, maxBatchSize: bad })).toThrow(/maxBatchSize/);
      expect(() => planBatches(items, { ...LIMITS, maxScoredTokens: bad })).toThrow(/maxScoredTokens/);
      expect(() => planBatches(items, { ...LIMITS, maxAttentionCells: bad })).toThrow(/maxAttentionCells/);
    }
    expect(planBatches(items, { maxBatchTokens: Infinity, maxBatchSize: Infinity, maxScoredTokens: Infinity })).toHaveLength(1);
  });

  it("rejects items with negative or fractional lengths and scored counts", () => {
    expect(() => planBatches([{ index: 3, length: -2, scoredCount: 0 }], LIMITS)).toThrow(/item 3: length/);
    expect(() => planBatches([{ index: 4, length: 8, scoredCount: 0.5 }], LIMITS)).toThrow(/item 4: scoredCount/);
  });
});

describe("planFillRatio", () => {
  it("is real tokens over padded tokens across the plan", () => {
    const batches = [
      { items: [{ index: 0, length: 16, scoredCount: 0 }, { index: 1, length: 8, scoredCount: 0 }], paddedLength: 16 },
      { items: [{ index: 2, length: 4, scoredCount: 0 }], paddedLength: 16 },
    ];
    expect(planFillRatio(batches)).toBe(28 / 48);
  });

  it("is 1 for an empty plan rather than NaN", () => {
    expect(planFillRatio([])).toBe(1);
  });

  it("stays above 7/8 for many random sequences longer than 128 tokens", () => {
    const random = seededRandom(5);
    const items = Array.from({ length: 2000 }, (_, index) => {
      const length = randomInt(random, 129, 4096);
      return { index, length, scoredCount: length - 1 };
    });
    expect(planFillRatio(planBatches(items, { ...LIMITS, maxScoredTokens: Infinity }))).toBeGreaterThan(7 / 8);
  });
});

/** Greedy longest-first packing up to the limits: the baseline the planner must not do worse than. */
function greedyPlan(items: readonly BatchItem[], limits: BatchLimits): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  let current: BatchItem[] = [];
  let paddedLength = 0;
  let scored = 0;
  for (const item of [...items].sort((a, b) => b.length - a.length || a.index - b.index)) {
    const padded = Math.max(paddedLength, defaultLengthBucket(item.length));
    const fits =
      current.length === 0 ||
      ((current.length + 1) * padded <= limits.maxBatchTokens &&
        current.length + 1 <= limits.maxBatchSize &&
        scored + item.scoredCount <= limits.maxScoredTokens &&
        (current.length + 1) * padded ** 2 <= (limits.maxAttentionCells ?? Infinity));
    if (!fits) {
      batches.push({ items: current, paddedLength });
      current = [];
      scored = 0;
    }
    paddedLength = current.length === 0 ? defaultLengthBucket(item.length) : padded;
    current.push(item);
    scored += item.scoredCount;
  }
  if (current.length > 0) batches.push({ items: current, paddedLength });
  return batches;
}
