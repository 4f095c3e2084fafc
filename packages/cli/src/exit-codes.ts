/** Process exit codes: 0 done, 1 runtime failure, 2 bad usage or bad input. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with how the command was called or with its input; exits with {@link ExitCode.usage}. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
