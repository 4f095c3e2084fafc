import { isIP } from "node:net";
import type { ServerOptions } from "@sftscore/engine";
import { UsageError } from "../../exit-codes.js";
import { AUTH_TOKEN_ENV, authTokenOf, readKeyPair, readPemFile } from "../../options/transport-security.js";

/** The `serve` flags about transport security (camelCase, as yargs parses them). */
export interface ServerSecurityFlags {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly authToken?: string | undefined;
}

/** What `startServer` gets: TLS contents and the token. */
export type ServerSecurity = Pick<ServerOptions, "tls" | "authToken">;

/**
 * Reads `--tls-cert`/`--tls-key` (both or neither), `--tls-ca` (only with them) and the token
 * (`--auth-token` or {@link AUTH_TOKEN_ENV}).
 *
 * @throws UsageError naming the flag and file for an unreadable or wrong PEM file, a key that is not
 *   the certificate's, a lone `--tls-cert` or `--tls-key`, or `--tls-ca` without them.
 */
export async function serverSecurityOf(flags: ServerSecurityFlags, env: NodeJS.ProcessEnv): Promise<ServerSecurity> {
  const authToken = authTokenOf(flags.authToken, env);
  const pair = await readKeyPair("tls-cert", flags.tlsCert, "tls-key", flags.tlsKey);
  if (flags.tlsCa !== undefined && pair === undefined) throw new UsageError("--tls-ca checks client certificates over TLS: give --tls-cert and --tls-key too");
  const ca = flags.tlsCa === undefined ? undefined : await readPemFile("tls-ca", flags.tlsCa, "certificate");
  const tls = pair === undefined ? undefined : { cert: pair.cert.pem, key: pair.key.pem, ...(ca === undefined ? {} : { ca: ca.pem }) };
  return { ...(tls === undefined ? {} : { tls }), ...(authToken === undefined ? {} : { authToken }) };
}

/**
 * What the `listening on` line adds inside its parentheses: `, tls` (`, mutual tls` with client
 * certificates) and `, auth token`; empty for a plaintext engine without a token.
 */
export function securitySummary(security: ServerSecurity): string {
  const tls = security.tls === undefined ? "" : security.tls.ca === undefined ? ", tls" : ", mutual tls";
  return `${tls}${security.authToken === undefined ? "" : ", auth token"}`;
}

/**
 * The warning for an engine bound beyond loopback that is not fully secured, saying what is
 * missing, or `undefined`. Clients are authenticated by a token or by client certificates
 * (`--tls-ca`); a token without TLS crosses the network readable by anyone on the path.
 */
export function exposureWarning(host: string, security: ServerSecurity): string | undefined {
  if (isLoopback(host)) return undefined;
  const tls = security.tls !== undefined;
  const clientsAuthenticated = security.authToken !== undefined || security.tls?.ca !== undefined;
  const where = `warning: --host ${host} is not a loopback address`;
  const addToken = `set ${AUTH_TOKEN_ENV} (or --auth-token)`;
  if (!tls && !clientsAuthenticated) return `${where}: anyone who can reach it can use this engine, which serves without TLS or an auth token; use --tls-cert/--tls-key and ${addToken}`;
  if (!tls) return `${where} and it serves without TLS: the auth token crosses the network in plaintext; add --tls-cert/--tls-key`;
  if (!clientsAuthenticated) return `${where} and it serves without an auth token: anyone who can reach it can use this engine; ${addToken} or require client certificates with --tls-ca`;
  return undefined;
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
