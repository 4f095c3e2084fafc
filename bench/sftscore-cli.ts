/** One-shot `sftscore` commands run from a benchmark, as a user runs them (the installed bin). */
import { execFile } from "node:child_process";
import { SFTSCORE_BIN, WORKSPACE_ROOT } from "./workspace.js";

/** How a command ended, and how long it took. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, process start-up included. */
  readonly wallSeconds: number;
}

/** Runs `sftscore <args>` from the workspace root to completion; never rejects. */
export function runSftscore(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(SFTSCORE_BIN, args, { cwd: WORKSPACE_ROOT, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr, wallSeconds: (performance.now() - started) / 1000 });
    });
  });
}

/** What `sftscore score` reports on its `done:` line. */
export interface ScoreSummary {
  readonly rows: number;
  /** Real (unpadded) tokens of every sequence it had scored. */
  readonly tokens: number;
}

/**
 * The rows and tokens of the `done: 60 rows scored (60 in r.jsonl) in 5s; 67,273 tokens scored, …`
 * line that `sftscore score` writes to stderr when it finishes.
 *
 * @throws Error quoting the output when there is no such line.
 */
export function parseScoreSummary(stderr: string): ScoreSummary {
  const match = /^done: (\d+) rows scored .*; ([\d,]+) tokens scored/m.exec(stderr);
  if (!match) throw new Error(`sftscore score printed no "done:" line:\n${stderr.slice(-2000)}`);
  return { rows: Number(match[1]), tokens: Number(match[2].replaceAll(",", "")) };
}

/**
 * Runs `sftscore <args>` and returns the run when it exits 0.
 *
 * @throws Error with the command and its stderr otherwise.
 */
export async function runSftscoreOk(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliRun> {
  const run = await runSftscore(args, env);
  if (run.code !== 0) throw new Error(`sftscore ${args.join(" ")} exited with ${run.code}:\n${run.stderr.slice(-4000)}`);
  return run;
}
