/**
 * Pure planning of shared prefixes: which leading tokens of queued sequences to compute once and
 * reuse as a KV cache. Knows nothing of tensors or sessions, so it is tested without a model.
 *
 * Scoring jobs repeat long prefixes: a template's preamble starts every sequence of a kind, and a
 * one-shot sequence repeats the worked example for each of its partners. A causal model's keys and
 * values at a position depend only on the tokens up to it, so a prefix computed once serves every
 * sequence that starts with it, and the rest of each sequence runs with that prefix as its past.
 *
 * So do its log-probabilities: `log p(t[i] | t[<i])` depends on `t[0..i]` only, so a prefix's run can
 * score its own positions once for every sequence that scores them (a template's preamble, scored for
 * prompt perplexity in every sample). One position cannot come from the prefix: the first one after
 * it, whose label the prefix does not know. A sequence that scores it runs on top of the prefix's
 * first `length − 1` positions instead, recomputing the last one (its "overlap"); see {@link pastFor}.
 */

/** A queued sequence as prefix planning sees it. */
export interface PrefixCandidate {
  /** The sequence's tokens. */
  readonly tokens: Uint32Array;
  /**
   * How many leading tokens may come from a prefix: at most `tokens.length − 1`; the first scored
   * position − 1 where scores are not to be shared; less before a cached prefix that cannot serve the
   * sequence (one that does not hold its scores).
   */
  readonly shareable: number;
  /** The positions the sequence scores, ascending, at least one. */
  readonly scored: Uint32Array;
  /** Lengths of the cached prefixes of `tokens`, ascending, each ≤ `shareable` (from the caller's cache). */
  readonly cachedLengths: readonly number[];
}

/** Tuning of {@link planPrefixes}. */
export interface PrefixPlanSettings {
  /** A new prefix must add at least this many tokens to its parent. */
  readonly minNewTokens: number;
  /**
   * The cost of a new prefix beyond its tokens, in tokens: its run, and the smaller runs its
   * sequences make (a run only holds sequences whose pasts have one length, see the scheduler).
   */
  readonly newPrefixCostTokens: number;
  /** Chained new prefixes (a new prefix whose parent is also new) at most; 1 = no chains. */
  readonly maxNewLevels: number;
  /**
   * The cost of scoring one position (the LM head on its row), in tokens run through the model body.
   * Weighs scores a prefix computes once against the tokens it saves.
   */
  readonly scoredRowCostTokens: number;
}

/**
 * Where a sequence's (or a new prefix's) past comes from: nothing, a cached prefix of length
 * `length` along `candidate`'s tokens, or the plan's new prefix `index`.
 */
export type PrefixSource =
  | { readonly kind: "none" }
  | { readonly kind: "cached"; readonly candidate: number; readonly length: number }
  | { readonly kind: "new"; readonly index: number };

/**
 * A prefix to compute: `candidate`'s first `length` tokens, run on top of `parent`, scoring its
 * positions from `scoreFrom` on (`scoreFrom = length`: none) for the sequences under it.
 */
export interface NewPrefix {
  readonly candidate: number;
  readonly length: number;
  readonly parent: PrefixSource;
  readonly scoreFrom: number;
}

/** Result of {@link planPrefixes}. New prefixes come parents first. */
export interface PrefixPlan {
  readonly newPrefixes: readonly NewPrefix[];
  /** One source per candidate, in candidate order. */
  readonly sources: readonly PrefixSource[];
  /**
   * The plan's work in tokens: the tokens its runs process (new prefixes' own tokens plus
   * {@link PrefixPlanSettings.newPrefixCostTokens} each, every sequence's tokens after its past) plus
   * the positions they score, each weighted by {@link PrefixPlanSettings.scoredRowCostTokens}.
   */
  readonly cost: number;
}

/**
 * The past a run takes from a prefix of `prefixLength` tokens when the first position it scores is
 * `firstScored`: the whole prefix, or all but its last token when the run must score the position
 * right after the prefix (its hidden state is the prefix's last one). 0 without a prefix.
 */
export function pastFor(prefixLength: number, firstScored: number): number {
  return prefixLength > 0 && firstScored <= prefixLength ? prefixLength - 1 : prefixLength;
}

/** How many of the ascending `positions` are ≤ `limit`. */
export function countAtMost(positions: Uint32Array, limit: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle] <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface TrieNode {
  readonly depth: number;
  readonly children: Map<number, TrieNode>;
  /** Candidates whose shareable tokens end here. */
  readonly ends: number[];
  /** A candidate that passes through this node: the prefix's tokens are its first `depth` tokens. */
  readonly candidate: number;
  /** Candidates at or below this node. */
  count: number;
  /** The least first scored position of those candidates. */
  minScored: number;
  /** Whether a candidate's cost changes its rate here, see `compress`. */
  kink: boolean;
  cached: boolean;
}

/** A node kept after compression: the root, a branch, an end, or a cached prefix. */
interface PlanNode {
  readonly depth: number;
  readonly candidate: number;
  readonly count: number;
  readonly minScored: number;
  readonly cached: boolean;
  readonly ends: readonly number[];
  readonly children: readonly PlanNode[];
}

/**
 * Chooses the prefixes to compute so that the plan's {@link PrefixPlan.cost} is least. A dynamic
 * program over the token trie of the candidates' shareable parts: at every branch a prefix is either
 * computed (on top of the nearest computed or cached one above it) or not. A computed prefix scores
 * its positions from the least first scored position of the sequences under it, so that every one of
 * them takes the scores it needs from it. A cached prefix on a sequence's path is always used: it
 * costs nothing. Cost: O(total shareable tokens + branches × depth × levels).
 *
 * @example
 * // Three sequences starting with the same 40 tokens: compute those once, then three suffixes.
 * const plan = planPrefixes(candidates, { minNewTokens: 8, newPrefixCostTokens: 16, maxNewLevels: 3, scoredRowCostTokens: 1 });
 */
export function planPrefixes(candidates: readonly PrefixCandidate[], settings: PrefixPlanSettings): PrefixPlan {
  const root = compress(buildTrie(candidates));
  const memo = new Map<PlanNode, Map<number, number>>();
  const perRow = settings.scoredRowCostTokens;

  /** A sequence's tokens and scored positions run on top of a prefix of `past` tokens (0: none). */
  function sequenceCost(index: number, past: number): number {
    const { tokens, scored } = candidates[index];
    const from = pastFor(past, scored[0]);
    return tokens.length - from + perRow * (scored.length - countAtMost(scored, from));
  }

  /** A new prefix at `node` on top of one of `past` tokens: its run, and the positions it scores. */
  function prefixCost(node: PlanNode, past: number): number {
    const from = pastFor(past, node.minScored);
    const scoredRows = Math.max(0, node.depth - Math.max(node.minScored, from + 1));
    return node.depth - from + settings.newPrefixCostTokens + perRow * scoredRows;
  }

  // Least cost of the candidates under `node`, given a past of length `past` above it and `levels` new levels left.
  function cost(node: PlanNode, past: number, levels: number): number {
    const key = past * 8 + levels;
    let byKey = memo.get(node);
    const known = byKey?.get(key);
    if (known !== undefined) return known;
    const best = Math.min(...options(node, past, levels).map((option) => option.cost));
    if (!byKey) memo.set(node, (byKey = new Map()));
    byKey.set(key, best);
    return best;
  }

  function below(node: PlanNode, past: number, levels: number): number {
    let total = 0;
    for (const end of node.ends) total += sequenceCost(end, past);
    for (const child of node.children) total += cost(child, past, levels);
    return total;
  }

  type Option = { readonly cost: number; readonly take: "skip" | "cached" | "new" };
  function options(node: PlanNode, past: number, levels: number): Option[] {
    if (node.cached && node.depth > past) return [{ cost: below(node, node.depth, levels), take: "cached" }];
    const skip: Option = { cost: below(node, past, levels), take: "skip" };
    if (levels === 0 || node.count < 2 || node.depth - past < settings.minNewTokens) return [skip];
    const computed = prefixCost(node, past) + below(node, node.depth, levels - 1);
    return [skip, { cost: computed, take: "new" }];
  }

  const newPrefixes: NewPrefix[] = [];
  const sources: PrefixSource[] = candidates.map(() => ({ kind: "none" }));
  // Replays the choices cost() made, top down, explicitly stacked: tries can be thousands deep.
  const stack: { node: PlanNode; past: number; levels: number; source: PrefixSource }[] = [{ node: root, past: 0, levels: settings.maxNewLevels, source: { kind: "none" } }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    let { past, levels, source } = item;
    const node = item.node;
    const chosen = options(node, past, levels).reduce((a, b) => (b.cost < a.cost ? b : a));
    if (chosen.take === "cached") {
      source = { kind: "cached", candidate: node.candidate, length: node.depth };
      past = node.depth;
    } else if (chosen.take === "new") {
      newPrefixes.push({ candidate: node.candidate, length: node.depth, parent: source, scoreFrom: Math.min(node.minScored, node.depth) });
      source = { kind: "new", index: newPrefixes.length - 1 };
      past = node.depth;
      levels--;
    }
    for (const end of node.ends) sources[end] = source;
    for (const child of node.children) stack.push({ node: child, past, levels, source });
  }
  return { newPrefixes, sources, cost: cost(root, 0, settings.maxNewLevels) };
}

function buildTrie(candidates: readonly PrefixCandidate[]): TrieNode {
  const root: TrieNode = { depth: 0, children: new Map(), ends: [], candidate: -1, count: 0, minScored: Infinity, kink: false, cached: false };
  candidates.forEach((candidate, index) => {
    const shareable = Math.max(0, Math.min(candidate.shareable, candidate.tokens.length));
    const firstScored = candidate.scored[0];
    const lastScored = candidate.scored[candidate.scored.length - 1];
    let cachedAt = 0;
    let node = root;
    node.count++;
    node.minScored = Math.min(node.minScored, firstScored);
    for (let depth = 1; depth <= shareable; depth++) {
      const token = candidate.tokens[depth - 1];
      let next = node.children.get(token);
      if (!next) {
        next = { depth, children: new Map(), ends: [], candidate: index, count: 0, minScored: Infinity, kink: false, cached: false };
        node.children.set(token, next);
      }
      next.count++;
      next.minScored = Math.min(next.minScored, firstScored);
      if (depth === firstScored - 1 || depth === firstScored || depth === lastScored + 1) next.kink = true;
      while (cachedAt < candidate.cachedLengths.length && candidate.cachedLengths[cachedAt] < depth) cachedAt++;
      if (candidate.cachedLengths[cachedAt] === depth) next.cached = true;
      node = next;
    }
    node.ends.push(index);
  });
  return root;
}

/**
 * Drops the nodes where nothing can be decided, iteratively. Along a chain (one child, no end) the
 * same sequences pass, and a prefix's cost falls at a steady rate the deeper it goes, except where
 * one of them starts or stops taking scores from it: just before and at its first scored position
 * (there it starts to need the overlap) and just after its last. Those nodes are kept, with
 * branches, ends and cached prefixes. The plan is then least among prefixes at kept nodes, which is
 * least overall when each sequence scores one contiguous range (as spans mostly are).
 */
function compress(trie: TrieNode): PlanNode {
  const keep = (node: TrieNode) => node.depth === 0 || node.children.size !== 1 || node.ends.length > 0 || node.cached || node.kink;
  const built = new Map<TrieNode, PlanNode>();
  // Post-order over the kept nodes: a kept node's kept descendants are built before it.
  const order: TrieNode[] = [];
  const pending: TrieNode[] = [trie];
  for (let node = pending.pop(); node; node = pending.pop()) {
    order.push(node);
    for (const child of node.children.values()) pending.push(child);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (!keep(node)) continue;
    const children: PlanNode[] = [];
    for (let child of node.children.values()) {
      while (!keep(child)) child = child.children.values().next().value as TrieNode;
      children.push(built.get(child) as PlanNode);
    }
    built.set(node, { depth: node.depth, candidate: node.candidate, count: node.count, minScored: node.minScored, cached: node.cached, ends: node.ends, children });
  }
  return built.get(trie) as PlanNode;
}
