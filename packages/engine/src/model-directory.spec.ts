import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError } from "./engine-error.js";
import { buildFixtureModel } from "./fixture/build-fixture.js";
import { buildFixtureTokenizer } from "./fixture/tokenizer-builder.js";
import { openModelDirectory } from "./model-directory.js";

let root = "";
let tiny = "";
let copies = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "sftscore-model-dir-"));
  tiny = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "tiny") })).dir;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the tiny model (vocabulary 1024) with one file replaced. */
async function tinyWith(file: string, content: string): Promise<string> {
  const dir = path.join(root, `copy-${copies++}`);
  await cp(tiny, dir, { recursive: true });
  await writeFile(path.join(dir, file), content);
  return dir;
}

async function openError(dir: string): Promise<EngineError> {
  const error = await openModelDirectory(dir).then(() => undefined, (e: unknown) => e);
  if (!(error instanceof EngineError)) throw new Error(`expected an EngineError, got ${String(error)}`);
  return error;
}

describe("openModelDirectory: the tokenizer must fit the model's vocabulary", () => {
  it("accepts the model's own tokenizer and a smaller one (a padded vocabulary, as Qwen2.5 has)", async () => {
    expect((await openModelDirectory(tiny)).vocabSize).toBe(1024);
    const smaller = await tinyWith("tokenizer.json", buildFixtureTokenizer({ vocabSize: 512 }).tokenizerJson);
    expect((await openModelDirectory(smaller)).vocabSize).toBe(1024);
  });

  it("refuses a tokenizer.json from a model with a larger vocabulary, naming the file and both sizes", async () => {
    const dir = await tinyWith("tokenizer.json", buildFixtureTokenizer({ vocabSize: 2048 }).tokenizerJson);
    const error = await openError(dir);
    expect(error.code).toBe("invalid-argument");
    expect(error.message).toBe(
      `${path.join(dir, "tokenizer.json")} does not match the model: it has token ids up to 2047, but the model's vocabulary has only 1024 entries (ids 0 to 1023); use the tokenizer.json exported with this model`,
    );
  });

  it("counts added tokens and Unigram vocabularies (ids by position)", async () => {
    const own = JSON.parse(await readFile(path.join(tiny, "tokenizer.json"), "utf8")) as { added_tokens: { id: number }[] };
    own.added_tokens.push({ ...own.added_tokens[0], id: 1024 });
    expect((await openError(await tinyWith("tokenizer.json", JSON.stringify(own)))).message).toMatch(/token ids up to 1024, but/);
    const unigram = { model: { type: "Unigram", vocab: Array.from({ length: 1500 }, (_, i) => [`piece${i}`, -1]) }, added_tokens: [] };
    expect((await openError(await tinyWith("tokenizer.json", JSON.stringify(unigram)))).message).toMatch(/token ids up to 1499, but/);
  });

  it("names a tokenizer.json that is not JSON", async () => {
    const dir = await tinyWith("tokenizer.json", "{ not json");
    expect((await openError(dir)).message).toMatch(new RegExp(`^${path.join(dir, "tokenizer.json")} is not valid JSON`));
  });
});

describe("openModelDirectory: the graph file", () => {
  it("says a model.onnx that is not ONNX is not an ONNX model, rather than that none was found", async () => {
    const dir = await tinyWith("model.onnx", "this is a text file, not a model\n");
    const error = await openError(dir);
    expect(error.code).toBe("invalid-argument");
    expect(error.message).toMatch(new RegExp(`^${path.join(dir, "model.onnx")} is not an ONNX model`));
  });

  it("names a Git LFS pointer in place of model.onnx (a clone without git-lfs) as such", async () => {
    const pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146ec1b2bca8d5e4c4fa4d6c2b1f1e0a8b63f6a1a3f0c2c1b5b7e9d1c3a\nsize 1048576\n";
    const dir = await tinyWith("model.onnx", pointer);
    const expected = `${path.join(dir, "model.onnx")} is a Git LFS pointer, not the model: its weights were never downloaded (run git lfs pull in the model's repository)`;
    expect(await openError(dir)).toMatchObject({ code: "invalid-argument", message: expected });
    expect((await openError(path.join(dir, "model.onnx"))).message).toBe(expected);
  });
});
