/**
 * The seed's algorithm (/work/shared/seed, DESIGN.md §1) ported the way a user would port it, as the
 * whole-job benchmark's baseline: one list of sequences per metric, built with the seed's
 * `PROMPT_DICT` and `tokenizer.encode(text, max_length, truncation=True)`; each list run in fixed
 * batches of 5 in input order, right-padded as `DataCollatorForSeq2Seq` pads; the plain `model.onnx`
 * returns the full `[5, L, vocab]` logits, which are copied out to JavaScript, where a loop computes
 * log-softmax and the loss at every labelled position; PPL = exp(mean loss). No sharing, no dedup.
 *
 * The lists and the formulas are pure functions; the tokenizer and the ONNX Runtime session are the
 * edge ({@link runSeedWay}). This is its own code: it shares nothing with `@sftscore/metrics`.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import ort from "onnxruntime-node";
import { Tokenizer } from "tokenizers";
import { readModelShape } from "./compute-floor.js";
import { emptyPastFeeds } from "./empty-past.js";

/** The seed's `PROMPT_DICT`, verbatim. */
export const SEED_PROMPT_DICT = {
  "zero-shot": {
    prompt_input:
      "Below is a description of the task and an input providing more context. " +
      "Please write an appropriate response to complete the request.\n\n" +
      "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:",
    prompt_no_input:
      "Below is a description of the task. " +
      "Please write an appropriate response to complete the request.\n\n" +
      "### Instruction:\n{instruction}\n\n### Response:",
  },
  "one-shot": {
    prompt_input:
      "Below is a description of the task and an input providing more context. " +
      "Please write an appropriate response to complete the request based on the example task and new task.\n\n" +
      "### Instruction:\n{instruction}\n\n" +
      "### Example Task\n" +
      "#### Input:\n{example_input}\n\n#### Response:\n{example_output}\n\n" +
      "### New Task\n" +
      "#### Input:\n{input}\n\n#### Response:",
    prompt_no_input:
      "Below is a description of the task and a reference example. " +
      "Please write an appropriate response to complete the new task based on the reference example.\n\n" +
      "### Instruction:\n{instruction}\n\n" +
      "### Example Task\n" +
      "#### Response:\n{example_output}\n\n" +
      "### New Task\n" +
      "#### Instruction:\n{instruction}\n\n#### Response:",
  },
  "reversed-zero-shot": {
    prompt_input:
      "Below is an input provided for a certain instruction, and a response for completing that instruction. " +
      "Please generate an appropriate instruction based on the output and response.\n\n" +
      "### Input:\n{input}\n\n### Response:\n{output}\n\n### Instruction:",
    prompt_no_input:
      "Below is a response for completing a certain instruction. " +
      "Please generate an appropriate instruction based on the output. \n\n" +
      "### Response:\n{output}\n\n### Instruction:",
  },
} as const;

/** A triplet, as the seed's functions take it. */
export interface Triplet {
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

/** Python's `str.format_map` for the `{name}` fields the templates use (inserted text is not rescanned). */
export function formatMap(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`KeyError: '${name}'`);
    return value;
  });
}

const variantOf = (t: Triplet) => (t.input !== "" ? "prompt_input" : "prompt_no_input");
const zeroShotPrompt = (t: Triplet): string => formatMap(SEED_PROMPT_DICT["zero-shot"][variantOf(t)], { ...t });
const oneShotPrompt = (t: Triplet, example: Triplet): string =>
  formatMap(SEED_PROMPT_DICT["one-shot"][variantOf(t)], { ...t, example_input: example.input, example_output: example.output });
const reversePrompt = (t: Triplet): string => formatMap(SEED_PROMPT_DICT["reversed-zero-shot"][variantOf(t)], { ...t });

/** PyTorch's `ignore_index`: a label the loss skips. */
export const IGNORE_INDEX = -100;

/** One entry of a seed list: `{"input_ids": ..., "labels": ...}`. */
export interface SeedExample {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

/** The seed's lists, in the order its functions build them. */
export interface SeedLists {
  /** `get_prompt_complexity`: enc(P0), every label kept. */
  readonly prompt: readonly SeedExample[];
  /** `get_response_complexity` (and IFD's numerator): enc(P0 + output), labels[:k] masked. */
  readonly response: readonly SeedExample[];
  /** IFD's denominator: enc(output). */
  readonly output: readonly SeedExample[];
  /** r-IFD's numerator: enc(R + instruction), labels[:k] masked. */
  readonly reverse: readonly SeedExample[];
  /** r-IFD's denominator: enc(instruction). */
  readonly instruction: readonly SeedExample[];
  /** One-shot validity: partner j's zero-shot example, one per (sample, partner) pair. */
  readonly zeroShot: readonly SeedExample[];
  /** One-shot validity: partner j's one-shot example with the sample as the worked example. */
  readonly oneShot: readonly SeedExample[];
  /** The sample each one-shot pair belongs to (`input_data_indices`). */
  readonly pairOwners: readonly number[];
}

/** `tokenizer.encode(text, max_length=..., truncation=True)`. */
export type Encode = (text: string) => Promise<readonly number[]>;

/** Builds every list for `triplets`; `partners[e]` are the samples the one-shot comparisons of e use. */
export async function buildSeedLists(triplets: readonly Triplet[], partners: readonly (readonly number[])[], encode: Encode): Promise<SeedLists> {
  const whole = (inputIds: readonly number[]): SeedExample => ({ inputIds, labels: inputIds });
  // labels[:k] = -100 with k = len(enc(prompt)), as create_IFD_input_data masks them.
  const conditional = async (prompt: string, target: string): Promise<SeedExample> => {
    const inputIds = await encode(prompt + target);
    const start = (await encode(prompt)).length;
    return { inputIds, labels: inputIds.map((id, i) => (i < start ? IGNORE_INDEX : id)) };
  };
  const [prompt, response, output, reverse, instruction]: SeedExample[][] = [[], [], [], [], []];
  for (const t of triplets) {
    prompt.push(whole(await encode(zeroShotPrompt(t))));
    response.push(await conditional(zeroShotPrompt(t), t.output));
    output.push(whole(await encode(t.output)));
    reverse.push(await conditional(reversePrompt(t), t.instruction));
    instruction.push(whole(await encode(t.instruction)));
  }
  const [zeroShot, oneShot]: SeedExample[][] = [[], []];
  const pairOwners: number[] = [];
  for (const [e, example] of triplets.entries()) {
    for (const j of partners[e] ?? []) {
      const partner = triplets[j];
      zeroShot.push(await conditional(zeroShotPrompt(partner), partner.output));
      oneShot.push(await conditional(oneShotPrompt(partner, example), partner.output));
      pairOwners.push(e);
    }
  }
  return { prompt, response, output, reverse, instruction, zeroShot, oneShot, pairOwners };
}

/** A batch as `DataCollatorForSeq2Seq` lays it out: right-padded `[rows, paddedLength]`, row-major. */
export interface CollatedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  /** `0..L−1` in every row, as the model derives positions when it is not given any. */
  readonly positionIds: BigInt64Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly paddedLength: number;
}

/** Pads a batch on the right: `padId` for ids, 0 for the mask, {@link IGNORE_INDEX} for labels. */
export function collate(batch: readonly SeedExample[], padId: number): CollatedBatch {
  const paddedLength = Math.max(...batch.map((example) => example.inputIds.length));
  const size = batch.length * paddedLength;
  const inputIds = new BigInt64Array(size).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(size);
  const positionIds = new BigInt64Array(size);
  const labels = new Int32Array(size).fill(IGNORE_INDEX);
  batch.forEach((example, row) => {
    for (let i = 0; i < paddedLength; i++) positionIds[row * paddedLength + i] = BigInt(i);
    example.inputIds.forEach((id, i) => {
      inputIds[row * paddedLength + i] = BigInt(id);
      attentionMask[row * paddedLength + i] = 1n;
      labels[row * paddedLength + i] = example.labels[i];
    });
  });
  return { inputIds, attentionMask, positionIds, labels, rows: batch.length, paddedLength };
}

/**
 * The seed's per-sample loss from full logits `[rows, L, vocab]`: shift by one, log-softmax of the
 * logits row that predicts each labelled position, mean over the labelled positions (NaN when there
 * is none, as 0/0 in PyTorch). Log-softmax in float64 over the float32 logits.
 */
export function batchLosses(logits: Float32Array, vocab: number, batch: CollatedBatch): number[] {
  const losses: number[] = [];
  for (let row = 0; row < batch.rows; row++) {
    let sum = 0;
    let count = 0;
    for (let i = 1; i < batch.paddedLength; i++) {
      const label = batch.labels[row * batch.paddedLength + i];
      if (label === IGNORE_INDEX) continue;
      const base = (row * batch.paddedLength + i - 1) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) if (logits[base + v] > max) max = logits[base + v];
      let total = 0;
      for (let v = 0; v < vocab; v++) total += Math.exp(logits[base + v] - max);
      sum += -(logits[base + label] - max - Math.log(total));
      count++;
    }
    losses.push(sum / count);
  }
  return losses;
}

/** Mean losses (the log of each perplexity) of every list, in list order. */
export interface SeedLosses {
  readonly prompt: readonly number[];
  readonly response: readonly number[];
  readonly output: readonly number[];
  readonly reverse: readonly number[];
  readonly instruction: readonly number[];
  readonly zeroShot: readonly number[];
  readonly oneShot: readonly number[];
}

/** The five metrics of one sample as the seed computes them (NaN where it would give NaN). */
export interface SeedMetrics {
  readonly prompt_ppl: number;
  readonly response_ppl: number;
  readonly output_ppl: number;
  readonly ifd: number;
  readonly instruction_ppl: number;
  readonly reverse_response_ppl: number;
  readonly rifd: number;
  readonly oneshot_validity: number;
}

/** The seed's formulas: IFD = PPL(y|x) / PPL(y), r-IFD likewise, one-shot validity = mean sign(PPL0 − PPL1). */
export function seedMetrics(losses: SeedLosses, pairOwners: readonly number[], samples: number): SeedMetrics[] {
  const signs: number[][] = Array.from({ length: samples }, () => []);
  pairOwners.forEach((owner, p) => signs[owner].push(Math.sign(Math.exp(losses.zeroShot[p]) - Math.exp(losses.oneShot[p]))));
  return Array.from({ length: samples }, (_, e) => {
    const ppl = (list: readonly number[]) => Math.exp(list[e]);
    return {
      prompt_ppl: ppl(losses.prompt),
      response_ppl: ppl(losses.response),
      output_ppl: ppl(losses.output),
      ifd: ppl(losses.response) / ppl(losses.output),
      instruction_ppl: ppl(losses.instruction),
      reverse_response_ppl: ppl(losses.reverse),
      rifd: ppl(losses.reverse) / ppl(losses.instruction),
      oneshot_validity: signs[e].length === 0 ? NaN : signs[e].reduce((a, b) => a + b, 0) / signs[e].length,
    };
  });
}

/** Options of {@link runSeedWay}. */
export interface SeedWayOptions {
  /** A Hugging Face-layout model directory with `model.onnx`, `tokenizer.json` and `config.json`. */
  readonly modelDir: string;
  readonly triplets: readonly Triplet[];
  /** `partners[e]`: the samples whose one-shot comparisons use sample e as the example. */
  readonly partners: readonly (readonly number[])[];
  /** ONNX Runtime intra-op threads. */
  readonly threads: number;
  /** Truncation length in tokens. */
  readonly maxLength: number;
  /** Rows per batch; default 5, as the seed's `calculate_sample_perplexity_resortable`. */
  readonly batchSize?: number;
  /** Called after each batch with the batches done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The seed way's values and what it took. */
export interface SeedWayRun {
  readonly metrics: readonly SeedMetrics[];
  /** Session creation, not part of {@link seconds}. */
  readonly loadSeconds: number;
  /** Tokenization to metric values. */
  readonly seconds: number;
  readonly tokenizeSeconds: number;
  /** Inside `session.run`, logits copy-out included. */
  readonly sessionSeconds: number;
  /** Log-softmax and losses in JavaScript. */
  readonly lossSeconds: number;
  readonly sequences: number;
  readonly batches: number;
  readonly realTokens: number;
  /** Rows × padded length, summed over batches. */
  readonly paddedTokens: number;
  /** Labelled positions: the losses computed. */
  readonly scoredTokens: number;
  /** Distinct `[rows, padded length]` shapes run. */
  readonly shapes: number;
}

const LIST_ORDER = ["prompt", "response", "output", "reverse", "instruction", "zeroShot", "oneShot"] as const;

/** Runs the seed way end to end on the CPU: tokenizer and session at this edge, the rest above. */
export async function runSeedWay(options: SeedWayOptions): Promise<SeedWayRun> {
  const batchSize = options.batchSize ?? 5;
  const config = JSON.parse(await readFile(path.join(options.modelDir, "config.json"), "utf8")) as { pad_token_id?: number };
  const cacheShape = await readModelShape(options.modelDir);
  const loadStarted = performance.now();
  const session = await ort.InferenceSession.create(path.join(options.modelDir, "model.onnx"), {
    executionProviders: ["cpu"],
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  try {
    const started = performance.now();
    const tokenizer = Tokenizer.fromFile(path.join(options.modelDir, "tokenizer.json"));
    tokenizer.setTruncation(options.maxLength);
    const lists = await buildSeedLists(options.triplets, options.partners, async (text) => (await tokenizer.encode(text)).getIds());
    const tokenizeSeconds = (performance.now() - started) / 1000;

    const totals = { sessionSeconds: 0, lossSeconds: 0, batches: 0, realTokens: 0, paddedTokens: 0, scoredTokens: 0 };
    const shapes = new Set<string>();
    const totalBatches = LIST_ORDER.reduce((sum, name) => sum + Math.ceil(lists[name].length / batchSize), 0);
    const perplexityLosses = async (list: readonly SeedExample[]): Promise<number[]> => {
      const losses: number[] = [];
      for (let start = 0; start < list.length; start += batchSize) {
        const batch = collate(list.slice(start, start + batchSize), config.pad_token_id ?? 0);
        const dims = [batch.rows, batch.paddedLength];
        const all: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor("int64", batch.inputIds, dims),
          attention_mask: new ort.Tensor("int64", batch.attentionMask, dims),
          position_ids: new ort.Tensor("int64", batch.positionIds, dims),
          // A with-past export takes an empty cache, as the seed's model call does with use_cache off.
          ...emptyPastFeeds(session, batch.rows, cacheShape),
        };
        let time = performance.now();
        const logits = (await session.run(Object.fromEntries(session.inputNames.map((name) => [name, all[name]])), ["logits"])).logits;
        totals.sessionSeconds += (performance.now() - time) / 1000;
        time = performance.now();
        losses.push(...batchLosses(logits.data as Float32Array, Number(logits.dims[2]), batch));
        totals.lossSeconds += (performance.now() - time) / 1000;
        totals.batches++;
        totals.realTokens += Number(batch.attentionMask.reduce((a, b) => a + b, 0n));
        totals.paddedTokens += batch.rows * batch.paddedLength;
        totals.scoredTokens += batch.labels.reduce((n, label, i) => n + (label !== IGNORE_INDEX && i % batch.paddedLength > 0 ? 1 : 0), 0);
        shapes.add(`${batch.rows}x${batch.paddedLength}`);
        options.onProgress?.(totals.batches, totalBatches);
      }
      return losses;
    };
    const losses: SeedLosses = {
      prompt: await perplexityLosses(lists.prompt),
      response: await perplexityLosses(lists.response),
      output: await perplexityLosses(lists.output),
      reverse: await perplexityLosses(lists.reverse),
      instruction: await perplexityLosses(lists.instruction),
      zeroShot: await perplexityLosses(lists.zeroShot),
      oneShot: await perplexityLosses(lists.oneShot),
    };
    const metrics = seedMetrics(losses, lists.pairOwners, options.triplets.length);
    return {
      metrics,
      loadSeconds,
      seconds: (performance.now() - started) / 1000,
      tokenizeSeconds,
      ...totals,
      sequences: LIST_ORDER.reduce((sum, name) => sum + lists[name].length, 0),
      shapes: shapes.size,
    };
  } finally {
    await session.release();
  }
}
