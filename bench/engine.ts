/**
 * Engine section: the engine benchmark (packages/engine/bench/engine-bench.ts — the engine against
 * full logits and the compute floor on `bench-small`) run as its own process tree, as it measures
 * each contender's peak RSS per process. It hands back its Markdown and targets through files.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { WORKSPACE_ROOT } from "./workspace.js";

/** A target as engine-bench.ts writes it with `--targets`. */
interface EngineBenchTarget {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
}

/** One timed pass per light contender (the script's default is two) keeps `npm run bench` within 30 minutes. */
const WARM_PASSES = 1;

export const engineSection: BenchSection = {
  name: "engine",
  estimateSeconds: 190,
  async run(context: BenchContext): Promise<SectionResult> {
    const markdownFile = path.join(context.workDir, "engine.md");
    const targetsFile = path.join(context.workDir, "engine-targets.json");
    const script = path.join("packages", "engine", "bench", "engine-bench.ts");
    const tsx = path.join(WORKSPACE_ROOT, "node_modules", ".bin", "tsx");
    // Its progress and console table go to stderr, straight through.
    const child = spawn(tsx, [script, "--warm-passes", String(WARM_PASSES), "--markdown", markdownFile, "--targets", targetsFile], { cwd: WORKSPACE_ROOT, stdio: ["ignore", "inherit", "inherit"] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`${script} exited with ${code}`);
    const targets = JSON.parse(await readFile(targetsFile, "utf8")) as EngineBenchTarget[];
    return {
      markdown: await readFile(markdownFile, "utf8"),
      // Speed and memory targets: reported, never failing the run.
      targets: targets.map((t): TargetOutcome => ({ description: `${t.figure} = ${t.value} (target ${t.target})`, met: t.met, required: false })),
    };
  },
};
