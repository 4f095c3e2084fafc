/**
 * Builds the project's tiny fixture models into a temporary directory for a test file and removes
 * them afterwards. Building takes a fraction of a second and is byte-identical every time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel } from "@sftscore/engine";
import { afterAll, beforeAll } from "vitest";

/** Model directories of one test file: the default tiny model (with BOS) and one without BOS. */
export interface FixtureModels {
  /** Tiny Llama-style model whose tokenizer prepends `<s>`. */
  readonly tiny: string;
  /** The same model whose tokenizer adds no special token (Qwen2-like). */
  readonly tinyNoBos: string;
}

/** Registers beforeAll/afterAll hooks; the returned getter is valid inside tests. */
export function useFixtureModels(): () => FixtureModels {
  let root = "";
  let models: FixtureModels | undefined;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "sftscore-metrics-"));
    const tiny = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "tiny") })).dir;
    const tinyNoBos = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "tiny-no-bos"), addBos: false })).dir;
    models = { tiny, tinyNoBos };
  });
  afterAll(async () => {
    if (root !== "") await rm(root, { recursive: true, force: true });
  });
  return () => {
    if (models === undefined) throw new Error("fixture models are built in beforeAll");
    return models;
  };
}
