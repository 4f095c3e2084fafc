/**
 * The installed `sftscore` bin run as a user runs it: one-shot commands (`runCli`) and long-lived
 * `sftscore serve` engines (`startServe`) that a test can signal, kill -9 or stop and restart.
 * Build first: `npx nx run-many -t build`.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";

/** The installed `sftscore` bin. */
export const SFTSCORE_BIN = path.join(import.meta.dirname, "..", "..", "node_modules", ".bin", "sftscore");

/** What a finished command printed and how it exited. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sftscore <args>` to completion; never rejects (a failing command is a result too). */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(SFTSCORE_BIN, args, { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `sftscore serve` child process. */
export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly host: string;
  readonly port: number;
  /** `host:port` for `--engine` and EngineClient. */
  readonly address: string;
  /** The Prometheus URL, when `--metrics-port` was given. */
  readonly metricsUrl?: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
}

/** Options of {@link startServe}. */
export interface ServeOptions {
  readonly model: string;
  /** Where the engine caches its loss-head-extended model (share one per test file: it is built once). */
  readonly cacheDir: string;
  /** Default 0: a free port, read back from the `listening on` line. */
  readonly port?: number;
  readonly host?: string;
  /** Default 1. */
  readonly threads?: number;
  /** More `serve` flags. */
  readonly extra?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `sftscore serve` and resolves once it listens (rejects with its stderr if it exits first). */
export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const host = options.host ?? "127.0.0.1";
  const args = ["serve", "--model", options.model, "--host", host, "--port", String(options.port ?? 0), "--threads", String(options.threads ?? 1), "--cache-dir", options.cacheDir, ...(options.extra ?? [])];
  const child = spawn(SFTSCORE_BIN, args, { env: options.env ?? process.env });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = new RegExp(`^listening on \\[?${host.replaceAll(".", "\\.")}\\]?:(\\d+) `, "m");
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = listening.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    void exit.then((code) => reject(new Error(`sftscore serve exited with ${code} before listening:\n${stderr}`)));
  });
  const metricsUrl = /^metrics at (http:\/\/\S+)$/m.exec(stdout)?.[1];
  return {
    child,
    host,
    port,
    address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
  };
}

/** Kills every process still running (for afterEach/afterAll). */
export function killAll(processes: readonly ServeProcess[], signal: NodeJS.Signals = "SIGKILL"): void {
  for (const served of processes) if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill(signal);
}

/** Reads one counter or gauge (without labels) from a Prometheus text endpoint. */
export async function readMetric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!match) throw new Error(`metric ${name} not found at ${metricsUrl}`);
  return Number(match[1]);
}
