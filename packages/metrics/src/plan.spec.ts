import { describe, expect, it } from "vitest";
import { METRIC_NAMES, type MetricName } from "./metric-row.js";
import { planWindow, type WindowRow } from "./plan.js";
import type { Sample } from "./sample.js";
import { byteTokenizerJson } from "./testing/byte-tokenizer.js";
import { ALPACA_TEMPLATES, createTemplatePromptSet } from "./templates.js";
import { createTokenizer, type Tokenizer } from "./tokenization.js";

const prompts = createTemplatePromptSet(ALPACA_TEMPLATES);
const tokenizerOf = (maxLength = 4096, json = byteTokenizerJson()): Promise<Tokenizer> => createTokenizer(json, { maxLength });
const rowsOf = (samples: Sample[], partners: number[][] = []): WindowRow[] =>
  samples.map((sample, index) => ({ index, sample, partners: (partners[index] ?? []).map((label) => ({ label, sample: samples[label] })) }));

const a: Sample = { instruction: "Add the numbers.", input: "2 and 3", output: "5", id: "a" };
const b: Sample = { instruction: "Name a colour.", input: "", output: "Blue" };

describe("planWindow", () => {
  it("lays out each metric's sequence and span the seed's way", async () => {
    const tokenizer = await tokenizerOf();
    const plan = await planWindow(rowsOf([a, b], [[1], [0]]), { metrics: new Set(METRIC_NAMES), prompts, tokenizer });
    const row = plan.rows[0];
    const p0 = await tokenizer.enc(prompts.zeroShot(a));
    const joint = await tokenizer.enc(prompts.zeroShot(a) + a.output);
    const k = p0.ids.length;
    const sequenceOf = (metric: "response_ppl" | "prompt_ppl" | "output_ppl" | "instruction_ppl" | "reverse_response_ppl") => {
      const source = row.sources[metric];
      if (source?.kind !== "span") throw new Error(`${metric} has no span`);
      const sequence = plan.sequences[source.ref.sequence];
      return { ids: Array.from(sequence.tokenIds), span: sequence.spans[source.ref.span], sequence: source.ref.sequence };
    };
    expect(sequenceOf("response_ppl")).toMatchObject({ ids: Array.from(joint.ids), span: { start: k, end: joint.ids.length } });
    // prompt_ppl comes from the same pass.
    expect(sequenceOf("prompt_ppl")).toMatchObject({ span: { start: 1, end: k }, sequence: sequenceOf("response_ppl").sequence });
    expect(sequenceOf("output_ppl")).toMatchObject({ ids: Array.from((await tokenizer.enc("5")).ids), span: { start: 1, end: 2 } });
    expect(sequenceOf("instruction_ppl").span).toEqual({ start: 1, end: (await tokenizer.enc(a.instruction)).ids.length });
    const r = await tokenizer.enc(prompts.reversed(a));
    const rJoint = await tokenizer.enc(prompts.reversed(a) + a.instruction);
    expect(sequenceOf("reverse_response_ppl")).toMatchObject({ ids: Array.from(rJoint.ids), span: { start: r.ids.length, end: rJoint.ids.length } });
    expect(row.counts).toEqual({
      prompt_tokens: k,
      response_tokens: joint.ids.length - k,
      output_tokens: 2,
      instruction_tokens: (await tokenizer.enc(a.instruction)).ids.length,
      reverse_response_tokens: rJoint.ids.length - r.ids.length,
    });
    expect(row.id).toBe("a");
    expect(plan.rows[1].id).toBeUndefined();
  });

  it("shares a partner's zero-shot sequence with its response sequence", async () => {
    const plan = await planWindow(rowsOf([a, b], [[1], [0]]), { metrics: new Set(METRIC_NAMES), prompts, tokenizer: await tokenizerOf() });
    const [rowA, rowB] = plan.rows;
    const zeroShotOfB = rowA.oneshot?.[0].zeroShot;
    expect(zeroShotOfB).toEqual(rowB.sources.response_ppl);
    expect(rowA.oneshot?.[0].label).toBe(1);
    // 2 × (response, output, instruction, reverse) + 2 one-shot sequences.
    expect(plan.sequences).toHaveLength(10);
  });

  it("plans only what the requested metrics need", async () => {
    const tokenizer = await tokenizerOf();
    const only = async (metrics: MetricName[]) => planWindow(rowsOf([a, b], [[1], [0]]), { metrics: new Set(metrics), prompts, tokenizer });
    expect((await only(["output_ppl"])).sequences).toHaveLength(2);
    const promptOnly = await only(["prompt_ppl"]);
    expect(promptOnly.sequences.map((s) => Array.from(s.tokenIds))).toEqual([
      Array.from((await tokenizer.enc(prompts.zeroShot(a))).ids),
      Array.from((await tokenizer.enc(prompts.zeroShot(b))).ids),
    ]);
    const ifd = await only(["ifd"]);
    expect(ifd.sequences).toHaveLength(4);
    expect(ifd.rows[0].counts).toEqual({ prompt_tokens: expect.any(Number), response_tokens: 1, output_tokens: 2 });
  });

  it("scores the prompt from enc(P0) separately when the response merges across the boundary", async () => {
    // With the merge ": :", an output starting with ':' fuses with the prompt's final ':'.
    const tokenizer = await tokenizerOf(4096, byteTokenizerJson({ merges: [[":", ":"]] }));
    const smiley: Sample = { instruction: "Smile.", input: "", output: ":-)" };
    const plan = await planWindow(rowsOf([smiley]), { metrics: new Set<MetricName>(["prompt_ppl", "response_ppl"]), prompts, tokenizer });
    const row = plan.rows[0];
    expect(row.boundaryMerged).toBe(true);
    expect(plan.sequences).toHaveLength(2);
    const p0 = await tokenizer.enc(prompts.zeroShot(smiley));
    const promptSource = row.sources.prompt_ppl;
    expect(promptSource?.kind === "span" && Array.from(plan.sequences[promptSource.ref.sequence].tokenIds)).toEqual(Array.from(p0.ids));
    const response = row.sources.response_ppl;
    expect(response?.kind === "span" && plan.sequences[response.ref.sequence].spans[response.ref.span].start).toBe(p0.ids.length);
  });

  it("records truncation and empty spans with their reasons", async () => {
    const tokenizer = await tokenizerOf(40);
    const plan = await planWindow(rowsOf([{ instruction: "x".repeat(60), input: "", output: "gone" }, { ...b, output: "" }]), {
      metrics: new Set<MetricName>(["response_ppl", "output_ppl"]),
      prompts,
      tokenizer,
    });
    expect(plan.rows[0].truncated).toBe(true);
    expect(plan.rows[0].sources.response_ppl).toEqual({ kind: "missing", reason: "truncated-away" });
    expect(plan.rows[1].truncated).toBe(true); // its prompt alone exceeds 40 tokens
    expect(plan.rows[1].sources.output_ppl).toEqual({ kind: "missing", reason: "no-scored-tokens" });
  });
});
