/** Messages between the engine (main thread) and a session worker thread. */

/** How to create the ONNX Runtime session inside the worker. */
export interface SessionInit {
  /** Path of the extended model, or its bytes when its external data lives elsewhere. */
  readonly model: string | Uint8Array;
  /** ONNX Runtime session config entries (`extra`), e.g. the external data folder. */
  readonly extra: { readonly session?: Readonly<Record<string, string>> };
  readonly executionProviders: readonly string[];
  /** ONNX Runtime intra-op threads. */
  readonly threads: number;
  /** Shape of empty past tensors where the graph's dims are symbolic. */
  readonly kvHeads?: number;
  readonly headDim?: number;
}

/** One model run: a batch laid out by `buildBatchFeeds`. */
export interface RunRequest {
  readonly type: "run";
  readonly runId: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly positionIds: BigInt64Array;
  readonly scoredIndex: BigInt64Array;
  readonly labels: BigInt64Array;
  readonly batchSize: number;
  readonly paddedLength: number;
  /** Tokens of past every row has (0: none). */
  readonly pastLength: number;
  /** Per row, the id of the stored prefix that is its past; present when `pastLength > 0`. */
  readonly pastIds?: Int32Array;
  /** Per row, the id under which to store the row's keys and values (a prefix run), with its real length. */
  readonly store?: { readonly ids: Int32Array; readonly lengths: Int32Array };
  /** Stored prefixes to free before the run. */
  readonly evict: readonly number[];
}

export type WorkerRequest = RunRequest | { readonly type: "close" };

export type WorkerReply =
  | { readonly type: "ready"; readonly inputNames: readonly string[]; readonly outputNames: readonly string[] }
  | { readonly type: "init-error"; readonly message: string }
  | { readonly type: "result"; readonly runId: number; readonly tokenLogprobs: Float32Array; readonly seconds: number }
  | { readonly type: "run-error"; readonly runId: number; readonly message: string }
  | { readonly type: "closed" };
