import { credentials, Metadata, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream } from "@grpc/grpc-js";
import { ScoringServiceClient, type GetModelInfoResponse, type ScoreRequest, type ScoreResponse } from "@sftscore/proto";
import { ClientError, clientErrorOfStatus } from "./client-error.js";
import type { CallContext } from "./call-middleware.js";

/** TLS settings: PEM contents (not paths) of the CA that signs the engines' certificates and, for mutual TLS, the client's certificate and key. */
export interface TlsOptions {
  /** Root certificate(s) to trust; default: Node's bundled roots. */
  readonly ca?: Buffer | string;
  /** Client certificate chain, for engines that ask for one (with `key`). */
  readonly cert?: Buffer | string;
  /** Client private key (with `cert`). */
  readonly key?: Buffer | string;
}

/** Options of {@link createEngineConnection}. */
export interface EngineConnectionOptions {
  /** TLS settings, `true` for TLS with the default roots, absent for plaintext. */
  readonly tls?: TlsOptions | true;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** grpc-js channel options (keepalive, reconnect backoff, message sizes). */
  readonly channelOptions: ChannelOptions;
}

/** One target's gRPC channel. */
export interface EngineConnection {
  readonly address: string;
  /** GetModelInfo with the context's deadline and signal; rejects with a ClientError naming the target. */
  getModelInfo(context: CallContext): Promise<GetModelInfoResponse>;
  /** Opens a Score stream (no deadline: the caller watches for idle streams). */
  openScore(): ClientDuplexStream<ScoreRequest, ScoreResponse>;
  close(): void;
}

/**
 * Channel credentials for the options: plaintext, or TLS (`grpc.credentials.createSsl`) with an
 * optional CA and client certificate.
 *
 * @throws ClientError `invalid-argument` when only one of `cert` and `key` is given.
 */
export function channelCredentialsOf(tls: TlsOptions | true | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new ClientError("invalid-argument", "tls.cert and tls.key go together: give both for a client certificate, or neither");
  const pem = (value: Buffer | string | undefined) => (value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8"));
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/**
 * A channel to one target. grpc-js connects lazily and reconnects by itself; the bearer token goes
 * in per-call metadata rather than call credentials, which grpc-js only allows over TLS.
 */
export function createEngineConnection(address: string, options: EngineConnectionOptions): EngineConnection {
  const client = new ScoringServiceClient(address, channelCredentialsOf(options.tls), options.channelOptions);
  const metadata = (): Metadata => {
    const entries = new Metadata();
    if (options.token !== undefined) entries.set("authorization", `Bearer ${options.token}`);
    return entries;
  };
  return {
    address,
    getModelInfo(context) {
      return new Promise((resolve, reject) => {
        const call = client.getModelInfo({}, metadata(), context.deadline === undefined ? {} : { deadline: context.deadline }, (error, response) => {
          context.signal?.removeEventListener("abort", onAbort);
          if (error) reject(clientErrorOfStatus(error, address, error));
          else resolve(response);
        });
        const onAbort = () => call.cancel();
        context.signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    openScore: () => client.score(metadata()),
    close: () => client.close(),
  };
}
