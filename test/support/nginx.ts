/**
 * A private nginx in front of `sftscore serve` engines, configured with the README's "Scaling out"
 * nginx block (`grpc_pass` to an upstream group) so the documented configuration is the tested one.
 * It runs in the foreground as a child of the test, with its pid file, logs and temp directories in a
 * fresh temporary directory, so it needs no root and touches nothing under /etc or /var.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/** The nginx binary on PATH or Debian's /usr/sbin/nginx; undefined when neither exists. */
export function findNginx(): string | undefined {
  const directories = [...(process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== ""), "/usr/sbin"];
  for (const dir of directories) {
    const candidate = path.join(dir, "nginx");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The root README, whose "Scaling out" section holds the nginx configuration users copy. */
const README = path.join(import.meta.dirname, "..", "..", "README.md");

/**
 * The README's ```nginx block (its `upstream` and `server`), with its engines replaced by
 * `upstreams` and its listen address by `listen`, so a test runs the configuration the README gives.
 *
 * @throws Error when the README has no nginx block, or the block has no `listen … http2;` line or no
 *   `server host:port;` line to replace.
 */
export function readmeNginxSite(readme: string, listen: string, upstreams: readonly string[]): string {
  const block = /^```nginx\n([\s\S]*?)^```$/m.exec(readme)?.[1];
  if (block === undefined) throw new Error(`${README}: no \`\`\`nginx block`);
  const serverLine = /^( *)server [^\s{;]+;[^\n]*\n/gm;
  const first = serverLine.exec(block);
  const listenLine = /^( *)listen \S+ http2;/m;
  if (first === null || !listenLine.test(block)) throw new Error(`${README}: the nginx block has no "server host:port;" or no "listen PORT http2;" line`);
  const engines = upstreams.map((address) => `${first[1]}server ${address};\n`).join("");
  return block
    .replace(serverLine, (line) => (line === first[0] ? engines : ""))
    .replace(listenLine, (_, indent: string) => `${indent}listen ${listen} http2;`);
}

/** Reads the README's nginx block (see {@link readmeNginxSite}). */
export async function readReadmeNginxSite(listen: string, upstreams: readonly string[]): Promise<string> {
  return readmeNginxSite(await readFile(README, "utf8"), listen, upstreams);
}

/**
 * A complete nginx.conf around `site` (`upstream` and `server` blocks) that keeps every file nginx
 * writes in `dir` and logs each call's status and engine for {@link RunningNginx.calls}.
 */
export function privateNginxConfig(dir: string, site: string): string {
  const inDir = (name: string) => path.join(dir, name);
  return `worker_processes 1;
pid ${inDir("nginx.pid")};
error_log ${inDir("error.log")} info;

events {
  worker_connections 1024;
}

http {
  # One line per gRPC call: HTTP status, method path, the engine(s) it went to.
  log_format grpc '$status $request_uri $upstream_addr';
  access_log ${inDir("access.log")} grpc;
  client_body_temp_path ${inDir("client_body")};
  proxy_temp_path ${inDir("proxy")};
  fastcgi_temp_path ${inDir("fastcgi")};
  uwsgi_temp_path ${inDir("uwsgi")};
  scgi_temp_path ${inDir("scgi")};

${site.replace(/^(?=.)/gm, "  ")}}
`;
}

/** A running nginx. */
export interface RunningNginx {
  /** `127.0.0.1:port`, for `--engine` and EngineClient. */
  readonly address: string;
  readonly port: number;
  /** The generated nginx.conf, for failure messages. */
  readonly config: string;
  /** What nginx logged at `info` level and above so far. */
  errorLog(): Promise<string>;
  /** The calls nginx finished so far, in order. */
  calls(): Promise<ProxiedCall[]>;
  /** Graceful stop (SIGQUIT), SIGKILL after `timeoutMs` (default 10 000); removes its directory. */
  stop(timeoutMs?: number): Promise<void>;
}

/** One finished gRPC call, from nginx's access log. */
export interface ProxiedCall {
  /** HTTP status nginx answered with: 200 for every gRPC call it proxied, whatever the gRPC status. */
  readonly status: number;
  /** The engine(s) nginx tried, `host:port`, in order. */
  readonly upstreams: readonly string[];
  /** gRPC method path, e.g. `/sftscore.v1.ScoringService/Score`. */
  readonly path: string;
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** The nginx binary (see {@link findNginx}). */
  readonly bin: string;
  /** `host:port` of each engine. */
  readonly upstreams: readonly string[];
  /** Ports tried before giving up when another process takes the free port first; default 5. */
  readonly attempts?: number;
}

/**
 * Starts nginx with the README's configuration in front of the engines, on a free 127.0.0.1 port,
 * and resolves once it accepts connections.
 *
 * @throws Error with nginx's output and error log when it exits before listening, or when every
 *   port it was given was taken in the meantime.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const attempts = options.attempts ?? 5;
  let lastFailure = "";
  for (let attempt = 0; attempt < attempts; attempt++) {
    const dir = await mkdtemp(path.join(tmpdir(), "sftscore-nginx-"));
    // Started as root, nginx runs its worker as `nobody`, which must reach the temp paths inside.
    await chmod(dir, 0o755);
    const port = await freePort();
    const config = privateNginxConfig(dir, await readReadmeNginxSite(`127.0.0.1:${port}`, options.upstreams));
    await writeFile(path.join(dir, "nginx.conf"), config);
    const child = spawn(options.bin, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-e", path.join(dir, "error.log"), "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const listening = await Promise.race([untilAccepting(port, child).then(() => true), exit.then(() => false)]);
    const errorLog = () => readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
    if (listening) {
      return {
        address: `127.0.0.1:${port}`,
        port,
        config,
        errorLog,
        calls: async () => parseAccessLog(await readFile(path.join(dir, "access.log"), "utf8")),
        stop: (timeoutMs = 10_000) => stopNginx(child, exit, dir, timeoutMs),
      };
    }
    lastFailure = `${output}${await errorLog()}`;
    await rm(dir, { recursive: true, force: true });
    if (!/Address already in use/.test(lastFailure)) break;
  }
  throw new Error(`nginx did not start:\n${lastFailure}`);
}

/** Lines of the `grpc` log format; `$upstream_addr` lists every engine tried, as `a:1, b:2`. */
function parseAccessLog(text: string): ProxiedCall[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [status, requestPath, ...upstreams] = line.split(" ");
      return { status: Number(status), path: requestPath, upstreams: upstreams.map((address) => address.replace(/,$/, "")).filter((address) => address !== "-") };
    });
}

/** A port that was free a moment ago (the OS picks it; nginx may still lose it to a race). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to the port succeeds; stops trying when the child exits. */
async function untilAccepting(port: number, child: ChildProcess): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stopNginx(child: ChildProcess, exit: Promise<number | null>, dir: string, timeoutMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    // SIGQUIT lets open streams finish; the timer covers a stream that never does.
    child.kill("SIGQUIT");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exit;
    clearTimeout(timer);
  }
  await rm(dir, { recursive: true, force: true });
}
