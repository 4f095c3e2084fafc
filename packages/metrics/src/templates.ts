import { MetricsError } from "./metrics-error.js";
import type { Sample } from "./sample.js";
import { compileTemplate, renderTemplate, type CompiledTemplate } from "./template-text.js";

/** The three prompt kinds of the seed's `PROMPT_DICT`. */
export type TemplateKind = "zero-shot" | "one-shot" | "reversed-zero-shot";

/** Every {@link TemplateKind}, in the seed's order. */
export const TEMPLATE_KINDS: readonly TemplateKind[] = ["zero-shot", "one-shot", "reversed-zero-shot"];

/** The two variants of one prompt kind; `prompt_input` is used when the sample's `input !== ""`. */
export interface TemplateVariants {
  readonly prompt_input: string;
  readonly prompt_no_input: string;
}

/** A template set as text, in the seed's `PROMPT_DICT` layout (and the template file format). */
export type TemplateSetText = Readonly<Record<TemplateKind, TemplateVariants>>;

/**
 * Placeholders each kind may use: a sample's own fields, and for `one-shot` also the example's
 * (`example_input`, `example_output`), exactly the keys the seed's `format_map` calls provide.
 */
export const TEMPLATE_FIELDS: Readonly<Record<TemplateKind, readonly string[]>> = {
  "zero-shot": ["instruction", "input", "output"],
  "one-shot": ["instruction", "input", "output", "example_input", "example_output"],
  "reversed-zero-shot": ["instruction", "input", "output"],
};

/**
 * The default set `alpaca`: the seed's `PROMPT_DICT`, character for character (the seed writes each
 * string as adjacent Python literals; they are joined the same way here).
 */
export const ALPACA_TEMPLATES: TemplateSetText = {
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
};

/**
 * The guess-the-instruction request of Selective Reflection-Tuning (Li et al. 2024, "Selective
 * Reflection-Tuning: Student-Selected Data Recycling for LLM Instruction-Tuning", ACL Findings; code:
 * tianyi-lab/Reflection_Tuning, `selection_code/data_analysis.py`). Its code writes this text, with
 * the response inside, as the *instruction* of an ordinary prompt and scores the original
 * instruction as the response.
 */
export const SELECTIVE_REFLECTION_REQUEST =
  "Below is the response to an instruction, please guess the corresponding instruction for the given response.\n" +
  "{output}\n" +
  "Generate the instruction for the above response.";

/**
 * The r-IFD reverse prompt of Selective Reflection-Tuning: {@link SELECTIVE_REFLECTION_REQUEST}
 * wrapped in the Stanford Alpaca `prompt_no_input` template that its code uses for `--prompt alpaca`.
 * The paper's code does not show the input to the model (it appends it to the scored target); here
 * the target stays the instruction alone so `rifd` keeps its denominator `instruction_ppl`, and both
 * variants ignore the input.
 */
export const SELECTIVE_REFLECTION_REVERSED: TemplateVariants = {
  prompt_input: selectiveReflectionPrompt(),
  prompt_no_input: selectiveReflectionPrompt(),
};

function selectiveReflectionPrompt(): string {
  return (
    "Below is an instruction that describes a task. " +
    "Write a response that appropriately completes the request.\n\n" +
    `### Instruction:\n${SELECTIVE_REFLECTION_REQUEST}\n\n### Response:`
  );
}

/**
 * Builds the prompt texts the metrics need from a sample. Implemented by template sets (literal text
 * with placeholders) and by chat sets (the model's own chat template).
 */
export interface PromptSet {
  /** Name reported in errors and docs, e.g. `alpaca`, `chat`, or a template file's name. */
  readonly name: string;
  /**
   * Whether prompt-bearing sequences (`P + output`, `P`, `R + instruction`, `R`) are encoded with the
   * tokenizer's special tokens. True for template sets; false for chat sets, whose chat template
   * writes its own special tokens (as transformers' `apply_chat_template` tokenizes).
   */
  readonly addSpecialTokens: boolean;
  /** `P0`: the zero-shot prompt of `sample`. */
  zeroShot(sample: Sample): string;
  /** `P1_j(e)`: the one-shot prompt of `partner` (j) with `example` (e) as the worked example. */
  oneShot(partner: Sample, example: Sample): string;
  /** `R`: the reversed-zero-shot prompt of `sample`, followed by its instruction when scored. */
  reversed(sample: Sample): string;
}

/** Options of {@link createTemplatePromptSet}. */
export interface TemplatePromptSetOptions {
  /** Default `alpaca` for {@link ALPACA_TEMPLATES}, else `custom`. */
  readonly name?: string;
}

/**
 * A {@link PromptSet} from template text. Each kind picks `prompt_input` when the sample whose prompt it
 * is (for one-shot: the partner j, as in the seed) has `input !== ""`, else `prompt_no_input`.
 *
 * @throws MetricsError `invalid-template` when a template uses a placeholder its kind does not provide.
 */
export function createTemplatePromptSet(text: TemplateSetText = ALPACA_TEMPLATES, options: TemplatePromptSetOptions = {}): PromptSet {
  const name = options.name ?? (text === ALPACA_TEMPLATES ? "alpaca" : "custom");
  const compiled = compileSet(text, name);
  const pick = (kind: TemplateKind, sample: Sample): CompiledTemplate =>
    sample.input !== "" ? compiled[kind].prompt_input : compiled[kind].prompt_no_input;
  return {
    name,
    addSpecialTokens: true,
    zeroShot: (sample) => renderTemplate(pick("zero-shot", sample), fieldsOf(sample)),
    oneShot: (partner, example) =>
      renderTemplate(pick("one-shot", partner), {
        ...fieldsOf(partner),
        example_input: example.input,
        example_output: example.output,
      }),
    reversed: (sample) => renderTemplate(pick("reversed-zero-shot", sample), fieldsOf(sample)),
  };
}

/** Replaces a set's reversed-zero-shot templates with {@link SELECTIVE_REFLECTION_REVERSED}. */
export function withSelectiveReflectionReverse(text: TemplateSetText): TemplateSetText {
  return { ...text, "reversed-zero-shot": SELECTIVE_REFLECTION_REVERSED };
}

function fieldsOf(sample: Sample): Record<string, string> {
  return { instruction: sample.instruction, input: sample.input, output: sample.output };
}

type CompiledSet = Record<TemplateKind, { prompt_input: CompiledTemplate; prompt_no_input: CompiledTemplate }>;

function compileSet(text: TemplateSetText, name: string): CompiledSet {
  const compileChecked = (kind: TemplateKind, variant: keyof TemplateVariants): CompiledTemplate => {
    const template = compileTemplate(text[kind][variant]);
    const unknown = template.fields.filter((field) => !TEMPLATE_FIELDS[kind].includes(field));
    if (unknown.length > 0) {
      throw new MetricsError(
        "invalid-template",
        `template set "${name}": ${kind}.${variant} uses {${unknown[0]}}, which ${kind} does not provide (allowed: ${TEMPLATE_FIELDS[kind].map((f) => `{${f}}`).join(", ")})`,
      );
    }
    return template;
  };
  const entry = (kind: TemplateKind) => ({
    prompt_input: compileChecked(kind, "prompt_input"),
    prompt_no_input: compileChecked(kind, "prompt_no_input"),
  });
  return { "zero-shot": entry("zero-shot"), "one-shot": entry("one-shot"), "reversed-zero-shot": entry("reversed-zero-shot") };
}
