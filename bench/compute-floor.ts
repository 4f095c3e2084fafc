/**
 * The compute floor of a scoring run (issue 7 §2): the floating-point work no implementation can
 * avoid — the transformer body over the positions each distinct sequence needs (every position up to
 * the last scored one; the last token's own hidden state predicts nothing) and the LM head over the
 * scored positions only. Counted from the sequences sftscore actually sent (after its sharing and
 * dedup), and timed alone in the same process, each sequence from its first token, batched by the
 * engine's own planner under the engine's limits: the body graph with hidden-state output, then the
 * head graph (LM head → log-softmax → label) on the scored rows.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { planBatches, type BatchLimits } from "@sftscore/engine";
import type { SequenceRequest } from "@sftscore/metrics";
import ort from "onnxruntime-node";
import { emptyPastFeeds } from "./empty-past.js";
import { deriveFloorGraphs, HEAD_HIDDEN_INPUT, HEAD_LABELS_INPUT, HEAD_OUTPUT, type DerivedGraph } from "./floor-graphs.js";

/** The dimensions of a Llama-style model that decide its floating-point work. */
export interface ModelShape {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

/** Reads {@link ModelShape} from a model directory's `config.json`. */
export async function readModelShape(modelDir: string): Promise<ModelShape> {
  const config = JSON.parse(await readFile(path.join(modelDir, "config.json"), "utf8")) as Record<string, number | undefined>;
  const field = (name: string): number => {
    const value = config[name];
    if (typeof value !== "number") throw new Error(`${modelDir}/config.json: "${name}" must be a number`);
    return value;
  };
  const hiddenSize = field("hidden_size");
  return {
    hiddenSize,
    intermediateSize: field("intermediate_size"),
    layers: field("num_hidden_layers"),
    kvHeads: field("num_key_value_heads"),
    headDim: config.head_dim ?? hiddenSize / field("num_attention_heads"),
    vocabSize: field("vocab_size"),
  };
}

/** The floor's work for a set of sequences. */
export interface FloorWork {
  readonly sequences: number;
  /** Positions the body must run: Σ over sequences of (last scored position), i.e. positions 0..last−1. */
  readonly bodyPositions: number;
  /** Positions whose log-probability is needed: the LM head's rows. */
  readonly scoredPositions: number;
  /**
   * Body positions with a distinct prefix: what the body would run if every equal prefix (the
   * template's preamble, a one-shot example repeated for each partner) were computed once — a floor
   * below the one timed, which scores each sequence from scratch. sftscore's prefix sharing goes
   * part of the way (only where the tokens a prefix saves pay for its run).
   */
  readonly distinctPrefixPositions: number;
  /** {@link bodyFlops} over the distinct prefixes only. */
  readonly distinctPrefixBodyFlops: number;
  /**
   * Scored positions with a distinct prefix up to and including their label: a log-probability
   * depends on those tokens only, so each is computed once (the preamble's, scored for prompt
   * perplexity in every sample, for one).
   */
  readonly distinctScoredPositions: number;
  /** {@link headFlops} over the distinct scored positions only. */
  readonly distinctHeadFlops: number;
  /** Multiply-adds × 2 of the body: projections and MLP per position, attention over each position's context. */
  readonly bodyFlops: number;
  /** Multiply-adds × 2 of the LM head over the scored positions. */
  readonly headFlops: number;
}

/** Counts the floor's work for `requests` (each a distinct sequence, as sftscore sent them). */
export function countFloorWork(requests: readonly SequenceRequest[], shape: ModelShape): FloorWork {
  const { hiddenSize: h, intermediateSize, layers, kvHeads, headDim, vocabSize } = shape;
  const perPosition = layers * (2 * h * (2 * h + 2 * kvHeads * headDim) + 6 * h * intermediateSize);
  let bodyPositions = 0;
  let scoredPositions = 0;
  let attentionFlops = 0;
  for (const request of requests) {
    const positions = scoredPositionsOf(request);
    const needed = positions.length === 0 ? 0 : positions[positions.length - 1];
    bodyPositions += needed;
    scoredPositions += positions.length;
    // Position t attends to t + 1 keys: QKᵀ and the weighted sum of V, each 2·hidden FLOPs per key.
    attentionFlops += layers * 4 * h * ((needed * (needed + 1)) / 2);
  }
  const distinct = countDistinctPrefixes(requests);
  return {
    sequences: requests.length,
    bodyPositions,
    scoredPositions,
    distinctPrefixPositions: distinct.nodes,
    distinctPrefixBodyFlops: distinct.nodes * perPosition + layers * 4 * h * distinct.keys,
    distinctScoredPositions: distinct.scored,
    distinctHeadFlops: distinct.scored * 2 * h * vocabSize,
    bodyFlops: bodyPositions * perPosition + attentionFlops,
    headFlops: scoredPositions * 2 * h * vocabSize,
  };
}

/** The union of a request's spans, ascending (the positions the engine's loss head scores). */
export function scoredPositionsOf(request: SequenceRequest): number[] {
  const marked = new Uint8Array(request.tokenIds.length);
  for (const span of request.spans) marked.fill(1, span.start, span.end);
  return [...marked.keys()].filter((i) => marked[i] === 1);
}

/**
 * Over the token trie of every sequence: the nodes of body positions (`t[0..i]` for each position i
 * the body runs) and the keys they attend to (a node at depth d: d), and the nodes of scored
 * positions (`t[0..p]` for each scored p: its context and its label).
 */
function countDistinctPrefixes(requests: readonly SequenceRequest[]): { nodes: number; keys: number; scored: number } {
  interface Node {
    readonly children: Map<number, Node>;
    body: boolean;
    scored: boolean;
  }
  const root: Node = { children: new Map(), body: false, scored: false };
  let nodes = 0;
  let keys = 0;
  let scored = 0;
  for (const request of requests) {
    const positions = new Set(scoredPositionsOf(request));
    const needed = Math.max(0, ...positions);
    let node = root;
    for (let i = 0; i <= needed; i++) {
      const token = request.tokenIds[i];
      let next = node.children.get(token);
      if (next === undefined) node.children.set(token, (next = { children: new Map(), body: false, scored: false }));
      if (i < needed && !next.body) {
        next.body = true;
        nodes++;
        keys += i + 1;
      }
      if (positions.has(i) && !next.scored) {
        next.scored = true;
        scored++;
      }
      node = next;
    }
  }
  return { nodes, keys, scored };
}

/** The floor's time on the job's sequences. */
export interface FloorTiming {
  /** Its runs, and their padded tokens (rows × padded length). */
  readonly batches: number;
  readonly paddedTokens: number;
  /** Wall time of all batches: body runs, the gather of scored rows in JavaScript, head runs. */
  readonly seconds: number;
  readonly bodySeconds: number;
  readonly headSeconds: number;
  /** Σ log p over every requested span, to check the floor computed the job's numbers. */
  readonly sumLogprob: number;
}

/**
 * Runs the floor over `requests`, each from its first token, in batches the engine's planner makes
 * under `limits` (the engine's own), in this process with `threads` intra-op threads, and times it.
 * One cold pass, as the job itself ran: every shape is new to the fresh sessions.
 */
export async function timeFloor(modelDir: string, requests: readonly SequenceRequest[], limits: BatchLimits, threads: number): Promise<FloorTiming> {
  const graphs = await deriveFloorGraphs(modelDir);
  const shape = await readModelShape(modelDir);
  const scoredCounts = requests.map((request) => scoredPositionsOf(request).length);
  const batches = planBatches(
    requests.map((request, index) => ({ index, length: request.tokenIds.length, scoredCount: scoredCounts[index] })),
    limits,
  );
  // Two sessions mean two intra-op thread pools on the same cores; a pool spin-waits after its run
  // and measured here took a core from the other session. The engine's single session pays nothing
  // of the kind, so the floor's pools sleep instead of spinning.
  const options = (graph: DerivedGraph): ort.InferenceSession.SessionOptions => ({
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    extra: { session: { ...graph.extra.session, intra_op: { allow_spinning: "0" } } },
  });
  const body = await ort.InferenceSession.create(graphs.body.bytes, options(graphs.body));
  const head = await ort.InferenceSession.create(graphs.head.bytes, options(graphs.head));
  const hiddenSize = graphs.hiddenSize;
  let bodySeconds = 0;
  let headSeconds = 0;
  let sumLogprob = 0;
  let paddedTokens = 0;
  try {
    const started = performance.now();
    for (const batch of batches) {
      const rows = batch.items.map((item) => requests[item.index]);
      paddedTokens += rows.length * batch.paddedLength;
      const feeds = { ...bodyFeeds(rows, batch.paddedLength), ...emptyPastFeeds(body, rows.length, shape) };
      let time = performance.now();
      const output = await body.run(Object.fromEntries(body.inputNames.map((name) => [name, feeds[name]])), [graphs.hiddenStatesName]);
      const hidden = output[graphs.hiddenStatesName].data as Float32Array;
      bodySeconds += (performance.now() - time) / 1000;

      const scored = rows.map(scoredPositionsOf);
      const count = scored.reduce((n, positions) => n + positions.length, 0);
      const gathered = new Float32Array(count * hiddenSize);
      const labels = new BigInt64Array(count);
      let k = 0;
      rows.forEach((request, row) => {
        for (const position of scored[row]) {
          // The hidden state at position − 1 has seen t[<position] and predicts t[position].
          const at = (row * batch.paddedLength + position - 1) * hiddenSize;
          gathered.set(hidden.subarray(at, at + hiddenSize), k * hiddenSize);
          labels[k++] = BigInt(request.tokenIds[position]);
        }
      });
      time = performance.now();
      const logprobs = (await head.run({
        [HEAD_HIDDEN_INPUT]: new ort.Tensor("float32", gathered, [count, hiddenSize]),
        [HEAD_LABELS_INPUT]: new ort.Tensor("int64", labels, [count]),
      }))[HEAD_OUTPUT].data as Float32Array;
      headSeconds += (performance.now() - time) / 1000;
      sumLogprob += spanSums(rows, scored, logprobs);
    }
    return { seconds: (performance.now() - started) / 1000, bodySeconds, headSeconds, sumLogprob, batches: batches.length, paddedTokens };
  } finally {
    await Promise.all([body.release(), head.release()]);
  }
}

/** Right-padded `[rows, L]` feeds, as the engine lays them out (pad id 0, mask 0, position 0). */
function bodyFeeds(rows: readonly SequenceRequest[], paddedLength: number): Record<string, ort.Tensor> {
  const size = rows.length * paddedLength;
  const inputIds = new BigInt64Array(size);
  const attentionMask = new BigInt64Array(size);
  const positionIds = new BigInt64Array(size);
  rows.forEach((request, row) => {
    request.tokenIds.forEach((id, i) => {
      inputIds[row * paddedLength + i] = BigInt(id);
      attentionMask[row * paddedLength + i] = 1n;
      positionIds[row * paddedLength + i] = BigInt(i);
    });
  });
  const dims = [rows.length, paddedLength];
  return {
    input_ids: new ort.Tensor("int64", inputIds, dims),
    attention_mask: new ort.Tensor("int64", attentionMask, dims),
    position_ids: new ort.Tensor("int64", positionIds, dims),
  };
}

/** Σ over every requested span of its positions' log-probabilities (`logprobs` in scored order). */
function spanSums(rows: readonly SequenceRequest[], scored: readonly number[][], logprobs: Float32Array): number {
  let sum = 0;
  let offset = 0;
  rows.forEach((request, row) => {
    const at = new Map(scored[row].map((position, k) => [position, logprobs[offset + k]]));
    for (const span of request.spans) for (let i = span.start; i < span.end; i++) sum += at.get(i) ?? NaN;
    offset += scored[row].length;
  });
  return sum;
}
