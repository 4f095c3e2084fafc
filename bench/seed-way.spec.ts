import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, batchLosses, buildSeedLists, collate, formatMap, seedMetrics, type SeedLosses } from "./seed-way.js";

// A stand-in for the tokenizer: one id per character, after a BOS of 1.
const encode = async (text: string): Promise<number[]> => [1, ...[...text].map((c) => c.codePointAt(0) ?? 0)];

describe("the seed port's lists", () => {
  it("fills each template field once, never rescanning inserted text, and names a missing field", () => {
    expect(formatMap("{instruction} / {input}", { instruction: "say {input}", input: "x" })).toBe("say {input} / x");
    expect(() => formatMap("{example_input}", {})).toThrow("KeyError: 'example_input'");
  });

  it("builds five lists per sample and two per one-shot pair, masking labels before k = len(enc(prompt))", async () => {
    const triplets = [
      { instruction: "Add.", input: "1 2", output: "3" },
      { instruction: "Add.", input: "2 2", output: "4" },
      { instruction: "Name one.", input: "", output: "A" },
    ];
    const lists = await buildSeedLists(triplets, [[1], [0], []], encode);
    expect([lists.prompt, lists.response, lists.output, lists.reverse, lists.instruction].map((list) => list.length)).toEqual([3, 3, 3, 3, 3]);
    expect(lists.zeroShot).toHaveLength(2);
    expect(lists.oneShot).toHaveLength(2);
    expect(lists.pairOwners).toEqual([0, 1]);

    const prompt = "Below is a description of the task. Please write an appropriate response to complete the request.\n\n### Instruction:\nName one.\n\n### Response:";
    const k = (await encode(prompt)).length;
    expect(lists.response[2].inputIds).toEqual(await encode(`${prompt}A`));
    expect(lists.response[2].labels).toEqual([...new Array<number>(k).fill(IGNORE_INDEX), "A".codePointAt(0)]);
    expect(lists.prompt[2].labels).toEqual(lists.prompt[2].inputIds);
    // Pair (0, 1): partner 1's response, once without and once with sample 0 as the worked example.
    expect(lists.zeroShot[0].inputIds).toEqual(lists.response[1].inputIds);
    expect(String.fromCodePoint(...lists.oneShot[0].inputIds.slice(1))).toContain("#### Input:\n1 2\n\n#### Response:\n3\n\n### New Task\n#### Input:\n2 2");
  });
});

describe("the seed port's loss", () => {
  it("right-pads a batch the way DataCollatorForSeq2Seq does", () => {
    const batch = collate([{ inputIds: [5, 6, 7], labels: [IGNORE_INDEX, 6, 7] }, { inputIds: [8], labels: [8] }], 0);
    expect(batch).toMatchObject({ rows: 2, paddedLength: 3 });
    expect([...batch.inputIds]).toEqual([5n, 6n, 7n, 8n, 0n, 0n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n, 0n, 0n]);
    expect([...batch.positionIds]).toEqual([0n, 1n, 2n, 0n, 1n, 2n]);
    expect([...batch.labels]).toEqual([IGNORE_INDEX, 6, 7, 8, IGNORE_INDEX, IGNORE_INDEX]);
  });

  it("averages −log softmax of the shifted logits over the labelled positions, NaN without any", () => {
    const batch = collate([{ inputIds: [0, 1, 0], labels: [IGNORE_INDEX, 1, 0] }, { inputIds: [0], labels: [0] }], 0);
    // [rows, positions, vocabulary 2]; position i is predicted by the logits at position i − 1.
    const logits = Float32Array.of(0, 0, 1, 3, 9, 9, 0, 0, 0, 0, 0, 0);
    const [first, second] = batchLosses(logits, 2, batch);
    const logSoftmax = (a: number, b: number, label: number) => [a, b][label] - Math.log(Math.exp(a) + Math.exp(b));
    expect(first).toBeCloseTo(-(logSoftmax(0, 0, 1) + logSoftmax(1, 3, 0)) / 2, 12);
    expect(second).toBeNaN();
  });
});

describe("the seed's formulas", () => {
  it("takes ratios of perplexities and the mean sign of PPL0 − PPL1 per sample", () => {
    const losses: SeedLosses = {
      prompt: [2, 2],
      response: [1, 3],
      output: [2, 1],
      reverse: [1, 1],
      instruction: [0.5, 2],
      zeroShot: [1, 2, 3],
      oneShot: [2, 1, 1],
    };
    const [a, b] = seedMetrics(losses, [0, 0, 1], 2);
    expect(a.prompt_ppl).toBeCloseTo(Math.exp(2), 12);
    expect(a.ifd).toBeCloseTo(Math.exp(1 - 2), 12);
    expect(b.rifd).toBeCloseTo(Math.exp(1 - 2), 12);
    expect(a.oneshot_validity).toBe(0);
    expect(b.oneshot_validity).toBe(1);
    expect(seedMetrics(losses, [], 2)[0].oneshot_validity).toBeNaN();
  });
});
