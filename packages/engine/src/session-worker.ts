/**
 * The worker-thread side of a session: owns one ONNX Runtime InferenceSession and runs batches on
 * request. `session.run` holds its thread's event loop for the whole run, so it lives here and the
 * main thread stays free for streams, health checks and metrics.
 */
import { parentPort, workerData } from "node:worker_threads";
import ort from "onnxruntime-node";
import { LABELS_INPUT, SCORED_INDEX_INPUT, TOKEN_LOGPROBS_OUTPUT } from "./loss-head.js";
import type { RunRequest, SessionInit, WorkerReply, WorkerRequest } from "./session-protocol.js";

const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;

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
  reply({ type: "ready", inputNames: session.inputNames });

  port.on("message", (message: WorkerRequest) => {
    if (message.type === "close") {
      void session.release().finally(() => {
        reply({ type: "closed" });
        port.close();
      });
      return;
    }
    void run(session, message, pastInputs, init).then(
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
): Promise<{ tokenLogprobs: Float32Array; seconds: number }> {
  const dims = [request.batchSize, request.paddedLength];
  const scored = request.scoredIndex.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", request.inputIds, dims),
    [SCORED_INDEX_INPUT]: new ort.Tensor("int64", request.scoredIndex, [scored]),
    [LABELS_INPUT]: new ort.Tensor("int64", request.labels, [scored]),
  };
  if (session.inputNames.includes("attention_mask")) feeds.attention_mask = new ort.Tensor("int64", request.attentionMask, dims);
  if (session.inputNames.includes("position_ids")) feeds.position_ids = new ort.Tensor("int64", request.positionIds, dims);
  for (const past of pastInputs) feeds[past.name] = emptyPast(past, request.batchSize, init);

  const started = performance.now();
  const output = (await session.run(feeds, [TOKEN_LOGPROBS_OUTPUT]))[TOKEN_LOGPROBS_OUTPUT];
  const seconds = (performance.now() - started) / 1000;
  // Copy out of ORT's buffer so the result can be transferred to the main thread.
  return { tokenLogprobs: new Float32Array(output.data as Float32Array), seconds };
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
