import { DEVICES, type Device } from "@sftscore/engine";
import type { Argv } from "yargs";

/**
 * Declares how an in-process engine runs, shared by `score`, `serve` and `info`: `--device`
 * (`cpu`, or `cuda` with onnxruntime-node's CUDA binaries) and `--threads` (ONNX Runtime intra-op
 * threads; default all cores). `scope` says in the help what the options apply to.
 */
export function withEngineOptions<T>(y: Argv<T>, scope: string) {
  return y
    .option("device", { choices: DEVICES, default: "cpu" as Device, describe: `Execution device ${scope} (cuda needs onnxruntime-node's CUDA binaries)` })
    .option("threads", { type: "number", describe: `ONNX Runtime intra-op threads ${scope} (default: all cores)` });
}
