import { describe, expect, it } from "vitest";
import { MetricsError } from "./metrics-error.js";
import {
  ALPACA_TEMPLATES,
  SELECTIVE_REFLECTION_REVERSED,
  createTemplatePromptSet,
  withSelectiveReflectionReverse,
} from "./templates.js";

// The seed's PROMPT_DICT, copied from seed/000_14fb1c58f1b86ad5.txt as the same adjacent literals,
// so the package's strings are checked against an independent copy.
const SEED_PROMPT_DICT = {
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

const sentiment = { instruction: "分类以下句子的情感为伤心、高兴、正常。", input: "我的科三挂了。", output: "伤心" };
const noInput = { instruction: "保持健康的三个提示。", input: "", output: "1. 多运动" };

describe("alpaca templates", () => {
  it("reproduce the seed's PROMPT_DICT character for character", () => {
    expect(ALPACA_TEMPLATES).toStrictEqual(SEED_PROMPT_DICT);
  });

  it("render the seed's printed zero-shot example exactly", () => {
    const prompts = createTemplatePromptSet();
    // The seed prints create_zero_shot_prompt(triplet_list[0]) for this no-input sample.
    expect(prompts.zeroShot({ instruction: "保持健康的三个提示。", input: "", output: "" })).toBe(
      "Below is a description of the task. Please write an appropriate response to complete the request.\n\n" +
        "### Instruction:\n保持健康的三个提示。\n\n### Response:",
    );
    expect(prompts.name).toBe("alpaca");
    expect(prompts.addSpecialTokens).toBe(true);
  });

  it("choose prompt_input exactly when input is not empty", () => {
    const prompts = createTemplatePromptSet();
    expect(prompts.zeroShot(sentiment)).toBe(
      "Below is a description of the task and an input providing more context. Please write an appropriate response to complete the request.\n\n" +
        "### Instruction:\n分类以下句子的情感为伤心、高兴、正常。\n\n### Input:\n我的科三挂了。\n\n### Response:",
    );
    expect(prompts.zeroShot({ ...sentiment, input: " " })).toContain("### Input:\n \n\n");
    expect(prompts.reversed(noInput)).toBe(
      "Below is a response for completing a certain instruction. Please generate an appropriate instruction based on the output. \n\n" +
        "### Response:\n1. 多运动\n\n### Instruction:",
    );
    expect(prompts.reversed(sentiment)).toBe(
      "Below is an input provided for a certain instruction, and a response for completing that instruction. Please generate an appropriate instruction based on the output and response.\n\n" +
        "### Input:\n我的科三挂了。\n\n### Response:\n伤心\n\n### Instruction:",
    );
  });

  it("build one-shot prompts from the partner's fields and the example's input and output", () => {
    const prompts = createTemplatePromptSet();
    const partner = { instruction: "I", input: "new input", output: "partner output" };
    const example = { instruction: "ignored", input: "example input", output: "example output" };
    expect(prompts.oneShot(partner, example)).toBe(
      "Below is a description of the task and an input providing more context. Please write an appropriate response to complete the request based on the example task and new task.\n\n" +
        "### Instruction:\nI\n\n### Example Task\n#### Input:\nexample input\n\n#### Response:\nexample output\n\n### New Task\n#### Input:\nnew input\n\n#### Response:",
    );
    // The variant follows the partner's input, as create_one_shot_prompt(triplet=partner, ...) does.
    expect(prompts.oneShot({ ...partner, input: "" }, example)).toBe(
      "Below is a description of the task and a reference example. Please write an appropriate response to complete the new task based on the reference example.\n\n" +
        "### Instruction:\nI\n\n### Example Task\n#### Response:\nexample output\n\n### New Task\n#### Instruction:\nI\n\n#### Response:",
    );
  });

  it("leave placeholder-looking text in samples as it is", () => {
    const prompts = createTemplatePromptSet();
    const tricky = { instruction: "Fill {input} and {output} and {{x}} and $& $1 {", input: "{instruction}", output: "}}{example_output}" };
    expect(prompts.zeroShot(tricky)).toBe(
      "Below is a description of the task and an input providing more context. Please write an appropriate response to complete the request.\n\n" +
        "### Instruction:\nFill {input} and {output} and {{x}} and $& $1 {\n\n### Input:\n{instruction}\n\n### Response:",
    );
    expect(prompts.oneShot(tricky, tricky)).toContain("#### Response:\n}}{example_output}\n\n### New Task");
    expect(prompts.reversed(tricky)).toContain("### Response:\n}}{example_output}\n\n### Instruction:");
  });
});

describe("Selective Reflection-Tuning reverse template", () => {
  it("asks to guess the instruction of the response, wrapped in the Alpaca no-input prompt, input unused", () => {
    const prompts = createTemplatePromptSet(withSelectiveReflectionReverse(ALPACA_TEMPLATES), { name: "alpaca" });
    const expected =
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
      "### Instruction:\nBelow is the response to an instruction, please guess the corresponding instruction for the given response.\n" +
      "伤心\nGenerate the instruction for the above response.\n\n### Response:";
    expect(prompts.reversed(sentiment)).toBe(expected);
    expect(prompts.reversed({ ...sentiment, input: "" })).toBe(expected);
    expect(SELECTIVE_REFLECTION_REVERSED.prompt_input).toBe(SELECTIVE_REFLECTION_REVERSED.prompt_no_input);
    // Only the reversed kind changes.
    expect(prompts.zeroShot(sentiment)).toBe(createTemplatePromptSet().zeroShot(sentiment));
  });
});

describe("custom template text", () => {
  it("rejects a placeholder its kind does not provide", () => {
    const text = { ...ALPACA_TEMPLATES, "zero-shot": { prompt_input: "{example_output}", prompt_no_input: "{instruction}" } };
    expect(() => createTemplatePromptSet(text, { name: "mine" })).toThrowError(MetricsError);
    expect(() => createTemplatePromptSet(text, { name: "mine" })).toThrowError(/"mine": zero-shot\.prompt_input uses \{example_output\}/);
  });
});
