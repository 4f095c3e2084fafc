import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Engine } from "../engine.js";
import type { EngineErrorCode } from "../engine-error.js";
import type { AuthRejection } from "./auth-token.js";
import type { ScoreStreamObserver } from "./score-stream.js";

/** Engine metrics: read from `engine.stats()` on each scrape, plus what the server observes. */
export interface EngineMetrics extends ScoreStreamObserver {
  /** Seconds from submit to answer of one sequence (`sftscore_request_duration_seconds`). */
  sequenceSettled(seconds: number): void;
  /** A sequence the server answered with an error before the engine saw it. */
  sequenceRejected(code: EngineErrorCode): void;
  /** A call refused for a missing or wrong bearer token (`sftscore_unauthenticated_requests_total`). */
  callUnauthenticated(reason: AuthRejection): void;
}

/** Buckets of `sftscore_request_duration_seconds`: 5 ms to 2 min, for queue waits on big batches. */
const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Registers the engine's Prometheus metrics on `registry` (nothing is registered at import time,
 * STYLE.md §6). Totals come from `engine.stats()` in collect callbacks, so they are exact at every
 * scrape and cost nothing between scrapes.
 *
 * Metrics: `sftscore_tokens_scored_total` (real, unpadded tokens run through the model),
 * `sftscore_scored_positions_total`, `sftscore_padded_tokens_total`, `sftscore_batches_total`,
 * `sftscore_sequences_total`, `sftscore_model_run_seconds_total`, `sftscore_batch_fill_ratio`
 * (real / padded tokens since start; 0 before the first batch), `sftscore_queue_depth`,
 * `sftscore_queued_tokens`, `sftscore_errors_total{code}`, `sftscore_request_duration_seconds` and
 * `sftscore_unauthenticated_requests_total{reason}` (calls refused: `missing` or `invalid` token).
 *
 * @throws Error from prom-client when the registry already holds metrics of these names.
 * @example
 * const registry = new Registry();
 * createEngineMetrics(registry, engine);
 * console.log(await registry.metrics()); // startServer does this for you with `metricsPort`
 */
export function createEngineMetrics(registry: Registry, engine: Pick<Engine, "stats">): EngineMetrics {
  const registers = [registry];
  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  total("sftscore_tokens_scored_total", "Real (unpadded) tokens run through the model.", () => engine.stats().realTokens);
  total("sftscore_scored_positions_total", "Positions whose log-probability the loss head computed.", () => engine.stats().scoredTokens);
  total("sftscore_padded_tokens_total", "Tokens run through the model including padding (rows x padded length).", () => engine.stats().paddedTokens);
  total("sftscore_batches_total", "Model runs.", () => engine.stats().batches);
  total("sftscore_sequences_total", "Sequences run through the model.", () => engine.stats().sequences);
  total("sftscore_model_run_seconds_total", "Seconds inside the model runtime, summed over workers.", () => engine.stats().runSeconds);
  gauge("sftscore_batch_fill_ratio", "Real tokens / padded tokens since start (0 before the first batch).", () => {
    const stats = engine.stats();
    return stats.paddedTokens > 0 ? stats.realTokens / stats.paddedTokens : 0;
  });
  gauge("sftscore_queue_depth", "Sequences waiting in the engine's queue.", () => engine.stats().queueDepth);
  gauge("sftscore_queued_tokens", "Tokens waiting in the engine's queue.", () => engine.stats().queuedTokens);

  const rejected: Partial<Record<EngineErrorCode, number>> = {};
  new Counter({
    name: "sftscore_errors_total",
    help: "Sequences answered with an error, and failed model runs, by error code.",
    labelNames: ["code"] as const,
    registers,
    collect() {
      this.reset();
      const counts: Partial<Record<EngineErrorCode, number>> = { ...engine.stats().errors };
      for (const [code, n] of Object.entries(rejected) as [EngineErrorCode, number][]) counts[code] = (counts[code] ?? 0) + n;
      for (const [code, n] of Object.entries(counts)) this.inc({ code }, n);
    },
  });
  const duration = new Histogram({
    name: "sftscore_request_duration_seconds",
    help: "Seconds from a sequence's submission to its answer.",
    buckets: DURATION_BUCKETS_SECONDS,
    registers,
  });

  const unauthenticated = new Counter({
    name: "sftscore_unauthenticated_requests_total",
    help: "Calls refused with UNAUTHENTICATED: no bearer token (missing) or a wrong one (invalid).",
    labelNames: ["reason"] as const,
    registers,
  });
  // Both series exist from the start, so an alert on their rate sees the first refusal.
  for (const reason of ["missing", "invalid"] as const satisfies readonly AuthRejection[]) unauthenticated.inc({ reason }, 0);

  return {
    sequenceSettled: (seconds) => duration.observe(seconds),
    callUnauthenticated: (reason) => unauthenticated.inc({ reason }),
    sequenceRejected: (code) => {
      rejected[code] = (rejected[code] ?? 0) + 1;
    },
  };
}
