/**
 * A private nginx in front of `sftscore serve` engines (`grpc_pass` to an upstream group), run in the
 * foreground as a child of the benchmark with its configuration, pid file, logs and temp paths in one
 * directory, so it needs no root and touches nothing under /etc or /var.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import path from "node:path";

/** The nginx binary on PATH or Debian's /usr/sbin/nginx; undefined when neither exists. */
export function findNginx(): string | undefined {
  const directories = [...(process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== ""), "/usr/sbin"];
  for (const dir of directories) {
    try {
      accessSync(path.join(dir, "nginx"), constants.X_OK);
      return path.join(dir, "nginx");
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * nginx.conf for gRPC round-robin over `upstreams`. nginx picks an upstream per request, and a gRPC
 * stream is one request, so the client needs several streams for every engine to get work. A Score
 * stream carries a whole run: no body size limit, and idle limits far above the client's deadline.
 */
export function grpcProxyConfig(dir: string, listen: string, upstreams: readonly string[]): string {
  const inDir = (name: string) => path.join(dir, name);
  return `worker_processes 1;
pid ${inDir("nginx.pid")};
error_log ${inDir("error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${inDir("client_body")};
  proxy_temp_path ${inDir("proxy")};
  fastcgi_temp_path ${inDir("fastcgi")};
  uwsgi_temp_path ${inDir("uwsgi")};
  scgi_temp_path ${inDir("scgi")};
  upstream engines {
${upstreams.map((address) => `    server ${address};`).join("\n")}
  }
  server {
    listen ${listen} http2;
    client_max_body_size 0;
    client_body_timeout 1h;
    keepalive_timeout 1h;
    keepalive_requests 100000;
    location / {
      grpc_pass grpc://engines;
      grpc_read_timeout 1h;
      grpc_send_timeout 1h;
    }
  }
}
`;
}

/** A running nginx. */
export interface NginxProxy {
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** SIGQUIT (lets open streams finish), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts nginx from `bin` with its files in `dir` on a free 127.0.0.1 port, and resolves once it
 * accepts connections.
 *
 * @throws Error with nginx's output and error log when it exits before listening.
 */
export async function startNginxProxy(bin: string, dir: string, upstreams: readonly string[]): Promise<NginxProxy> {
  await mkdir(dir, { recursive: true });
  // Started as root, nginx's worker runs as `nobody`, which must reach the temp paths inside.
  await chmod(dir, 0o755);
  const port = await freePort();
  const configFile = path.join(dir, "nginx.conf");
  await writeFile(configFile, grpcProxyConfig(dir, `127.0.0.1:${port}`, upstreams));
  const child = spawn(bin, ["-p", dir, "-c", configFile, "-e", path.join(dir, "error.log"), "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  while (!exited() && !(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 20));
  if (exited()) {
    const log = await readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
    throw new Error(`nginx did not start on 127.0.0.1:${port}:\n${output}${log}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (exited()) return;
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** A port that was free a moment ago (the OS picks it). */
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
