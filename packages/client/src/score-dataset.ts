import { MetricsError, scoreSamples, type MetricRow, type Sample, type ScoreOptions, type Scorer } from "@sftscore/metrics";
import { ClientError } from "./client-error.js";
import type { EngineClientOptions } from "./client-options.js";
import { EngineClient } from "./engine-client.js";

/** Options of {@link scoreDataset}: where to score, plus every option of `scoreSamples`. */
export interface ScoreDatasetOptions extends ScoreOptions {
  /**
   * The engines: addresses (`"host:port"`, `"a:1,b:2"`, `["a:1", "b:2"]`), full
   * {@link EngineClientOptions}, or any {@link Scorer} (an `EngineClient` you manage, or an
   * in-process engine). A client built here is closed when the iteration ends; a Scorer passed in
   * is not.
   */
  readonly engine?: string | readonly string[] | EngineClientOptions | Scorer;
  /** Addresses, the same as `engine` given a list; for code that reads better in the plural. */
  readonly engines?: readonly string[];
  /** Client options (TLS, token, deadline, …) for a client built from addresses. */
  readonly client?: Omit<EngineClientOptions, "targets">;
}

/**
 * Scores samples on sftscore engines and yields one {@link MetricRow} per sample, in input order:
 * the one call other teams need. Builds an {@link EngineClient} from the addresses, runs
 * `scoreSamples` from `@sftscore/metrics` with it, and closes it when the iteration ends (also on
 * `break` or an error).
 *
 * @throws ClientError (from the iterator) for engine and transport failures (`unavailable`,
 *   `model-mismatch`, `unauthenticated`, `invalid-argument` naming a sequence the engine refused,
 *   …) and for a missing `engine`; MetricsError for bad samples or options (it names the sample or
 *   option) and `cancelled` when `signal` fires.
 * @example
 * for await (const row of scoreDataset(samples, { engine: "127.0.0.1:50051", metrics: ["ifd"] })) {
 *   console.log(row.index, row.ifd);
 * }
 */
export async function* scoreDataset(
  samples: AsyncIterable<Sample> | Iterable<Sample>,
  options: ScoreDatasetOptions,
): AsyncGenerator<MetricRow, void, undefined> {
  const { engine, engines, client: clientOptions, ...scoreOptions } = options;
  const given = engine ?? engines;
  if (given === undefined) throw new ClientError("invalid-argument", "scoreDataset needs `engine`: engine addresses (host:port), EngineClient options, or a Scorer");
  const owned = isScorer(given) ? undefined : new EngineClient(clientOptionsOf(given, clientOptions));
  const scorer: Scorer = owned ?? (given as Scorer);
  try {
    yield* scoreSamples(samples, scorer, scoreOptions);
  } catch (error) {
    // scoreSamples reports a scorer's failure as `scorer-failed`; the client's own error says more.
    if (error instanceof MetricsError && error.code === "scorer-failed" && error.cause instanceof ClientError) throw error.cause;
    throw error;
  } finally {
    await owned?.close();
  }
}

function clientOptionsOf(given: string | readonly string[] | EngineClientOptions, extra: Omit<EngineClientOptions, "targets"> = {}): EngineClientOptions {
  if (typeof given === "string") return { ...extra, targets: [given] };
  if (isStringList(given)) return { ...extra, targets: given };
  return { ...extra, ...given };
}

function isStringList(value: readonly string[] | EngineClientOptions): value is readonly string[] {
  return Array.isArray(value);
}

function isScorer(value: unknown): value is Scorer {
  return typeof value === "object" && value !== null && typeof (value as Partial<Scorer>).score === "function" && typeof (value as Partial<Scorer>).info === "function";
}
