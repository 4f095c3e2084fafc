import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import onnxProto, { type onnx as Onnx } from "onnx-proto";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureModel, type FixtureModelOptions } from "./fixture/build-fixture.js";
import { createGraphBuilder } from "./fixture/onnx-graph.js";
import { float16BitsToFloat32 } from "./fixture/weights.js";
import { extendWithLossHead, LABELS_INPUT, SCORED_INDEX_INPUT, TOKEN_LOGPROBS_OUTPUT, type LossHeadOptions } from "./loss-head.js";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const STORIES = "/work/shared/models/stories260k/model.onnx";

type Feeds = Record<string, ort.Tensor>;

/** Right-padded int64 feeds for `rows`, plus empty past tensors and `position_ids` where the graph has them. */
function batchFeeds(model: Onnx.IModelProto, rows: readonly number[][]): Feeds {
  const batch = rows.length;
  const length = Math.max(...rows.map((row) => row.length));
  const ids = new BigInt64Array(batch * length);
  const mask = new BigInt64Array(batch * length);
  const positions = new BigInt64Array(batch * length);
  rows.forEach((row, b) =>
    row.forEach((token, i) => {
      ids[b * length + i] = BigInt(token);
      mask[b * length + i] = 1n;
      positions[b * length + i] = BigInt(i);
    }),
  );
  const feeds: Feeds = {};
  for (const input of model.graph?.input ?? []) {
    const name = input.name ?? "";
    const tensorType = input.type?.tensorType;
    if (name === "input_ids") feeds[name] = new ort.Tensor("int64", ids, [batch, length]);
    else if (name === "attention_mask") feeds[name] = new ort.Tensor("int64", mask, [batch, length]);
    else if (name === "position_ids") feeds[name] = new ort.Tensor("int64", positions, [batch, length]);
    else if (name.startsWith("past_key_values.")) {
      const dims = (tensorType?.shape?.dim ?? []).map((dim) => Number(dim.dimValue ?? 0));
      const shape = [batch, dims[1], 0, dims[3]];
      feeds[name] =
        tensorType?.elemType === DataType.FLOAT16
          ? new ort.Tensor("float16", new Uint16Array(0), shape)
          : new ort.Tensor("float32", new Float32Array(0), shape);
    }
  }
  return feeds;
}

/** Float64 log p(row[i] | row[<i]) from a `[B, L, V]` logits tensor (float32 or float16 bits). */
function referenceLogprob(logits: ort.Tensor, b: number, i: number, label: number): number {
  const [, length, vocab] = logits.dims;
  const offset = (b * length + i - 1) * vocab;
  const value = (k: number): number => {
    const raw = Number(logits.data[offset + k]);
    return logits.type === "float16" ? float16BitsToFloat32(raw) : raw;
  };
  let max = -Infinity;
  for (let k = 0; k < vocab; k++) max = Math.max(max, value(k));
  let sum = 0;
  for (let k = 0; k < vocab; k++) sum += Math.exp(value(k) - max);
  return value(label) - max - Math.log(sum);
}

/** The `(row, position)` pairs chosen by `pick` for each row, as the loss head's extra feeds. */
function scoredFeeds(rows: readonly number[][], pick: (row: number[]) => number[]) {
  const length = Math.max(...rows.map((row) => row.length));
  const scored = rows.flatMap((row, b) => pick(row).map((i) => ({ b, i, label: row[i] })));
  return {
    scored,
    feeds: {
      [SCORED_INDEX_INPUT]: new ort.Tensor("int64", BigInt64Array.from(scored, ({ b, i }) => BigInt(b * length + i - 1)), [scored.length]),
      [LABELS_INPUT]: new ort.Tensor("int64", BigInt64Array.from(scored, ({ label }) => BigInt(label)), [scored.length]),
    },
  };
}

const allPositions = (row: number[]) => row.map((_, i) => i).slice(1);
const secondHalf = (row: number[]) => allPositions(row).filter((i) => i >= Math.ceil(row.length / 2));

/** Irregular token rows of the given lengths, ids in `[3, vocab)`, no randomness. */
function tokenRows(lengths: readonly number[], vocab: number): number[][] {
  return lengths.map((n, r) => Array.from({ length: n }, (_, i) => 3 + ((r * 131 + i * 37 + ((i * i) % 23)) % (vocab - 3))));
}

async function sessionOf(model: Onnx.IModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
}

/**
 * Extends `model`, runs it and the original on `rows`, and returns the largest difference between
 * `token_logprobs` and the float64 log-softmax of the original logits, over the picked positions.
 */
async function maxDeviation(
  model: Onnx.IModelProto,
  rows: number[][],
  options: LossHeadOptions,
  pick = allPositions,
  reference: Onnx.IModelProto = model,
): Promise<number> {
  return Math.max(0, ...(await deviations(model, rows, options, pick, reference)).map(Math.abs));
}

/** `token_logprobs − float64 log-softmax` of the original logits at each picked position (see {@link maxDeviation}). */
async function deviations(
  model: Onnx.IModelProto,
  rows: number[][],
  options: LossHeadOptions,
  pick = allPositions,
  reference: Onnx.IModelProto = model,
): Promise<number[]> {
  const original = await sessionOf(reference);
  const logits = (await original.run(batchFeeds(model, rows)))[original.outputNames[0]];
  const extended = await sessionOf(extendWithLossHead(model, options).model);
  const { scored, feeds } = scoredFeeds(rows, pick);
  const output = (await extended.run({ ...batchFeeds(model, rows), ...feeds }))[TOKEN_LOGPROBS_OUTPUT];
  expect(output.type).toBe("float32");
  expect(output.dims).toEqual([scored.length]);
  const values = output.data as Float32Array;
  return scored.map(({ b, i, label }, k) => {
    expect(Number.isFinite(values[k])).toBe(true);
    return values[k] - referenceLogprob(logits, b, i, label);
  });
}

describe.skipIf(!existsSync(STORIES))("extendWithLossHead on stories260k (a real torch export)", () => {
  let model: Onnx.ModelProto;
  const rows = tokenRows([24, 13, 5], 512);
  beforeAll(async () => {
    model = onnx.ModelProto.decode(await readFile(STORIES));
  });

  it("finds the /MatMul LM head and scores every position within 1e-5 of the float64 log-softmax", async () => {
    const extended = extendWithLossHead(model);
    expect(extended).toMatchObject({ lossHead: "scored-positions", dtype: "float32" });
    expect(extended.reason).toBeUndefined();
    expect(extended.model.graph?.node?.some((node) => node.name === "/MatMul")).toBe(false);
    expect(await maxDeviation(model, rows, {})).toBeLessThan(1e-5);
  });

  it("gives the same values when only the second half of each row is scored", async () => {
    expect(await maxDeviation(model, rows, {}, secondHalf)).toBeLessThan(1e-5);
  });

  it("matches with the full-logits fallback too", async () => {
    expect(await maxDeviation(model, rows, { forceFullLogits: true })).toBeLessThan(1e-5);
    expect(await maxDeviation(model, rows, { forceFullLogits: true }, secondHalf)).toBeLessThan(1e-5);
  });
});

describe("extendWithLossHead on fixture models", () => {
  let dir: string;
  const rows = tokenRows([17, 9, 4], 1024);
  const build = async (name: string, options: Partial<FixtureModelOptions>): Promise<Onnx.ModelProto> => {
    const { dir: out } = await buildFixtureModel({ preset: "tiny", out: path.join(dir, name), seed: 7, ...options });
    return onnx.ModelProto.decode(await readFile(path.join(out, "model.onnx")));
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-loss-head-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["with position_ids", {}],
    ["without position_ids", { positionIds: false }],
    ["with past inputs", { withPast: true }],
  ])("scores %s within 1e-5 of the float64 log-softmax, on all positions and on a subset, with both heads", async (name, options) => {
    const model = await build(name.replaceAll(" ", "-"), options);
    expect(extendWithLossHead(model).lossHead).toBe("scored-positions");
    for (const forceFullLogits of [false, true]) {
      expect(await maxDeviation(model, rows, { forceFullLogits })).toBeLessThan(1e-5);
      expect(await maxDeviation(model, rows, { forceFullLogits }, secondHalf)).toBeLessThan(1e-5);
    }
  });

  it("cuts logits from the outputs, keeps present.* for prefix sharing and prunes the original LM head", async () => {
    const model = await build("past-structure", { withPast: true });
    const { model: extended } = extendWithLossHead(model);
    const presents = model.graph?.output?.map((output) => output.name ?? "").filter((name) => name.startsWith("present.")) ?? [];
    expect(presents.length).toBeGreaterThan(0);
    expect(extended.graph?.output?.map((output) => output.name)).toEqual([TOKEN_LOGPROBS_OUTPUT, ...presents]);
    expect(extended.graph?.node?.some((node) => node.name === "lm_head")).toBe(false);
    const inputs = extended.graph?.input?.map((input) => input.name);
    expect(inputs).toEqual([...(model.graph?.input?.map((input) => input.name) ?? []), SCORED_INDEX_INPUT, LABELS_INPUT]);
    // The source model is left untouched.
    expect(model.graph?.output?.[0]?.name).toBe("logits");
  });

  it("casts a float16 model's scores up and matches its own logits within one float16 ulp, and exactly when ORT computes them alike", async () => {
    const model = await build("float16", { dtype: "float16" });
    const extended = extendWithLossHead(model);
    expect(extended).toMatchObject({ lossHead: "scored-positions", dtype: "float16" });
    // On CPU, ORT runs a float16 MatMul in float32 and drops a Cast(float32→float16)→Cast(float16→float32)
    // pair, so the scored head's Cast up to float32 skips the rounding of the [N, V] scores to float16,
    // while the source rounds its logits output. Each logit then differs by ≤ half a float16 ulp u at
    // the batch's largest |logit|, and log-softmax moves by ≤ u/2 (label) + u/2 (normaliser).
    const logits = await (await sessionOf(model)).run(batchFeeds(model, rows));
    const largest = Array.from(logits.logits.data as Uint16Array, (bits) => Math.abs(float16BitsToFloat32(bits))).reduce((a, b) => Math.max(a, b));
    const ulp = 2 ** (Math.floor(Math.log2(largest)) - 10);
    expect(await maxDeviation(model, rows, {})).toBeLessThan(ulp + 1e-5);
    // The same computation without the rounding: the source with a float32 Cast on its logits.
    expect(await maxDeviation(model, rows, {}, allPositions, withFloat32Logits(model))).toBeLessThan(1e-5);
    expect(await maxDeviation(model, rows, {}, secondHalf, withFloat32Logits(model))).toBeLessThan(1e-5);
    // The full-logits head gathers float16 logits, rounded exactly as the source rounds its output.
    expect(await maxDeviation(model, rows, { forceFullLogits: true })).toBeLessThan(1e-5);
  });
});

/** `model` with its float16 logits cast to a float32 `logits` output inside the graph. */
function withFloat32Logits(model: Onnx.ModelProto): Onnx.ModelProto {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph;
  if (!graph?.node || !graph.output) throw new Error("model without graph");
  for (const node of graph.node) node.output = (node.output ?? []).map((name) => (name === "logits" ? "logits_float16" : name));
  const to = { name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT };
  graph.node.push({ opType: "Cast", input: ["logits_float16"], output: ["logits"], attribute: [to] });
  graph.output[0].type = { tensorType: { elemType: DataType.FLOAT } };
  return copy;
}

/** Matches an EngineError with code `invalid-argument` and a message matching `pattern`. */
const engineError = (pattern: RegExp) => expect.objectContaining({ name: "EngineError", code: "invalid-argument", message: expect.stringMatching(pattern) });

type SyntheticHead = "matmul" | "tied" | "gemm" | "softcap" | "weight-input" | "relu";

/** A one-layer toy LM, `logits = head(tanh(E[input_ids]))`, with the LM head written the given way. */
function syntheticModel(head: SyntheticHead, opset = 17, vocab = 40): Onnx.ModelProto {
  const hidden = 8;
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.7) * 1.5);
  const g = createGraphBuilder({ name: `synthetic-${head}`, opset });
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const embedding = g.initializer("embed", [vocab, hidden], values(vocab * hidden, 1), "float32");
  const states = g.op("Tanh", [g.op("Gather", [embedding, ids], { attributes: { axis: 0 } })]);
  const weight = g.initializer("lm_head.weight", [hidden, vocab], values(vocab * hidden, 2), "float32");
  let logits: string;
  if (head === "tied") {
    logits = g.op("MatMul", [states, g.op("Transpose", [embedding], { attributes: { perm: [1, 0] } })], { output: "logits" });
  } else if (head === "gemm") {
    const rows = g.op("Reshape", [states, g.int64([-1, hidden])]);
    const transposed = g.initializer("lm_head.weight_t", [vocab, hidden], values(vocab * hidden, 3), "float32");
    const bias = g.initializer("lm_head.bias", [vocab], values(vocab, 4), "float32");
    const flat = g.op("Gemm", [rows, transposed, bias], { attributes: { transB: 1 } });
    const shape = g.op("Concat", [g.op("Shape", [ids]), g.int64([vocab])], { attributes: { axis: 0 } });
    logits = g.op("Reshape", [flat, shape], { output: "logits" });
  } else if (head === "softcap") {
    const raw = g.op("MatMul", [states, weight]);
    const capped = g.op("Tanh", [g.op("Div", [raw, g.scalar(3, "float32")])]);
    logits = g.op("Mul", [capped, g.scalar(3, "float32")], { output: "logits" });
  } else if (head === "weight-input") {
    logits = g.op("MatMul", [states, g.input("lm_weight", "float32", [hidden, vocab])], { output: "logits" });
  } else if (head === "relu") {
    logits = g.op("Relu", [g.op("MatMul", [states, weight])], { output: "logits" });
  } else {
    logits = g.op("MatMul", [states, weight], { output: "logits" });
  }
  g.output(logits, "float32", ["batch", "seq", vocab]);
  return g.toModel();
}

describe("extendWithLossHead on LM heads written in other ways", () => {
  const rows = tokenRows([9, 6], 40);

  it.each<[SyntheticHead, number]>([
    ["matmul", 0],
    ["tied", 0],
    ["gemm", 0],
    ["softcap", 3],
  ])("finds a %s head, replays %i element-wise nodes after it, and matches the logits", async (head, epilogueLength) => {
    const model = syntheticModel(head);
    const extended = extendWithLossHead(model);
    expect(extended.lossHead).toBe("scored-positions");
    const added = (node: Onnx.INodeProto) => node.name?.startsWith("sftscore_loss_head/");
    const plain = (extendWithLossHead(syntheticModel("matmul")).model.graph?.node ?? []).filter(added);
    expect((extended.model.graph?.node ?? []).filter(added)).toHaveLength(plain.length + epilogueLength);
    expect(await maxDeviation(model, rows, {})).toBeLessThan(1e-5);
    expect(await maxDeviation(model, rows, {}, secondHalf)).toBeLessThan(1e-5);
  });

  it.each<[SyntheticHead, RegExp]>([
    ["weight-input", /weight of the MatMul node .* is not a constant/],
    ["relu", /logits come from a Relu node/],
  ])("falls back to the full-logits head for a %s head and says why", async (head, reason) => {
    const extended = extendWithLossHead(syntheticModel(head));
    expect(extended.lossHead).toBe("full-logits");
    expect(extended.reason).toMatch(reason);
    if (head === "relu") expect(await maxDeviation(syntheticModel(head), rows, {})).toBeLessThan(1e-5);
  });

  it("matches the logits with opset 18 too (ReduceMax takes its axes as an input there)", async () => {
    expect(await maxDeviation(syntheticModel("matmul", 18), rows, {})).toBeLessThan(1e-5);
  });

  it("has no bias on a 151,936-token vocabulary (ORT's float32 LogSoftmax is biased high there), also when padding the last sum block", async () => {
    for (const vocab of [151_936, 151_900]) {
      const wide = syntheticModel("matmul", 17, vocab);
      const errors = await deviations(wide, tokenRows([9, 6], vocab), {});
      const mean = errors.reduce((sum, e) => sum + e, 0) / errors.length;
      expect(Math.abs(mean)).toBeLessThan(3e-7);
      expect(Math.max(...errors.map(Math.abs))).toBeLessThan(1e-5);
    }
  });

  it("rejects a model whose default-domain opset is below 13", () => {
    expect(() => extendWithLossHead(syntheticModel("matmul", 12))).toThrow(engineError(/opset 12.*needs opset ≥ 13/));
  });

  it("rejects a model without a logits output, naming the outputs it has", () => {
    expect(() => extendWithLossHead(syntheticModel("matmul"), { logitsOutput: "lm_logits" })).toThrow(engineError(/no "lm_logits" output \(outputs: logits\)/));
  });

  it("rejects a model that already has a labels tensor", () => {
    const model = syntheticModel("matmul");
    model.graph?.input?.push({ name: LABELS_INPUT, type: { tensorType: { elemType: DataType.INT64 } } });
    expect(() => extendWithLossHead(model)).toThrow(engineError(/already has a tensor named "labels"/));
  });
});
