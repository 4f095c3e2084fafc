/**
 * Scoring requests of realistic lengths for benchmarks that drive an engine directly: the project's
 * example data (`examples/alpaca_mixed.json`) rendered with the seed's alpaca zero-shot template and
 * tokenized with the model's own tokenizer, prompt + output, the output scored (the `response_ppl`
 * sequence of DESIGN.md §1).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ALPACA_TEMPLATES, compileTemplate, renderTemplate, type SequenceRequest } from "@sftscore/metrics";
import { Tokenizer } from "tokenizers";
import { EXAMPLES_FILE } from "./workspace.js";

interface ExampleRecord {
  readonly id: string;
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

/** One request per example record, id = the record's id, in file order. */
export async function loadExampleSequences(modelDir: string): Promise<SequenceRequest[]> {
  const records = JSON.parse(await readFile(EXAMPLES_FILE, "utf8")) as ExampleRecord[];
  const tokenizer = Tokenizer.fromFile(path.join(modelDir, "tokenizer.json"));
  const withInput = compileTemplate(ALPACA_TEMPLATES["zero-shot"].prompt_input);
  const withoutInput = compileTemplate(ALPACA_TEMPLATES["zero-shot"].prompt_no_input);
  const requests: SequenceRequest[] = [];
  for (const record of records) {
    const prompt = renderTemplate(record.input === "" ? withoutInput : withInput, { instruction: record.instruction, input: record.input });
    const promptLength = (await tokenizer.encode(prompt)).getIds().length;
    const tokenIds = Uint32Array.from((await tokenizer.encode(prompt + record.output)).getIds());
    requests.push({ id: record.id, tokenIds, spans: [{ start: Math.min(Math.max(promptLength, 1), tokenIds.length - 1), end: tokenIds.length }] });
  }
  return requests;
}

/** Real tokens of a set of requests. */
export function tokensOf(requests: readonly SequenceRequest[]): number {
  return requests.reduce((sum, request) => sum + request.tokenIds.length, 0);
}
