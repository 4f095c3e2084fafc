import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../exit-codes.js";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../lazy-handler.js";
import { withEngineClientOptions } from "../../options/engine-client-options.js";
import { withEngineOptions } from "../../options/engine-options.js";
import { withFieldOptions } from "../../options/field-options.js";

/**
 * Seconds `score --engine` keeps retrying an engine that fails before giving it up: long enough for
 * an engine process to be restarted and load its model, short enough that a run whose only engine
 * is gone ends within about a minute with a hint to resume.
 */
export const ENGINE_GIVE_UP_SECONDS = 60;

const builder = (y: Argv) =>
  withFieldOptions(
    withEngineClientOptions(withEngineOptions(y, "when scoring in process"))
      .positional("data", { type: "string", demandOption: true, describe: "Alpaca JSON array, JSONL or Parquet (ShareGPT/messages conversations too)" })
      .option("model", { type: "string", describe: "Model directory, a Hugging Face Hub id (org/name[@rev], downloaded once) or `demo` for the built-in test model" })
      .option("engine", { type: "string", describe: "Score on running engines instead of in process: host:port[,host:port...] (`sftscore serve`, or a load balancer in front of several)" })
      .check((argv) => {
        if (argv.model === undefined && argv.engine === undefined) throw new UsageError("give --model (score in process) or --engine (score on running engines)");
        return true;
      })
      .option("out", { type: "string", demandOption: true, describe: "Result rows: .jsonl (default), .csv or .parquet" })
      .option("metrics", { type: "string", default: "all", describe: "Comma-separated metrics, or `all`" })
      .option("oneshot-k", { type: "number", default: 3, describe: "One-shot partners per sample" })
      .option("oneshot-mode", { choices: ["sign", "raw"] as const, default: "sign" as const, describe: "Average signs or raw differences of perplexities" })
      .option("anchors", { type: "string", describe: "Score one-shot validity against this fixed anchor set (Nuggets) instead of task partners" })
      .option("seed", { type: "number", default: 0, describe: "Seed of the partner draw" })
      .option("template", { type: "string", default: "alpaca", describe: "`alpaca`, `chat` (the model's chat template) or a template-set JSON file" })
      .option("ifd-variant", { choices: ["perplexity-ratio", "loss-ratio"] as const, default: "perplexity-ratio" as const, describe: "IFD as a ratio of perplexities (the seed) or of mean losses (Cherry LLM)" })
      .option("rifd-template", { choices: ["seed", "selective-reflection"] as const, default: "seed" as const, describe: "r-IFD prompt" })
      .option("max-length", { type: "number", describe: "Truncate sequences to N tokens (default: the model's maximum)" })
      .option("max-batch-tokens", { type: "number", describe: "Token budget per model run" })
      .option("window-size", {
        type: "number",
        defaultDescription: "2048",
        describe: "Samples planned and scored together; rows are written a window at a time, so a smaller window shows progress sooner and loses less to a crash, a larger one shares more work (memory grows with it)",
      })
      .option("engine-timeout", {
        type: "number",
        defaultDescription: "300",
        describe: "With --engine: seconds an engine may leave work unanswered before it counts as failed and the work is resent",
      })
      .option("engine-give-up", {
        type: "number",
        defaultDescription: String(ENGINE_GIVE_UP_SECONDS),
        describe: "With --engine: seconds to keep retrying a failing engine before giving it up; the run fails (resumable) when every engine is given up",
      })
      .implies("engine-timeout", "engine")
      .implies("engine-give-up", "engine")
      .option("resume", { type: "boolean", describe: "Continue a killed run: keep the rows in --out and score the rest" })
      .option("overwrite", { type: "boolean", describe: "Replace an existing --out file" }),
    { taskField: "Field holding the task label (default: group by identical instruction)" },
  )
    .conflicts("resume", "overwrite")
    .example("$0 score examples/alpaca_mixed.json --model demo --out results.jsonl", "score the built-in example")
    .example("$0 score data.jsonl --model ./qwen2.5-0.5b-onnx --metrics ifd,rifd --out ifd.csv", "two metrics, CSV output");

export type ScoreCommandOptions = BuiltOptions<typeof builder>;

export const scoreCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "score <data>",
  describe: "Score every sample of a dataset with the five perplexity metrics",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
