import type { Argv, CommandModule } from "yargs";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../lazy-handler.js";
import { withFieldOptions } from "../../options/field-options.js";

const builder = (y: Argv) =>
  withFieldOptions(
    y
      .positional("results", { type: "string", demandOption: true, describe: "Result rows written by `score`: .jsonl, .csv or .parquet" })
      .option("out", { type: "string", demandOption: true, describe: "The report: one self-contained .html file (replaced if it exists)" })
      .option("data", { type: "string", describe: "The dataset the results were scored from, for sample text and tasks" })
      .option("title", { type: "string", describe: "Page title (default: Report on <results file name>)" })
      .option("top", { type: "number", default: 10, describe: "Samples shown at each end of the IFD and response_ppl rankings" }),
    { taskField: "Task label field of --data; without --data, a column of the results (default: task)" },
  )
    .example("$0 report results.jsonl --data examples/alpaca_mixed.json --task-field task --out report.html", "distributions, IFD vs r-IFD, tasks and samples")
    .example("$0 report results.csv --out report.html --top 25", "from the rows alone, without sample text");

export type ReportCommandOptions = BuiltOptions<typeof builder>;

export const reportCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "report <results>",
  describe: "Write a self-contained HTML report: metric distributions, IFD vs r-IFD, tasks, top and bottom samples",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
