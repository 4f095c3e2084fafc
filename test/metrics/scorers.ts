/**
 * The scorers the metrics tests run against: each test suite runs once per entry. The in-process
 * ONNX engine is what users run; the reference forward pass (float64, the oracle itself) isolates
 * the plan and composition from the engine's numerics, so a failure says which side is wrong.
 */
import path from "node:path";
import { createEngine } from "@sftscore/engine";
import type { Scorer } from "@sftscore/metrics";
import { createReferenceScorer, loadReferenceModel } from "../support/reference-scorer.js";

/** A scorer implementation under test. */
export interface ScorerUnderTest {
  readonly name: string;
  /** Relative tolerance on log values (mean NLLs, log ratios) against the float64 oracle. */
  readonly tolerance: number;
  create(modelDir: string): Promise<Scorer>;
}

export const SCORERS_UNDER_TEST: readonly ScorerUnderTest[] = [
  {
    name: "in-process engine",
    tolerance: 1e-6,
    create: (dir) => createEngine({ model: dir, threads: 2, cacheDir: path.join(dir, ".cache") }),
  },
  {
    name: "reference forward pass",
    tolerance: 1e-6,
    create: async (dir) => createReferenceScorer(await loadReferenceModel(dir)),
  },
];
