import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { EngineError } from "../engine-error.js";

/** Options of {@link startMetricsEndpoint}. */
export interface MetricsEndpointOptions {
  readonly registry: Registry;
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly log: (line: string) => void;
}

/** A running Prometheus scrape endpoint. */
export interface MetricsEndpoint {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` in the Prometheus text format at `GET /metrics` (anything else: 404).
 *
 * @throws EngineError `failed-precondition` when the port cannot be bound (e.g. in use).
 */
export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://metrics");
    if (url.pathname !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("use GET\n");
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": options.registry.contentType }).end(request.method === "HEAD" ? undefined : text),
      (error: unknown) => {
        options.log(`metrics collection failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        response.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new EngineError("failed-precondition", `cannot serve metrics on ${options.host}:${options.port}: ${error.message}`, { cause: error })));
    server.listen(options.port, options.host, () => resolve());
  });
  // Errors after listening (e.g. a client resetting mid-response) must not crash the process.
  server.on("error", (error) => options.log(`metrics endpoint: ${error.message}`));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; they would hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}
