import { Server } from "@grpc/grpc-js";
import { ScoringServiceService } from "@sftscore/proto";
import { HealthImplementation } from "grpc-health-check";
import { Registry } from "prom-client";
import type { Engine } from "../engine.js";
import { EngineError } from "../engine-error.js";
import { authTokenInterceptor } from "./auth-token.js";
import { createEngineMetrics } from "./engine-metrics.js";
import { startMetricsEndpoint, type MetricsEndpoint } from "./metrics-endpoint.js";
import { createScoringService } from "./scoring-service.js";
import { serverCredentialsOf, type ServerTlsOptions } from "./server-tls.js";

/** Default {@link ServerOptions.maxMessageBytes}: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Default {@link ServerOptions.maxSequencesPerMessage}. */
export const DEFAULT_MAX_SEQUENCES_PER_MESSAGE = 1024;
/** The service name health checks ask about (the empty name means the whole server). */
export const SCORING_SERVICE_NAME = "sftscore.v1.ScoringService";
/** Method path prefix of `grpc.health.v1.Health`, which answers without a token. */
const HEALTH_SERVICE_PATH = "/grpc.health.v1.Health/";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The engine to serve. The server owns it from here: `close()` closes it. */
  readonly engine: Engine;
  /**
   * Address to bind; default `127.0.0.1`. Anything beyond loopback should come with `tls` and
   * `authToken` (or `tls.ca`): without them anyone who reaches the port can score on this engine.
   */
  readonly host?: string;
  /** TCP port for gRPC; 0 picks a free one (see {@link RunningServer.port}). */
  readonly port: number;
  /** Serve over TLS with this certificate and key; with `tls.ca`, client certificates are required. Default: plaintext. */
  readonly tls?: ServerTlsOptions;
  /**
   * Every ScoringService call (Score, GetModelInfo) must carry `authorization: Bearer <authToken>`
   * metadata, else it fails with UNAUTHENTICATED before a request is read. `grpc.health.v1.Health`
   * stays open: load balancers' health checks carry no token, and it tells nothing about the model.
   * Visible ASCII, no spaces. Without TLS the token crosses the network in plaintext. Default: no token.
   */
  readonly authToken?: string;
  /**
   * Largest ScoreRequest accepted, in bytes (the gRPC receive limit: a larger message fails its
   * stream with RESOURCE_EXHAUSTED); responses are kept at or under it too. Default 16 MiB.
   */
  readonly maxMessageBytes?: number;
  /** Most sequences per ScoreRequest (more: each gets INVALID_ARGUMENT); default 1024. */
  readonly maxSequencesPerMessage?: number;
  /**
   * Longest sequence accepted, in tokens (longer: that sequence gets INVALID_ARGUMENT, the rest of
   * its message is scored). Default, and upper bound, the model's maximum length.
   */
  readonly maxTokensPerSequence?: number;
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
 * Prometheus endpoint; over TLS and behind a bearer token when asked (see {@link ServerOptions}).
 * The limits are reported in GetModelInfo's `limits`.
 *
 * @throws EngineError `invalid-argument` for bad options (a limit, an unusable certificate, key or
 *   token), `failed-precondition` when a port cannot be bound. The engine is then left open: the
 *   caller still owns it.
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
  const { maxLength } = await engine.info();
  const maxTokensPerSequence = positiveInteger("maxTokensPerSequence", options.maxTokensPerSequence ?? maxLength);
  if (maxTokensPerSequence > maxLength) {
    throw new EngineError("invalid-argument", `maxTokensPerSequence is ${maxTokensPerSequence}, more than the model's maximum length of ${maxLength}`);
  }
  const credentials = serverCredentialsOf(options.tls);

  const registry = options.metricsPort === undefined ? options.registry : (options.registry ?? new Registry());
  const metrics = registry === undefined ? undefined : createEngineMetrics(registry, engine);
  const service = createScoringService({ engine, maxMessageBytes, maxSequencesPerMessage, maxTokensPerSequence, log, ...(metrics ? { observer: metrics } : {}) });
  const interceptors =
    options.authToken === undefined
      ? []
      : [
          authTokenInterceptor({
            token: options.authToken,
            exempt: (path) => path.startsWith(HEALTH_SERVICE_PATH),
            ...(metrics ? { onRejected: (reason) => metrics.callUnauthenticated(reason) } : {}),
          }),
        ];

  const server = new Server({ "grpc.max_receive_message_length": maxMessageBytes, interceptors });
  server.addService(ScoringServiceService, service.handlers);
  const health = new HealthImplementation({ "": "SERVING", [SCORING_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);

  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, bound) => {
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
