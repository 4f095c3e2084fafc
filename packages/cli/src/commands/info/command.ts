import type { Argv, CommandModule } from "yargs";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../lazy-handler.js";
import { withEngineClientOptions } from "../../options/engine-client-options.js";
import { withEngineOptions } from "../../options/engine-options.js";

const builder = (y: Argv) =>
  withEngineClientOptions(withEngineOptions(y, "for --model"))
    .option("model", { type: "string", describe: "Model directory, `demo`, or a Hub id (org/name[@revision]) to load in process" })
    .option("engine", { type: "string", describe: "A running engine (`sftscore serve`) to ask over gRPC: host:port" })
    .option("throughput", { type: "boolean", default: true, describe: "Measure tokens/s on a short synthetic batch (--model only; --no-throughput skips it)" })
    .option("timeout-ms", { type: "number", default: 10_000, describe: "Deadline of the GetModelInfo call (--engine)" })
    .option("json", { type: "boolean", default: false, describe: "Print one JSON object instead of text" })
    .conflicts("model", "engine")
    .example("$0 info --model demo", "the built-in test model, with a measured tokens/s")
    .example("$0 info --engine 127.0.0.1:50051 --json", "what a running engine serves, as JSON")
    .example("SFTSCORE_AUTH_TOKEN=… $0 info --engine gpu-1:50051 --tls-ca ca.pem", "an engine behind TLS and a token");

export type InfoCommandOptions = BuiltOptions<typeof builder>;

export const infoCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "info",
  describe: "Describe a model or a running engine: id, hashes, vocabulary, limits, loss head, throughput",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
