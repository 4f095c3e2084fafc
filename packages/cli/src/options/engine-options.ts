import { DEVICES, type Device, type EngineOptions } from "@sftscore/engine";
import type { Argv } from "yargs";
import { UsageError } from "../exit-codes.js";

/**
 * Declares how an in-process engine runs, shared by `score`, `serve` and `info`: `--device`
 * (`cpu`, or `cuda` with onnxruntime-node's CUDA binaries), `--threads` (ONNX Runtime intra-op
 * threads; default all cores) and `--prefix-cache-mb`. `scope` says in the help what the options
 * apply to.
 */
export function withEngineOptions<T>(y: Argv<T>, scope: string) {
  return y
    .option("device", { choices: DEVICES, default: "cpu" as Device, describe: `Execution device ${scope} (cuda needs onnxruntime-node's CUDA binaries)` })
    .option("threads", { type: "number", describe: `ONNX Runtime intra-op threads ${scope} (default: all cores)` })
    .option("prefix-cache-mb", {
      type: "number",
      describe: "MiB of KV cache (over all session workers) for prefixes that several sequences share, with a model exported with past_key_values (default 256; 0 turns prefix sharing off)",
    });
}

/** `--prefix-cache-mb` as `EngineOptions.prefixCacheBytes`. */
export function prefixCacheOf(options: { readonly prefixCacheMb?: number | undefined }): Pick<EngineOptions, "prefixCacheBytes"> {
  const mib = options.prefixCacheMb;
  if (mib === undefined) return {};
  if (!Number.isSafeInteger(mib) || mib < 0) throw new UsageError(`--prefix-cache-mb must be a non-negative integer, got ${mib}`);
  return { prefixCacheBytes: mib * 1024 ** 2 };
}
