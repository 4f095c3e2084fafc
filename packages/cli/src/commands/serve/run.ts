import { createEngine, startServer, type EngineOptions, type RunningServer, type ServerOptions } from "@sftscore/engine";
import { ExitCode, UsageError } from "../../exit-codes.js";
import { resolveModel } from "../../model-source.js";
import { prefixCacheOf } from "../../options/engine-options.js";
import type { RunContext } from "../../run-context.js";
import type { ServeCommandOptions } from "./command.js";
import { exposureWarning, securitySummary, serverSecurityOf } from "./server-security.js";

/** Signals that stop the server: the first drains gracefully, a second cancels what is left. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/**
 * Loads the model, serves it until SIGTERM or SIGINT, then stops taking work, finishes what is in
 * flight and exits 0. A second signal cancels the in-flight calls (their clients may resend) and
 * exits 1. The token comes from `--auth-token` or `SFTSCORE_AUTH_TOKEN` in `context.env`.
 */
export async function run(options: ServeCommandOptions, context: Pick<RunContext, "env"> = {}): Promise<number> {
  const port = integerOption("port", options.port, 0, 65_535);
  const metricsPort = options.metricsPort === undefined ? undefined : integerOption("metrics-port", options.metricsPort, 0, 65_535);
  const limits = requestLimitsOf(options);
  const host = options.host;
  // Files are read before the model loads, so a wrong path fails at once.
  const security = await serverSecurityOf(options, context.env ?? process.env);
  const warning = exposureWarning(host, security);
  if (warning !== undefined) process.stderr.write(`${warning}\n`);

  const model = await resolveModel(options.model);
  const engineOptions: EngineOptions = {
    model: model.path,
    ...(model.modelId === undefined ? {} : { modelId: model.modelId }),
    device: options.device,
    workers: integerOption("workers", options.workers, 1),
    ...(options.threads === undefined ? {} : { threads: integerOption("threads", options.threads, 1) }),
    ...(options.maxBatchTokens === undefined ? {} : { maxBatchTokens: integerOption("max-batch-tokens", options.maxBatchTokens, 1) }),
    ...(options.maxScoredTokens === undefined ? {} : { maxScoredTokens: integerOption("max-scored-tokens", options.maxScoredTokens, 1) }),
    ...prefixCacheOf(options),
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  };
  const engine = await createEngine(engineOptions);
  let server: RunningServer;
  try {
    const { maxLength } = await engine.info();
    if (limits.maxTokensPerSequence !== undefined && limits.maxTokensPerSequence > maxLength) {
      throw new UsageError(`--max-tokens-per-sequence ${limits.maxTokensPerSequence} is more than the model's maximum length of ${maxLength}`);
    }
    server = await startServer({
      engine,
      host,
      port,
      ...security,
      ...limits,
      ...(metricsPort === undefined ? {} : { metricsPort }),
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    await engine.close();
    throw error;
  }

  // Listening for signals before saying so: whoever reads the line may signal at once.
  const stop = nextSignal();
  const info = await engine.info();
  const address = `${host.includes(":") ? `[${host}]` : host}`;
  const lossHead = info.lossHeadReason === undefined ? info.lossHead : `${info.lossHead}: ${info.lossHeadReason}`;
  const metricsLine = server.metricsPort === undefined ? "" : `metrics at http://${address}:${server.metricsPort}/metrics\n`;
  // One write, so a reader that sees the first line sees the metrics URL too.
  process.stdout.write(`listening on ${address}:${server.port} (model ${info.modelId}, device ${info.device}, loss head ${lossHead}${securitySummary(security)})\n${metricsLine}`);

  const signal = await stop;
  process.stderr.write(`${signal}: finishing in-flight work, then exiting (send it again to stop at once)\n`);
  let forced = false;
  const force = (again: NodeJS.Signals) => {
    forced = true;
    process.stderr.write(`${again}: cancelling in-flight calls\n`);
    void server.close({ timeoutMs: 0 });
  };
  for (const name of STOP_SIGNALS) process.on(name, force);
  try {
    await server.close();
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, force);
  }
  process.stderr.write(forced ? "stopped; in-flight calls were cancelled\n" : "stopped\n");
  return forced ? ExitCode.failure : ExitCode.ok;
}

/** Resolves with the first of {@link STOP_SIGNALS}; the listeners are removed again. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (name: NodeJS.Signals) => {
      for (const stop of STOP_SIGNALS) process.off(stop, handler);
      resolve(name);
    };
    for (const stop of STOP_SIGNALS) process.on(stop, handler);
  });
}

/** The per-request limits given on the command line; those left out take the server's defaults. */
function requestLimitsOf(options: ServeCommandOptions): Pick<ServerOptions, "maxMessageBytes" | "maxSequencesPerMessage" | "maxTokensPerSequence"> {
  return {
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: integerOption("max-message-bytes", options.maxMessageBytes, 1) }),
    ...(options.maxSequencesPerMessage === undefined ? {} : { maxSequencesPerMessage: integerOption("max-sequences-per-message", options.maxSequencesPerMessage, 1) }),
    ...(options.maxTokensPerSequence === undefined ? {} : { maxTokensPerSequence: integerOption("max-tokens-per-sequence", options.maxTokensPerSequence, 1) }),
  };
}

function integerOption(name: string, value: number, min: number, max?: number): number {
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`--${name} must be ${range}, got ${value}`);
  }
  return value;
}
