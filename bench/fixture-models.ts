/**
 * The project's fixture models for benchmarks, built once into `context.modelCacheDir` and reused by
 * later runs (the `bench-small` preset takes about 14 s and 0.7 GB).
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildFixtureModel, type FixturePreset } from "@sftscore/engine";
import { WORKSPACE_ROOT } from "./workspace.js";

/** Written last into a finished model folder; a folder without a matching one is rebuilt. */
const MARKER_FILE = "sftscore-bench.json";

/** The fixture builder's sources, whose hash says whether a cached build is still current. */
const FIXTURE_SOURCES = path.join(WORKSPACE_ROOT, "packages", "engine", "src", "fixture");

/** A ready model folder. */
export interface CachedModel {
  readonly dir: string;
  readonly preset: FixturePreset;
  readonly seed: number;
  /** Exported with a KV cache (`past_key_values.*` inputs, `present.*` outputs), as optimum's with-past exports are. */
  readonly withPast: boolean;
  /** True when this call built it; false when a cached build was reused. */
  readonly built: boolean;
  /** Build time in seconds (0 when reused). */
  readonly buildSeconds: number;
}

/**
 * Returns `<cacheDir>/<preset>-seed<seed>` (`<preset>-past-seed<seed>` with a KV cache), building it
 * when it is missing or was built by a different version of the fixture builder. The folder and its
 * marker are the ones the engine benchmark (packages/engine/bench/bench-model.ts) writes, so both
 * reuse one build. A build goes to a temporary folder that is renamed into place, so an interrupted
 * build never looks finished.
 */
export async function ensureFixtureModel(cacheDir: string, preset: FixturePreset, seed = 0, variant: { readonly withPast?: boolean } = {}): Promise<CachedModel> {
  const withPast = variant.withPast === true;
  const dir = path.join(cacheDir, `${preset}${withPast ? "-past" : ""}-seed${seed}`);
  const marker = JSON.stringify({ preset, seed, builder: await fixtureBuilderHash(), ...(withPast ? { withPast } : {}) });
  const existing = await readFile(path.join(dir, MARKER_FILE), "utf8").catch(() => undefined);
  if (existing === marker) return { dir, preset, seed, withPast, built: false, buildSeconds: 0 };

  const started = performance.now();
  const temp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await buildFixtureModel({ preset, seed, out: temp, withPast });
    await writeFile(path.join(temp, MARKER_FILE), marker);
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return { dir, preset, seed, withPast, built: true, buildSeconds: (performance.now() - started) / 1000 };
}

/** SHA-256 of the fixture builder's non-test sources: a changed builder may write a different model. */
async function fixtureBuilderHash(): Promise<string> {
  const files = (await readdir(FIXTURE_SOURCES)).filter((name) => name.endsWith(".ts") && !name.endsWith(".spec.ts")).sort();
  const hash = createHash("sha256");
  for (const name of files) hash.update(`${name}\n`).update(await readFile(path.join(FIXTURE_SOURCES, name)));
  return hash.digest("hex").slice(0, 16);
}

/**
 * "fixture preset `tiny` (Llama, hidden 64, 2 layers, vocabulary 1,024, random weights)", from the
 * model's `config.json`.
 */
export async function describeFixtureModel(model: CachedModel): Promise<string> {
  const config = JSON.parse(await readFile(path.join(model.dir, "config.json"), "utf8")) as { hidden_size: number; num_hidden_layers: number; vocab_size: number };
  return `fixture preset \`${model.preset}\` (Llama, hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, vocabulary ${config.vocab_size.toLocaleString("en-US")}, random weights)`;
}
