/**
 * The seed's computation, written out independently of `@sftscore/metrics` (its own copy of the
 * templates, Python `format_map` semantics, the `tokenizers` package used directly, no sharing, no
 * dedup): per sample, build each sequence the seed's way, score it with the float64 reference
 * forward pass, apply the formula. Tests compare the package's rows with it.
 */
import { Tokenizer } from "tokenizers";
import type { ReferenceModel } from "./reference-scorer.js";

/** A triplet, as the seed's functions take it. */
export interface Triplet {
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
}

/** The seed's PROMPT_DICT (seed/000_14fb1c58f1b86ad5.txt), as written there. */
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

/** Python's `str.format_map` for plain `{name}` fields and `{{`/`}}` escapes (all the templates use). */
export function formatMap(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, name: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const value = values[name ?? ""];
    if (value === undefined) throw new Error(`KeyError: '${name}'`);
    return value;
  });
}

/** How the oracle builds prompts; default: the seed's functions over {@link SEED_PROMPT_DICT}. */
export interface OraclePrompts {
  zeroShot(t: Triplet): string;
  oneShot(t: Triplet, example: Triplet): string;
  reversed(t: Triplet): string;
  /** Encode prompt-bearing texts with special tokens (false for chat templates); default true. */
  readonly specialTokens?: boolean;
}

/** The seed's create_zero_shot_prompt / create_one_shot_prompt / create_reverse_prompt. */
export const SEED_PROMPTS: OraclePrompts = {
  zeroShot: (t) => formatMap(SEED_PROMPT_DICT["zero-shot"][t.input !== "" ? "prompt_input" : "prompt_no_input"], { ...t }),
  oneShot: (t, e) =>
    formatMap(SEED_PROMPT_DICT["one-shot"][t.input !== "" ? "prompt_input" : "prompt_no_input"], {
      ...t,
      example_input: e.input,
      example_output: e.output,
    }),
  reversed: (t) => formatMap(SEED_PROMPT_DICT["reversed-zero-shot"][t.input !== "" ? "prompt_input" : "prompt_no_input"], { ...t }),
};

/** Mean NLL (the loss) of each metric; null where the seed would divide by zero. */
export interface OracleNlls {
  readonly prompt: number | null;
  readonly response: number | null;
  readonly output: number | null;
  readonly instruction: number | null;
  readonly reverse: number | null;
}

/** The independent computation. */
export interface SeedOracle {
  /** `tokenizer.encode(text, max_length=maxLength, truncation=True)`. */
  encode(text: string, specialTokens?: boolean): Promise<number[]>;
  /** The loss of `inputIds` with `labels[:start] = -100`, as the seed's batched loss computes it. */
  loss(inputIds: readonly number[], start: number): number | null;
  nlls(t: Triplet): Promise<OracleNlls>;
  /** Zero-shot response loss of `j`, and its one-shot loss with `e` as the example. */
  oneshotLosses(j: Triplet, e: Triplet): Promise<{ zero: number | null; one: number | null }>;
  /** The seed's get_One_Shot_Example_Validity for sample e against the given partners (NaN → null). */
  oneshotValidity(e: Triplet, partners: readonly Triplet[], mode: "sign" | "raw"): Promise<number | null>;
}

/** Builds the oracle for `model`, truncating to `maxLength` (default the model's maximum). */
export function createSeedOracle(model: ReferenceModel, options: { maxLength?: number; prompts?: OraclePrompts } = {}): SeedOracle {
  const tokenizer = Tokenizer.fromString(model.info.tokenizerJson);
  tokenizer.setTruncation(options.maxLength ?? model.info.maxLength);
  const prompts = options.prompts ?? SEED_PROMPTS;
  const promptSpecial = prompts.specialTokens ?? true;
  const encode = async (text: string, specialTokens = true): Promise<number[]> =>
    (await tokenizer.encode(text, null, { addSpecialTokens: specialTokens })).getIds();
  const loss = (inputIds: readonly number[], start: number): number | null => {
    const logprobs = model.tokenLogprobs(inputIds);
    let sum = 0;
    let count = 0;
    // shift_labels = labels[1:]: position i (≥ 1) counts when labels[i] is not masked, i.e. i ≥ start.
    for (let i = Math.max(start, 1); i < inputIds.length; i++) {
      sum += -logprobs[i - 1];
      count++;
    }
    return count === 0 ? null : sum / count;
  };
  const conditional = async (prompt: string, target: string): Promise<number | null> =>
    loss(await encode(prompt + target, promptSpecial), (await encode(prompt, promptSpecial)).length);
  const oneshotLosses = async (j: Triplet, e: Triplet) => ({
    zero: await conditional(prompts.zeroShot(j), j.output),
    one: await conditional(prompts.oneShot(j, e), j.output),
  });
  return {
    encode,
    loss,
    nlls: async (t) => ({
      prompt: loss(await encode(prompts.zeroShot(t), promptSpecial), 0),
      response: await conditional(prompts.zeroShot(t), t.output),
      output: loss(await encode(t.output), 0),
      instruction: loss(await encode(t.instruction), 0),
      reverse: await conditional(prompts.reversed(t), t.instruction),
    }),
    oneshotLosses,
    async oneshotValidity(e, partners, mode) {
      if (partners.length === 0) return null;
      let sum = 0;
      for (const j of partners) {
        const { zero, one } = await oneshotLosses(j, e);
        if (zero === null || one === null) return null;
        const difference = Math.exp(zero) - Math.exp(one);
        sum += mode === "sign" ? Math.sign(difference) : difference;
      }
      return sum / partners.length;
    },
  };
}
