import { ClientError } from "@sftscore/client";
import { EngineError } from "@sftscore/engine";
import { MetricsError } from "@sftscore/metrics";
import { DataError } from "./data/data-error.js";
import { HubError } from "./hub/hub-error.js";

/** Process exit codes: 0 done, 1 runtime failure, 2 bad usage or bad input. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with how the command was called or with its input; exits with {@link ExitCode.usage}. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * The exit code for an error that ended a command: {@link ExitCode.usage} for a usage error, for bad
 * data files and output paths, for options the metrics reject (templates, tokenizer) and for an
 * engine error about the input (`invalid-argument`, e.g. a directory that is not a causal LM;
 * `not-found`, e.g. a missing model file) and for a client error about the call itself (a malformed
 * `--engine` address, a refused auth token, engines serving another model); {@link ExitCode.failure}
 * for everything else (engines unreachable, stalled or failing).
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof DataError) return ExitCode.usage;
  // A model that does not exist or is not an ONNX causal LM is bad input; an unreachable hub is not.
  if (error instanceof HubError && (error.code === "not-found" || error.code === "no-onnx-graph" || error.code === "missing-files")) return ExitCode.usage;
  if (error instanceof MetricsError && error.code !== "scorer-failed" && error.code !== "cancelled") return ExitCode.usage;
  if (error instanceof EngineError && (error.code === "invalid-argument" || error.code === "not-found")) return ExitCode.usage;
  if (error instanceof ClientError && (error.code === "invalid-argument" || error.code === "unauthenticated" || error.code === "model-mismatch")) return ExitCode.usage;
  return ExitCode.failure;
}
