import { credentials, makeGenericClientConstructor, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { ErrorCode, type ScoringServiceClient } from "@sftscore/proto";
import { service as healthService } from "grpc-health-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "../engine.js";
import { getModelInfo, removeTempDirs, scoreStream, sequencesFor, startTestServer, tempDir, tinyModel, type TestServer, type TinyModel } from "../test-support/grpc-harness.js";
import { connectSecure, type SecureClientOptions } from "../test-support/secure-client.js";
import { selfSignedCertificate, signedCertificate, type TestCertificate } from "../test-support/test-certificates.js";
import { startServer } from "./server.js";

const TOKEN = "s3cret-token-for-tests";

let model: TinyModel;
let serverCertificate: TestCertificate;
let clientCertificate: TestCertificate;
let running: TestServer | undefined;
const clients: ScoringServiceClient[] = [];
beforeAll(async () => {
  model = await tinyModel();
  const dir = await tempDir("sftscore-certs-");
  serverCertificate = await selfSignedCertificate(dir);
  // Signed by the server's self-signed certificate, which doubles as the client CA.
  clientCertificate = await signedCertificate(dir, serverCertificate);
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await running?.close();
  running = undefined;
});
afterAll(removeTempDirs);

async function serve(options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  running = await startTestServer(model, options);
  return running;
}

function client(port: number, options: SecureClientOptions): ScoringServiceClient {
  const connected = connectSecure(port, options);
  clients.push(connected);
  return connected;
}

/** The gRPC status a GetModelInfo call ends with (OK when it answers). */
async function infoStatus(connected: ScoringServiceClient): Promise<{ code: GrpcStatus; details: string }> {
  return getModelInfo(connected).then(
    () => ({ code: GrpcStatus.OK, details: "" }),
    (error: ServiceError) => ({ code: error.code, details: error.details }),
  );
}

async function metricsText(port: number | undefined): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe("bearer token", () => {
  it("refuses Score and GetModelInfo without a token, with a wrong one and with one of another length: UNAUTHENTICATED, nothing scored, refusals counted", async () => {
    const { server, engine } = await serve({ server: { authToken: TOKEN, metricsPort: 0 } });
    const refused: [SecureClientOptions, "missing" | "invalid"][] = [
      [{}, "missing"],
      [{ authorization: `Bearer ${TOKEN.replace("s", "S")}` }, "invalid"],
      [{ authorization: `Bearer ${TOKEN}x` }, "invalid"],
      [{ authorization: "Bearer" }, "invalid"],
      [{ authorization: TOKEN }, "invalid"],
    ];
    for (const [options, reason] of refused) {
      const connected = client(server.port, options);
      const outcome = await scoreStream(connected, [{ sequences: sequencesFor(model.rows) }]);
      expect(outcome.status.code).toBe(GrpcStatus.UNAUTHENTICATED);
      expect(outcome.status.details).toMatch(reason === "missing" ? /requires a bearer token/ : /does not match/);
      expect(outcome.results.size + outcome.errors.size).toBe(0);
      const info = await infoStatus(connected);
      expect(info.code).toBe(GrpcStatus.UNAUTHENTICATED);
      // Nothing about the expected token leaks into the answer.
      expect(info.details).not.toContain(TOKEN);
    }
    expect(engine.stats().sequences).toBe(0);
    expect(engine.stats().queueDepth).toBe(0);
    const text = await metricsText(server.metricsPort);
    expect(text).toMatch(/^sftscore_unauthenticated_requests_total\{reason="missing"\} 2$/m);
    expect(text).toMatch(/^sftscore_unauthenticated_requests_total\{reason="invalid"\} 8$/m);
  });

  it("scores and describes the model for a client with the right token (the scheme in any case)", async () => {
    const { server, engine } = await serve({ server: { authToken: TOKEN } });
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const connected = client(server.port, { authorization });
      expect((await getModelInfo(connected)).vocabSize).toBeGreaterThan(0);
      const outcome = await scoreStream(connected, [{ sequences: sequencesFor(model.rows, authorization.slice(0, 1)) }]);
      expect(outcome.status.code).toBe(GrpcStatus.OK);
      expect(outcome.results.size).toBe(model.rows.length);
    }
    expect(engine.stats().sequences).toBe(2 * model.rows.length);
  });

  it("answers grpc.health.v1.Health without a token", async () => {
    const { server } = await serve({ server: { authToken: TOKEN } });
    const Health = makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
    const health = new Health(`127.0.0.1:${server.port}`, credentials.createInsecure()) as unknown as {
      check(request: { service: string }, callback: (error: ServiceError | null, response?: { status: string }) => void): void;
      close(): void;
    };
    try {
      const status = await new Promise<string | undefined>((resolve, reject) => health.check({ service: "" }, (error, response) => (error ? reject(error) : resolve(response?.status))));
      expect(status).toBe("SERVING");
    } finally {
      health.close();
    }
  });

  it("refuses an empty token or one with spaces at start, leaving the engine open", async () => {
    const engine = await createEngine({ model: model.dir, threads: 1, cacheDir: model.cacheDir });
    try {
      for (const authToken of ["", "two words"]) {
        await expect(startServer({ engine, port: 0, authToken })).rejects.toMatchObject({ code: "invalid-argument", message: expect.stringMatching(/auth token must be non-empty visible ASCII/) });
      }
      expect((await engine.info()).vocabSize).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });
});

describe("TLS", () => {
  it("serves over TLS with a self-signed certificate to a client that trusts it, and a plaintext client gets nothing", async () => {
    const { server } = await serve({ server: { tls: { cert: serverCertificate.cert, key: serverCertificate.key } } });
    const secure = client(server.port, { ca: serverCertificate.cert });
    const outcome = await scoreStream(secure, [{ sequences: sequencesFor(model.rows) }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect(outcome.results.size).toBe(model.rows.length);

    const plaintext = await infoStatus(client(server.port, {}));
    expect(plaintext.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it("with a client CA, refuses a client without a certificate and accepts one signed by the CA", async () => {
    const { server } = await serve({ server: { tls: { cert: serverCertificate.cert, key: serverCertificate.key, ca: serverCertificate.cert } } });
    expect((await infoStatus(client(server.port, { ca: serverCertificate.cert }))).code).toBe(GrpcStatus.UNAVAILABLE);
    const withCertificate = client(server.port, { ca: serverCertificate.cert, clientCertificate });
    expect((await infoStatus(withCertificate)).code).toBe(GrpcStatus.OK);
    const outcome = await scoreStream(withCertificate, [{ sequences: sequencesFor(model.rows) }]);
    expect(outcome.results.size).toBe(model.rows.length);
  });

  it("combines TLS and the token: a TLS client without the token is still refused", async () => {
    const { server } = await serve({ server: { authToken: TOKEN, tls: { cert: serverCertificate.cert, key: serverCertificate.key } } });
    expect((await infoStatus(client(server.port, { ca: serverCertificate.cert }))).code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect((await infoStatus(client(server.port, { ca: serverCertificate.cert, authorization: `Bearer ${TOKEN}` }))).code).toBe(GrpcStatus.OK);
  });

  it("refuses a key that does not match the certificate, and a CA that is not PEM, at start", async () => {
    const engine = await createEngine({ model: model.dir, threads: 1, cacheDir: model.cacheDir });
    try {
      await expect(startServer({ engine, port: 0, tls: { cert: serverCertificate.cert, key: clientCertificate.key } })).rejects.toMatchObject({
        code: "invalid-argument",
        message: expect.stringMatching(/^tls\.cert and tls\.key: not usable as PEM \(.*key values mismatch/),
      });
      await expect(startServer({ engine, port: 0, tls: { cert: serverCertificate.cert, key: serverCertificate.key, ca: "not a certificate" } })).rejects.toMatchObject({
        code: "invalid-argument",
        message: expect.stringMatching(/^tls\.ca: not usable as PEM/),
      });
    } finally {
      await engine.close();
    }
  });
});

describe("per-request limits", () => {
  it("answers a sequence over maxTokensPerSequence with INVALID_ARGUMENT naming it, its length and the limit, and scores the rest of the message", async () => {
    const { client: plain } = await serve({ server: { maxTokensPerSequence: 12 } });
    const sequences = sequencesFor(model.rows);
    const long = sequences.filter((sequence) => sequence.tokenIds.length > 12);
    const short = sequences.filter((sequence) => sequence.tokenIds.length <= 12);
    expect(long.length).toBeGreaterThan(0);
    expect(short.length).toBeGreaterThan(0);
    const outcome = await scoreStream(plain, [{ sequences }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect([...outcome.results.keys()].sort()).toEqual(short.map((sequence) => sequence.id).sort());
    for (const sequence of long) {
      const error = outcome.errors.get(sequence.id);
      expect(error?.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(error?.message).toBe(`sequence "${sequence.id}": has ${sequence.tokenIds.length} tokens, more than the engine's max_tokens_per_sequence of 12; truncate it`);
    }
  });

  it("reports its limits in GetModelInfo", async () => {
    const { client: plain } = await serve({ server: { maxTokensPerSequence: 100, maxSequencesPerMessage: 7, maxMessageBytes: 123_456 } });
    const info = await getModelInfo(plain);
    expect(info.limits).toMatchObject({ maxTokensPerSequence: 100, maxSequencesPerMessage: 7, maxMessageBytes: 123_456 });
  });

  it("refuses a maxTokensPerSequence above the model's maximum length at start", async () => {
    const engine = await createEngine({ model: model.dir, threads: 1, cacheDir: model.cacheDir });
    try {
      const { maxLength } = await engine.info();
      await expect(startServer({ engine, port: 0, maxTokensPerSequence: maxLength + 1 })).rejects.toMatchObject({
        code: "invalid-argument",
        message: `maxTokensPerSequence is ${maxLength + 1}, more than the model's maximum length of ${maxLength}`,
      });
    } finally {
      await engine.close();
    }
  });
});
