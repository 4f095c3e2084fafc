import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A PEM certificate and its private key, contents and the files they were written to. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** What the engine's tests connect to: localhost by name and by IP. */
const SUBJECT_ALT_NAME = "subjectAltName=IP:127.0.0.1,DNS:localhost";

/**
 * A self-signed P-256 certificate for `localhost` and `127.0.0.1`, valid one day, made with the
 * system's openssl in `dir` as `<name>.pem` and `<name>.key`. It is its own CA (openssl marks
 * `req -x509` certificates CA:TRUE), so it can sign client certificates too.
 */
export async function selfSignedCertificate(dir: string, name = "server"): Promise<TestCertificate> {
  const files = filesOf(dir, name);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-subj", "/CN=localhost", "-addext", SUBJECT_ALT_NAME, "-days", "1",
    "-keyout", files.keyFile, "-out", files.certFile,
  ]);
  return read(files);
}

/** A P-256 certificate for `CN=<name>` signed by `ca`, valid one day: a client certificate. */
export async function signedCertificate(dir: string, ca: TestCertificate, name = "client"): Promise<TestCertificate> {
  const files = filesOf(dir, name);
  const request = path.join(dir, `${name}.csr`);
  await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", files.keyFile, "-out", request]);
  await run("openssl", ["x509", "-req", "-in", request, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-days", "1", "-out", files.certFile]);
  return read(files);
}

function filesOf(dir: string, name: string): { certFile: string; keyFile: string } {
  return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
}

async function read(files: { certFile: string; keyFile: string }): Promise<TestCertificate> {
  const [cert, key] = await Promise.all([readFile(files.certFile, "utf8"), readFile(files.keyFile, "utf8")]);
  return { cert, key, ...files };
}
