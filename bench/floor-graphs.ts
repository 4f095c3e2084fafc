/**
 * The two graphs of the benchmark's compute floor, derived from a model's `model.onnx` with
 * onnx-proto: the transformer body alone (its output cut to the LM head's input, the final hidden
 * states) and a stand-alone LM head plus loss (`MatMul → LogSoftmax → GatherElements`) that runs on
 * the scored rows only. Run back to back they do the engine's useful work and nothing else.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import onnxProto, { type onnx as Onnx } from "onnx-proto";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/** ONNX Runtime session config key naming the folder of a bytes-loaded model's external data. */
const EXTERNAL_DATA_FOLDER_CONFIG = "model_external_initializers_file_folder_path";

/** Input of the head graph: float32 `[N, hidden]`, the final hidden states of the scored rows. */
export const HEAD_HIDDEN_INPUT = "hidden";
/** Input of the head graph: int64 `[N]`, the target token of each row. */
export const HEAD_LABELS_INPUT = "labels";
/** Output of the head graph: float32 `[N]`, `log p(label | prefix)`. */
export const HEAD_OUTPUT = "token_logprobs";

/** A graph ready for `InferenceSession.create(bytes, { extra })`. */
export interface DerivedGraph {
  readonly bytes: Uint8Array;
  /** Session config that points ONNX Runtime at the source model's external data folder. */
  readonly extra: { readonly session: Readonly<Record<string, string>> };
}

/** The body and head graphs of a model, and the names that connect them. */
export interface FloorGraphs {
  /** Outputs `hiddenStatesName` `[batch, seq, hidden]` only; the LM head and logits are pruned. */
  readonly body: DerivedGraph;
  /** `[N, hidden]` rows and `[N]` labels in, `[N]` log-probabilities out. */
  readonly head: DerivedGraph;
  readonly hiddenStatesName: string;
  readonly hiddenSize: number;
}

/**
 * Derives the floor graphs from the model directory's `model.onnx`: finds the MatMul that computes
 * `logits` from a constant `[hidden, vocab]` weight (the fixture names its input `final_hidden_states`),
 * makes that input the body's only output, and copies the weight's (external) tensor reference into
 * the head graph. Neither graph copies weight data: both load it from the model's own data file.
 *
 * @throws Error when the logits do not come from a MatMul with a rank-2 initializer weight.
 */
export async function deriveFloorGraphs(modelDir: string): Promise<FloorGraphs> {
  const source = onnx.ModelProto.decode(await readFile(path.join(modelDir, "model.onnx")));
  const graph = source.graph;
  if (!graph) throw new Error(`${modelDir}/model.onnx has no graph`);
  const head = (graph.node ?? []).find((node) => (node.output ?? []).includes("logits"));
  const [hiddenStatesName, weightName] = head?.input ?? [];
  const weight = (graph.initializer ?? []).find((tensor) => tensor.name === weightName);
  if (head?.opType !== "MatMul" || !hiddenStatesName || weight?.dims?.length !== 2) {
    throw new Error(`${modelDir}: the logits do not come from a MatMul with a [hidden, vocab] initializer weight`);
  }
  const hiddenSize = Number(weight.dims[0]);
  const extra = { session: { [EXTERNAL_DATA_FOLDER_CONFIG]: path.resolve(modelDir) } };

  const bodyOutput = valueInfo(hiddenStatesName, DataType.FLOAT, [{ dimParam: "batch_size" }, { dimParam: "sequence_length" }, { dimValue: hiddenSize }]);
  const body = onnx.ModelProto.create({ ...source, graph: prune({ ...graph, output: [bodyOutput] }) });

  const axes = "head/axes";
  const headGraph = onnx.GraphProto.create({
    name: "sftscore-bench-lm-head",
    input: [
      valueInfo(HEAD_HIDDEN_INPUT, DataType.FLOAT, [{ dimParam: "num_scored" }, { dimValue: hiddenSize }]),
      valueInfo(HEAD_LABELS_INPUT, DataType.INT64, [{ dimParam: "num_scored" }]),
    ],
    output: [valueInfo(HEAD_OUTPUT, DataType.FLOAT, [{ dimParam: "num_scored" }])],
    initializer: [weight, { name: axes, dataType: DataType.INT64, dims: [1], rawData: new Uint8Array(new BigInt64Array([1n]).buffer) }],
    node: [
      { name: "head/matmul", opType: "MatMul", input: [HEAD_HIDDEN_INPUT, weight.name ?? ""], output: ["head/logits"] },
      { name: "head/log_softmax", opType: "LogSoftmax", input: ["head/logits"], output: ["head/logprobs"], attribute: [intAttribute("axis", -1)] },
      { name: "head/labels", opType: "Unsqueeze", input: [HEAD_LABELS_INPUT, axes], output: ["head/labels_2d"] },
      { name: "head/gather", opType: "GatherElements", input: ["head/logprobs", "head/labels_2d"], output: ["head/picked"], attribute: [intAttribute("axis", 1)] },
      { name: "head/squeeze", opType: "Squeeze", input: ["head/picked", axes], output: [HEAD_OUTPUT] },
    ],
  });
  const headModel = onnx.ModelProto.create({ irVersion: source.irVersion, opsetImport: source.opsetImport, producerName: "sftscore-bench", graph: headGraph });
  return {
    body: { bytes: onnx.ModelProto.encode(body).finish(), extra },
    head: { bytes: onnx.ModelProto.encode(headModel).finish(), extra },
    hiddenStatesName,
    hiddenSize,
  };
}

/** Keeps the nodes and initializers the graph's outputs need (nodes are in topological order). */
function prune(graph: Onnx.IGraphProto): Onnx.IGraphProto {
  const needed = new Set((graph.output ?? []).map((output) => output.name ?? ""));
  const kept: Onnx.INodeProto[] = [];
  for (const node of [...(graph.node ?? [])].reverse()) {
    if (!(node.output ?? []).some((output) => needed.has(output))) continue;
    kept.push(node);
    for (const input of node.input ?? []) needed.add(input);
  }
  return {
    ...graph,
    node: kept.reverse(),
    initializer: (graph.initializer ?? []).filter((tensor) => needed.has(tensor.name ?? "")),
    valueInfo: (graph.valueInfo ?? []).filter((info) => needed.has(info.name ?? "")),
  };
}

function valueInfo(name: string, elemType: number, dim: Onnx.TensorShapeProto.IDimension[]): Onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function intAttribute(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
