/**
 * The main thread's book of shared prefixes whose KV cache lives in a session worker: which exist,
 * who still needs them, and which to evict when the byte budget is full. The worker holds the
 * tensors; this side decides, and tells the worker what to drop with its next run.
 */

/** A shared prefix: its tokens' keys and values, computed once in one worker. */
export interface PrefixEntry {
  /** Id shared with the worker's store. */
  readonly id: number;
  readonly tokens: Uint32Array;
  /** The prefix this one is computed on top of, until it is computed. */
  parent?: PrefixEntry;
  /**
   * The first position whose log-probability the prefix holds (`tokens.length`: none): a sequence
   * that scores a position inside the prefix takes its score from {@link logprobs}.
   */
  readonly scoreFrom: number;
  /** `log p(t[i] | t[<i])` for positions `scoreFrom..tokens.length − 1`, once computed. */
  logprobs?: Float32Array;
  /** `pending` (waiting for its run), `running`, `ready` (in `worker`'s store). */
  state: "pending" | "running" | "ready";
  /** Index of the worker whose store holds (or will hold) it; set when its run is dispatched. */
  worker?: number;
  /** Queued sequences and pending prefixes that will read it. */
  refs: number;
  readonly bytes: number;
  lastUsed: number;
}

interface IndexNode {
  readonly children: Map<number, IndexNode>;
  entry?: PrefixEntry;
}

/** See {@link createPrefixCache}. */
export interface PrefixCache {
  /** Every entry whose tokens are a prefix of `tokens[0, maxLength)`, shortest first. */
  along(tokens: Uint32Array, maxLength: number): PrefixEntry[];
  /**
   * Adds a pending entry, evicting unreferenced ready entries (least recently used first) to make
   * room. Returns `undefined`, changing nothing, when it cannot fit.
   */
  add(tokens: Uint32Array, parent: PrefixEntry | undefined, scoreFrom?: number): PrefixEntry | undefined;
  retain(entry: PrefixEntry): void;
  /** Drops a reference; an unreferenced entry that was never computed is removed at once. */
  release(entry: PrefixEntry): void;
  /** Removes an entry whatever its references (its run failed, or its worker died). */
  remove(entry: PrefixEntry): void;
  /** Every entry, in no particular order. */
  entries(): Iterable<PrefixEntry>;
  /** Ids evicted from `worker`'s store since the last call; the worker must free them. */
  takeEvicted(worker: number): number[];
  readonly bytes: number;
  readonly size: number;
}

/**
 * @param budgetBytes Most bytes of KV cache the entries may hold at once, over all workers.
 * @param bytesPerToken Keys and values of one position, all layers.
 */
export function createPrefixCache(budgetBytes: number, bytesPerToken: number): PrefixCache {
  const root: IndexNode = { children: new Map() };
  const entries = new Set<PrefixEntry>();
  const evicted = new Map<number, number[]>();
  let bytes = 0;
  let nextId = 1;
  let clock = 0;

  function unlink(entry: PrefixEntry): void {
    if (!entries.delete(entry)) return;
    bytes -= entry.bytes;
    const path: IndexNode[] = [root];
    for (const token of entry.tokens) path.push(path[path.length - 1].children.get(token) as IndexNode);
    path[path.length - 1].entry = undefined;
    // Prune the branch that led only to this entry.
    for (let depth = path.length - 1; depth > 0; depth--) {
      const node = path[depth];
      if (node.entry || node.children.size > 0) break;
      path[depth - 1].children.delete(entry.tokens[depth - 1]);
    }
    if (entry.state === "ready" && entry.worker !== undefined) {
      const list = evicted.get(entry.worker) ?? [];
      list.push(entry.id);
      evicted.set(entry.worker, list);
    }
    if (entry.parent) release(entry.parent);
  }

  function release(entry: PrefixEntry): void {
    entry.refs--;
    if (entry.refs <= 0 && entry.state === "pending") unlink(entry);
  }

  function makeRoom(needed: number): boolean {
    if (bytes + needed <= budgetBytes) return true;
    const evictable = [...entries].filter((e) => e.refs <= 0 && e.state === "ready").sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of evictable) {
      if (bytes + needed <= budgetBytes) break;
      unlink(entry);
    }
    return bytes + needed <= budgetBytes;
  }

  return {
    along(tokens, maxLength) {
      const found: PrefixEntry[] = [];
      let node = root;
      for (let depth = 0; depth < Math.min(maxLength, tokens.length); depth++) {
        const next = node.children.get(tokens[depth]);
        if (!next) break;
        node = next;
        if (node.entry) found.push(node.entry);
      }
      return found;
    },
    add(tokens, parent, scoreFrom = tokens.length) {
      const size = tokens.length * bytesPerToken;
      if (!makeRoom(size)) return undefined;
      let node = root;
      for (const token of tokens) {
        let next = node.children.get(token);
        if (!next) node.children.set(token, (next = { children: new Map() }));
        node = next;
      }
      if (node.entry) return undefined;
      const entry: PrefixEntry = { id: nextId++, tokens, scoreFrom, state: "pending", refs: 0, bytes: size, lastUsed: ++clock, ...(parent ? { parent } : {}) };
      node.entry = entry;
      entries.add(entry);
      bytes += size;
      if (parent) parent.refs++;
      return entry;
    },
    retain(entry) {
      entry.refs++;
      entry.lastUsed = ++clock;
    },
    release,
    remove: unlink,
    entries: () => [...entries],
    takeEvicted(worker) {
      const list = evicted.get(worker) ?? [];
      evicted.delete(worker);
      return list;
    },
    get bytes() {
      return bytes;
    },
    get size() {
      return entries.size;
    },
  };
}
