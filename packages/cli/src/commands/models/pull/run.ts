import { ExitCode, UsageError } from "../../../exit-codes.js";
import { parseHubModelId } from "../../../hub/hub-model-id.js";
import { createPullProgress, formatPullSummary } from "../../../hub/pull-progress.js";
import { pullModel } from "../../../hub/pull-model.js";
import type { RunContext } from "../../../run-context.js";
import type { PullCommandOptions } from "./command.js";

/** `sftscore models pull`: downloads the model and prints the path to pass as `--model`. */
export async function run(options: PullCommandOptions, context: RunContext = {}): Promise<number> {
  const stdout = context.stdout ?? process.stdout;
  const stderr = context.stderr ?? process.stderr;
  const ref = parseHubModelId(options.hubId);
  if (ref === undefined) {
    throw new UsageError(`"${options.hubId}" is not a Hugging Face Hub model id: expected org/name or org/name@revision (for example onnx-community/Qwen2.5-0.5B-Instruct)`);
  }
  if (options.revision !== undefined && options.hubId.includes("@") && options.revision !== ref.revision) {
    throw new UsageError(`${options.hubId} names revision ${ref.revision} but --revision says ${options.revision}: give one`);
  }
  const include = options.include?.filter((pattern) => pattern !== "");
  const progress = createPullProgress({ stream: stderr });
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  try {
    const result = await pullModel(
      { repo: ref.repo, revision: options.revision ?? ref.revision },
      {
        env: context.env ?? process.env,
        onEvent: progress.onEvent,
        signal: interrupt.signal,
        ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
        ...(options.variant === undefined ? {} : { variant: options.variant }),
        ...(include === undefined || include.length === 0 ? {} : { include }),
      },
    );
    progress.finish();
    stderr.write(`${formatPullSummary(result)}\n`);
    stdout.write(`${result.modelPath}\n`);
    return ExitCode.ok;
  } catch (error) {
    progress.finish();
    if (interrupt.signal.aborted) {
      stderr.write("interrupted: the partial download is kept in the cache; run the same command again to resume\n");
      return ExitCode.failure;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
  }
}
