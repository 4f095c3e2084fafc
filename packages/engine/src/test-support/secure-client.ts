import { credentials, InterceptingCall, type ChannelCredentials, type Interceptor } from "@grpc/grpc-js";
import { ScoringServiceClient } from "@sftscore/proto";
import type { TestCertificate } from "./test-certificates.js";

/** How a test client reaches a server: plaintext or TLS, with or without a client certificate and a token. */
export interface SecureClientOptions {
  /** Trust this CA certificate (PEM) and speak TLS; absent: plaintext. */
  readonly ca?: string;
  /** Present this client certificate (with `ca`). */
  readonly clientCertificate?: TestCertificate;
  /** Sent as `authorization: <value>`, verbatim, on every call. */
  readonly authorization?: string;
}

/**
 * A ScoringService client on `127.0.0.1:port`. The authorization header goes in through a client
 * interceptor, so the harness's helpers (`scoreStream`, `getModelInfo`) send it without knowing.
 */
export function connectSecure(port: number, options: SecureClientOptions): ScoringServiceClient {
  const interceptors: Interceptor[] = options.authorization === undefined ? [] : [authorizationInterceptor(options.authorization)];
  return new ScoringServiceClient(`127.0.0.1:${port}`, channelCredentials(options), { "grpc.max_receive_message_length": -1, interceptors });
}

function channelCredentials(options: SecureClientOptions): ChannelCredentials {
  if (options.ca === undefined) return credentials.createInsecure();
  const client = options.clientCertificate;
  return credentials.createSsl(Buffer.from(options.ca), client ? Buffer.from(client.key) : null, client ? Buffer.from(client.cert) : null);
}

function authorizationInterceptor(value: string): Interceptor {
  return (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        metadata.set("authorization", value);
        next(metadata, listener);
      },
    });
}
