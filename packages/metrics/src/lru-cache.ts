/**
 * A least-recently-used cache bounded by a total weight (e.g. estimated bytes), built on `Map`'s
 * insertion order: a hit re-inserts the entry at the back, eviction takes from the front.
 */
export interface LruCache<K, V> {
  /** The value for `key`, marking it most recently used; undefined on a miss. */
  get(key: K): V | undefined;
  /** Stores `value`; entries heavier than the whole budget are not stored. Evicts the oldest as needed. */
  set(key: K, value: V): void;
  readonly size: number;
  /** Sum of the stored entries' weights. */
  readonly weight: number;
}

/** Options of {@link createLruCache}. */
export interface LruCacheOptions<K, V> {
  /** Budget for the sum of entry weights; 0 disables the cache. */
  readonly maxWeight: number;
  /** Weight of one entry (a positive number); default 1, so `maxWeight` counts entries. */
  readonly weigh?: (key: K, value: V) => number;
}

/** Creates an empty {@link LruCache}. */
export function createLruCache<K, V>(options: LruCacheOptions<K, V>): LruCache<K, V> {
  const weigh = options.weigh ?? (() => 1);
  const entries = new Map<K, { value: V; weight: number }>();
  let total = 0;
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value) {
      const previous = entries.get(key);
      if (previous !== undefined) {
        entries.delete(key);
        total -= previous.weight;
      }
      const weight = weigh(key, value);
      if (weight > options.maxWeight) return;
      entries.set(key, { value, weight });
      total += weight;
      for (const [oldest, entry] of entries) {
        if (total <= options.maxWeight) break;
        entries.delete(oldest);
        total -= entry.weight;
      }
    },
    get size() {
      return entries.size;
    },
    get weight() {
      return total;
    },
  };
}
