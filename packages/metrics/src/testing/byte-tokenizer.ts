/**
 * Test support (not exported): a byte-level BPE `tokenizer.json` built in code, so unit tests need no
 * model files. With no merges every UTF-8 byte is one token, so different texts always encode to
 * different ids; merges can be added to provoke merges across a prompt/response boundary.
 */
import { byteLevelAlphabet } from "tokenizers";

/** Options of {@link byteTokenizerJson}. */
export interface ByteTokenizerOptions {
  /** Prepend `<s>` through a TemplateProcessing post-processor; default true. */
  readonly bos?: boolean;
  /** BPE merges as pairs of byte-level strings, e.g. `[[":", ":"]]`; default none. */
  readonly merges?: readonly (readonly [string, string])[];
  /** Replaces the post-processor (e.g. a broken one); default by `bos`. */
  readonly postProcessor?: unknown;
  /** Truncation/padding written into the file (createTokenizer must override them). */
  readonly truncation?: unknown;
  readonly padding?: unknown;
}

/** `tokenizer.json` text; `<s>` is the id after the byte tokens and merges. */
export function byteTokenizerJson(options: ByteTokenizerOptions = {}): string {
  const alphabet = byteLevelAlphabet().sort();
  const vocab: Record<string, number> = {};
  for (const char of alphabet) vocab[char] = Object.keys(vocab).length;
  for (const [a, b] of options.merges ?? []) vocab[a + b] = Object.keys(vocab).length;
  const bosId = Object.keys(vocab).length;
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true };
  const bosProcessor = {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
    special_tokens: { "<s>": { id: "<s>", ids: [bosId], tokens: ["<s>"] } },
  };
  return JSON.stringify({
    version: "1.0",
    truncation: options.truncation ?? null,
    padding: options.padding ?? null,
    added_tokens: [{ id: bosId, content: "<s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: options.postProcessor ?? ((options.bos ?? true) ? bosProcessor : byteLevel),
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: (options.merges ?? []).map(([a, b]) => `${a} ${b}`),
    },
  });
}
