import type { Argv, CommandModule } from "yargs";
import { lazyHandler, type BuilderArgs, type BuiltOptions } from "../../lazy-handler.js";
import { withFieldOptions } from "../../options/field-options.js";
import { PRESET_NAMES, PRESETS } from "../../selection/presets.js";

const EPILOG = `Selection: rows pass the filter (--where, and the preset's), are ranked by --by (nulls last, ties by index), and the first --top are kept; the subset is the ORIGINAL records, in the data's own format and order (--keep-rank-order: best first). A conversation is written once if any of its turns is selected.

--where: comparisons of a column with a number, null, true or false (<, <=, >, >=, ==, !=), bare boolean columns, combined with not, and, or and parentheses: 'ifd < 1 and rifd < 1', 'response_ppl > 2 and not truncated', 'oneshot_validity == null'. A comparison with a null value is unknown, and unknown never matches (not unknown is unknown too): a row whose compared value is null is not selected, unless you test it with == null.

--top N keeps N rows; --top P% keeps floor(P% of ALL rows in the results file), not of the rows left after filtering (the papers' "top 10% of the data"). Rows with a null --by value are never taken by --top.

Presets (explicit --by, --order, --top, --threshold replace their parts; --where adds a condition):
${PRESET_NAMES.map((name) => `  ${name}: ${PRESETS[name].summary}.\n    ${PRESETS[name].source}`).join("\n")}
More in packages/cli/src/selection/README.md.`;

const builder = (y: Argv) =>
  withFieldOptions(
    y
      .positional("results", { type: "string", demandOption: true, describe: "Result rows from `score`: .jsonl, .csv or .parquet" })
      .option("data", { type: "string", demandOption: true, describe: "The data file the results were scored from (read like `score` reads it)" })
      .option("out", { type: "string", demandOption: true, describe: "The subset, in the data's format (.json, .jsonl or .parquet)" })
      .option("preset", { choices: PRESET_NAMES, describe: "A selection recipe from the literature (see below)" })
      .option("where", { type: "string", describe: "Keep rows where this holds, e.g. 'ifd < 1 and not truncated'" })
      .option("by", { type: "string", describe: "Column to rank by, e.g. ifd" })
      .option("order", { choices: ["asc", "desc"] as const, describe: "Ranking direction (default desc: largest first, or the preset's)" })
      .option("top", { type: "string", describe: "Keep the N best-ranked rows, or P% of all rows (10%)" })
      .option("threshold", { type: "number", describe: "The preset's threshold (cherry, superfiltering: ifd < X; reflection: ifd and rifd < X; nuggets: oneshot_validity > X)" })
      .option("keep-rank-order", { type: "boolean", default: false, describe: "Write the subset best-ranked first instead of in the data's order" })
      .option("overwrite", { type: "boolean", describe: "Replace an existing --out file" }),
    { taskField: "Field holding the task label (as given to `score`)" },
  )
    .example("$0 select results.jsonl --data data.json --out cherry.json --preset cherry", "Cherry LLM: top 10% by IFD among IFD < 1")
    .example("$0 select results.jsonl --data data.json --out hard.json --by ifd --top 500 --where 'ifd < 1'", "the 500 highest-IFD samples below 1")
    .example("$0 select results.csv --data data.jsonl --out valid.jsonl --preset nuggets --threshold 0.7", "Nuggets with golden score > 0.85")
    .epilog(EPILOG);

export type SelectCommandOptions = BuiltOptions<typeof builder>;

export const selectCommand: CommandModule<object, BuilderArgs<typeof builder>> = {
  command: "select <results>",
  describe: "Select a subset of the data by its result rows: filter, rank, keep the top (presets from the literature)",
  builder,
  handler: lazyHandler(async () => (await import("./run.js")).run),
};
