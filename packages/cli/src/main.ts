import yargs, { type Argv } from "yargs";
import { infoCommand } from "./commands/info/command.js";
import { modelsCommand } from "./commands/models/command.js";
import { reportCommand } from "./commands/report/command.js";
import { scoreCommand } from "./commands/score/command.js";
import { selectCommand } from "./commands/select/command.js";
import { serveCommand } from "./commands/serve/command.js";
import { ExitCode, exitCodeOf, UsageError } from "./exit-codes.js";

/**
 * Runs the `sftscore` command line with `argv` (without the node and script paths) and resolves to
 * the process exit code. Errors become one `error: message` line on stderr; `--verbose` adds stacks.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const verbose = argv.includes("--verbose");
  const report = (error: unknown, code: number): void => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    exitCode = code;
  };

  const parser: Argv = yargs([...argv])
    .scriptName("sftscore")
    .usage("$0 <command> [options]\n\nScore instruction-tuning data with a white-box language model.")
    .command(scoreCommand)
    .command(selectCommand)
    .command(reportCommand)
    .command(serveCommand)
    .command(infoCommand)
    .command(modelsCommand)
    .option("verbose", { type: "boolean", default: false, describe: "Print stack traces on errors" })
    .demandCommand(1, "Choose a command.")
    .strict()
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message: string | undefined, error: Error | undefined) => {
      // Throwing stops yargs from running the handler after a parse failure.
      throw error ?? new UsageError(`${message}\nRun 'sftscore --help' for usage.`);
    });

  try {
    const args = await parser.parseAsync();
    const code = (args as { exitCode?: unknown }).exitCode;
    if (typeof code === "number") exitCode = code;
  } catch (error: unknown) {
    report(error, exitCodeOf(error));
  }
  return exitCode;
}
