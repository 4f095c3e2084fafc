/**
 * `sftscore serve` engines as child processes of a benchmark, started the way a user starts them
 * (the installed bin), so that what is measured is the shipped server.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { SFTSCORE_BIN, WORKSPACE_ROOT } from "./workspace.js";

/** A listening engine. */
export interface ServeProcess {
  readonly pid: number;
  /** `127.0.0.1:port`, for `--engine` and EngineClient. */
  readonly address: string;
  /** The Prometheus URL when `--metrics-port` was among the arguments. */
  readonly metricsUrl?: string;
  /** True until the process exits. */
  running(): boolean;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGTERM (finish in-flight work, exit), SIGKILL after `timeoutMs` (default 30 000). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `sftscore serve --host 127.0.0.1 --port 0 <args>` and resolves once it prints its
 * `listening on` line.
 *
 * @throws Error with its stderr when it exits before listening.
 */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(SFTSCORE_BIN, ["serve", "--host", "127.0.0.1", "--port", "0", ...args], { cwd: WORKSPACE_ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      stderr += `${error.message}\n`;
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening on 127\.0\.0\.1:(\d+) /m.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    void exit.then(() => reject(new Error(`sftscore serve ${args.join(" ")} exited before listening:\n${stderr}`)));
  });
  const metricsUrl = /^metrics at (http:\/\/\S+)$/m.exec(stdout)?.[1];
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid ?? 0,
    address: `127.0.0.1:${port}`,
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
    running,
    stderr: () => stderr,
    async stop(timeoutMs = 30_000) {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Stops every engine, in parallel; a failure to stop one does not leave the others running. */
export async function stopAll(engines: readonly ServeProcess[]): Promise<void> {
  await Promise.allSettled(engines.map((engine) => engine.stop()));
}

/**
 * One counter or gauge without labels from a Prometheus text endpoint.
 *
 * @throws Error when the endpoint does not answer or has no such metric.
 */
export async function readMetric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!match) throw new Error(`metric ${name} not found at ${metricsUrl}`);
  return Number(match[1]);
}
