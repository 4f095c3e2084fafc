import { Template } from "@huggingface/jinja";
import { MetricsError } from "./metrics-error.js";
import type { Sample } from "./sample.js";
import { compileTemplate, renderTemplate, type CompiledTemplate } from "./template-text.js";
import { ALPACA_TEMPLATES, SELECTIVE_REFLECTION_REQUEST, type PromptSet } from "./templates.js";

/** Which request the reversed (instruction-generation) chat prompt makes. */
export type ReversedRequest = "seed" | "selective-reflection";

/** Options of {@link createChatPromptSet}. */
export interface ChatPromptSetOptions {
  /**
   * `seed` (default): the user asks with the body of the seed's reversed-zero-shot template;
   * `selective-reflection`: with Selective Reflection-Tuning's guess-the-instruction request.
   */
  readonly reversedRequest?: ReversedRequest;
}

/** One chat turn, as chat templates expect it. */
interface ChatMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

/**
 * Llama 3.x templates print today's date unless `date_string` is given; a fixed one keeps rows
 * identical from day to day (DESIGN.md §1, determinism). It is the date those templates default to.
 */
const FIXED_DATE_STRING = "26 Jul 2024";

const SEED_REVERSED_SUFFIX = "\n\n### Instruction:";

/**
 * A {@link PromptSet} that renders prompts with the model's own chat template (`chat_template` of
 * `tokenizer_config.json`, Jinja, rendered by @huggingface/jinja) for instruct models:
 *
 * - `P0` = template(`[user: U(instruction, input)]`, add_generation_prompt) where
 *   `U(i, x) = i` when `x === ""`, else `i + "\n\n" + x`; the response is appended after `P0`.
 * - `P1_j(e)` = template(`[user: U(j.instruction, e.input), assistant: e.output,
 *   user: U(j.instruction, j.input)]`, add_generation_prompt): the example as an earlier turn, as the
 *   seed's one-shot template shows the example before the new task.
 * - `R` = template(`[user: request(sample)]`, add_generation_prompt), followed by the instruction.
 *   `request` is the seed's reversed-zero-shot template without its trailing `### Instruction:` line
 *   (the assistant turn takes that role), or Selective Reflection-Tuning's request.
 *
 * Prompts are encoded *without* the tokenizer's post-processor special tokens: the chat template
 * writes its own (a `{{ bos_token }}`), which is how transformers' `apply_chat_template` tokenizes.
 *
 * @throws MetricsError `invalid-template` when the config is not JSON, has no `chat_template`, or the
 *   template fails to parse or render.
 */
export function createChatPromptSet(tokenizerConfigJson: string, options: ChatPromptSetOptions = {}): PromptSet {
  const config = parseConfig(tokenizerConfigJson);
  const source = chatTemplateSource(config);
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new MetricsError("invalid-template", `tokenizer_config.json: chat_template does not parse (${messageOf(error)})`, { cause: error });
  }
  const specials = {
    bos_token: specialToken(config.bos_token),
    eos_token: specialToken(config.eos_token),
    pad_token: specialToken(config.pad_token),
    unk_token: specialToken(config.unk_token),
  };
  const render = (messages: readonly ChatMessage[]): string => {
    try {
      return template.render({ messages, add_generation_prompt: true, date_string: FIXED_DATE_STRING, ...specials });
    } catch (error) {
      throw new MetricsError("invalid-template", `tokenizer_config.json: chat_template failed to render (${messageOf(error)})`, { cause: error });
    }
  };
  const request = reversedRequestTemplates(options.reversedRequest ?? "seed");
  const set: PromptSet = {
    name: "chat",
    addSpecialTokens: false,
    zeroShot: (sample) => render([{ role: "user", content: userContent(sample.instruction, sample.input) }]),
    oneShot: (partner, example) =>
      render([
        { role: "user", content: userContent(partner.instruction, example.input) },
        { role: "assistant", content: example.output },
        { role: "user", content: userContent(partner.instruction, partner.input) },
      ]),
    reversed: (sample) =>
      render([{ role: "user", content: renderTemplate(sample.input !== "" ? request.input : request.noInput, fieldsOf(sample)) }]),
  };
  // Fail at setup, not on the first sample, when the template cannot render a plain conversation.
  set.zeroShot({ instruction: "probe", input: "", output: "" });
  return set;
}

function userContent(instruction: string, input: string): string {
  return input === "" ? instruction : `${instruction}\n\n${input}`;
}

function fieldsOf(sample: Sample): Record<string, string> {
  return { instruction: sample.instruction, input: sample.input, output: sample.output };
}

function reversedRequestTemplates(kind: ReversedRequest): { input: CompiledTemplate; noInput: CompiledTemplate } {
  if (kind === "selective-reflection") {
    const request = compileTemplate(SELECTIVE_REFLECTION_REQUEST);
    return { input: request, noInput: request };
  }
  const strip = (text: string): CompiledTemplate => {
    // The seed's reversed templates end with the line the model is to continue; in a chat that is the
    // assistant turn, so the line is dropped from the user's message.
    if (!text.endsWith(SEED_REVERSED_SUFFIX)) throw new Error("seed reversed template changed shape");
    return compileTemplate(text.slice(0, -SEED_REVERSED_SUFFIX.length));
  };
  const seed = ALPACA_TEMPLATES["reversed-zero-shot"];
  return { input: strip(seed.prompt_input), noInput: strip(seed.prompt_no_input) };
}

function parseConfig(json: string): Record<string, unknown> {
  if (json.trim() === "") {
    throw new MetricsError("invalid-template", "the chat set needs the model's tokenizer_config.json, and the model has none");
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new MetricsError("invalid-template", `tokenizer_config.json is not valid JSON (${messageOf(error)})`, { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MetricsError("invalid-template", "tokenizer_config.json must hold a JSON object");
  }
  return value as Record<string, unknown>;
}

/** `chat_template` is a string, or a list of `{ name, template }` of which `default` is the chat one. */
function chatTemplateSource(config: Record<string, unknown>): string {
  const value = config.chat_template;
  if (typeof value === "string" && value !== "") return value;
  if (Array.isArray(value)) {
    const named = value.find((entry: unknown) => isNamedTemplate(entry) && entry.name === "default");
    if (isNamedTemplate(named)) return named.template;
  }
  throw new MetricsError("invalid-template", "tokenizer_config.json has no chat_template (a string or a list with a \"default\" entry); use a template set such as alpaca instead of chat");
}

function isNamedTemplate(value: unknown): value is { name: string; template: string } {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.name === "string" && typeof record.template === "string";
}

/** Special tokens are written as a string or as an AddedToken object `{ content, … }`. */
function specialToken(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as Record<string, unknown>).content === "string") {
    return (value as { content: string }).content;
  }
  return "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
