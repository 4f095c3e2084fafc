import type { ChannelOptions } from "@grpc/grpc-js";
import { ClientError } from "./client-error.js";
import type { TlsOptions } from "./engine-connection.js";
import { formatEngineAddress, parseEngineAddresses } from "./engine-address.js";
import { resolveRetryPolicy, type RetryPolicy } from "./retry-policy.js";

/** Options of {@link EngineClient}; only `targets` is required. */
export interface EngineClientOptions {
  /**
   * Engines to use: `host:port` (IPv6 in brackets; a string may list several, comma-separated), or
   * a gRPC target URI such as `dns:///scorer.ns.svc.cluster.local:50051`, whose addresses grpc-js
   * balances round-robin (a Kubernetes headless service).
   */
  readonly targets: readonly string[];
  /** TLS with the default roots (`true`) or with PEM contents; default: plaintext. */
  readonly tls?: TlsOptions | true;
  /** Bearer token, sent as `authorization: Bearer <token>` metadata on every call. */
  readonly token?: string;
  /**
   * Idle deadline, in ms: a Score stream with sequences outstanding that receives no answer for this
   * long is cancelled and its sequences are resent. Each GetModelInfo attempt gets
   * `min(deadlineMs, 30 000)`: it is cheap, and a hung engine should not hold a run's start.
   * Measured between answers, not per sequence, so a long queue that keeps moving never trips it;
   * keep it above about five model batches' run time (the engine answers its oldest waiting sequence
   * in every batch, and holds a few batches queued). Default 300 000 (5 minutes): dead hosts are
   * caught sooner by keepalive, this is for engines that hang.
   */
  readonly deadlineMs?: number;
  /**
   * Concurrent Score streams per target and `score()` call; default 4. Behind an L7 balancer
   * (nginx `grpc_pass`, Envoy) each stream may land on a different engine, so use at least two per
   * engine behind it.
   */
  readonly streamsPerTarget?: number;
  /**
   * Tokens sent to one target and not yet answered, across all `score()` calls of this client;
   * reading the input pauses when every target is full. Default: 2 × the engine's
   * `max_batch_tokens` (one batch running and one queued). Work queued at an engine is assigned
   * before anyone knows how fast that engine gets through it, so a short queue balances several
   * engines better; behind a proxy, give it two batches per engine behind the proxy.
   */
  readonly maxInFlightTokens?: number;
  /** Retry budget and backoff; see {@link RetryPolicy} for the defaults. */
  readonly retry?: Partial<RetryPolicy>;
  /** grpc-js channel options, applied over the client's own (see {@link defaultChannelOptions}). */
  readonly channelOptions?: ChannelOptions;
}

/** What `new EngineClient(...)` takes: one address list, several addresses, or full options. */
export type EngineClientInput = string | readonly string[] | EngineClientOptions;

/** Defaults of {@link EngineClientOptions}. */
export const CLIENT_DEFAULTS = {
  deadlineMs: 300_000,
  /** Cap of a GetModelInfo attempt's deadline. */
  infoDeadlineMs: 30_000,
  streamsPerTarget: 4,
  /**
   * Batches in flight per target (the default `maxInFlightTokens` is derived from it). Two engines
   * (`--threads 1` each, 2 cores, 40 samples of bench-small) finished 2.01× faster than one with 2
   * batches per engine, 1.92× with 4, 1.77× with 8 (the old default of 2 per stream): an engine
   * that shares more prefixes than the other gets through the same tokens sooner.
   */
  batchesInFlightPerTarget: 2,
  /** HTTP/2 ping interval on a connection with calls open; a dead engine host is noticed within about time + timeout. */
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  /** Largest response accepted; engines keep responses at or under 4 MiB unless one result is larger. */
  maxReceiveMessageBytes: 256 * 1024 * 1024,
} as const;

/** Options with defaults applied (`maxInFlightTokens` stays per engine until its limits are known). */
export interface ResolvedClientOptions {
  readonly targets: readonly string[];
  readonly tls?: TlsOptions | true;
  readonly token?: string;
  readonly deadlineMs: number;
  readonly streamsPerTarget: number;
  readonly maxInFlightTokens?: number;
  readonly retry: RetryPolicy;
  readonly channelOptions: ChannelOptions;
}

/**
 * Normalises and checks the constructor's argument.
 *
 * @throws ClientError `invalid-argument` naming the option or the address.
 */
export function resolveClientOptions(input: EngineClientInput): ResolvedClientOptions {
  const options: EngineClientOptions = typeof input === "string" || isStringArray(input) ? { targets: typeof input === "string" ? [input] : input } : input;
  const targets = targetsOf(options.targets);
  const retry = resolveRetryPolicy(options.retry);
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const resolved = value ?? fallback;
    if (!Number.isSafeInteger(resolved) || resolved < 1) throw new ClientError("invalid-argument", `${name} must be a positive integer, got ${resolved}`);
    return resolved;
  };
  if (options.token !== undefined && (options.token === "" || /[\r\n]/.test(options.token))) {
    throw new ClientError("invalid-argument", "token must be a non-empty string on one line");
  }
  return {
    targets,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.token === undefined ? {} : { token: options.token }),
    deadlineMs: positive("deadlineMs", options.deadlineMs, CLIENT_DEFAULTS.deadlineMs),
    streamsPerTarget: positive("streamsPerTarget", options.streamsPerTarget, CLIENT_DEFAULTS.streamsPerTarget),
    ...(options.maxInFlightTokens === undefined ? {} : { maxInFlightTokens: positive("maxInFlightTokens", options.maxInFlightTokens, 1) }),
    retry,
    channelOptions: { ...defaultChannelOptions(retry), ...options.channelOptions },
  };
}

/**
 * The client's channel options: keepalive pings while calls are open, so that an engine host that
 * vanishes (no RST from a dead machine or a cut network) fails its streams within about 40 s instead
 * of when TCP gives up; reconnect backoff kept within the retry policy's, so an engine that comes
 * back is reconnected to when the client next tries it; round-robin over the addresses a target
 * resolves to; and a receive limit above any response an engine sends.
 */
export function defaultChannelOptions(retry: RetryPolicy): ChannelOptions {
  return {
    "grpc.keepalive_time_ms": CLIENT_DEFAULTS.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": CLIENT_DEFAULTS.keepaliveTimeoutMs,
    // Pings without calls open are what servers and proxies punish (GOAWAY too_many_pings).
    "grpc.keepalive_permit_without_calls": 0,
    "grpc.initial_reconnect_backoff_ms": Math.max(1, retry.baseDelayMs),
    "grpc.max_reconnect_backoff_ms": Math.max(1, retry.maxDelayMs),
    "grpc.max_receive_message_length": CLIENT_DEFAULTS.maxReceiveMessageBytes,
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  };
}

/**
 * The targets of an address list: `host:port` entries (comma-separated lists allowed) in their
 * canonical form, duplicates dropped, and gRPC target URIs (`scheme:…`) passed through as they are.
 *
 * @throws ClientError `invalid-argument` for an empty list or an entry that is neither.
 */
export function targetsOf(entries: readonly string[]): string[] {
  const targets: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== "string") throw new ClientError("invalid-argument", `engine address ${String(entry)} is not a string`);
    if (GRPC_URI_SCHEME.test(entry.trim())) targets.push(entry.trim());
    else {
      try {
        targets.push(...parseEngineAddresses(entry).map(formatEngineAddress));
      } catch (error) {
        throw new ClientError("invalid-argument", error instanceof Error ? error.message : String(error), { cause: error });
      }
    }
  }
  const unique = [...new Set(targets)];
  if (unique.length === 0) throw new ClientError("invalid-argument", "no engine address given; expected host:port[,host:port...]");
  return unique;
}

/** Name resolvers grpc-js knows; a target starting with one is a URI, not `host:port`. */
const GRPC_URI_SCHEME = /^(dns|ipv4|ipv6|unix|unix-abstract):(?!\d+$)/;

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value);
}
