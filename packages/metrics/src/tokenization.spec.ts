import { describe, expect, it } from "vitest";
import { MetricsError } from "./metrics-error.js";
import type { ModelInfo } from "./scorer.js";
import { byteTokenizerJson } from "./testing/byte-tokenizer.js";
import { CACHE_ENTRY_OVERHEAD_BYTES, createTokenizer, slicesByLength } from "./tokenization.js";

// Byte-level BPE without merges: every byte is a token; `<s>` (BOS) is id 256.
const BOS = 256;
const json = byteTokenizerJson();
const idsOf = async (text: string): Promise<number[]> => Array.from((await (await createTokenizer(json, { maxLength: 1000 })).enc(text)).ids);

async function expectCode(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MetricsError);
  expect((error as MetricsError).code).toBe(code);
  expect((error as MetricsError).message).toMatch(pattern);
}

describe("createTokenizer", () => {
  it("adds the special tokens exactly as the post-processor does", async () => {
    const ab = await idsOf("ab");
    expect(ab).toHaveLength(3);
    expect(ab[0]).toBe(BOS);
    expect(await idsOf("")).toEqual([BOS]);
    const noBos = await createTokenizer(byteTokenizerJson({ bos: false }), { maxLength: 10 });
    expect(Array.from((await noBos.enc("ab")).ids)).toEqual(ab.slice(1));
    const tokenizer = await createTokenizer(json, { maxLength: 10 });
    expect(Array.from((await tokenizer.enc("ab", { addSpecialTokens: false })).ids)).toEqual(ab.slice(1));
  });

  it("truncates on the right to maxLength, keeping the special tokens, and reports it", async () => {
    const tokenizer = await createTokenizer(json, { maxLength: 4 });
    const full = await idsOf("abcdef");
    const cut = await tokenizer.enc("abcdef");
    expect(Array.from(cut.ids)).toEqual(full.slice(0, 4));
    expect(cut.truncated).toBe(true);
    const exact = await tokenizer.enc("abc");
    expect(exact.ids).toHaveLength(4);
    expect(exact.truncated).toBe(false);
    expect((await tokenizer.enc("a")).truncated).toBe(false);
    const plain = await tokenizer.enc("abcdef", { addSpecialTokens: false });
    expect(Array.from(plain.ids)).toEqual(full.slice(1, 5));
    expect(plain.truncated).toBe(true);
    // Multi-byte characters are cut between tokens, like any others.
    expect((await tokenizer.enc("猫猫")).ids).toHaveLength(4);
  });

  it("ignores padding and truncation written into tokenizer.json", async () => {
    const configured = byteTokenizerJson({
      padding: { strategy: { Fixed: 16 }, direction: "Right", pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: "!" },
      truncation: { direction: "Left", max_length: 2, strategy: "LongestFirst", stride: 0 },
    });
    const tokenizer = await createTokenizer(configured, { maxLength: 5 });
    expect(Array.from((await tokenizer.enc("ab")).ids)).toEqual(await idsOf("ab"));
    expect(Array.from((await tokenizer.enc("abcdefgh")).ids)).toEqual((await idsOf("abcdefgh")).slice(0, 5));
  });

  it("defaults maxLength to the model's", async () => {
    const info = { tokenizerJson: json, maxLength: 3 } as Pick<ModelInfo, "tokenizerJson" | "maxLength">;
    const tokenizer = await createTokenizer(info as ModelInfo);
    expect(tokenizer.maxLength).toBe(3);
    expect((await tokenizer.enc("abc")).truncated).toBe(true);
  });

  it("rejects a maxLength that leaves no room beside the special tokens", async () => {
    await expectCode(createTokenizer(json, { maxLength: 1 }), "invalid-argument", /above 1 \(the special tokens/);
    await expectCode(createTokenizer(json, { maxLength: 2.5 }), "invalid-argument", /maxLength/);
    await expect(createTokenizer(byteTokenizerJson({ bos: false }), { maxLength: 1 })).resolves.toBeDefined();
  });

  it("rejects a post-processor naming an undefined special token instead of letting it abort the process", async () => {
    const broken = {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<bos>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [BOS], tokens: ["<s>"] } },
    };
    await expectCode(createTokenizer(byteTokenizerJson({ postProcessor: broken }), { maxLength: 8 }), "invalid-tokenizer", /post_processor\.single\[0\] names special token "<bos>"/);
    const nested = { type: "Sequence", processors: [{ type: "ByteLevel", trim_offsets: false }, broken] };
    await expectCode(createTokenizer(byteTokenizerJson({ postProcessor: nested }), { maxLength: 8 }), "invalid-tokenizer", /post_processor\.processors\[1\]\.single\[0\]/);
    await expectCode(createTokenizer("{", { maxLength: 8 }), "invalid-tokenizer", /not valid JSON/);
    await expectCode(createTokenizer("{}", { maxLength: 8 }), "invalid-tokenizer", /"model"/);
    // Still alive: encoding with a sound tokenizer works after the rejections.
    expect(await idsOf("a")).toHaveLength(2);
  });

  it("caches encodings by text and batches misses", async () => {
    const tokenizer = await createTokenizer(json, { maxLength: 16 });
    const first = await tokenizer.enc("hello");
    const again = await tokenizer.enc("hello");
    expect(again).toBe(first);
    expect(tokenizer.cacheStats).toEqual({ hits: 1, misses: 1, entries: 1 });
    // The special-token flag is part of the key.
    expect((await tokenizer.enc("hello", { addSpecialTokens: false })).ids).toHaveLength(5);
    const batch = await tokenizer.encodeBatch(["x", "hello", "x", "yz"]);
    expect(batch.map((e) => Array.from(e.ids))).toEqual([await idsOf("x"), await idsOf("hello"), await idsOf("x"), await idsOf("yz")]);
    expect(tokenizer.cacheStats).toEqual({ hits: 3, misses: 4, entries: 4 });
  });

  it("bounds the cache by its byte budget", async () => {
    const tokenizer = await createTokenizer(json, { maxLength: 64, cacheBytes: 1000 });
    for (let i = 0; i < 50; i++) await tokenizer.enc(`text number ${i}`);
    expect(tokenizer.cacheStats.entries).toBeLessThan(10);
    expect(tokenizer.cacheStats.entries).toBeGreaterThan(0);
    const uncached = await createTokenizer(json, { maxLength: 64, cacheBytes: 0 });
    await uncached.enc("a");
    await uncached.enc("a");
    expect(uncached.cacheStats).toEqual({ hits: 0, misses: 2, entries: 0 });
  });

  it("weighs an entry as its key's UTF-16 bytes, its ids and the per-entry overhead", async () => {
    // "text number 10": key "1" + 14 characters, 15 ids (14 bytes and BOS).
    const entryBytes = 2 * 15 + 4 * 15 + CACHE_ENTRY_OVERHEAD_BYTES;
    const tokenizer = await createTokenizer(json, { maxLength: 64, cacheBytes: 4 * entryBytes });
    for (let i = 10; i < 50; i++) await tokenizer.enc(`text number ${i}`);
    expect(tokenizer.cacheStats.entries).toBe(4);
  });

  it("encodes a batch larger than one native call in order, the same as one text at a time", async () => {
    const texts = Array.from({ length: 500 }, (_, i) => `${i} `.repeat(120 + (i % 7)));
    expect(texts.reduce((sum, text) => sum + text.length, 0)).toBeGreaterThan(3 * 64 * 1024);
    const tokenizer = await createTokenizer(json, { maxLength: 1000, cacheBytes: 0 });
    const batch = await tokenizer.encodeBatch(texts);
    expect(batch.map((encoding) => Array.from(encoding.ids))).toEqual(await Promise.all(texts.map(idsOf)));
  });
});

describe("slicesByLength", () => {
  it("cuts consecutive slices of at most the budget, a longer text alone, losing nothing", () => {
    const texts = ["aaaa", "bb", "cccccccccc", "d", "ee", "f"];
    expect(slicesByLength(texts, 6)).toEqual([["aaaa", "bb"], ["cccccccccc"], ["d", "ee", "f"]]);
    expect(slicesByLength(texts, 1000)).toEqual([texts]);
    expect(slicesByLength([], 6)).toEqual([]);
  });
});
