import type { Argv, CommandModule } from "yargs";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../lazy-handler.js";
import { withEngineOptions } from "../../options/engine-options.js";
import { AUTH_TOKEN_ENV } from "../../options/transport-security.js";

const builder = (y: Argv) =>
  withEngineOptions(y, "per worker")
    .option("model", { type: "string", demandOption: true, describe: "Model directory (Hugging Face layout: model.onnx, config.json, tokenizer.json), a Hub id (org/name[@rev]) or `demo`" })
    .option("port", { type: "number", demandOption: true, describe: "gRPC port; 0 picks a free one (printed when listening)" })
    .option("host", {
      type: "string",
      default: "127.0.0.1",
      describe: "Address to bind; beyond loopback, secure it with --tls-cert/--tls-key and an auth token",
    })
    .option("tls-cert", { type: "string", describe: "Serve over TLS with this certificate chain (PEM); with --tls-key" })
    .option("tls-key", { type: "string", describe: "Private key (PEM) of --tls-cert" })
    .option("tls-ca", { type: "string", describe: "Require client certificates signed by this CA (PEM); needs --tls-cert/--tls-key" })
    .option("auth-token", {
      type: "string",
      describe: `Require \`authorization: Bearer TOKEN\` on every scoring call (health checks excepted); prefer the ${AUTH_TOKEN_ENV} environment variable: command lines show in \`ps\``,
    })
    .option("workers", { type: "number", default: 1, describe: "Session worker threads, each with its own copy of the model" })
    .option("max-batch-tokens", { type: "number", describe: "Rows x padded length per model run (default: max(8192, model max length))" })
    .option("max-scored-tokens", { type: "number", describe: "Scored positions per model run (default: keeps the loss head near 0.5 GB)" })
    .option("max-message-bytes", { type: "number", describe: "Largest ScoreRequest accepted, in bytes (default: 16 MiB)" })
    .option("max-sequences-per-message", { type: "number", describe: "Most sequences in one ScoreRequest (default: 1024)" })
    .option("max-tokens-per-sequence", { type: "number", describe: "Longest sequence accepted, in tokens (default and upper bound: the model's maximum length)" })
    .option("metrics-port", { type: "number", describe: "Serve Prometheus metrics at http://HOST:PORT/metrics; 0 picks a free port" })
    .option("cache-dir", { type: "string", describe: "Where loss-head-extended models are cached (default: ~/.cache/sftscore/extended-models)" })
    .example("$0 serve --model ./models/tiny --port 50051", "serve the test model on 127.0.0.1:50051")
    .example("$0 serve --model ./qwen --port 50051 --device cuda --metrics-port 9464", "a GPU engine with a Prometheus endpoint")
    .example(`${AUTH_TOKEN_ENV}=… $0 serve --model ./qwen --host 0.0.0.0 --port 50051 --tls-cert engine.pem --tls-key engine.key`, "reachable from other hosts: TLS and a token");

export type ServeCommandOptions = BuiltOptions<typeof builder>;

export const serveCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "serve",
  describe: "Serve a model over gRPC (sftscore.v1.ScoringService) until SIGTERM or SIGINT",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
