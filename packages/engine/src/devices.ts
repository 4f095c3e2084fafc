import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { EngineError } from "./engine-error.js";

/** Where the model runs. `cuda` needs onnxruntime-node's CUDA binaries and an NVIDIA GPU. */
export type Device = "cpu" | "cuda";

export const DEVICES: readonly Device[] = ["cpu", "cuda"];

/** How a GPU host installs the CUDA execution provider; quoted in every CUDA error. */
export const CUDA_INSTALL_HINT =
  "install onnxruntime-node's CUDA binaries on the GPU host with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` " +
  "(needs CUDA 12 and cuDNN 9 libraries on the library path), or run with --device cpu";

/**
 * The execution providers for `device`, after checking that the device can work here. ONNX Runtime
 * would otherwise fail late with a dlopen message that does not say how to fix it.
 *
 * @throws EngineError `failed-precondition` when CUDA is asked for and its provider library is not
 *   installed next to onnxruntime-node's binding.
 */
export function executionProviders(device: Device, options: { bindingDir?: string } = {}): string[] {
  if (device === "cpu") return ["cpu"];
  const dir = options.bindingDir ?? onnxruntimeBindingDir();
  const library = path.join(dir, "libonnxruntime_providers_cuda.so");
  if (!existsSync(library)) {
    throw new EngineError("failed-precondition", `--device cuda: the CUDA execution provider is not installed (${library} is missing); ${CUDA_INSTALL_HINT}`);
  }
  return ["cuda"];
}

/** The folder holding onnxruntime-node's native binding for this platform. */
function onnxruntimeBindingDir(): string {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve("onnxruntime-node/package.json"));
  return path.join(packageDir, "bin", "napi-v6", process.platform, process.arch);
}
