import { describe, expect, it } from "vitest";
import { chooseModelFiles, externalDataOf, globMatcher, onnxVariants } from "./model-files.js";

const listing = (...paths: string[]) => paths.map((path) => ({ path }));
const META = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];
const TRANSFORMERS_JS = listing(
  ...META,
  "README.md",
  "onnx/model.onnx",
  "onnx/model.onnx_data",
  "onnx/model_fp16.onnx",
  "onnx/model_fp16.onnx_data",
  "onnx/model_q4.onnx",
  "onnx/model_q4f16.onnx",
  "model.safetensors",
);
const paths = (choice: { files: readonly { path: string }[] }) => choice.files.map((f) => f.path).sort();

describe("chooseModelFiles", () => {
  it("prefers onnx/model.onnx and takes its external data and the tokenizer and config files", () => {
    const choice = chooseModelFiles(TRANSFORMERS_JS, { repo: "o/m" });
    expect(choice).toMatchObject({ graph: "onnx/model.onnx", graphIsDefault: true });
    expect(paths(choice)).toEqual([...META, "onnx/model.onnx", "onnx/model.onnx_data"].sort());
  });

  it("falls back to model.onnx at the root, then to optimum's decoder_model.onnx", () => {
    expect(chooseModelFiles(listing("config.json", "tokenizer.json", "model.onnx"), { repo: "o/m" }).graph).toBe("model.onnx");
    const optimum = chooseModelFiles(listing("config.json", "tokenizer.json", "decoder_model.onnx", "decoder_model_merged.onnx", "decoder_with_past_model.onnx"), { repo: "o/m" });
    expect(optimum).toMatchObject({ graph: "decoder_model.onnx", graphIsDefault: false });
  });

  it("picks a variant by its transformers.js suffix", () => {
    const choice = chooseModelFiles(TRANSFORMERS_JS, { repo: "o/m", variant: "fp16" });
    expect(choice).toMatchObject({ graph: "onnx/model_fp16.onnx", graphIsDefault: false });
    expect(paths(choice)).toContain("onnx/model_fp16.onnx_data");
    expect(paths(choice)).not.toContain("onnx/model.onnx");
  });

  it("lets an included graph replace the automatic choice, and adds included files", () => {
    const choice = chooseModelFiles(TRANSFORMERS_JS, { repo: "o/m", include: ["onnx/model_q4.onnx", "README.*"] });
    expect(choice.graph).toBe("onnx/model_q4.onnx");
    expect(paths(choice)).toEqual([...META, "README.md", "onnx/model_q4.onnx"].sort());
    expect(() => chooseModelFiles(TRANSFORMERS_JS, { repo: "o/m", include: ["*.gguf"] })).toThrow(/--include \*\.gguf matches no file of o\/m; it has: config\.json/);
  });

  it("names the variants when the unsuffixed graph is missing", () => {
    const only = listing("config.json", "tokenizer.json", "onnx/model_q4.onnx", "onnx/model_int8.onnx");
    expect(() => chooseModelFiles(only, { repo: "o/m" })).toThrow(/o\/m has no onnx\/model\.onnx or model\.onnx; its ONNX graphs are onnx\/model_q4\.onnx, onnx\/model_int8\.onnx: choose one with --variant int8\|q4/);
  });

  it("suggests an optimum export for a repository without any graph", () => {
    let error: unknown;
    try {
      chooseModelFiles(listing("config.json", "tokenizer.json", "model.safetensors"), { repo: "org/model" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "no-onnx-graph" });
    expect(String(error)).toMatch(/optimum-cli export onnx --model org\/model --task text-generation \.\/org-model-onnx/);
  });

  it("requires config.json and tokenizer.json", () => {
    expect(() => chooseModelFiles(listing("config.json", "tokenizer.model", "model.onnx"), { repo: "o/m" })).toThrow(/o\/m has no tokenizer\.json at its root/);
  });
});

describe("file name helpers", () => {
  it("finds external data by the graph's name, split files included", () => {
    const files = ["onnx/model.onnx", "onnx/model.onnx_data", "onnx/model.onnx_data_1", "onnx/model_fp16.onnx_data", "model.onnx_data", "onnx/model.onnx.data"];
    expect(externalDataOf("onnx/model.onnx", files)).toEqual(["onnx/model.onnx.data", "onnx/model.onnx_data", "onnx/model.onnx_data_1"]);
  });

  it("lists variants", () => {
    expect(onnxVariants(TRANSFORMERS_JS.map((f) => f.path))).toEqual(["", "fp16", "q4", "q4f16"]);
  });

  it("matches globs: * and ? within a folder, ** across folders", () => {
    expect(globMatcher("onnx/*.onnx")("onnx/model.onnx")).toBe(true);
    expect(globMatcher("*.onnx")("onnx/model.onnx")).toBe(false);
    expect(globMatcher("**/*.onnx")("onnx/model.onnx")).toBe(true);
    expect(globMatcher("**/*.onnx")("model.onnx")).toBe(true);
    expect(globMatcher("model.onnx")("modelXonnx")).toBe(false);
    expect(globMatcher("model_q?.onnx")("model_q4.onnx")).toBe(true);
  });
});
