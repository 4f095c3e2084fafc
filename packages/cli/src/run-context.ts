/**
 * What a command's `run(options, context)` takes besides the command line: the environment and the
 * output streams, so tests can pass their own instead of touching the process's. Each defaults to
 * the process's (`process.env`, `process.stdout`, `process.stderr`).
 */
export interface RunContext {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: NodeJS.WritableStream;
  /** `isTTY` decides whether progress is drawn in place. */
  readonly stderr?: NodeJS.WritableStream & { readonly isTTY?: boolean };
}
