/**
 * Pure planning of shared prefixes: which leading tokens of queued sequences to compute once and
 * reuse as a KV cache. Knows nothing of tensors or sessions, so it is tested without a model.
 *
 * Scoring jobs repeat long prefixes: a template's preamble starts every sequence of a kind, and a
 * one-shot sequence repeats the worked example for each of its partners. A causal model's keys and
 * values at a position depend only on the tokens up to it, so a prefix computed once serves every
 * sequence that starts with it, and the rest of each sequence runs with that prefix as its past.
 */

/** A queued sequence as prefix planning sees it. */
export interface PrefixCandidate {
  /** The sequence's tokens. */
  readonly tokens: Uint32Array;
  /**
   * How many leading tokens may come from a cache: at most the first scored position − 1, because
   * the hidden state that predicts a scored token must be computed in the sequence's own run.
   */
  readonly shareable: number;
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
}

/**
 * Where a sequence's (or a new prefix's) past comes from: nothing, a cached prefix of length
 * `length` along `candidate`'s tokens, or the plan's new prefix `index`.
 */
export type PrefixSource =
  | { readonly kind: "none" }
  | { readonly kind: "cached"; readonly candidate: number; readonly length: number }
  | { readonly kind: "new"; readonly index: number };

/** A prefix to compute: `candidate`'s first `length` tokens, run on top of `parent`. */
export interface NewPrefix {
  readonly candidate: number;
  readonly length: number;
  readonly parent: PrefixSource;
}

/** Result of {@link planPrefixes}. New prefixes come parents first. */
export interface PrefixPlan {
  readonly newPrefixes: readonly NewPrefix[];
  /** One source per candidate, in candidate order. */
  readonly sources: readonly PrefixSource[];
  /** Tokens the plan's runs process: new prefixes' own tokens plus every sequence's tokens past its source. */
  readonly cost: number;
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
  cached: boolean;
}

/** A node kept after compression: the root, a branch, an end, or a cached prefix. */
interface PlanNode {
  readonly depth: number;
  readonly candidate: number;
  readonly count: number;
  readonly cached: boolean;
  readonly ends: readonly number[];
  readonly children: readonly PlanNode[];
}

/**
 * Chooses the prefixes to compute so that the tokens run — each new prefix's own tokens plus
 * {@link PrefixPlanSettings.newPrefixCostTokens}, and every sequence's tokens after its source — is
 * least. A dynamic program over the token trie of the candidates' shareable parts: at every branch a
 * prefix is either computed (on top of the nearest computed or cached one above it) or not. A cached
 * prefix on a sequence's path is always used: it costs nothing. Cost: O(total shareable tokens +
 * branches × depth × levels).
 *
 * @example
 * // Three sequences starting with the same 40 tokens: compute those once, then three suffixes.
 * const plan = planPrefixes(candidates, { minNewTokens: 8, newPrefixCostTokens: 16, maxNewLevels: 3 });
 */
export function planPrefixes(candidates: readonly PrefixCandidate[], settings: PrefixPlanSettings): PrefixPlan {
  const root = compress(buildTrie(candidates));
  const lengths = candidates.map((c) => c.tokens.length);
  const memo = new Map<PlanNode, Map<number, number>>();

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
    for (const end of node.ends) total += lengths[end] - past;
    for (const child of node.children) total += cost(child, past, levels);
    return total;
  }

  type Option = { readonly cost: number; readonly take: "skip" | "cached" | "new" };
  function options(node: PlanNode, past: number, levels: number): Option[] {
    if (node.cached && node.depth > past) return [{ cost: below(node, node.depth, levels), take: "cached" }];
    const skip: Option = { cost: below(node, past, levels), take: "skip" };
    if (levels === 0 || node.count < 2 || node.depth - past < settings.minNewTokens) return [skip];
    const computed = node.depth - past + settings.newPrefixCostTokens + below(node, node.depth, levels - 1);
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
      newPrefixes.push({ candidate: node.candidate, length: node.depth, parent: source });
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
  const root: TrieNode = { depth: 0, children: new Map(), ends: [], candidate: -1, count: 0, cached: false };
  candidates.forEach((candidate, index) => {
    const shareable = Math.max(0, Math.min(candidate.shareable, candidate.tokens.length));
    let cachedAt = 0;
    let node = root;
    node.count++;
    for (let depth = 1; depth <= shareable; depth++) {
      const token = candidate.tokens[depth - 1];
      let next = node.children.get(token);
      if (!next) {
        next = { depth, children: new Map(), ends: [], candidate: index, count: 0, cached: false };
        node.children.set(token, next);
      }
      next.count++;
      while (cachedAt < candidate.cachedLengths.length && candidate.cachedLengths[cachedAt] < depth) cachedAt++;
      if (candidate.cachedLengths[cachedAt] === depth) next.cached = true;
      node = next;
    }
    node.ends.push(index);
  });
  return root;
}

/** Drops the nodes where nothing can be decided (one child, no end, not cached), iteratively. */
function compress(trie: TrieNode): PlanNode {
  const keep = (node: TrieNode) => node.depth === 0 || node.children.size !== 1 || node.ends.length > 0 || node.cached;
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
    built.set(node, { depth: node.depth, candidate: node.candidate, count: node.count, cached: node.cached, ends: node.ends, children });
  }
  return built.get(trie) as PlanNode;
}
