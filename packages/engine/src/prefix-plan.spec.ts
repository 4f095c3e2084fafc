import { describe, expect, it } from "vitest";
import { countAtMost, pastFor, planPrefixes, type PrefixCandidate, type PrefixPlan, type PrefixPlanSettings, type PrefixSource } from "./prefix-plan.js";
import { randomInt, seededRandom } from "./test-support/seeded-random.js";

const SETTINGS: PrefixPlanSettings = { minNewTokens: 4, newPrefixCostTokens: 2, maxNewLevels: 2, scoredRowCostTokens: 1 };

/** By default a sequence scores the one position after its shareable part: no scores to share. */
const candidate = (tokens: number[], shareable = tokens.length - 1, cachedLengths: number[] = [], scored = [shareable + 1]): PrefixCandidate => ({
  tokens: Uint32Array.from(tokens),
  shareable,
  scored: Uint32Array.from(scored),
  cachedLengths,
});

/** The least first scored position of the candidates a prefix serves (those that start with it within their shareable part). */
function minScoredUnder(candidates: readonly PrefixCandidate[], tokens: ArrayLike<number>, length: number): number {
  const served = candidates.filter((c) => length <= c.shareable && Array.from({ length }, (_, i) => i).every((i) => c.tokens[i] === tokens[i]));
  return Math.min(...served.map((c) => c.scored[0]));
}

/** A computed prefix's cost, counted from the rules: its run over its parent's past, and the positions it scores. */
function prefixWork(length: number, parentLength: number, minScored: number, settings: PrefixPlanSettings): number {
  const from = pastFor(parentLength, minScored);
  return length - from + settings.newPrefixCostTokens + settings.scoredRowCostTokens * Math.max(0, length - Math.max(minScored, from + 1));
}

/** A sequence's cost on top of a past of `length` tokens: the tokens it runs and the positions it still scores. */
function sequenceWork(c: PrefixCandidate, length: number, settings: PrefixPlanSettings): number {
  const from = pastFor(length, c.scored[0]);
  return c.tokens.length - from + settings.scoredRowCostTokens * (c.scored.length - countAtMost(c.scored, from));
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** Length of the past a source gives. */
function lengthOf(plan: PrefixPlan, source: PrefixSource): number {
  return source.kind === "none" ? 0 : source.kind === "cached" ? source.length : plan.newPrefixes[source.index].length;
}

/** The tokens a source stands for, read from the candidate it names. */
function tokensOf(plan: PrefixPlan, candidates: readonly PrefixCandidate[], source: PrefixSource): number[] {
  if (source.kind === "none") return [];
  const { candidate: c, length } = source.kind === "cached" ? source : plan.newPrefixes[source.index];
  return Array.from(candidates[c].tokens.slice(0, length));
}

/**
 * Checks that a plan is valid — every source is a prefix of what uses it, within what may be shared,
 * chains parents first and at most `maxNewLevels` deep — and returns its cost, counted independently.
 */
function checkedCost(plan: PrefixPlan, candidates: readonly PrefixCandidate[], settings: PrefixPlanSettings): number {
  const isPrefix = (short: number[], long: ArrayLike<number>) => short.every((token, i) => long[i] === token);
  let cost = 0;
  plan.newPrefixes.forEach((prefix, index) => {
    const own = tokensOf(plan, candidates, { kind: "new", index });
    expect(isPrefix(tokensOf(plan, candidates, prefix.parent), own)).toBe(true);
    if (prefix.parent.kind === "new") expect(prefix.parent.index).toBeLessThan(index);
    const parentLength = lengthOf(plan, prefix.parent);
    expect(prefix.length - parentLength).toBeGreaterThanOrEqual(settings.minNewTokens);
    let depth = 1;
    for (let p = prefix.parent; p.kind === "new"; p = plan.newPrefixes[p.index].parent) depth++;
    expect(depth).toBeLessThanOrEqual(settings.maxNewLevels);
    const minScored = minScoredUnder(candidates, own, own.length);
    expect(prefix.scoreFrom).toBe(Math.min(minScored, prefix.length));
    cost += prefixWork(prefix.length, parentLength, minScored, settings);
  });
  plan.sources.forEach((source, c) => {
    const length = lengthOf(plan, source);
    expect(length).toBeLessThanOrEqual(candidates[c].shareable);
    expect(isPrefix(tokensOf(plan, candidates, source), candidates[c].tokens)).toBe(true);
    if (source.kind === "cached") expect(candidates[source.candidate].cachedLengths).toContain(source.length);
    // A prefix that holds scores the sequence needs holds all of them.
    if (source.kind === "new" && length >= candidates[c].scored[0]) expect(plan.newPrefixes[source.index].scoreFrom).toBeLessThanOrEqual(candidates[c].scored[0]);
    cost += sequenceWork(candidates[c], length, settings);
  });
  return cost;
}

/**
 * The least cost by brute force: every set of prefixes (distinct `tokens[0, d)` of the candidates,
 * within their shareable parts) is tried as the set to compute; each sequence and each computed
 * prefix then starts from the longest computed or cached prefix of it.
 */
function bruteForceCost(candidates: readonly PrefixCandidate[], settings: PrefixPlanSettings): number | undefined {
  const keyOf = (tokens: ArrayLike<number>, length: number) => Array.from(tokens).slice(0, length).join(",");
  const prefixes = new Map<string, number>();
  const cached = new Set<string>();
  for (const c of candidates) {
    for (let d = 1; d <= c.shareable; d++) prefixes.set(keyOf(c.tokens, d), d);
    for (const d of c.cachedLengths) cached.add(keyOf(c.tokens, d));
  }
  const options = [...prefixes.keys()].filter((key) => !cached.has(key));
  if (options.length > 14) return undefined;
  const users = (key: string) => candidates.filter((c) => keyOf(c.tokens, prefixes.get(key) ?? 0) === key && (prefixes.get(key) ?? 0) <= c.shareable).length;
  let best = Infinity;
  for (let mask = 0; mask < 1 << options.length; mask++) {
    const chosen = new Set(options.filter((_, i) => mask & (1 << i)));
    const available = (key: string) => chosen.has(key) || cached.has(key);
    // Longest available proper prefix of `tokens[0, limit]`, and its chain depth of computed prefixes.
    const source = (tokens: ArrayLike<number>, limit: number): { length: number; key?: string } => {
      for (let d = limit; d >= 1; d--) if (available(keyOf(tokens, d))) return { length: d, key: keyOf(tokens, d) };
      return { length: 0 };
    };
    const depthOf = (key: string): number => {
      if (!chosen.has(key)) return 0;
      const tokens = key.split(",").map(Number);
      const parent = source(tokens, tokens.length - 1);
      return 1 + (parent.key ? depthOf(parent.key) : 0);
    };
    let cost = 0;
    let valid = true;
    for (const key of chosen) {
      const tokens = key.split(",").map(Number);
      const parent = source(tokens, tokens.length - 1);
      if (tokens.length - parent.length < settings.minNewTokens || users(key) < 2 || depthOf(key) > settings.maxNewLevels) valid = false;
      cost += prefixWork(tokens.length, parent.length, minScoredUnder(candidates, tokens, tokens.length), settings);
    }
    if (!valid) continue;
    for (const c of candidates) cost += sequenceWork(c, source(c.tokens, c.shareable).length, settings);
    best = Math.min(best, cost);
  }
  return best;
}

describe("planPrefixes", () => {
  it("computes a prefix three sequences share once", () => {
    const shared = range(100, 20);
    const candidates = [0, 1, 2].map((i) => candidate([...shared, 200 + i, 300 + i, 400 + i]));
    const plan = planPrefixes(candidates, SETTINGS);
    expect(plan.newPrefixes).toEqual([{ candidate: expect.any(Number), length: 20, parent: { kind: "none" }, scoreFrom: 20 }]);
    expect(plan.sources).toEqual([0, 1, 2].map(() => ({ kind: "new", index: 0 })));
    // Each sequence runs its 3 last tokens and scores its one position.
    expect(plan.cost).toBe(20 + SETTINGS.newPrefixCostTokens + 3 * (3 + 1));
    expect(checkedCost(plan, candidates, SETTINGS)).toBe(plan.cost);
  });

  it("never shares past a sequence's shareable tokens, nor a prefix too short to pay for its run", () => {
    const shared = range(100, 20);
    const capped = [candidate([...shared, 1, 2], 6), candidate([...shared, 3, 4], 6)];
    const plan = planPrefixes(capped, SETTINGS);
    expect(plan.newPrefixes.map((p) => p.length)).toEqual([6]);
    const short = planPrefixes([candidate([1, 2, 3, 9]), candidate([1, 2, 3, 8])], SETTINGS);
    expect(short.newPrefixes).toEqual([]);
    expect(short.sources).toEqual([{ kind: "none" }, { kind: "none" }]);
    // A single sequence shares with nothing.
    expect(planPrefixes([candidate(range(0, 50))], SETTINGS).newPrefixes).toEqual([]);
  });

  it("uses a cached prefix at no cost and computes a new one on top of it", () => {
    const preamble = range(100, 10);
    const example = range(500, 10);
    const candidates = [0, 1].map((i) => candidate([...preamble, ...example, 900 + i, 950], 21, [10]));
    candidates.push(candidate([...preamble, 7, 7, 7], 12, [10]));
    const plan = planPrefixes(candidates, SETTINGS);
    expect(plan.newPrefixes).toEqual([{ candidate: expect.any(Number), length: 20, parent: { kind: "cached", candidate: expect.any(Number), length: 10 }, scoreFrom: 20 }]);
    expect(plan.sources[2]).toEqual({ kind: "cached", candidate: expect.any(Number), length: 10 });
    expect(checkedCost(plan, candidates, SETTINGS)).toBe(plan.cost);
  });

  it("chains a shared preamble and per-example prefixes, at most maxNewLevels deep", () => {
    const preamble = range(100, 12);
    const candidates: PrefixCandidate[] = [];
    for (const example of [range(300, 12), range(400, 12), range(500, 12)]) {
      for (const partner of [1, 2, 3]) candidates.push(candidate([...preamble, ...example, 800 + partner, 801, 802]));
    }
    const two = planPrefixes(candidates, SETTINGS);
    expect(two.newPrefixes.map((p) => [p.length, p.parent.kind])).toEqual(expect.arrayContaining([[12, "none"], [24, "new"], [24, "new"], [24, "new"]]));
    expect(checkedCost(two, candidates, SETTINGS)).toBe(two.cost);
    const one = planPrefixes(candidates, { ...SETTINGS, maxNewLevels: 1 });
    expect(one.newPrefixes.every((p) => p.parent.kind === "none")).toBe(true);
    expect(one.cost).toBeGreaterThan(two.cost);
    expect(planPrefixes(candidates, { ...SETTINGS, maxNewLevels: 0 }).newPrefixes).toEqual([]);
  });

  it("finds the least cost, as a brute force over every set of prefixes, on random small inputs", () => {
    const random = seededRandom(11);
    let sharing = 0;
    let compared = 0;
    for (let trial = 0; trial < 200; trial++) {
      const settings: PrefixPlanSettings = { minNewTokens: randomInt(random, 1, 2), newPrefixCostTokens: randomInt(random, 0, 2), maxNewLevels: randomInt(random, 0, 3), scoredRowCostTokens: randomInt(random, 0, 2) };
      const base = Array.from({ length: randomInt(random, 2, 5) }, () => randomInt(random, 0, 1));
      const sequences = Array.from({ length: randomInt(random, 1, 5) }, () => {
        const tokens = [...base, ...Array.from({ length: randomInt(random, 1, 3) }, () => randomInt(random, 0, 1))];
        // One contiguous range scored, starting anywhere (inside the shared part too).
        const first = randomInt(random, 1, tokens.length - 1);
        const scored = range(first, randomInt(random, 1, tokens.length - first));
        return { tokens, shareable: randomInt(random, Math.floor(tokens.length / 2), tokens.length - 1), scored };
      });
      // A cache holds prefixes whatever sequence they came from: every sequence sees each one on its path.
      const cache = new Set(sequences.filter(() => random() < 0.3).map(({ tokens, shareable }) => tokens.slice(0, randomInt(random, 1, Math.max(1, shareable))).join(",")));
      const candidates = sequences.map(({ tokens, shareable, scored }) => candidate(tokens, shareable, range(1, shareable).filter((d) => cache.has(tokens.slice(0, d).join(","))), scored));
      const plan = planPrefixes(candidates, settings);
      expect(checkedCost(plan, candidates, settings)).toBe(plan.cost);
      const best = bruteForceCost(candidates, settings);
      if (best === undefined) continue;
      compared++;
      expect(plan.cost, JSON.stringify({ settings, candidates: candidates.map((c) => [Array.from(c.tokens), c.shareable, c.cachedLengths, Array.from(c.scored)]) })).toBe(best);
      if (plan.newPrefixes.length > 0) sharing++;
    }
    // Not a vacuous agreement on "share nothing".
    expect(compared).toBeGreaterThan(100);
    expect(sharing).toBeGreaterThan(30);
  });

  it("plans thousands of long sequences", () => {
    const candidates = Array.from({ length: 2000 }, (_, i) => candidate([...range(0, 3000), i], 3000));
    const plan = planPrefixes(candidates, SETTINGS);
    expect(plan.newPrefixes.map((p) => p.length)).toEqual([3000]);
  });
});
