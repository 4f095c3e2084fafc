import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsError } from "./metrics-error.js";
import { loadTemplateSetFile, parseTemplateSet } from "./template-file.js";
import { ALPACA_TEMPLATES, createTemplatePromptSet } from "./templates.js";

const valid = {
  "zero-shot": { prompt_input: "Q: {instruction}\n{input}\nA:", prompt_no_input: "Q: {instruction}\nA:" },
  "one-shot": {
    prompt_input: "Q: {instruction}\n{example_input}\nA: {example_output}\nQ: {instruction}\n{input}\nA:",
    prompt_no_input: "Q: {instruction}\nA: {example_output}\nQ: {instruction}\nA:",
  },
  "reversed-zero-shot": { prompt_input: "{input}\n{output}\nQ:", prompt_no_input: "{output}\nQ:" },
};

function expectTemplateError(json: unknown, pattern: RegExp): void {
  const parse = (): unknown => parseTemplateSet(typeof json === "string" ? json : JSON.stringify(json), "sets/my-set.json");
  expect(parse).toThrowError(MetricsError);
  expect(parse).toThrowError(pattern);
  try {
    parse();
  } catch (error) {
    expect((error as MetricsError).code).toBe("invalid-template");
  }
}

describe("parseTemplateSet", () => {
  it("reads a set in PROMPT_DICT layout, named after the file unless it says otherwise", () => {
    const set = parseTemplateSet(JSON.stringify(valid), "sets/my-set.json");
    expect(set).toStrictEqual({ name: "my-set", templates: valid });
    expect(parseTemplateSet(JSON.stringify({ name: "qa", ...valid }), "x.json").name).toBe("qa");
    const prompts = createTemplatePromptSet(set.templates, { name: set.name });
    expect(prompts.zeroShot({ instruction: "i", input: "{output}", output: "o" })).toBe("Q: i\n{output}\nA:");
  });

  it("accepts the alpaca set itself", () => {
    expect(parseTemplateSet(JSON.stringify(ALPACA_TEMPLATES), "alpaca.json").templates).toStrictEqual(ALPACA_TEMPLATES);
  });

  it("names the file and a missing key", () => {
    const { "one-shot": _, ...withoutOneShot } = valid;
    expectTemplateError(withoutOneShot, /template file sets\/my-set\.json: missing key "one-shot"/);
    expectTemplateError({ ...valid, "zero-shot": { prompt_input: "{instruction}" } }, /sets\/my-set\.json: missing key "zero-shot\.prompt_no_input"/);
  });

  it("names the file and an unknown key", () => {
    expectTemplateError({ ...valid, "two-shot": {} }, /sets\/my-set\.json: unknown key "two-shot"/);
    expectTemplateError({ ...valid, "zero-shot": { ...valid["zero-shot"], prompt: "x" } }, /unknown key "zero-shot\.prompt"/);
  });

  it("rejects non-string templates, unknown placeholders, doubled braces and bad JSON", () => {
    expectTemplateError({ ...valid, "zero-shot": { prompt_input: 1, prompt_no_input: "" } }, /"zero-shot\.prompt_input" must be a string/);
    expectTemplateError({ ...valid, "zero-shot": { prompt_input: "{instructions}", prompt_no_input: "" } }, /unknown placeholder \{instructions\}/);
    expectTemplateError({ ...valid, "zero-shot": { prompt_input: "{example_input}", prompt_no_input: "" } }, /unknown placeholder \{example_input\}/);
    expectTemplateError({ ...valid, "reversed-zero-shot": { prompt_input: "{{output}}", prompt_no_input: "" } }, /contains "\{\{" at offset 0.*no brace escapes/);
    expectTemplateError("{ not json", /sets\/my-set\.json: not valid JSON/);
    expectTemplateError([], /expected a JSON object/);
  });
});

describe("loadTemplateSetFile", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "templates-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file and reports a missing one with its name", async () => {
    const file = path.join(dir, "qa.json");
    await writeFile(file, JSON.stringify(valid));
    expect((await loadTemplateSetFile(file)).name).toBe("qa");
    await expect(loadTemplateSetFile(path.join(dir, "absent.json"))).rejects.toThrowError(/template file .*absent\.json: cannot read it/);
  });
});
