import { parseEngineAddress } from "@sftscore/client";
import { createEngine, defaultModelCacheDir, type Engine } from "@sftscore/engine";
import { ExitCode, UsageError } from "../../exit-codes.js";
import { resolveModel } from "../../model-source.js";
import { engineSecurityOf } from "../../options/engine-client-options.js";
import { prefixCacheOf } from "../../options/engine-options.js";
import type { RunContext } from "../../run-context.js";
import type { InfoCommandOptions } from "./command.js";
import { engineInfoReport } from "./engine-model-info.js";
import { formatInfoReport, type InfoReport, type ThroughputHint } from "./info-report.js";
import { measureThroughput } from "./measure-throughput.js";

/** `sftscore info`: describes a model loaded in process (`--model`) or a running engine (`--engine`). */
export async function run(options: InfoCommandOptions, context: RunContext = {}): Promise<number> {
  const stdout = context.stdout ?? process.stdout;
  if ((options.model === undefined) === (options.engine === undefined)) {
    throw new UsageError("give --model <dir|demo|hub-id> to load a model here, or --engine host:port to ask a running engine");
  }
  const report = options.engine !== undefined ? await engineReport(options.engine, options, context.env ?? process.env) : await modelReport(options, context);
  stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatInfoReport(report));
  return ExitCode.ok;
}

async function engineReport(spec: string, options: InfoCommandOptions, env: NodeJS.ProcessEnv): Promise<InfoReport> {
  const { timeoutMs } = options;
  let address;
  try {
    address = parseEngineAddress(spec.trim());
  } catch (error) {
    throw new UsageError(`--engine: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive number, got ${timeoutMs}`);
  return engineInfoReport(address, { timeoutMs, ...(await engineSecurityOf(options, env)) });
}

async function modelReport(options: InfoCommandOptions, context: RunContext): Promise<InfoReport> {
  if (options.threads !== undefined && (!Number.isSafeInteger(options.threads) || options.threads < 1)) {
    throw new UsageError(`--threads must be an integer of at least 1, got ${options.threads}`);
  }
  const env = context.env ?? process.env;
  const model = await resolveModel(options.model ?? "", { env, ...(context.stderr ? { stderr: context.stderr } : {}) });
  let engine: Engine | undefined;
  try {
    engine = await createEngine({
      model: model.path,
      device: options.device,
      cacheDir: defaultModelCacheDir(env),
      ...(model.modelId === undefined ? {} : { modelId: model.modelId }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...prefixCacheOf(options),
    });
    const info = await engine.info();
    let throughput: ThroughputHint = { measured: false, note: "not measured (--no-throughput)" };
    if (options.throughput) {
      const measured = await measureThroughput(engine, info);
      throughput = { measured: true, ...measured, note: `measured in process on synthetic tokens, ${info.device}, a rough hint` };
    }
    return {
      source: "model",
      path: model.path,
      engine: null,
      modelId: info.modelId,
      contentHash: info.contentHash,
      vocabSize: info.vocabSize,
      maxLength: info.maxLength,
      dtype: info.dtype,
      device: info.device,
      lossHead: info.lossHead,
      lossHeadReason: info.lossHeadReason ?? null,
      tokenizerHash: info.tokenizerHash,
      limits: {
        maxTokensPerSequence: info.maxLength,
        maxBatchTokens: info.maxBatchTokens,
        maxScoredTokens: info.maxScoredTokens,
        maxSequencesPerMessage: null,
        maxMessageBytes: null,
        threads: info.threads,
        workers: info.workers,
      },
      throughput,
    };
  } finally {
    await engine?.close();
  }
}
