import { Server, ServerCredentials } from "@grpc/grpc-js";
import { ScoringServiceService } from "@sftscore/proto";
import { HealthImplementation } from "grpc-health-check";
import { Registry } from "prom-client";
import type { Engine } from "../engine.js";
import { EngineError } from "../engine-error.js";
import { createEngineMetrics } from "./engine-metrics.js";
import { startMetricsEndpoint, type MetricsEndpoint } from "./metrics-endpoint.js";
import { createScoringService } from "./scoring-service.js";

/** Default {@link ServerOptions.maxMessageBytes}: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Default {@link ServerOptions.maxSequencesPerMessage}. */
export const DEFAULT_MAX_SEQUENCES_PER_MESSAGE = 1024;
/** The service name health checks ask about (the empty name means the whole server). */
export const SCORING_SERVICE_NAME = "sftscore.v1.ScoringService";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The engine to serve. The server owns it from here: `close()` closes it. */
  readonly engine: Engine;
  /** Address to bind; default `127.0.0.1`. There is no TLS or authentication yet. */
  readonly host?: string;
  /** TCP port for gRPC; 0 picks a free one (see {@link RunningServer.port}). */
  readonly port: number;
  /**
   * Largest ScoreRequest accepted, in bytes (the gRPC receive limit: a larger message fails its
   * stream with RESOURCE_EXHAUSTED); responses are kept at or under it too. Default 16 MiB.
   */
  readonly maxMessageBytes?: number;
  /** Most sequences per ScoreRequest; default 1024. */
  readonly maxSequencesPerMessage?: number;
  /** Serve Prometheus metrics at `http://host:metricsPort/metrics`; 0 picks a free port. Default: no endpoint. */
  readonly metricsPort?: number;
  /** Registry the metrics are registered on; default a fresh one (only when `metricsPort` is set). */
  readonly registry?: Registry;
  /** Receives one line per internal error or notable event; default: stderr. */
  readonly log?: (line: string) => void;
}

/** A listening engine server. */
export interface RunningServer {
  /** The bound host. */
  readonly host: string;
  /** The gRPC port (the real one when 0 was asked for). */
  readonly port: number;
  /** The metrics port, when there is an endpoint. */
  readonly metricsPort?: number;
  /**
   * Graceful shutdown: health turns NOT_SERVING, new connections and Score calls are refused, open
   * streams finish the sequences they had received and answer later ones CANCELLED (then end: OK
   * if the client had half-closed, UNAVAILABLE otherwise), then the engine closes and the metrics
   * endpoint stops. Idempotent.
   *
   * @param options.timeoutMs After this long, calls still open are cancelled (their queued
   *   sequences dropped, their clients free to resend); default: wait for them.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** How long health watches and idle connections may hold a graceful shutdown after every Score call is over. */
const SHUTDOWN_GRACE_MS = 250;

/**
 * Serves an engine over gRPC: `sftscore.v1.ScoringService`, `grpc.health.v1.Health`, and optionally a
 * Prometheus endpoint.
 *
 * @throws EngineError `invalid-argument` for bad options, `failed-precondition` when a port cannot be
 *   bound. The engine is then left open: the caller still owns it.
 * @example
 * const engine = await createEngine({ model: "models/tiny" });
 * const server = await startServer({ engine, port: 50051, metricsPort: 9464 });
 * process.once("SIGTERM", () => void server.close());
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  const maxSequencesPerMessage = positiveInteger("maxSequencesPerMessage", options.maxSequencesPerMessage ?? DEFAULT_MAX_SEQUENCES_PER_MESSAGE);
  const port = portNumber("port", options.port);
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const { engine } = options;

  const registry = options.metricsPort === undefined ? options.registry : (options.registry ?? new Registry());
  const metrics = registry === undefined ? undefined : createEngineMetrics(registry, engine);
  const service = createScoringService({ engine, maxMessageBytes, maxSequencesPerMessage, log, ...(metrics ? { observer: metrics } : {}) });

  const server = new Server({ "grpc.max_receive_message_length": maxMessageBytes });
  server.addService(ScoringServiceService, service.handlers);
  const health = new HealthImplementation({ "": "SERVING", [SCORING_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);

  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) {
        server.forceShutdown();
        reject(new EngineError("failed-precondition", `cannot serve gRPC on ${address}: ${error.message}`, { cause: error }));
      }
      else resolve(bound);
    });
  });

  let metricsEndpoint: MetricsEndpoint | undefined;
  if (options.metricsPort !== undefined && registry !== undefined) {
    try {
      metricsEndpoint = await startMetricsEndpoint({ registry, host, port: portNumber("metricsPort", options.metricsPort), log });
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  const graceful = async () => {
    health.setStatus("", "NOT_SERVING");
    health.setStatus(SCORING_SERVICE_NAME, "NOT_SERVING");
    // Stops listening and sends GOAWAY, so clients open no new calls here; open calls go on.
    const stopped = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await service.drain();
    await Promise.race([stopped, new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())]);
    // Every Score call is over; health watches would otherwise hold the shutdown open for ever.
    server.forceShutdown();
    await engine.close();
    await metricsEndpoint?.close();
  };

  return {
    host,
    port: boundPort,
    ...(metricsEndpoint ? { metricsPort: metricsEndpoint.port } : {}),
    close(closeOptions = {}) {
      closing ??= graceful();
      if (closeOptions.timeoutMs !== undefined) {
        // Cancelling every call ends the streams, so the graceful path above then completes.
        const timer = setTimeout(() => server.forceShutdown(), closeOptions.timeoutMs);
        void closing.finally(() => clearTimeout(timer));
      }
      return closing;
    },
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new EngineError("invalid-argument", `${name} must be a positive integer, got ${value}`);
  return value;
}

function portNumber(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new EngineError("invalid-argument", `${name} must be a port number (0-65535), got ${value}`);
  return value;
}
