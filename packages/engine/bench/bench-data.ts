/**
 * The benchmark's sequences: the project's example data (`examples/alpaca_mixed.json`) rendered with
 * the seed's alpaca zero-shot template and tokenized with the model's own tokenizer, prompt + output,
 * with the response (`k = len(enc(prompt))` onwards) as the scored span — the `response_ppl` sequence
 * of DESIGN.md §1.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { SequenceRequest } from "@sftscore/metrics";
import { Tokenizer } from "tokenizers";

/** The seed's `PROMPT_DICT["zero-shot"]` (seed/000_14fb1c58f1b86ad5.txt), verbatim. */
const ZERO_SHOT = {
  promptInput:
    "Below is a description of the task and an input providing more context. " +
    "Please write an appropriate response to complete the request.\n\n" +
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:",
  promptNoInput:
    "Below is a description of the task. " +
    "Please write an appropriate response to complete the request.\n\n" +
    "### Instruction:\n{instruction}\n\n### Response:",
};

interface ExampleRecord {
  readonly id: string;
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

/** One copy of the example data as scoring requests, and what it holds. */
export interface BenchData {
  readonly requests: readonly SequenceRequest[];
  readonly records: number;
  readonly tokens: number;
  readonly scoredTokens: number;
  readonly minLength: number;
  readonly maxLength: number;
}

/**
 * Tokenizes `examplesPath` with `<modelDir>/tokenizer.json` (special tokens as its post-processor adds
 * them). Sequences longer than `maxLength` are cut to it.
 */
export async function loadBenchData(examplesPath: string, modelDir: string, maxLength: number): Promise<BenchData> {
  const records = JSON.parse(await readFile(examplesPath, "utf8")) as ExampleRecord[];
  const tokenizer = Tokenizer.fromFile(path.join(modelDir, "tokenizer.json"));
  const requests: SequenceRequest[] = [];
  for (const record of records) {
    const template = record.input === "" ? ZERO_SHOT.promptNoInput : ZERO_SHOT.promptInput;
    // A function replacement, so `$` in the data is never read as a replacement pattern.
    const prompt = template.replace("{instruction}", () => record.instruction).replace("{input}", () => record.input);
    const promptLength = (await tokenizer.encode(prompt)).getIds().length;
    const tokenIds = Uint32Array.from((await tokenizer.encode(prompt + record.output)).getIds().slice(0, maxLength));
    requests.push({ id: record.id, tokenIds, spans: [{ start: Math.min(Math.max(promptLength, 1), tokenIds.length), end: tokenIds.length }] });
  }
  const lengths = requests.map((request) => request.tokenIds.length);
  return {
    requests,
    records: records.length,
    tokens: lengths.reduce((a, b) => a + b, 0),
    scoredTokens: requests.reduce((sum, request) => sum + spanTokens(request), 0),
    minLength: Math.min(...lengths),
    maxLength: Math.max(...lengths),
  };
}

/** `copies` copies of `requests`, ids suffixed `#<tag>.<copy>` so that every pass sends fresh ids. */
export function repeatRequests(requests: readonly SequenceRequest[], copies: number, tag: string): SequenceRequest[] {
  return Array.from({ length: copies }, (_, copy) => requests.map((request) => ({ ...request, id: `${request.id}#${tag}.${copy}` }))).flat();
}

function spanTokens(request: SequenceRequest): number {
  return request.spans.reduce((sum, span) => sum + Math.max(0, span.end - span.start), 0);
}
