import type { EngineClient, EngineClientOptions } from "@sftscore/client";
import { createEngine, type Engine } from "@sftscore/engine";
import {
  METRIC_NAMES,
  loadTemplateSetFile,
  scoreSamples,
  type MetricName,
  type Sample,
  type ScoreOptions,
} from "@sftscore/metrics";
import { readSamples } from "../../data/read-samples.js";
import { indexSamples, openSampleLocator, type SampleIndex, type SampleLocator } from "../../data/sample-locator.js";
import type { FieldMapping } from "../../data/sample.js";
import { openRowWriter, type RowWriter } from "../../data/write-rows.js";
import { ExitCode, exitCodeOf, UsageError } from "../../exit-codes.js";
import { connectEngineClient } from "../../options/engine-client-options.js";
import { prefixCacheOf } from "../../options/engine-options.js";
import { fieldMappingOf } from "../../options/field-options.js";
import { resolveModel } from "../../model-source.js";
import { createProgress, formatDuration } from "../../progress.js";
import { createRunSummary } from "../../run-summary.js";
import { meterTokens } from "../../token-meter.js";
import { ENGINE_GIVE_UP_SECONDS, type ScoreCommandOptions } from "./command.js";

export async function run(options: ScoreCommandOptions): Promise<number> {
  const metrics = parseMetrics(options.metrics);
  const windowSize = options.windowSize === undefined ? undefined : positiveInteger("--window-size", options.windowSize);
  const engineFaults = engineFaultOptions(options);
  // Opened first so that an unwritable path fails before any work, and --resume knows what is done.
  const writer = await openRowWriter(options.out, { resume: options.resume === true, overwrite: options.overwrite === true });
  let engine: Engine | undefined;
  let client: EngineClient | undefined;
  let locator: SampleLocator | undefined;
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = performance.now();
  try {
    // A first pass validates the whole file (bad rows fail before any scoring) and gives the total
    // and, when one-shot partners come from the input itself, the task membership they are drawn from
    // and where to re-read them: small integers per sample, so the input is never held in memory.
    const partners = metrics.includes("oneshot_validity") && options.anchors === undefined;
    const mapping = fieldMappingOf(options);
    let input: SampleIndex;
    try {
      input = await indexSamples(options.data, mapping, { partners, signal: interrupt.signal });
    } catch (error) {
      if (!interrupt.signal.aborted) throw error;
      process.stderr.write("interrupted while reading the input, before any scoring\n");
      return ExitCode.failure;
    }
    const total = input.sampleCount;
    if (writer.existingRows > total) {
      throw new UsageError(`${options.out} already has ${writer.existingRows} rows but ${options.data} has only ${total} samples: it is not this input's output`);
    }
    if (input.locations !== undefined) locator = await openSampleLocator(options.data, input.locations, mapping);
    const anchors = options.anchors === undefined ? undefined : await readAll({ ...options, data: options.anchors });
    if (options.engine !== undefined) {
      if (options.model !== undefined) process.stderr.write(`note: --engine given, so the engines' own model is used and --model ${options.model} is not loaded\n`);
      client = await connectEngineClient(options.engine, options, engineFaults);
    } else {
      const model = await resolveModel(options.model ?? "", { signal: interrupt.signal });
      engine = await createEngine({
        model: model.path,
        ...(model.modelId === undefined ? {} : { modelId: model.modelId }),
        device: options.device,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.maxBatchTokens === undefined ? {} : { maxBatchTokens: options.maxBatchTokens }),
        ...prefixCacheOf(options),
      });
    }
    const scorer = meterTokens(engine ?? (client as EngineClient));
    const info = await scorer.info();
    process.stderr.write(`model ${info.modelId} (${info.dtype}, ${info.device}${client ? ` on ${options.engine}` : ", in process"}), ${total} samples\n`);
    const skip = writer.existingRows;
    if (skip > 0) process.stderr.write(`resuming: ${skip} rows already in ${options.out}, scoring the remaining ${total - skip}\n`);

    const scoreOptions: ScoreOptions = {
      metrics,
      templates: options.template === "alpaca" || options.template === "chat" ? options.template : await loadTemplateSetFile(options.template),
      ifdVariant: options.ifdVariant,
      rifdTemplate: options.rifdTemplate,
      oneshotMode: options.oneshotMode,
      oneshotPartners: options.oneshotK,
      seed: options.seed,
      firstIndex: skip,
      ...(input.taskIndex === undefined ? {} : { taskIndex: input.taskIndex }),
      ...(locator === undefined ? {} : { sampleAt: locator.sampleAt }),
      signal: interrupt.signal,
      ...(anchors === undefined ? {} : { anchors }),
      ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
      ...(windowSize === undefined ? {} : { windowSize }),
    };
    const progress = createProgress({ total, already: skip, tokens: () => scorer.tokensScored, stream: process.stderr });
    const summary = createRunSummary();
    let done = skip;
    try {
      for await (const row of scoreSamples(samplesFrom(options.data, mapping, skip), scorer, scoreOptions)) {
        await writer.write(row as unknown as Record<string, unknown>);
        summary.add(row);
        progress.update(++done);
      }
    } catch (error) {
      progress.finish();
      if (interrupt.signal.aborted) {
        process.stderr.write(`interrupted: ${done} of ${total} rows are in ${options.out}; rerun with --resume to finish\n`);
        return ExitCode.failure;
      }
      throw withResumeHint(error, `${done} of ${total} rows are in ${options.out}`, options);
    }
    progress.finish();
    const seconds = (performance.now() - started) / 1000;
    const tokens = scorer.tokensScored;
    const stats = engine?.stats();
    const fill = stats && stats.paddedTokens > 0 ? `, batch fill ${(stats.realTokens / stats.paddedTokens).toFixed(2)}` : "";
    process.stderr.write(
      `done: ${summary.rows} rows scored (${done} in ${options.out}) in ${formatDuration(seconds)}; ` +
        `${tokens.toLocaleString("en-US")} tokens scored, ${Math.round(tokens / seconds).toLocaleString("en-US")} tokens/s${fill}\n`,
    );
    const text = summary.format();
    if (text !== "") process.stderr.write(`${text}\n`);
    return ExitCode.ok;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await closeQuietly(writer);
    await locator?.close();
    await engine?.close();
    await client?.close();
  }
}

/**
 * How the client treats engines that fail: `--engine-timeout` becomes the idle deadline (the SDK's
 * default when absent), and `--engine-give-up` a time budget per failure streak. The budget is a
 * time, not a count, because a user knows how long an engine restart takes, not how many backoff
 * steps fit in it.
 */
function engineFaultOptions(options: Pick<ScoreCommandOptions, "engineTimeout" | "engineGiveUp">): Pick<EngineClientOptions, "deadlineMs" | "retry"> {
  const giveUpSeconds = options.engineGiveUp ?? ENGINE_GIVE_UP_SECONDS;
  if (!Number.isFinite(giveUpSeconds) || giveUpSeconds < 0) throw new UsageError(`--engine-give-up must be a number of seconds >= 0, got ${giveUpSeconds}`);
  const timeoutSeconds = options.engineTimeout;
  if (timeoutSeconds !== undefined && (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)) {
    throw new UsageError(`--engine-timeout must be a positive number of seconds, got ${timeoutSeconds}`);
  }
  return {
    ...(timeoutSeconds === undefined ? {} : { deadlineMs: Math.max(1, Math.round(timeoutSeconds * 1000)) }),
    retry: { maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: giveUpSeconds * 1000 },
  };
}

/**
 * A runtime failure in the middle of scoring (every engine given up, an engine crash) with what the
 * output holds and how to finish; errors about usage or input (exit code 2) pass unchanged, since
 * rerunning would not help.
 */
function withResumeHint(error: unknown, written: string, options: Pick<ScoreCommandOptions, "overwrite">): unknown {
  if (exitCodeOf(error) !== ExitCode.failure) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const rerun = options.overwrite === true ? "rerun with --resume instead of --overwrite" : "rerun with --resume";
  return new Error(`${reason}; ${written}; ${rerun} to score the rest`, { cause: error });
}

function positiveInteger(flag: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, got ${value}`);
  return value;
}

/** The second pass: the input's samples from index `skip` on (the rows a resumed run still lacks). */
async function* samplesFrom(file: string, mapping: FieldMapping, skip: number): AsyncGenerator<Sample> {
  for await (const { sample, index } of readSamples(file, mapping)) if (index >= skip) yield sample;
}

/** Reads a small file (the anchors) into memory. */
async function readAll(options: Pick<ScoreCommandOptions, "data" | "instructionField" | "inputField" | "outputField" | "idField" | "taskField">): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sourced of readSamples(options.data, fieldMappingOf(options))) {
    samples.push(sourced.sample);
  }
  return samples;
}

/** `all` or a comma-separated list of known metric names. */
export function parseMetrics(list: string): MetricName[] {
  if (list.trim() === "all") return [...METRIC_NAMES];
  const names = list.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = names.filter((name) => !(METRIC_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`--metrics: unknown metric${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")}; known: ${METRIC_NAMES.join(", ")}, or all`);
  if (names.length === 0) throw new UsageError("--metrics: name at least one metric, or all");
  return names as MetricName[];
}

async function closeQuietly(writer: RowWriter): Promise<void> {
  await writer.close().catch((error: unknown) => process.stderr.write(`warning: closing ${writer.path} failed: ${String(error)}\n`));
}
