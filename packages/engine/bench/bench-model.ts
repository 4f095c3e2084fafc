/**
 * The benchmark's model: a fixture preset built once into a cache folder and reused by later runs.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildFixtureModel } from "../src/fixture/build-fixture.js";
import type { FixturePreset } from "../src/fixture/llama-config.js";

/** The workspace root (three levels above this file: packages/engine/bench). */
export const WORKSPACE_ROOT = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));

/** Where the benchmark keeps built models and loss-head-extended models between runs. */
export const BENCH_CACHE_DIR = path.join(WORKSPACE_ROOT, "node_modules", ".cache", "sftscore");

/** Written last into a finished model folder; a folder without a matching one is rebuilt. */
const MARKER_FILE = "sftscore-bench.json";

/** A ready model folder. */
export interface BenchModel {
  readonly dir: string;
  readonly preset: FixturePreset;
  readonly seed: number;
  /** True when this call built it; false when a cached build was reused. */
  readonly built: boolean;
  /** Build time (0 when reused). */
  readonly buildSeconds: number;
}

/**
 * Returns `bench-models/<preset>-seed<seed>` under {@link BENCH_CACHE_DIR}, building it when it is
 * missing or was built by a different version of the fixture builder (the marker records a hash of
 * the builder's sources). A build goes to a temporary folder that is renamed into place, so an
 * interrupted build never looks finished.
 */
export async function ensureBenchModel(preset: FixturePreset, seed: number, cacheDir = BENCH_CACHE_DIR): Promise<BenchModel> {
  const dir = path.join(cacheDir, "bench-models", `${preset}-seed${seed}`);
  const marker = JSON.stringify({ preset, seed, builder: await fixtureBuilderHash() });
  const existing = await readFile(path.join(dir, MARKER_FILE), "utf8").catch(() => undefined);
  if (existing === marker) return { dir, preset, seed, built: false, buildSeconds: 0 };

  const started = performance.now();
  const temp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await buildFixtureModel({ preset, seed, out: temp });
    await writeFile(path.join(temp, MARKER_FILE), marker);
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return { dir, preset, seed, built: true, buildSeconds: (performance.now() - started) / 1000 };
}

/** SHA-256 of the fixture builder's non-test sources: a changed builder may write a different model. */
async function fixtureBuilderHash(): Promise<string> {
  const fixtureDir = fileURLToPath(new URL("../src/fixture/", import.meta.url));
  const files = (await readdir(fixtureDir)).filter((name) => name.endsWith(".ts") && !name.endsWith(".spec.ts")).sort();
  const hash = createHash("sha256");
  for (const name of files) hash.update(`${name}\n`).update(await readFile(path.join(fixtureDir, name)));
  return hash.digest("hex").slice(0, 16);
}
