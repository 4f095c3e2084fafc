import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeviceUnavailableError, checkDevice } from "./device-check.js";

// This machine has onnxruntime-node's CPU binaries only, as every CPU host installed with the
// project's .npmrc has; a GPU host installed with ONNXRUNTIME_NODE_INSTALL=cuda12 would pass instead.
let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(tmpdir(), "sftscore-device-check-"));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe("checkDevice", () => {
  it("accepts the CPU without building or loading anything", async () => {
    await expect(checkDevice("cpu", path.join(cacheDir, "never-created"))).resolves.toBeUndefined();
  });

  it("refuses cuda without its provider library, saying what is missing and how to install it", async () => {
    const failure = checkDevice("cuda", cacheDir);
    await expect(failure).rejects.toBeInstanceOf(DeviceUnavailableError);
    await expect(failure).rejects.toThrow(/--device cuda: the CUDA execution provider is not installed \(.*libonnxruntime_providers_cuda\.so is missing\)/);
    await expect(failure).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
  });
});
