import { Tokenizer as HfTokenizer, type Encoding as HfEncoding } from "tokenizers";
import { createLruCache } from "./lru-cache.js";
import { MetricsError } from "./metrics-error.js";
import type { ModelInfo } from "./scorer.js";
import { validateTokenizerJson } from "./tokenizer-validation.js";

/** The tokens of one text, as `enc(s)` of DESIGN.md §1 defines them. */
export interface Encoding {
  /** Token ids, special tokens included. Shared with the cache: treat as read-only. */
  readonly ids: Uint32Array;
  /** Whether truncation to `maxLength` dropped tokens. */
  readonly truncated: boolean;
}

/** Options of one encode call. */
export interface EncodeOptions {
  /** Add the special tokens the tokenizer's post-processor adds (e.g. BOS); default true. */
  readonly addSpecialTokens?: boolean;
}

/** A `TextEncoder`-like view of a model's `tokenizer.json`, with truncation and a cache. */
export interface Tokenizer {
  /** Longest encoding, in tokens, special tokens included. */
  readonly maxLength: number;
  /**
   * `enc(text)`: the tokenizer's ids with its normal special tokens (exactly as its post-processor adds
   * them), truncated on the right to `maxLength` the way transformers' `encode(..., truncation=True,
   * max_length=maxLength)` does (special tokens are kept; content tokens are dropped).
   */
  enc(text: string, options?: EncodeOptions): Promise<Encoding>;
  /** {@link Tokenizer.enc} for many texts at once (native batch calls of bounded size for the cache misses). */
  encodeBatch(texts: readonly string[], options?: EncodeOptions): Promise<Encoding[]>;
  /** Cache counters since creation. */
  readonly cacheStats: { readonly hits: number; readonly misses: number; readonly entries: number };
}

/** Options of {@link createTokenizer}. */
export interface TokenizerOptions {
  /**
   * Truncation length in tokens, special tokens included; default (when given a {@link ModelInfo})
   * the model's `maxLength`. Must leave room for one token besides the special tokens.
   */
  readonly maxLength?: number;
  /**
   * Approximate memory budget of the encoding cache, in bytes (text, ids and per-entry overhead);
   * default 16 MiB.
   * Prompts repeat a lot (same instruction, partners' prompts), so a hit saves a native call. 0 disables.
   */
  readonly cacheBytes?: number;
}

/**
 * Default {@link TokenizerOptions.cacheBytes}: 16 MiB. Tokenizing runs ten times faster than even the
 * tiny test model scores, so the cache saves little time; on generated Alpaca-style data its hit rate
 * went from 9% at 16 MiB to 22% at 64 MiB, while 64 MiB (then underestimated) held about 100 MB, and
 * a cache still filling after 10,000 rows is memory that grows with the input.
 */
export const DEFAULT_TOKENIZER_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * Characters of text per native `encodeBatch` call. The native encodings (ids, offsets, token
 * strings, alignments) took about 350 bytes a token at their peak, and they are freed only when V8
 * collects their JavaScript handles, which it does late because the handles are small: encoding a
 * window's 5,000 prompts in one call held 600 MB, and a few such calls before a collection held
 * 1.6 GB. Calls of 64K characters (tens of thousands of tokens) kept a long run flat near 330 MB at
 * the same speed; tokenization stays ten times faster than the tiny model scores.
 */
const NATIVE_BATCH_CHARS = 64 * 1024;

/**
 * Per-entry bookkeeping beyond text and ids: the Map entry, the LRU record, the {@link Encoding} and
 * its Uint32Array with its buffer. Measured: 310–380 bytes of resident memory per entry in Node 20.
 */
export const CACHE_ENTRY_OVERHEAD_BYTES = 320;

/**
 * Loads a model's tokenizer. Validates `tokenizer.json` first (a malformed post-processor would
 * otherwise abort the process on the first encode), disables any padding the file configures, and
 * replaces its truncation by `maxLength` (right side, as transformers truncates).
 *
 * @throws MetricsError `invalid-tokenizer` when the JSON is unusable; `invalid-argument` when
 *   `maxLength` is not an integer larger than the number of special tokens the post-processor adds.
 * @example
 * const tokenizer = await createTokenizer(await scorer.info());
 * const { ids, truncated } = await tokenizer.enc("### Instruction:\n…");
 */
export async function createTokenizer(info: ModelInfo, options?: TokenizerOptions): Promise<Tokenizer>;
export async function createTokenizer(tokenizerJson: string, options: TokenizerOptions & { readonly maxLength: number }): Promise<Tokenizer>;
export async function createTokenizer(source: string | ModelInfo, options: TokenizerOptions = {}): Promise<Tokenizer> {
  const json = typeof source === "string" ? source : source.tokenizerJson;
  const maxLength = options.maxLength ?? (typeof source === "string" ? Number.NaN : source.maxLength);
  validateTokenizerJson(json);
  let native: HfTokenizer;
  try {
    native = HfTokenizer.fromString(json);
  } catch (error) {
    throw new MetricsError("invalid-tokenizer", `tokenizer.json cannot be loaded (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  native.disablePadding();
  native.disableTruncation();
  const specialCount = (await native.encode("", null, { addSpecialTokens: true })).getLength();
  if (!Number.isSafeInteger(maxLength) || maxLength <= specialCount) {
    // tokenizers silently skips truncation when the special tokens alone exceed the limit.
    throw new MetricsError("invalid-argument", `maxLength must be an integer above ${specialCount} (the special tokens the tokenizer adds), got ${maxLength}`);
  }
  native.setTruncation(maxLength);
  return wrap(native, maxLength, options.cacheBytes ?? DEFAULT_TOKENIZER_CACHE_BYTES);
}

function wrap(native: HfTokenizer, maxLength: number, cacheBytes: number): Tokenizer {
  const cache = createLruCache<string, Encoding>({
    maxWeight: cacheBytes,
    weigh: (key, value) => 2 * key.length + value.ids.byteLength + CACHE_ENTRY_OVERHEAD_BYTES,
  });
  // Concurrent requests for the same text share one native call.
  const pending = new Map<string, Promise<Encoding>>();
  let hits = 0;
  let misses = 0;

  const toEncoding = (encoding: HfEncoding): Encoding => {
    const ids = Uint32Array.from(encoding.getIds());
    if (ids.length > maxLength) throw new MetricsError("invalid-tokenizer", `tokenizer returned ${ids.length} tokens despite truncation to ${maxLength}`);
    return { ids, truncated: encoding.getOverflowing().length > 0 };
  };

  /** One native call per slice of {@link NATIVE_BATCH_CHARS}, one after the other, copied out at once. */
  const encodeInSlices = async (texts: readonly string[], addSpecialTokens: boolean): Promise<Encoding[]> => {
    const encodings: Encoding[] = [];
    for (const slice of slicesByLength(texts, NATIVE_BATCH_CHARS)) {
      for (const encoding of await native.encodeBatch(slice, { addSpecialTokens })) encodings.push(toEncoding(encoding));
    }
    return encodings;
  };

  const encodeBatch = async (texts: readonly string[], options: EncodeOptions = {}): Promise<Encoding[]> => {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const keyOf = (text: string): string => (addSpecialTokens ? "1" : "0") + text;
    const results = new Array<Encoding | Promise<Encoding>>(texts.length);
    const missing = new Map<string, number[]>();
    texts.forEach((text, i) => {
      const key = keyOf(text);
      const cached = cache.get(key) ?? pending.get(key);
      if (cached !== undefined) {
        hits++;
        results[i] = cached;
        return;
      }
      const slots = missing.get(text);
      if (slots) {
        hits++;
        slots.push(i);
      } else {
        misses++;
        missing.set(text, [i]);
      }
    });
    if (missing.size > 0) {
      const unique = [...missing.keys()];
      const batch = encodeInSlices(unique, addSpecialTokens).catch((error: unknown) => {
        if (error instanceof MetricsError) throw error;
        throw new MetricsError("invalid-tokenizer", `tokenizer failed to encode (${error instanceof Error ? error.message : String(error)})`, { cause: error });
      });
      unique.forEach((text, u) => {
        const one = batch.then((encodings) => encodings[u]);
        // Awaited below or by a concurrent caller; this only keeps a failure from counting as unhandled.
        one.catch(() => undefined);
        pending.set(keyOf(text), one);
        for (const slot of missing.get(text) ?? []) results[slot] = one;
      });
      try {
        const encodings = await batch;
        unique.forEach((text, u) => cache.set(keyOf(text), encodings[u]));
      } finally {
        for (const text of unique) pending.delete(keyOf(text));
      }
    }
    return Promise.all(results);
  };

  return {
    maxLength,
    enc: async (text, options) => (await encodeBatch([text], options))[0],
    encodeBatch,
    get cacheStats() {
      return { hits, misses, entries: cache.size };
    },
  };
}

/** Consecutive slices of `texts` of at most `maxChars` characters in all, or one longer text alone. */
export function slicesByLength(texts: readonly string[], maxChars: number): string[][] {
  const slices: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const text of texts) {
    if (current.length > 0 && chars + text.length > maxChars) {
      slices.push(current);
      current = [];
      chars = 0;
    }
    current.push(text);
    chars += text.length;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
