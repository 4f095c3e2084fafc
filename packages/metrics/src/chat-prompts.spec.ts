import { describe, expect, it } from "vitest";
import { createChatPromptSet } from "./chat-prompts.js";
import { MetricsError } from "./metrics-error.js";

const TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";
const config = JSON.stringify({ chat_template: TEMPLATE, bos_token: { content: "<s>", special: true }, eos_token: "</s>" });

describe("chat prompt set", () => {
  const prompts = createChatPromptSet(config);

  it("renders the user turn from instruction and input, with the generation prompt, and adds no special tokens itself", () => {
    expect(prompts.name).toBe("chat");
    expect(prompts.addSpecialTokens).toBe(false);
    expect(prompts.zeroShot({ instruction: "Translate {input}", input: "猫 🐱", output: "cat" })).toBe("<s><|user|>Translate {input}\n\n猫 🐱\n<|assistant|>");
    expect(prompts.zeroShot({ instruction: "Say hi", input: "", output: "hi" })).toBe("<s><|user|>Say hi\n<|assistant|>");
  });

  it("shows the one-shot example as an earlier turn of the partner's instruction", () => {
    const partner = { instruction: "Classify", input: "new", output: "p-out" };
    const example = { instruction: "other", input: "ex-in", output: "ex-out" };
    expect(prompts.oneShot(partner, example)).toBe(
      "<s><|user|>Classify\n\nex-in\n<|assistant|>ex-out\n<|user|>Classify\n\nnew\n<|assistant|>",
    );
    expect(prompts.oneShot({ ...partner, input: "" }, { ...example, input: "" })).toBe(
      "<s><|user|>Classify\n<|assistant|>ex-out\n<|user|>Classify\n<|assistant|>",
    );
  });

  it("asks for the instruction with the seed's reversed request, or Selective Reflection-Tuning's", () => {
    const sample = { instruction: "I", input: "x", output: "y" };
    expect(prompts.reversed(sample)).toBe(
      "<s><|user|>Below is an input provided for a certain instruction, and a response for completing that instruction. " +
        "Please generate an appropriate instruction based on the output and response.\n\n### Input:\nx\n\n### Response:\ny\n<|assistant|>",
    );
    expect(prompts.reversed({ ...sample, input: "" })).toBe(
      "<s><|user|>Below is a response for completing a certain instruction. Please generate an appropriate instruction based on the output. \n\n### Response:\ny\n<|assistant|>",
    );
    const srt = createChatPromptSet(config, { reversedRequest: "selective-reflection" });
    expect(srt.reversed(sample)).toBe(
      "<s><|user|>Below is the response to an instruction, please guess the corresponding instruction for the given response.\ny\nGenerate the instruction for the above response.\n<|assistant|>",
    );
  });

  it("takes the default entry of a list of named templates", () => {
    const listed = JSON.stringify({ chat_template: [{ name: "tool_use", template: "x" }, { name: "default", template: TEMPLATE }], bos_token: "" });
    expect(createChatPromptSet(listed).zeroShot({ instruction: "a", input: "", output: "" })).toBe("<|user|>a\n<|assistant|>");
  });

  it("fails with invalid-template when there is no usable chat template", () => {
    for (const [json, pattern] of [
      ["", /has none/],
      ["{", /not valid JSON/],
      [JSON.stringify({ bos_token: "<s>" }), /has no chat_template/],
      [JSON.stringify({ chat_template: "{% if x %}" }), /chat_template/],
      [JSON.stringify({ chat_template: "{{ raise_exception('roles must alternate') }}" }), /failed to render \(roles must alternate\)/],
    ] as const) {
      expect(() => createChatPromptSet(json)).toThrowError(MetricsError);
      expect(() => createChatPromptSet(json)).toThrowError(pattern);
    }
  });
});
