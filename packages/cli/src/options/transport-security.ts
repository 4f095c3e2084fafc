import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { UsageError } from "../exit-codes.js";

/**
 * The environment variable holding the bearer token, read by `serve` (the token engines require)
 * and by `score`/`info --engine` (the token they send). Prefer it to `--auth-token`: command lines
 * show in `ps`.
 */
export const AUTH_TOKEN_ENV = "SFTSCORE_AUTH_TOKEN";

/**
 * The bearer token: `--auth-token` when given, else {@link AUTH_TOKEN_ENV} unless it is empty.
 *
 * @throws UsageError for an empty `--auth-token`.
 */
export function authTokenOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) {
    if (flag === "") throw new UsageError(`--auth-token is empty; give the token, or set ${AUTH_TOKEN_ENV}`);
    return flag;
  }
  const fromEnv = env[AUTH_TOKEN_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/** What a PEM file given on the command line must hold. */
export type PemKind = "certificate" | "private key";

/** A PEM file's contents, read and checked, with the flag that named it. */
export interface PemFile {
  readonly flag: string;
  readonly file: string;
  readonly pem: Buffer;
}

/**
 * Reads the PEM file `file` given as `--<flag>` and checks that it holds a `kind` (for a
 * certificate bundle, its first certificate), so a wrong file fails at start naming the flag and the
 * file rather than at the first TLS handshake.
 *
 * @throws UsageError `--<flag> <file>: …` when the file cannot be read or holds no such PEM.
 */
export async function readPemFile(flag: string, file: string, kind: PemKind): Promise<PemFile> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: cannot read it (${reasonOf(error)})`, { cause: error });
  }
  try {
    if (kind === "certificate") new X509Certificate(pem);
    else createPrivateKey(pem);
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: not a PEM ${kind} (${reasonOf(error)})`, { cause: error });
  }
  return { flag, file, pem };
}

/**
 * Reads a certificate and its private key, given as `--<certFlag>` and `--<keyFlag>`: both or
 * neither (`undefined`).
 *
 * @throws UsageError when only one is given, for a file {@link readPemFile} refuses, or when the key
 *   is not the certificate's.
 */
export async function readKeyPair(
  certFlag: string,
  certFile: string | undefined,
  keyFlag: string,
  keyFile: string | undefined,
): Promise<{ cert: PemFile; key: PemFile } | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError(`--${certFlag} and --${keyFlag} go together: give both, or neither`);
  const cert = await readPemFile(certFlag, certFile, "certificate");
  const key = await readPemFile(keyFlag, keyFile, "private key");
  if (!new X509Certificate(cert.pem).checkPrivateKey(createPrivateKey(key.pem))) {
    throw new UsageError(`--${keyFlag} ${keyFile} is not the private key of the certificate in --${certFlag} ${certFile}`);
  }
  return { cert, key };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
