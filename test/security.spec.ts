/**
 * A secured engine end to end: `sftscore serve` with an auth token, TLS and client certificates,
 * and `sftscore score`/`info --engine` reaching it, through the installed bin on the tiny fixture
 * model. Certificates are made per run with the system's openssl. Build first:
 * `npx nx run-many -t build`.
 */
import { execFile } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { buildFixtureModel } from "@sftscore/engine";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killAll, runCli, startServe, type ServeProcess } from "./support/cli-process.js";

const openssl = promisify(execFile);
const TOKEN = "e2e-token-0123456789";
const SCORING = ["--task-field", "task", "--threads", "1"];

let dir: string;
let model: string;
let data: string;
/** The environment every command gets: a private cache, and no token unless a test adds one. */
let env: NodeJS.ProcessEnv;
/** Rows of the in-process run (`--model`): what every run against an engine must write. */
let reference: string;
let server: { cert: string; key: string };
let client: { cert: string; key: string };
const engines: ServeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-security-"));
  env = { ...process.env, SFTSCORE_CACHE: path.join(dir, "cache"), SFTSCORE_AUTH_TOKEN: "" };
  model = (await buildFixtureModel({ preset: "tiny", out: path.join(dir, "tiny") })).dir;
  const records = JSON.parse(await readFile(path.join(import.meta.dirname, "..", "examples", "alpaca_mixed.json"), "utf8")) as unknown[];
  data = path.join(dir, "data.json");
  await writeFile(data, JSON.stringify(records.slice(0, 12)));
  const out = path.join(dir, "reference.jsonl");
  const result = await runCli(["score", data, "--model", model, "--out", out, ...SCORING], { env });
  expect(result.code, result.stderr).toBe(0);
  reference = await readFile(out, "utf8");
  server = await selfSigned("server");
  client = await signedBy(server, "client");
});
afterEach(() => killAll(engines.splice(0)));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A self-signed P-256 certificate for localhost and 127.0.0.1 (openssl marks it CA:TRUE, so it signs client certificates too). */
async function selfSigned(name: string): Promise<{ cert: string; key: string }> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  await openssl("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1", "-keyout", files.key, "-out", files.cert,
  ]);
  return files;
}

async function signedBy(ca: { cert: string; key: string }, name: string): Promise<{ cert: string; key: string }> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const request = path.join(dir, `${name}.csr`);
  await openssl("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", files.key, "-out", request]);
  await openssl("openssl", ["x509", "-req", "-in", request, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-out", files.cert]);
  return files;
}

async function serve(extra: string[], options: { host?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ServeProcess> {
  const served = await startServe({ model, cacheDir: path.join(dir, "engine-cache"), extra, env: options.env ?? env, ...(options.host === undefined ? {} : { host: options.host }) });
  engines.push(served);
  return served;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe("an engine with an auth token", () => {
  it("refuses score and info without the token or with a wrong one (exit 2, no output file) and scores with it, rows identical to in process", async () => {
    const engine = await serve(["--auth-token", TOKEN]);
    expect(engine.stdout()).toMatch(/^listening on 127\.0\.0\.1:\d+ \(model tiny, device cpu, loss head scored-positions, auth token\)$/m);
    const refusal = new RegExp(`^error: engine 127\\.0\\.0\\.1:${engine.port} refused the auth token: `, "m");

    const without = path.join(dir, "without-token.jsonl");
    const refused = await runCli(["score", data, "--engine", engine.address, "--out", without, ...SCORING], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(refusal);
    expect(refused.stderr).toMatch(/requires a bearer token/);
    expect(await exists(without)).toBe(false);

    const wrong = path.join(dir, "wrong-token.jsonl");
    const mismatched = await runCli(["score", data, "--engine", engine.address, "--out", wrong, ...SCORING], { env: { ...env, SFTSCORE_AUTH_TOKEN: `${TOKEN}-not` } });
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(refusal);
    expect(mismatched.stderr).toMatch(/does not match/);
    expect(await exists(wrong)).toBe(false);

    const info = await runCli(["info", "--engine", engine.address], { env });
    expect(info.code).toBe(2);
    expect(info.stderr).toMatch(refusal);

    const out = path.join(dir, "with-token.jsonl");
    const scored = await runCli(["score", data, "--engine", engine.address, "--out", out, ...SCORING], { env: { ...env, SFTSCORE_AUTH_TOKEN: TOKEN } });
    expect(scored.code, scored.stderr).toBe(0);
    expect(await readFile(out, "utf8")).toBe(reference);
    const infoWithToken = await runCli(["info", "--engine", engine.address, "--auth-token", TOKEN, "--json"], { env });
    expect(infoWithToken.code, infoWithToken.stderr).toBe(0);
    expect(JSON.parse(infoWithToken.stdout)).toMatchObject({ source: "engine", modelId: "tiny" });
  });
});

describe("an engine over TLS", () => {
  it("serves a client that trusts its self-signed certificate (--tls-ca), rows identical to in process", async () => {
    const engine = await serve(["--tls-cert", server.cert, "--tls-key", server.key]);
    expect(engine.stdout()).toMatch(/, loss head scored-positions, tls\)$/m);
    const out = path.join(dir, "tls.jsonl");
    // By the certificate's DNS name, as the README says: a TLS server name cannot be an IP address.
    const scored = await runCli(["score", data, "--engine", `localhost:${engine.port}`, "--tls-ca", server.cert, "--out", out, ...SCORING], { env });
    expect(scored.code, scored.stderr).toBe(0);
    expect(scored.stderr).not.toMatch(/DeprecationWarning/);
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("with --tls-ca, answers only clients with a certificate signed by that CA", async () => {
    const engine = await serve(["--tls-cert", server.cert, "--tls-key", server.key, "--tls-ca", server.cert]);
    expect(engine.stdout()).toMatch(/, mutual tls\)$/m);
    const info = (extra: string[]) => runCli(["info", "--engine", engine.address, "--tls-ca", server.cert, "--timeout-ms", "5000", ...extra], { env });
    const withCertificate = await info(["--tls-cert", client.cert, "--tls-key", client.key]);
    expect(withCertificate.code, withCertificate.stderr).toBe(0);
    const withoutCertificate = await info([]);
    expect(withoutCertificate.code).toBe(1);
    expect(withoutCertificate.stderr).toMatch(/^error: cannot reach an engine at 127\.0\.0\.1:\d+/m);
  });

  it("refuses a certificate without its key, and a file that is no certificate, naming the flag and file (exit 2)", async () => {
    const lone = await runCli(["serve", "--model", model, "--port", "0", "--tls-cert", server.cert], { env });
    expect(lone.code).toBe(2);
    expect(lone.stderr).toMatch(/^error: --tls-cert and --tls-key go together/m);
    const notCertificate = await runCli(["serve", "--model", model, "--port", "0", "--tls-cert", server.key, "--tls-key", server.key], { env });
    expect(notCertificate.code).toBe(2);
    expect(notCertificate.stderr).toContain(`error: --tls-cert ${server.key}: not a PEM certificate`);
    const wrongKey = await runCli(["score", data, "--engine", "127.0.0.1:1", "--tls-cert", server.cert, "--tls-key", client.key, "--out", path.join(dir, "never.jsonl")], { env });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain(`error: --tls-key ${client.key} is not the private key of the certificate in --tls-cert ${server.cert}`);
  });
});

describe("per-request limits", () => {
  it("reports --max-tokens-per-sequence in info, and score --engine truncates to it: rows equal an in-process run with --max-length", async () => {
    const engine = await serve(["--max-tokens-per-sequence", "40", "--max-sequences-per-message", "3", "--max-message-bytes", "65536"]);
    const info = await runCli(["info", "--engine", engine.address, "--json"], { env });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ limits: { maxTokensPerSequence: 40, maxSequencesPerMessage: 3, maxMessageBytes: 65536 } });

    const local = path.join(dir, "local-40.jsonl");
    const inProcess = await runCli(["score", data, "--model", model, "--max-length", "40", "--out", local, ...SCORING], { env });
    expect(inProcess.code, inProcess.stderr).toBe(0);
    const remote = path.join(dir, "remote-40.jsonl");
    const scored = await runCli(["score", data, "--engine", engine.address, "--out", remote, ...SCORING], { env });
    expect(scored.code, scored.stderr).toBe(0);
    const rows = await readFile(remote, "utf8");
    expect(rows).toBe(await readFile(local, "utf8"));
    expect(rows).toMatch(/"truncated":true/);
  });
});

describe("binding beyond loopback", () => {
  it("warns about what is missing: TLS and a token, or TLS alone; not when both are there", async () => {
    const stopped = async (served: ServeProcess) => {
      served.child.kill("SIGINT");
      expect(await served.exit).toBe(0);
      return served.stderr();
    };
    const open = await stopped(await serve([], { host: "0.0.0.0" }));
    expect(open).toMatch(/^warning: --host 0\.0\.0\.0 is not a loopback address: anyone who can reach it can use this engine, which serves without TLS or an auth token/m);
    const tokenOnly = await stopped(await serve([], { host: "0.0.0.0", env: { ...env, SFTSCORE_AUTH_TOKEN: TOKEN } }));
    expect(tokenOnly).toMatch(/^warning: --host 0\.0\.0\.0 is not a loopback address and it serves without TLS: the auth token crosses the network in plaintext/m);
    const secured = await stopped(await serve(["--tls-cert", server.cert, "--tls-key", server.key], { host: "0.0.0.0", env: { ...env, SFTSCORE_AUTH_TOKEN: TOKEN } }));
    expect(secured).not.toMatch(/warning/);
  });
});
