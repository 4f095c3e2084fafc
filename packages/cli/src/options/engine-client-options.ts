import { ClientError, EngineClient, type EngineClientOptions, type TlsOptions } from "@sftscore/client";
import type { Argv } from "yargs";
import { UsageError } from "../exit-codes.js";
import { AUTH_TOKEN_ENV, authTokenOf, readKeyPair, readPemFile } from "./transport-security.js";

/** The parsed options {@link withEngineClientOptions} declares (camelCase). */
export interface EngineClientFlags {
  readonly authToken?: string | undefined;
  readonly tls?: boolean | undefined;
  readonly tlsCa?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
}

/** How to reach secured engines: the `tls` and `token` of {@link EngineClientOptions}. */
export type EngineSecurity = Pick<EngineClientOptions, "tls" | "token">;

/** The flags {@link withEngineClientOptions} declares, as typed on the command line. */
const FLAGS = ["auth-token", "tls", "tls-ca", "tls-cert", "tls-key"] as const;

/**
 * Declares how `--engine` connections are secured, shared by `score` and `info` (the command has
 * an `--engine` option; these flags are refused without it): `--auth-token` (or
 * {@link AUTH_TOKEN_ENV}), `--tls`, `--tls-ca FILE`, `--tls-cert FILE` with `--tls-key FILE`.
 * Resolve them with {@link engineSecurityOf}.
 */
export function withEngineClientOptions<T>(y: Argv<T>) {
  return y
    .option("auth-token", { type: "string", describe: `With --engine: bearer token the engines require (prefer the ${AUTH_TOKEN_ENV} environment variable: command lines show in \`ps\`)` })
    .option("tls", { type: "boolean", describe: "With --engine: connect over TLS, trusting Node's bundled CA certificates" })
    .option("tls-ca", { type: "string", describe: "With --engine: connect over TLS, trusting this CA certificate (PEM) for the engines' certificates" })
    .option("tls-cert", { type: "string", describe: "With --engine: client certificate (PEM) for engines that require one; with --tls-key" })
    .option("tls-key", { type: "string", describe: "Private key (PEM) of --tls-cert" })
    .check((argv) => {
      const given = FLAGS.filter((flag) => argv[flag] !== undefined);
      if (given.length === 0 || argv["engine"] !== undefined) return true;
      const one = given.length === 1;
      // A UsageError, which main's parse-failure handler passes on as it is: exit code 2.
      throw new UsageError(`${given.map((flag) => `--${flag}`).join(", ")}: ${one ? "applies" : "apply"} only to --engine connections; give --engine or drop ${one ? "it" : "them"}`);
    });
}

/**
 * The TLS settings and token of the flags: TLS when `--tls`, `--tls-ca` or a client certificate is
 * given, with PEM contents read from the files; the token from `--auth-token` or {@link AUTH_TOKEN_ENV}.
 *
 * @throws UsageError naming the flag and file for an unreadable or wrong PEM file, a certificate
 *   without its key (or the reverse), or `--no-tls` together with TLS files.
 */
export async function engineSecurityOf(flags: EngineClientFlags, env: NodeJS.ProcessEnv): Promise<EngineSecurity> {
  const token = authTokenOf(flags.authToken, env);
  const ca = flags.tlsCa === undefined ? undefined : await readPemFile("tls-ca", flags.tlsCa, "certificate");
  const pair = await readKeyPair("tls-cert", flags.tlsCert, "tls-key", flags.tlsKey);
  if (flags.tls === false && (ca !== undefined || pair !== undefined)) throw new UsageError("--no-tls contradicts --tls-ca/--tls-cert, which need TLS; drop one");
  const files: TlsOptions = { ...(ca === undefined ? {} : { ca: ca.pem }), ...(pair === undefined ? {} : { cert: pair.cert.pem, key: pair.key.pem }) };
  const tls = Object.keys(files).length > 0 ? files : flags.tls === true ? true : undefined;
  return { ...(tls === undefined ? {} : { tls }), ...(token === undefined ? {} : { token }) };
}

/**
 * An {@link EngineClient} on the `--engine` address list, secured as the flags say, with the
 * command's other client `settings`, that has asked every engine for its model once (later
 * `info()` calls reuse the answer), so a refused token fails here with a message that says so.
 *
 * @throws UsageError for the flags (see {@link engineSecurityOf}) and when an engine refuses the
 *   token (`engine HOST:PORT refused the auth token: …`); ClientError for anything else `info()` throws.
 */
export async function connectEngineClient(
  engine: string,
  flags: EngineClientFlags,
  settings: Omit<EngineClientOptions, "targets" | "tls" | "token"> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<EngineClient> {
  const client = new EngineClient({ ...settings, targets: [engine], ...(await engineSecurityOf(flags, env)) });
  try {
    await client.info();
    return client;
  } catch (error) {
    await client.close();
    if (error instanceof ClientError && error.code === "unauthenticated") {
      throw new UsageError(authRefusalMessage(error.target ?? engine, detailsOf(error)), { cause: error });
    }
    throw error;
  }
}

/** The error line for an engine that answered UNAUTHENTICATED with `details`. */
export function authRefusalMessage(target: string, details: string): string {
  return `engine ${target} refused the auth token: ${details}`;
}

/** The engine's own words: the gRPC status details the ClientError was made from, else its message. */
function detailsOf(error: ClientError): string {
  const cause: unknown = error.cause;
  if (typeof cause === "object" && cause !== null && "details" in cause && typeof cause.details === "string" && cause.details !== "") return cause.details;
  return error.message;
}
