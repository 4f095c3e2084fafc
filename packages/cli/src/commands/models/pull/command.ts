import type { Argv, CommandModule } from "yargs";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../../lazy-handler.js";

const builder = (y: Argv) =>
  y
    .positional("hub-id", { type: "string", demandOption: true, describe: "Model repository: org/name, or org/name@revision" })
    .option("revision", { type: "string", describe: "Branch, tag or commit (default: main, or the @revision of the id)" })
    .option("variant", { type: "string", describe: "Graph variant as transformers.js names them: fp16 picks onnx/model_fp16.onnx (also q4, q4f16, int8, uint8, quantized, …)" })
    .option("include", {
      type: "string",
      array: true,
      describe: "Also download these files or globs (onnx/*.onnx); an .onnx among them is the graph instead of the automatic choice",
    })
    .option("cache-dir", { type: "string", describe: "Hugging Face cache to use (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)" })
    .conflicts("variant", "include")
    .example("$0 models pull onnx-community/Qwen2.5-0.5B-Instruct", "config, tokenizer and onnx/model.onnx (+ its data) into the HF cache")
    .example("$0 models pull onnx-community/Qwen2.5-0.5B-Instruct --variant fp16", "the float16 export, onnx/model_fp16.onnx")
    .epilogue(
      "Prints the path to pass as --model on stdout; progress and a summary go to stderr. Honours HF_HOME, HF_HUB_CACHE, " +
        "HF_ENDPOINT (a mirror), HF_TOKEN (gated or private models) and HF_HUB_OFFLINE=1 (use the cache only). " +
        "Interrupted downloads resume where they stopped.",
    );

export type PullCommandOptions = BuiltOptions<typeof builder>;

export const pullCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "pull <hub-id>",
  describe: "Download an ONNX causal LM from the Hugging Face Hub into its cache",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
