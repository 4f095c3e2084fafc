import { existsSync } from "node:fs";
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureModel, EXTERNAL_DATA_FILE } from "./fixture/build-fixture.js";
import { extendWithLossHead, LABELS_INPUT, SCORED_INDEX_INPUT, TOKEN_LOGPROBS_OUTPUT } from "./loss-head.js";
import {
  EXTERNAL_DATA_FOLDER_CONFIG,
  extendedModelSessionInput,
  hashModelDirectory,
  loadExtendedModel,
  readModelFile,
  type ExtendedModelFile,
} from "./onnx-model-file.js";

const { onnx } = onnxProto;
const STORIES_DIR = "/work/shared/models/stories260k";

/** Two right-padded rows, every position scored; feeds for the fixture's and stories260k's inputs. */
function scoringFeeds(inputNames: readonly string[]): Record<string, ort.Tensor> {
  const rows = [
    [1, 17, 93, 4, 250, 31, 8],
    [1, 45, 12],
  ];
  const length = 7;
  const int64 = (values: number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);
  const grid = (cell: (row: number[], i: number) => number) => rows.flatMap((row) => Array.from({ length }, (_, i) => (i < row.length ? cell(row, i) : 0)));
  const scored = rows.flatMap((row, b) => row.slice(1).map((label, k) => ({ index: b * length + k, label })));
  const all: Record<string, ort.Tensor> = {
    input_ids: int64(grid((row, i) => row[i]), [2, length]),
    attention_mask: int64(grid(() => 1), [2, length]),
    position_ids: int64(grid((_, i) => i), [2, length]),
    [SCORED_INDEX_INPUT]: int64(scored.map((s) => s.index), [scored.length]),
    [LABELS_INPUT]: int64(scored.map((s) => s.label), [scored.length]),
  };
  return Object.fromEntries(inputNames.map((name) => [name, all[name]]));
}

async function openSession(extended: ExtendedModelFile): Promise<ort.InferenceSession> {
  const { model, extra } = await extendedModelSessionInput(extended);
  return typeof model === "string" ? ort.InferenceSession.create(model, { extra }) : ort.InferenceSession.create(model, { extra });
}

async function score(session: ort.InferenceSession): Promise<Float32Array> {
  return (await session.run(scoringFeeds(session.inputNames)))[TOKEN_LOGPROBS_OUTPUT].data as Float32Array;
}

describe("onnx-model-file", () => {
  let root: string;
  let external: string;
  let embedded: string;
  let expected: Float32Array;
  beforeAll(async () => {
    root = await realpath(await mkdtemp(path.join(tmpdir(), "sftscore-model-file-")));
    external = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "external"), seed: 3, externalData: true })).dir;
    embedded = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "embedded"), seed: 3 })).dir;
    // The same weights stored inside the graph, extended in memory: what every cached variant must reproduce.
    const { model } = extendWithLossHead(onnx.ModelProto.decode(await readFile(path.join(embedded, "model.onnx"))));
    expected = await score(await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish()));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("documents ONNX Runtime's rule: external data must resolve inside the model directory, unless loaded as bytes with a data folder", async () => {
    const elsewhere = path.join(root, "elsewhere");
    await mkdir(elsewhere);
    await cp(path.join(external, "model.onnx"), path.join(elsewhere, "model.onnx"));
    await symlink(path.join(external, EXTERNAL_DATA_FILE), path.join(elsewhere, EXTERNAL_DATA_FILE));
    await expect(ort.InferenceSession.create(path.join(elsewhere, "model.onnx"))).rejects.toThrow(/escapes model directory/);
    const bytes = await readFile(path.join(external, "model.onnx"));
    const session = await ort.InferenceSession.create(bytes, { extra: { session: { [EXTERNAL_DATA_FOLDER_CONFIG]: external } } });
    expect(session.outputNames).toContain("logits");
  });

  it("hashes content, not paths: a copy hashes equal, a changed data byte or tokenizer does not", async () => {
    const copy = path.join(root, "copy");
    await cp(external, copy, { recursive: true });
    const original = await hashModelDirectory(external);
    expect(original).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashModelDirectory(copy)).toBe(original);
    expect(await hashModelDirectory(path.join(copy, "model.onnx"))).toBe(original);
    await appendFile(path.join(copy, "tokenizer.json"), " ");
    const tokenizerChanged = await hashModelDirectory(copy);
    expect(tokenizerChanged).not.toBe(original);
    const dataPath = path.join(copy, EXTERNAL_DATA_FILE);
    const data = await readFile(dataPath);
    data[data.length - 1] ^= 1;
    await writeFile(dataPath, data);
    expect(await hashModelDirectory(copy)).not.toBe(tokenizerChanged);
  });

  it("finds config and tokenizer above onnx/model.onnx in the Hugging Face layout", async () => {
    const layout = path.join(root, "hf-layout");
    await cp(embedded, layout, { recursive: true });
    await mkdir(path.join(layout, "onnx"));
    await rename(path.join(layout, "model.onnx"), path.join(layout, "onnx", "model.onnx"));
    expect(await hashModelDirectory(layout)).toBe(await hashModelDirectory(embedded));
  });

  it("caches an external-data model without copying or linking its data, and reuses the entry", async () => {
    const cacheDir = path.join(root, "cache-external");
    const first = await loadExtendedModel(external, cacheDir);
    expect(first).toMatchObject({ lossHead: "scored-positions", dtype: "float32", externalDataDir: external });
    expect(first.sourceHash).toBe(await hashModelDirectory(external));
    const entry = path.dirname(first.modelPath);
    expect((await readdir(entry)).sort()).toEqual(["manifest.json", "model.onnx"]);
    expect((await stat(first.modelPath)).size).toBeLessThan((await stat(path.join(external, EXTERNAL_DATA_FILE))).size / 10);
    expect(Array.from(await score(await openSession(first)))).toEqual(Array.from(expected));

    const modified = (await stat(first.modelPath)).mtimeMs;
    const second = await loadExtendedModel(external, cacheDir);
    expect(second).toEqual(first);
    expect((await stat(second.modelPath)).mtimeMs).toBe(modified);
  });

  it("loads a Hugging Face hub snapshot whose data file is a symlink into blobs/, which ORT alone refuses", async () => {
    const hub = path.join(root, "hub");
    const snapshot = path.join(hub, "snapshots", "0123abc");
    await mkdir(path.join(hub, "blobs"), { recursive: true });
    await mkdir(snapshot, { recursive: true });
    await cp(path.join(external, EXTERNAL_DATA_FILE), path.join(hub, "blobs", "9f8e7d"));
    await symlink(path.join("..", "..", "blobs", "9f8e7d"), path.join(snapshot, EXTERNAL_DATA_FILE));
    for (const name of ["model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json"]) await cp(path.join(external, name), path.join(snapshot, name));
    await expect(ort.InferenceSession.create(path.join(snapshot, "model.onnx"))).rejects.toThrow(/escapes model directory/);

    const extended = await loadExtendedModel(snapshot, path.join(root, "cache-hub"));
    expect(extended.externalDataDir).toBe(path.join(hub, "blobs"));
    expect(extended.sourceHash).toBe(await hashModelDirectory(external));
    expect(Array.from(await score(await openSession(extended)))).toEqual(Array.from(expected));
  });

  it("creates one entry atomically when loaders race, leaving no temporary directories", async () => {
    const cacheDir = path.join(root, "cache-race");
    const results = await Promise.all(Array.from({ length: 4 }, () => loadExtendedModel(external, cacheDir)));
    expect(new Set(results.map((result) => result.modelPath)).size).toBe(1);
    expect(await readdir(cacheDir)).toEqual([path.basename(path.dirname(results[0].modelPath))]);
  });

  it("loads a self-contained model by path, and keys the full-logits variant separately", async () => {
    const cacheDir = path.join(root, "cache-embedded");
    const scored = await loadExtendedModel(embedded, cacheDir);
    const full = await loadExtendedModel(embedded, cacheDir, { forceFullLogits: true });
    expect(scored.externalDataDir).toBeUndefined();
    expect((await extendedModelSessionInput(scored)).model).toBe(scored.modelPath);
    expect(full).toMatchObject({ lossHead: "full-logits", reason: expect.stringMatching(/forceFullLogits/) });
    expect(full.modelPath).not.toBe(scored.modelPath);
    const fullScores = await score(await openSession(full));
    fullScores.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-5));
  });

  it("names the missing external data file", async () => {
    const broken = path.join(root, "broken");
    await cp(external, broken, { recursive: true });
    await rm(path.join(broken, EXTERNAL_DATA_FILE));
    await expect(readModelFile(broken)).rejects.toThrow(
      expect.objectContaining({ code: "not-found", message: expect.stringMatching(/references external data "model\.onnx_data", which cannot be read/) }),
    );
  });

  it.skipIf(!existsSync(STORIES_DIR))("extends stories260k from its read-only directory", async () => {
    const extended = await loadExtendedModel(STORIES_DIR, path.join(root, "cache-stories"));
    expect(extended).toMatchObject({ lossHead: "scored-positions", dtype: "float32" });
    expect(extended.externalDataDir).toBeUndefined();
    const values = await score(await openSession(extended));
    expect(values.every((value) => Number.isFinite(value) && value <= 0)).toBe(true);
  });
});
