import type { ArgumentsCamelCase, Argv } from "yargs";

/** The options a yargs builder declares, keyed as on the command line. */
export type BuilderArgs<B> = B extends (y: Argv) => Argv<infer T> ? T : never;

/** The options a yargs builder declares, as a handler receives them (camelCase keys included). */
export type BuiltOptions<B> = ArgumentsCamelCase<BuilderArgs<B>>;

/** What a command's `run.ts` exports: takes parsed options, resolves to an exit code. */
export type RunCommand<T> = (options: T) => Promise<number>;

/**
 * A yargs handler that imports the command's implementation only when the command runs, so that
 * `--help` never loads ONNX Runtime or grpc-js. The exit code travels back to `main` on the parsed
 * arguments object, which yargs returns from `parseAsync`.
 */
export function lazyHandler<T>(load: () => Promise<RunCommand<ArgumentsCamelCase<T>>>): (args: ArgumentsCamelCase<T>) => Promise<void> {
  return async (args) => {
    const run = await load();
    (args as { exitCode?: number }).exitCode = await run(args);
  };
}
