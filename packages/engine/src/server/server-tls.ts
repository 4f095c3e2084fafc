import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";
import { EngineError } from "../engine-error.js";

/** TLS for the gRPC server: PEM contents (not paths). */
export interface ServerTlsOptions {
  /** The server's certificate chain. */
  readonly cert: Buffer | string;
  /** The server's private key. */
  readonly key: Buffer | string;
  /**
   * CA certificate(s) for client certificates. When given, every connection must present a
   * certificate signed by one of them (mutual TLS); when absent, clients need no certificate.
   */
  readonly ca?: Buffer | string;
}

/**
 * gRPC server credentials: plaintext without `tls`, else TLS with the given certificate and key,
 * requiring client certificates signed by `tls.ca` when it is given. The PEM contents are checked
 * here (a key that does not match its certificate included), so a bad file fails at start with a
 * reason rather than at the first handshake.
 *
 * @throws EngineError `invalid-argument` naming the field (`tls.cert`, `tls.key`, `tls.ca`) that is
 *   unusable and OpenSSL's reason.
 */
export function serverCredentialsOf(tls: ServerTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const cert = pem(tls.cert);
  const key = pem(tls.key);
  const ca = tls.ca === undefined ? undefined : pem(tls.ca);
  checkPem("tls.cert and tls.key", () => createSecureContext({ cert, key }));
  // createSecureContext ignores a `ca` that holds no certificate; parsing the first one does not.
  if (ca !== undefined) checkPem("tls.ca", () => new X509Certificate(ca));
  return ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], ca !== undefined);
}

function pem(value: Buffer | string): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8");
}

function checkPem(what: string, load: () => unknown): void {
  try {
    load();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EngineError("invalid-argument", `${what}: not usable as PEM (${reason})`, { cause: error });
  }
}
