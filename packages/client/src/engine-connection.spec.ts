/**
 * Transport tests of TLS and credentials: a fake engine (test-support/fake-engine.ts) serving TLS
 * with a self-signed certificate made by `openssl` for this test.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { EngineClient } from "./engine-client.js";
import { channelCredentialsOf } from "./engine-connection.js";
import { collect, countingSource, fakeRequests, fakeScore, startFakeEngine } from "./test-support/fake-engine.js";

const dir = mkdtempSync(path.join(tmpdir(), "sftscore-client-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1 (and localhost), valid for a day. */
function selfSigned(): { cert: Buffer; key: Buffer } {
  const [certFile, keyFile] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", keyFile, "-out", certFile,
  ], { stdio: "pipe" });
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

describe("TLS (transport test, fake engine)", () => {
  it("scores over TLS when given the engine's CA, with the token alongside", async () => {
    const tls = selfSigned();
    const engine = await startFakeEngine({ tls });
    const client = new EngineClient({ targets: [engine.address], tls: { ca: tls.cert.toString("utf8") }, token: "t0ken" });
    try {
      expect((await client.info()).modelId).toBe("fake");
      const requests = fakeRequests(5);
      const results = await collect(client.score(countingSource(requests)));
      expect(results.sort((a, b) => a.id.localeCompare(b.id))).toEqual(requests.map(fakeScore));
      expect(engine.log.authorizations.every((value) => value === "Bearer t0ken")).toBe(true);
    } finally {
      await client.close();
      engine.close();
    }
  });

  it("does not reach a TLS engine it does not trust", async () => {
    const engine = await startFakeEngine({ tls: selfSigned() });
    const client = new EngineClient({ targets: [engine.address], tls: true, retry: { maxAttempts: 1 } });
    try {
      await expect(client.info()).rejects.toMatchObject({ code: "unavailable" });
    } finally {
      await client.close();
      engine.close();
    }
  });

  it("wants a client certificate and its key together", () => {
    expect(() => channelCredentialsOf({ cert: "-----BEGIN CERTIFICATE-----" })).toThrow(ClientError);
    expect(() => channelCredentialsOf({ cert: "-----BEGIN CERTIFICATE-----" })).toThrow(/tls\.cert and tls\.key go together/);
  });
});
