/**
 * Why talking to the Hugging Face Hub or reading its cache failed:
 * - `unauthorized`: 401/403, a gated or private repository (or a rejected `HF_TOKEN`);
 * - `not-found`: the repository, revision or file does not exist;
 * - `unreachable`: no answer from the hub (DNS, refused, timed out, connection dropped);
 * - `offline`: `HF_HUB_OFFLINE` is set and the cache does not hold what was asked for;
 * - `no-onnx-graph`: the repository has no ONNX graph to choose, or not the one asked for;
 * - `missing-files`: the repository lacks `config.json` or `tokenizer.json`;
 * - `integrity`: a downloaded file's size or hash differs from what the hub announced;
 * - `http`: any other HTTP failure (5xx, 429, a malformed answer).
 */
export type HubErrorCode = "unauthorized" | "not-found" | "unreachable" | "offline" | "no-onnx-graph" | "missing-files" | "integrity" | "http";

/** The hub module's one error type: a code, a message a user can act on, and the cause. */
export class HubError extends Error {
  override readonly name = "HubError";
  readonly code: HubErrorCode;
  /** The HTTP status, when the error is an HTTP answer. */
  readonly status?: number;

  constructor(code: HubErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
  }

  /** True when another attempt may succeed: the network dropped, the hub was overloaded or failed. */
  get retryable(): boolean {
    return this.code === "unreachable" || (this.code === "http" && (this.status === undefined || this.status === 429 || this.status >= 500));
  }
}

/**
 * What to do when this machine cannot use the hub; appended to `unreachable` and `offline` errors.
 * Snapshot files are symlinks into `blobs/`, hence `cp -rL`.
 */
export function copyModelHint(repo: string): string {
  return (
    `To use the model without the hub, run \`sftscore models pull ${repo}\` on a machine that can reach it and copy the ` +
    "snapshot directory it prints (config.json, tokenizer files and the ONNX graph; `cp -rL` copies files, not cache symlinks) " +
    "here, then pass --model <that directory>. Or set HF_ENDPOINT to a reachable mirror."
  );
}
