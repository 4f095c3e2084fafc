import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineSecurityOf } from "./engine-client-options.js";

let dir: string;
let cert: string;
let key: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-client-tls-"));
  cert = path.join(dir, "ca.pem");
  key = path.join(dir, "ca.key");
  await promisify(execFile)("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("engineSecurityOf", () => {
  it("is plaintext without a token when nothing is given, and an empty SFTSCORE_AUTH_TOKEN counts as unset", async () => {
    expect(await engineSecurityOf({}, {})).toEqual({});
    expect(await engineSecurityOf({}, { SFTSCORE_AUTH_TOKEN: "" })).toEqual({});
  });

  it("takes the token from --auth-token over SFTSCORE_AUTH_TOKEN", async () => {
    expect(await engineSecurityOf({}, { SFTSCORE_AUTH_TOKEN: "from-env" })).toEqual({ token: "from-env" });
    expect(await engineSecurityOf({ authToken: "from-flag" }, { SFTSCORE_AUTH_TOKEN: "from-env" })).toEqual({ token: "from-flag" });
    await expect(engineSecurityOf({ authToken: "" }, {})).rejects.toThrow(/--auth-token is empty/);
  });

  it("uses TLS with the default roots for --tls, and with the PEM contents of --tls-ca and a client certificate", async () => {
    expect(await engineSecurityOf({ tls: true }, {})).toEqual({ tls: true });
    const pem = await readFile(cert);
    expect(await engineSecurityOf({ tlsCa: cert }, {})).toEqual({ tls: { ca: pem } });
    expect(await engineSecurityOf({ tls: true, tlsCa: cert, tlsCert: cert, tlsKey: key }, {})).toEqual({ tls: { ca: pem, cert: pem, key: await readFile(key) } });
  });

  it("names the flag and the file when a file is missing or holds no PEM of the right kind", async () => {
    const missing = path.join(dir, "missing.pem");
    await expect(engineSecurityOf({ tlsCa: missing }, {})).rejects.toThrow(`--tls-ca ${missing}: cannot read it (ENOENT`);
    const text = path.join(dir, "text.pem");
    await writeFile(text, "not a certificate\n");
    await expect(engineSecurityOf({ tlsCa: text }, {})).rejects.toThrow(`--tls-ca ${text}: not a PEM certificate`);
    await expect(engineSecurityOf({ tlsCert: cert, tlsKey: cert }, {})).rejects.toThrow(`--tls-key ${cert}: not a PEM private key`);
  });

  it("refuses a certificate without its key, and --no-tls with TLS files", async () => {
    await expect(engineSecurityOf({ tlsCert: cert }, {})).rejects.toThrow(/--tls-cert and --tls-key go together/);
    await expect(engineSecurityOf({ tls: false, tlsCa: cert }, {})).rejects.toThrow(/--no-tls contradicts --tls-ca/);
  });
});
