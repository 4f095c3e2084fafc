/**
 * The in-graph loss head (DESIGN.md §3): an ONNX protobuf edit that makes a causal LM return
 * `log p(label | prefix)` at the scored positions only, so that `[batch, seq, vocab]` logits never
 * leave ONNX Runtime (nor are computed, where the LM head is found).
 */
import onnxProto, { type onnx as Onnx } from "onnx-proto";
import { EngineError } from "./engine-error.js";
import { PRESENT_OUTPUT } from "./kv-cache-names.js";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/** Graph input: int64 `[N]`, flat row `b·L + (i − 1)` of the hidden state that predicts scored position `i` of row `b`. */
export const SCORED_INDEX_INPUT = "scored_index";
/** Graph input: int64 `[N]`, the target token at each scored position. */
export const LABELS_INPUT = "labels";
/** The extended graph's scoring output: float32 `[N]`, `log p(label | prefix)`. */
export const TOKEN_LOGPROBS_OUTPUT = "token_logprobs";
/** Version of the graph {@link extendWithLossHead} writes; part of the extended-model cache key, so bump it on any change. */
export const LOSS_HEAD_FORMAT_VERSION = 3;
/** Squeeze/Unsqueeze/ReduceSum take `axes` as an input from opset 13 on. */
export const MIN_LOSS_HEAD_OPSET = 13;

/**
 * `scored-positions`: the LM head runs on the scored rows only. `full-logits`: no LM head could be
 * identified, so the graph computes all logits and the loss head gathers the scored rows afterwards.
 */
export type LossHeadKind = "scored-positions" | "full-logits";

/** Options of {@link extendWithLossHead}. */
export interface LossHeadOptions {
  /** Build the full-logits head even where an LM head is found (tests, benchmarks). Default false. */
  readonly forceFullLogits?: boolean;
  /** Name of the graph output that holds the `[batch, seq, vocab]` logits. Default `"logits"`. */
  readonly logitsOutput?: string;
}

/** Result of {@link extendWithLossHead}. */
export interface ExtendedModel {
  /** A new model; the source's nodes and tensors are shared, never modified. */
  readonly model: Onnx.ModelProto;
  readonly lossHead: LossHeadKind;
  /** Why the full-logits fallback was used; absent for `scored-positions`. */
  readonly reason?: string;
  /** Element type of the source model's logits (`"float32"`, `"float16"`, `"bfloat16"`, …). */
  readonly dtype: string;
}

/** Lookups over the source graph. */
interface GraphIndex {
  readonly producers: ReadonlyMap<string, Onnx.INodeProto>;
  readonly initializers: ReadonlyMap<string, Onnx.ITensorProto>;
}

/** The LM head: a MatMul/Gemm whose output reaches the logits through data-preserving nodes only. */
interface LmHead {
  readonly node: Onnx.INodeProto;
  /** The tensor whose rows are gathered: the head's activation, or what a Cast before the head reads. */
  readonly rows: string;
  /** Casts between {@link rows} and the head, nearest the rows first; replayed on the gathered rows. */
  readonly prologue: readonly Onnx.INodeProto[];
  /** Nodes between the head and the logits (Cast, soft-capping), head side first; replayed on `[N, V]`. */
  readonly epilogue: readonly Onnx.INodeProto[];
}

/** Between the head and the logits: Reshape only regroups rows (checked by the vocabulary size), Identity nothing. */
const ROW_PRESERVING = new Set(["Reshape", "Identity"]);
/** Element-wise ops allowed after the head (e.g. Gemma's logit soft-capping), with at most scalar constant operands. */
const ELEMENTWISE = new Set(["Cast", "Tanh", "Mul", "Div", "Add", "Sub"]);

/**
 * Adds the `scored_index` and `labels` inputs and replaces the graph's outputs by `token_logprobs`
 * (and the `present.*` KV-cache outputs, when the model has them, for prefix sharing):
 *
 * - scored-positions: `hidden → Flatten → Gather(scored_index) → LM head → (Cast float32) →
 *   log-probability of the label` ({@link labelLogprobs}), with the head's own weight tensor (and its
 *   bias, and any Cast/soft-capping nodes between it and the logits, replayed on the scored rows);
 * - full-logits: the same tail after `logits → Flatten → Gather(scored_index)`.
 *
 * The `[N, V]` work runs in float32 (a float16/bfloat16 model's logits are cast up first), the sum
 * of exponentials and the final subtraction in float64: both ReduceLogSumExp and LogSoftmax in
 * float32 drift by about 3e-5 nats on a 151,936-token vocabulary. Padding never reaches the output because only scored rows are
 * gathered. Nodes that fed only removed outputs (the original LM head) are pruned; graph
 * inputs are kept, so the extended model takes exactly the source's inputs plus the two new ones.
 * Labels and indices are not range-checked here: ONNX Gather/GatherElements accept negative indices
 * (counted from the end), so callers validate them at the service boundary.
 *
 * @throws EngineError `invalid-argument` when the model has no graph, no logits output, a default-domain opset below 13, or
 *   already uses one of the new tensor names.
 * @example
 * const { model, lossHead, reason } = extendWithLossHead(onnx.ModelProto.decode(bytes));
 */
export function extendWithLossHead(source: Onnx.IModelProto, options: LossHeadOptions = {}): ExtendedModel {
  const graph = source.graph;
  if (!graph) throw new EngineError("invalid-argument", "loss head: the ONNX model has no graph");
  checkOpset(source);
  const logitsName = options.logitsOutput ?? "logits";
  const outputs = graph.output ?? [];
  const logitsInfo = outputs.find((output) => output.name === logitsName);
  if (!logitsInfo) {
    const names = outputs.map((output) => output.name).join(", ");
    throw new EngineError("invalid-argument", `loss head: the model has no "${logitsName}" output (outputs: ${names}); it does not look like a causal LM export`);
  }
  const logitsType = logitsInfo.type?.tensorType?.elemType ?? DataType.UNDEFINED;
  const dims = logitsInfo.type?.tensorType?.shape?.dim ?? [];
  const vocabSize = dims.length > 0 ? toNumber(dims[dims.length - 1].dimValue) : 0;

  const nodes = graph.node ?? [];
  const index: GraphIndex = {
    initializers: new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? "", tensor])),
    producers: new Map(nodes.flatMap((node) => (node.output ?? []).map((output) => [output, node] as const))),
  };
  const editor = createEditor(graph);
  for (const name of [SCORED_INDEX_INPUT, LABELS_INPUT, TOKEN_LOGPROBS_OUTPUT]) {
    if (editor.taken(name)) throw new EngineError("invalid-argument", `loss head: the model already has a tensor named "${name}"`);
  }

  const found = options.forceFullLogits
    ? { reason: "the full-logits head was requested (forceFullLogits)" }
    : findLmHead(logitsName, vocabSize, index);
  let scores: string;
  if ("node" in found) {
    const { node, prologue, epilogue } = found;
    let rows = editor.node("Gather", [editor.node("Flatten", [found.rows], { axis: -1 }), SCORED_INDEX_INPUT], { axis: 0 });
    for (const cast of prologue) rows = editor.node("Cast", [rows], undefined, cast.attribute ?? []);
    scores = editor.node(node.opType ?? "", [rows, ...(node.input ?? []).slice(1)], undefined, node.attribute ?? []);
    for (const step of epilogue) {
      const inputs = (step.input ?? []).map((input, i) => (i === dataInputIndex(step, index) ? scores : input));
      scores = editor.node(step.opType ?? "", inputs, undefined, step.attribute ?? []);
    }
  } else {
    scores = editor.node("Gather", [editor.node("Flatten", [logitsName], { axis: -1 }), SCORED_INDEX_INPUT], { axis: 0 });
  }
  if (logitsType !== DataType.FLOAT) scores = editor.node("Cast", [scores], { to: DataType.FLOAT });
  const logprobs = labelLogprobs(editor, scores, vocabSize, opsetOf(source));
  editor.node("Cast", [logprobs], { to: DataType.FLOAT }, [], TOKEN_LOGPROBS_OUTPUT);

  const lossHead: LossHeadKind = "node" in found ? "scored-positions" : "full-logits";
  const scored = [{ dimParam: "num_scored" }];
  const extendedGraph = prune({
    ...graph,
    node: [...nodes, ...editor.nodes],
    initializer: [...(graph.initializer ?? []), ...editor.initializers],
    input: [...(graph.input ?? []), tensorInfo(SCORED_INDEX_INPUT, DataType.INT64, scored), tensorInfo(LABELS_INPUT, DataType.INT64, scored)],
    // A run that does not fetch `present.*` costs nothing more: attention computes them either way.
    output: [tensorInfo(TOKEN_LOGPROBS_OUTPUT, DataType.FLOAT, scored), ...outputs.filter((output) => PRESENT_OUTPUT.test(output.name ?? ""))],
  });
  const model = onnx.ModelProto.create({
    ...source,
    graph: extendedGraph,
    metadataProps: [...(source.metadataProps ?? []), { key: "sftscore.loss_head", value: `${lossHead} v${LOSS_HEAD_FORMAT_VERSION}` }],
  });
  return { model, lossHead, ...("reason" in found ? { reason: found.reason } : {}), dtype: dataTypeName(logitsType) };
}

/** Width of the float32 partial sums of `exp` in {@link labelLogprobs}. */
const SUM_BLOCK = 128;

/**
 * `log p(label) = x[label] − max − log Σ exp(x − max)` per row of float32 scores `[N, V]`, as float64
 * `[N]`. Not ONNX Runtime's LogSoftmax: its float32 kernel over a 151,936-token vocabulary comes out
 * about 2.7e-5 nats too high on every token (an approximate exp whose error does not average out),
 * a bias of 2e-6 relative on a mean NLL; `Exp` is accurate, and summing blocks of
 * {@link SUM_BLOCK} terms in float32 before a float64 sum keeps the rounding of the sum near 1e-8
 * while the `[N, V]` tensors stay float32. Only the label's term is gathered, so no `[N, V]`
 * log-probabilities are written either.
 */
function labelLogprobs(editor: GraphEditor, scores: string, vocabSize: number, opset: number): string {
  const axis1 = editor.int64Constant([1]);
  const max = opset >= 18
    ? editor.node("ReduceMax", [scores, axis1], { keepdims: 1 })
    : editor.node("ReduceMax", [scores], { keepdims: 1 }, [{ name: "axes", type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }]);
  const exp = editor.node("Exp", [editor.node("Sub", [scores, max])]);
  let partials: string;
  if (vocabSize > 0) {
    const blocks = Math.ceil(vocabSize / SUM_BLOCK);
    // Zero-padding the last block is exact: exp terms are added, and 0 adds nothing.
    const padded = blocks * SUM_BLOCK === vocabSize ? exp : editor.node("Pad", [exp, editor.int64Constant([0, 0, 0, blocks * SUM_BLOCK - vocabSize])]);
    const grouped = editor.node("Reshape", [padded, editor.int64Constant([-1, blocks, SUM_BLOCK])]);
    partials = editor.node("ReduceSum", [grouped, editor.int64Constant([2])], { keepdims: 0 });
  } else {
    partials = exp;
  }
  const sum = editor.node("ReduceSum", [editor.node("Cast", [partials], { to: DataType.DOUBLE }), axis1], { keepdims: 0 });
  const label = editor.node("Squeeze", [editor.node("GatherElements", [scores, editor.node("Unsqueeze", [LABELS_INPUT, axis1])], { axis: 1 }), axis1]);
  const toDouble = (name: string) => editor.node("Cast", [name], { to: DataType.DOUBLE });
  const centred = editor.node("Sub", [toDouble(label), toDouble(editor.node("Squeeze", [max, axis1]))]);
  return editor.node("Sub", [centred, editor.node("Log", [sum])]);
}

function opsetOf(model: Onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((opset) => !opset.domain || opset.domain === "ai.onnx");
  return entry ? toNumber(entry.version) : 0;
}

/** The ONNX element type number as a NumPy-style name (`1` → `"float32"`). */
export function dataTypeName(dataType: number): string {
  const names: Record<number, string> = { [DataType.FLOAT]: "float32", [DataType.FLOAT16]: "float16", [DataType.DOUBLE]: "float64" };
  return names[dataType] ?? (DataType[dataType] ?? `type ${dataType}`).toLowerCase();
}

function checkOpset(model: Onnx.IModelProto): void {
  const version = opsetOf(model);
  if (version < MIN_LOSS_HEAD_OPSET) {
    throw new EngineError(
      "invalid-argument",
      `loss head: the model imports default-domain opset ${version || "(none)"}, but the loss head needs opset ≥ ${MIN_LOSS_HEAD_OPSET} ` +
        "(Squeeze/Unsqueeze with axes as inputs); re-export the model with a newer opset, e.g. `optimum-cli export onnx --opset 17`",
    );
  }
}

/**
 * Walks back from the logits output over row-preserving and element-wise nodes to a MatMul/Gemm
 * with a constant weight. Anything else is reported as the reason for the full-logits fallback.
 */
function findLmHead(logitsName: string, vocabSize: number, index: GraphIndex): LmHead | { readonly reason: string } {
  const { producers } = index;
  const epilogue: Onnx.INodeProto[] = [];
  for (let name = logitsName; ; ) {
    const node = producers.get(name);
    if (!node) return { reason: `"${logitsName}" is not computed by any node` };
    const op = node.opType ?? "";
    const describe = `${op} node "${node.name ?? ""}"`;
    if (op === "MatMul" || op === "Gemm") {
      const [activation, weight, bias] = node.input ?? [];
      if (!isConstant(weight, index)) return { reason: `the weight of the ${describe} is not a constant tensor` };
      if (isConstant(activation, index)) return { reason: `the ${describe} has no non-constant input` };
      const attribute = (key: string) => toNumber((node.attribute ?? []).find((a) => a.name === key)?.i);
      if (op === "Gemm" && attribute("transA") !== 0) return { reason: `the ${describe} transposes its activations (transA)` };
      const weightDims = constantDims(weight, index);
      if (weightDims && weightDims.length !== 2) return { reason: `the weight of the ${describe} has rank ${weightDims.length}, not 2` };
      const headVocab = weightDims ? weightDims[op === "Gemm" && attribute("transB") !== 0 ? 0 : 1] : 0;
      if (headVocab > 0 && vocabSize > 0 && headVocab !== vocabSize) {
        return { reason: `the ${describe} produces ${headVocab} columns, but the logits have ${vocabSize}` };
      }
      const biasDims = bias ? constantDims(bias, index) : [];
      if (bias && (!isConstant(bias, index) || (biasDims && biasDims.length === 2 && biasDims[0] !== 1))) {
        return { reason: `the bias of the ${describe} is not a constant row vector` };
      }
      // Gathering before a Cast that feeds the head keeps the graph ORT optimises the same as the
      // source's: on CPU, ORT computes a float16 MatMul in float32 and removes a Cast(float32→float16)
      // → Cast(float16→float32) pair, skipping the float16 rounding of the hidden states. A Gather
      // between the two Casts would keep that rounding, and differ from the source by a float16 ulp.
      const prologue: Onnx.INodeProto[] = [];
      let rows = activation;
      for (let cast = producers.get(rows); cast?.opType === "Cast"; cast = producers.get(rows)) {
        prologue.unshift(cast);
        rows = cast.input?.[0] ?? "";
      }
      return { node, rows, prologue, epilogue: epilogue.reverse() };
    }
    if (ROW_PRESERVING.has(op)) {
      name = node.input?.[0] ?? "";
    } else if (ELEMENTWISE.has(op) && dataInputIndex(node, index) >= 0) {
      epilogue.push(node);
      name = node.input?.[dataInputIndex(node, index)] ?? "";
    } else {
      return { reason: `the logits come from a ${describe}, not from a MatMul/Gemm LM head` };
    }
  }
}

/** Index of an element-wise node's one non-constant input when all others are scalar constants; else −1. */
function dataInputIndex(node: Onnx.INodeProto, index: GraphIndex): number {
  const inputs = node.input ?? [];
  const data = inputs.map((input, i) => (isConstant(input, index) ? -1 : i)).filter((i) => i >= 0);
  if (data.length !== 1) return -1;
  const scalarConstants = inputs.every((input, i) => {
    if (i === data[0]) return true;
    const dims = constantDims(input, index);
    return dims !== undefined && dims.reduce((a, b) => a * b, 1) <= 1;
  });
  return scalarConstants ? data[0] : -1;
}

/** A tensor that depends on no graph input: an initializer, a Constant, or computed from those only. */
function isConstant(name: string | undefined, index: GraphIndex, depth = 0): boolean {
  if (!name) return false;
  if (index.initializers.has(name)) return true;
  const node = index.producers.get(name);
  // The depth bound keeps a pathological graph from recursing deeply; weight chains are short.
  if (!node || depth > 16) return false;
  if (node.opType === "Constant") return true;
  const inputs = (node.input ?? []).filter((input) => input !== "");
  return inputs.length > 0 && inputs.every((input) => isConstant(input, index, depth + 1));
}

/** Static dims of a constant reached through Transpose/Cast/Identity/Constant; undefined when unknown. */
function constantDims(name: string | undefined, index: GraphIndex): number[] | undefined {
  const tensor = name ? index.initializers.get(name) : undefined;
  if (tensor) return (tensor.dims ?? []).map(toNumber);
  const node = name ? index.producers.get(name) : undefined;
  const attribute = (key: string) => (node?.attribute ?? []).find((a) => a.name === key);
  if (node?.opType === "Constant") return attribute("value")?.t ? (attribute("value")?.t?.dims ?? []).map(toNumber) : undefined;
  if (node?.opType === "Cast" || node?.opType === "Identity") return constantDims(node.input?.[0], index);
  if (node?.opType !== "Transpose") return undefined;
  const dims = constantDims(node.input?.[0], index);
  const perm = (attribute("perm")?.ints ?? []).map(toNumber);
  return dims && (perm.length > 0 ? perm.map((axis) => dims[axis]) : [...dims].reverse());
}

/** Appends uniquely named nodes and constants to a graph under construction. */
type GraphEditor = ReturnType<typeof createEditor>;

function createEditor(graph: Onnx.IGraphProto) {
  const used = new Set<string>();
  for (const list of [graph.input, graph.output, graph.initializer, graph.valueInfo]) for (const item of list ?? []) used.add(item.name ?? "");
  for (const node of graph.node ?? []) for (const name of [node.name ?? "", ...(node.output ?? [])]) used.add(name);
  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  const fresh = (base: string): string => {
    let name = `sftscore_loss_head/${base}`;
    for (let i = 1; used.has(name); i++) name = `sftscore_loss_head/${base}_${i}`;
    used.add(name);
    return name;
  };
  return {
    nodes,
    initializers,
    taken: (name: string) => used.has(name),
    /** Adds a node with int attributes and/or copied attributes; returns its (single) output. */
    node(opType: string, inputs: readonly string[], ints?: Readonly<Record<string, number>>, copied: readonly Onnx.IAttributeProto[] = [], output?: string) {
      const name = fresh(opType);
      const out = output ?? `${name}_output`;
      used.add(out);
      const attributes = Object.entries(ints ?? {}).map(([key, i]) => ({ name: key, type: onnx.AttributeProto.AttributeType.INT, i }));
      nodes.push({ name, opType, input: [...inputs], output: [out], attribute: [...attributes, ...copied] });
      return out;
    },
    int64Constant(values: readonly number[]) {
      const name = fresh("axes");
      const rawData = new Uint8Array(8 * values.length);
      values.forEach((value, i) => new DataView(rawData.buffer).setBigInt64(8 * i, BigInt(value), true));
      initializers.push({ name, dataType: DataType.INT64, dims: [values.length], rawData });
      return name;
    },
  };
}

/** Drops nodes, initializers and value infos that no output needs. Nodes are in topological order (ONNX requires it). */
function prune(graph: Onnx.IGraphProto): Onnx.IGraphProto {
  const needed = new Set((graph.output ?? []).map((output) => output.name ?? ""));
  const kept: Onnx.INodeProto[] = [];
  for (const node of [...(graph.node ?? [])].reverse()) {
    if (!(node.output ?? []).some((output) => needed.has(output))) continue;
    kept.push(node);
    for (const input of [...(node.input ?? []), ...subgraphInputs(node)]) needed.add(input);
  }
  // An initializer that is also a graph input is an overridable default; dropping it would make the input required.
  const inputs = new Set((graph.input ?? []).map((input) => input.name ?? ""));
  const isNeeded = (name: string | null | undefined) => needed.has(name ?? "") || inputs.has(name ?? "");
  return {
    ...graph,
    node: kept.reverse(),
    initializer: (graph.initializer ?? []).filter((tensor) => isNeeded(tensor.name)),
    sparseInitializer: (graph.sparseInitializer ?? []).filter((tensor) => isNeeded(tensor.values?.name)),
    valueInfo: (graph.valueInfo ?? []).filter((info) => needed.has(info.name ?? "")),
  };
}

/** Every tensor name that nodes of a node's subgraphs (If/Loop/Scan bodies) read, outer-scope ones included. */
function subgraphInputs(node: Onnx.INodeProto): string[] {
  const graphs = (node.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
  return graphs.flatMap((g) => (g.node ?? []).flatMap((inner) => [...(inner.input ?? []), ...subgraphInputs(inner)]));
}

function tensorInfo(name: string, elemType: number, dim: Onnx.TensorShapeProto.IDimension[]): Onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** protobufjs gives int64 fields as Long objects or numbers. */
function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}
