/** Paths of the workspace that every benchmark section uses. */
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The workspace root (the folder above bench/). */
export const WORKSPACE_ROOT = path.resolve(fileURLToPath(new URL("..", import.meta.url)));

/** The installed `sftscore` bin, run as a user runs it (the packages must be built). */
export const SFTSCORE_BIN = path.join(WORKSPACE_ROOT, "node_modules", ".bin", "sftscore");

/** The project's example dataset: 60 Chinese and English Alpaca samples with task labels. */
export const EXAMPLES_FILE = path.join(WORKSPACE_ROOT, "examples", "alpaca_mixed.json");

/** Where benchmark runs keep built models and engine caches between runs. */
export const BENCH_CACHE_DIR = path.join(WORKSPACE_ROOT, "node_modules", ".cache", "sftscore");

/** The file `npm run bench` rewrites. */
export const BENCHMARKS_FILE = path.join(WORKSPACE_ROOT, "BENCHMARKS.md");
