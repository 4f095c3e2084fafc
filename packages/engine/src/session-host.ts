import { Worker } from "node:worker_threads";
import type { BatchFeeds } from "./batch-tensors.js";
import { EngineError } from "./engine-error.js";
import type { RunRequest, SessionInit, WorkerReply, WorkerRequest } from "./session-protocol.js";

/** What a run does with the worker's store of prefixes (see `RunRequest`). */
export type RunPrefixes = Pick<RunRequest, "pastIds" | "store" | "evict">;

/** The result of one model run. */
export interface RunResult {
  /** `token_logprobs` in the order of the batch's scored positions. */
  readonly tokenLogprobs: Float32Array;
  /** Time inside `session.run`. */
  readonly seconds: number;
}

/**
 * The main-thread handle of one session worker. One run at a time; the scheduler keeps it fed.
 * A worker that dies fails its pending run with `model-failed` and is unusable afterwards.
 */
export class SessionHost {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly worker: Worker;
  private pending?: { runId: number; resolve: (result: RunResult) => void; reject: (error: EngineError) => void };
  private nextRunId = 1;
  private failure?: EngineError;
  private closing?: Promise<void>;

  private constructor(worker: Worker, names: { readonly inputNames: readonly string[]; readonly outputNames: readonly string[] }) {
    this.worker = worker;
    this.inputNames = names.inputNames;
    this.outputNames = names.outputNames;
    worker.on("message", (reply: WorkerReply) => this.onReply(reply));
    worker.on("error", (error) => this.fail(new EngineError("model-failed", `session worker crashed: ${error.message}`, { cause: error })));
    worker.on("exit", (code) => {
      if (!this.closing) this.fail(new EngineError("model-failed", `session worker exited unexpectedly (code ${code})`));
    });
  }

  /**
   * Starts a worker thread and creates the session in it.
   *
   * @throws EngineError `model-failed` when ONNX Runtime cannot create the session.
   */
  static async start(init: SessionInit): Promise<SessionHost> {
    const worker = spawnWorker(init);
    const names = await new Promise<{ inputNames: readonly string[]; outputNames: readonly string[] }>((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        worker.off("error", onError);
        if (reply.type === "ready") resolve(reply);
        else if (reply.type === "init-error") reject(new EngineError("model-failed", `ONNX Runtime could not load the model: ${reply.message}`));
        else reject(new EngineError("internal", `unexpected first message from session worker: ${reply.type}`));
      };
      const onError = (error: Error) => reject(new EngineError("model-failed", `session worker failed to start: ${error.message}`, { cause: error }));
      worker.once("message", onMessage);
      worker.once("error", onError);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new SessionHost(worker, names);
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Runs one batch. The feeds are copied to the worker (kilobytes; the caller keeps using them). */
  run(feeds: BatchFeeds, prefixes: RunPrefixes = { evict: [] }): Promise<RunResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new EngineError("internal", "session is already running a batch"));
    const runId = this.nextRunId++;
    const request: WorkerRequest = {
      type: "run",
      runId,
      inputIds: feeds.inputIds,
      attentionMask: feeds.attentionMask,
      positionIds: feeds.positionIds,
      scoredIndex: feeds.scoredIndex,
      labels: feeds.labels,
      batchSize: feeds.batchSize,
      paddedLength: feeds.paddedLength,
      pastLength: feeds.pastLength,
      ...prefixes,
    };
    return new Promise<RunResult>((resolve, reject) => {
      this.pending = { runId, resolve, reject };
      this.worker.postMessage(request);
    });
  }

  /** Releases the session and stops the worker; waits for a running batch to finish first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
      if (this.failure) await this.worker.terminate();
      else this.worker.postMessage({ type: "close" } satisfies WorkerRequest);
      await closed;
    })();
    return this.closing;
  }

  private onReply(reply: WorkerReply): void {
    const pending = this.pending;
    if (reply.type === "result" && pending?.runId === reply.runId) {
      this.pending = undefined;
      pending.resolve({ tokenLogprobs: reply.tokenLogprobs, seconds: reply.seconds });
    } else if (reply.type === "run-error" && pending?.runId === reply.runId) {
      this.pending = undefined;
      pending.reject(new EngineError("model-failed", `model run failed: ${reply.message}`));
    }
  }

  private fail(error: EngineError): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/**
 * Starts the worker script beside this module: the compiled `.js` in a build. Under the test runner
 * this module is the `.ts` source and vitest does not transform worker threads, so the worker loads
 * the source through tsx's loader (a dev dependency only needed there).
 */
function spawnWorker(init: SessionInit): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./session-worker.js", import.meta.url), { workerData: init });
  const entry = new URL("./session-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
