/**
 * The worker-thread side of a session: owns one ONNX Runtime InferenceSession and runs batches on
 * request. `session.run` holds its thread's event loop for the whole run, so it lives here and the
 * main thread stays free for streams, health checks and metrics.
 */
import { parentPort, workerData } from "node:worker_threads";
import ort from "onnxruntime-node";
import { PAST_INPUT, presentNameOf } from "./kv-cache-names.js";
import { LABELS_INPUT, SCORED_INDEX_INPUT, TOKEN_LOGPROBS_OUTPUT } from "./loss-head.js";
import type { RunRequest, SessionInit, WorkerReply, WorkerRequest } from "./session-protocol.js";


/** A KV-cache tensor's data: float32, or float16 as raw bits. */
type CacheData = Float32Array | Uint16Array;

/** One layer's keys or values of one stored prefix: `[kvHeads, length, headDim]`, row-major. */
interface CacheRow {
  readonly data: CacheData;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** One stored prefix, per past input. */
type StoredPrefix = ReadonlyMap<string, CacheRow>;


async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("session-worker must run in a worker thread");
  const init = workerData as SessionInit;
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  let session: ort.InferenceSession;
  try {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [...init.executionProviders],
      intraOpNumThreads: init.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // A memory pattern is planned and cached per input shape, and makes each run take all of its
      // activations as one contiguous block of the arena; batch shapes vary all the time here, so those
      // blocks fragment the arena. Off, a mixed-shape run on the tiny fixture model peaked 165 MB
      // lower (393 vs 559 MB) at the same tokens/s.
      enableMemPattern: false,
      extra: init.extra,
    };
    session = typeof init.model === "string" ? await ort.InferenceSession.create(init.model, options) : await ort.InferenceSession.create(init.model, options);
  } catch (error) {
    reply({ type: "init-error", message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const pastInputs = session.inputMetadata.filter((m) => PAST_INPUT.test(m.name));
  const store = new Map<number, StoredPrefix>();
  reply({ type: "ready", inputNames: session.inputNames, outputNames: session.outputNames });

  port.on("message", (message: WorkerRequest) => {
    if (message.type === "close") {
      void session.release().finally(() => {
        reply({ type: "closed" });
        port.close();
      });
      return;
    }
    for (const id of message.evict) store.delete(id);
    void run(session, message, pastInputs, init, store).then(
      ({ tokenLogprobs, seconds }) => reply({ type: "result", runId: message.runId, tokenLogprobs, seconds }, [tokenLogprobs.buffer as ArrayBuffer]),
      (error: unknown) => reply({ type: "run-error", runId: message.runId, message: error instanceof Error ? error.message : String(error) }),
    );
  });
}

async function run(
  session: ort.InferenceSession,
  request: RunRequest,
  pastInputs: readonly ort.InferenceSession.ValueMetadata[],
  init: SessionInit,
  store: Map<number, StoredPrefix>,
): Promise<{ tokenLogprobs: Float32Array; seconds: number }> {
  const dims = [request.batchSize, request.paddedLength];
  const scored = request.scoredIndex.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", request.inputIds, dims),
    [SCORED_INDEX_INPUT]: new ort.Tensor("int64", request.scoredIndex, [scored]),
    [LABELS_INPUT]: new ort.Tensor("int64", request.labels, [scored]),
  };
  const maskDims = [request.batchSize, request.pastLength + request.paddedLength];
  if (session.inputNames.includes("attention_mask")) feeds.attention_mask = new ort.Tensor("int64", request.attentionMask, maskDims);
  if (session.inputNames.includes("position_ids")) feeds.position_ids = new ort.Tensor("int64", request.positionIds, dims);
  for (const past of pastInputs) {
    feeds[past.name] = request.pastLength === 0 ? emptyPast(past, request.batchSize, init) : storedPast(past, request, store);
  }

  const fetches = request.store ? [TOKEN_LOGPROBS_OUTPUT, ...pastInputs.map((past) => presentNameOf(past.name))] : [TOKEN_LOGPROBS_OUTPUT];
  const started = performance.now();
  const outputs = await session.run(feeds, fetches);
  const seconds = (performance.now() - started) / 1000;
  if (request.store) keepPresents(outputs, pastInputs, request.store, store);
  // Copy out of ORT's buffer so the result can be transferred to the main thread.
  return { tokenLogprobs: new Float32Array(outputs[TOKEN_LOGPROBS_OUTPUT].data as Float32Array), seconds };
}

/**
 * The past of every row, stacked: `[batch, kv_heads, pastLength, head_dim]`. Each row's stored prefix
 * has at least `pastLength` tokens, and its first `pastLength` are taken (a run that scores the
 * position right after a prefix recomputes the prefix's last token). So there is no padding inside
 * the cache: attention then adds up exactly the terms it adds when the row is run whole, and the
 * scores are bit-identical.
 */
function storedPast(meta: ort.InferenceSession.ValueMetadata, request: RunRequest, store: ReadonlyMap<number, StoredPrefix>): ort.Tensor {
  const ids = request.pastIds;
  if (!ids) throw new Error(`a run with ${request.pastLength} tokens of past names no stored prefixes`);
  const rows = Array.from(ids, (id) => {
    const row = store.get(id)?.get(meta.name);
    if (!row) throw new Error(`stored prefix ${id} is missing (evicted or never computed)`);
    return row;
  });
  const { kvHeads, headDim } = rows[0];
  const headSize = request.pastLength * headDim;
  const rowSize = kvHeads * headSize;
  const data = rows[0].data instanceof Uint16Array ? new Uint16Array(rowSize * rows.length) : new Float32Array(rowSize * rows.length);
  rows.forEach((row, b) => {
    if (row.data.length < rowSize || row.data.length % (kvHeads * headDim) !== 0) {
      throw new Error(`stored prefix ${ids[b]} holds ${row.data.length} values of ${meta.name}, fewer than the ${rowSize} of a ${request.pastLength}-token past`);
    }
    if (row.data.length === rowSize) {
      data.set(row.data, b * rowSize);
      return;
    }
    const storedHeadSize = row.data.length / kvHeads;
    for (let h = 0; h < kvHeads; h++) data.set(row.data.subarray(h * storedHeadSize, h * storedHeadSize + headSize), b * rowSize + h * headSize);
  });
  const dims = [rows.length, kvHeads, request.pastLength, headDim];
  return data instanceof Uint16Array ? new ort.Tensor("float16", data, dims) : new ort.Tensor("float32", data, dims);
}

/** Copies each stored row's first `length` positions out of the `present.*` outputs. */
function keepPresents(
  outputs: ort.InferenceSession.ReturnType,
  pastInputs: readonly ort.InferenceSession.ValueMetadata[],
  request: NonNullable<RunRequest["store"]>,
  store: Map<number, StoredPrefix>,
): void {
  const rows = Array.from(request.ids, () => new Map<string, CacheRow>());
  for (const past of pastInputs) {
    const present = outputs[presentNameOf(past.name)];
    const [batch, kvHeads, total, headDim] = present.dims;
    const source = present.data as CacheData;
    for (let b = 0; b < batch; b++) {
      const length = request.lengths[b];
      const row = source instanceof Uint16Array ? new Uint16Array(kvHeads * length * headDim) : new Float32Array(kvHeads * length * headDim);
      for (let h = 0; h < kvHeads; h++) {
        const from = (b * kvHeads + h) * total * headDim;
        row.set(source.subarray(from, from + length * headDim), h * length * headDim);
      }
      rows[b].set(past.name, { data: row, kvHeads, headDim });
    }
  }
  request.ids.forEach((id, b) => store.set(id, rows[b]));
}

/** An empty KV cache: `[batch, kv_heads, 0, head_dim]` in the graph's own element type. */
function emptyPast(meta: ort.InferenceSession.ValueMetadata, batchSize: number, init: SessionInit): ort.Tensor {
  const shape = meta.isTensor ? meta.shape : [];
  const kvHeads = typeof shape[1] === "number" ? shape[1] : init.kvHeads;
  const headDim = typeof shape[3] === "number" ? shape[3] : init.headDim;
  if (kvHeads === undefined || headDim === undefined) {
    throw new Error(`${meta.name} has symbolic dims and config.json gives no num_key_value_heads/head_dim to shape an empty cache`);
  }
  const type = meta.isTensor ? meta.type : "float32";
  const dims = [batchSize, kvHeads, 0, headDim];
  switch (type) {
    case "float16":
      return new ort.Tensor("float16", new Uint16Array(0), dims);
    case "float32":
      return new ort.Tensor("float32", new Float32Array(0), dims);
    default:
      throw new Error(`${meta.name} has element type ${type}; only float32 and float16 KV caches are supported`);
  }
}

void main();
