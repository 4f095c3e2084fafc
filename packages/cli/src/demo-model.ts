import { access, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { buildFixtureModel, cacheRoot } from "@sftscore/engine";

/** The name `--model demo` answers to: the project's built-in test model. */
export const DEMO_MODEL = "demo";

/** Printed once per run that uses the demo model. */
export const DEMO_MODEL_NOTICE =
  "note: --model demo is the project's built-in test model (tiny Llama, byte-level BPE) with random weights; " +
  "its numbers only exercise the pipeline. Point --model at a real model directory to score data.";

/**
 * The demo model's directory, built on first use into the cache. The build is deterministic, so
 * every machine gets the same files; it is written to a temporary folder and renamed into place so
 * that concurrent first runs never see half a model. It is exported with a KV cache (as optimum's
 * with-past exports are), so the demo exercises prefix sharing.
 */
export async function ensureDemoModel(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = path.join(cacheRoot(env), "models", "demo-tiny-seed0-v2");
  if (await exists(path.join(dir, "model.onnx"))) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await buildFixtureModel({ preset: "tiny", seed: 0, out: temp, withPast: true });
  try {
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (!(await exists(path.join(dir, "model.onnx")))) throw error;
  }
  return dir;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
