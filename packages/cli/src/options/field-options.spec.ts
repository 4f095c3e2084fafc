import yargs from "yargs";
import { describe, expect, it } from "vitest";
import { fieldMappingOf, withFieldOptions } from "./field-options.js";

function parse(argv: string[]) {
  return withFieldOptions(yargs(argv), { taskField: "Task label" }).strict().parseSync();
}

describe("withFieldOptions", () => {
  it("declares the field options with score's defaults and no default task field", () => {
    const parsed = parse([]);
    expect(fieldMappingOf(parsed)).toEqual({ instructionField: "instruction", inputField: "input", outputField: "output", idField: "id" });
  });

  it("maps given options to the data layer's FieldMapping", () => {
    const parsed = parse(["--instruction-field", "prompt", "--output-field", "response", "--id-field", "uid", "--task-field", "category"]);
    expect(fieldMappingOf(parsed)).toEqual({ instructionField: "prompt", inputField: "input", outputField: "response", idField: "uid", taskField: "category" });
  });
});

describe("fieldMappingOf", () => {
  it("leaves out options that are undefined, so the data layer's defaults apply", () => {
    expect(fieldMappingOf({ outputField: "response", taskField: undefined })).toEqual({ outputField: "response" });
  });
});
