/**
 * `npm run bench -- --device cuda` checks the device before any section runs: a 30-minute benchmark
 * must not find out in its first engine, nor measure the CPU under a GPU heading.
 */
import path from "node:path";
import { CUDA_INSTALL_HINT, EngineError, createEngine, type Device } from "@sftscore/engine";
import { ensureFixtureModel } from "./fixture-models.js";
import { streamOf } from "./stream-of.js";

/** The device cannot run here; `npm run bench` exits 2 with this message. */
export class DeviceUnavailableError extends Error {
  override readonly name = "DeviceUnavailableError";
}

/**
 * Resolves when engines can run on `device`: for `cuda`, an engine on the tiny fixture model is
 * created with the CUDA execution provider and scores one sequence. The engine refuses `cuda` at once
 * when onnxruntime-node's CUDA provider library is not installed; a library that is installed but
 * cannot load (no GPU, no CUDA or cuDNN runtime) fails the test run.
 *
 * @throws DeviceUnavailableError saying what is missing and how to install it.
 */
export async function checkDevice(device: Device, modelCacheDir: string): Promise<void> {
  if (device === "cpu") return;
  try {
    const model = await ensureFixtureModel(modelCacheDir, "tiny");
    const engine = await createEngine({ model: model.dir, device, threads: 1, cacheDir: path.join(modelCacheDir, "extended-models") });
    try {
      for await (const score of engine.score(streamOf([{ id: "device-check", tokenIds: Uint32Array.from([1, 2, 3, 4]), spans: [{ start: 1, end: 4 }] }]))) {
        if (!Number.isFinite(score.spans[0]?.sumLogprob)) throw new Error("the test sequence scored a non-finite log-probability");
      }
    } finally {
      await engine.close();
    }
  } catch (error) {
    // The engine's precondition error already names the missing library and the install command.
    if (error instanceof EngineError && error.code === "failed-precondition") throw new DeviceUnavailableError(error.message, { cause: error });
    const message = error instanceof Error ? error.message : String(error);
    throw new DeviceUnavailableError(`--device ${device}: an engine could not score on ${device}: ${message}; ${CUDA_INSTALL_HINT}`, { cause: error });
  }
}
