import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { credentials, status as GrpcStatus, type StatusObject } from "@grpc/grpc-js";
import { buildFixtureModel } from "@sftscore/engine";
// Until @sftscore/client has its EngineClient, the generated client is the way to talk to an engine.
import { ScoringServiceClient, type ScoreResponse, type Sequence } from "@sftscore/proto";
import { Tokenizer } from "tokenizers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// The installed `sftscore` bin, run as a user runs it (build first: `npx nx run-many -t build`).
const bin = path.join(import.meta.dirname, "..", "node_modules", ".bin", "sftscore");
const run = promisify(execFile);

let dir: string;
let model: string;
let sequences: Sequence[];
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-serve-e2e-"));
  model = path.join(dir, "tiny");
  await buildFixtureModel({ preset: "tiny", out: model });
  const tokenizer = Tokenizer.fromFile(path.join(model, "tokenizer.json"));
  const texts = ["Give three tips for staying healthy. Eat well, sleep enough, and walk every day.", "保持健康的三个提示。多喝水，早睡早起。", "短句。"];
  sequences = await Promise.all(
    texts.map(async (text, i) => {
      const tokenIds = (await tokenizer.encode(text)).getIds();
      return { id: `t${i}`, tokenIds, spans: [{ start: 1, end: tokenIds.length }], wantTokenLogprobs: false };
    }),
  );
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A running `sftscore serve` and what it printed. */
interface Served {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

async function serve(extra: string[] = [], host = "127.0.0.1"): Promise<Served> {
  const child = spawn(bin, ["serve", "--model", model, "--port", "0", "--threads", "1", "--cache-dir", path.join(dir, "cache"), ...extra]);
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = stdout.match(new RegExp(`^listening on ${host.replaceAll(".", "\\.")}:(\\d+) `, "m"));
      if (match) resolve(Number(match[1]));
    });
    void exit.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  return { child, port, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Sends `requests` on one Score stream (half-closing after) and collects until the status. */
function score(port: number, requests: { sequences: Sequence[] }[], onFirstResponse?: () => void) {
  const client = new ScoringServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise<{ answers: ScoreResponse[]; status: StatusObject }>((resolve) => {
    const call = client.score();
    const answers: ScoreResponse[] = [];
    let status: StatusObject | undefined;
    let ended = false;
    const settle = () => {
      if (status && (ended || status.code !== GrpcStatus.OK)) {
        client.close();
        resolve({ answers, status });
      }
    };
    call.on("data", (response: ScoreResponse) => {
      if (answers.push(response) === 1) onFirstResponse?.();
    });
    call.on("error", () => undefined);
    call.on("status", (received: StatusObject) => ((status = received), settle()));
    call.on("end", () => ((ended = true), settle()));
    for (const request of requests) call.write(request);
    call.end();
  });
}

describe("sftscore serve", () => {
  it("prints the real port for --port 0, scores over gRPC, serves metrics, and exits 0 on SIGTERM after finishing in-flight work", async () => {
    const served = await serve(["--metrics-port", "0"]);
    expect(served.stdout()).toMatch(/^listening on 127\.0\.0\.1:\d+ \(model tiny, device cpu, loss head scored-positions\)$/m);
    const metricsUrl = served.stdout().match(/^metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m)?.[1];
    expect(metricsUrl).toBeDefined();

    const first = await score(served.port, [{ sequences }]);
    expect(first.status.code).toBe(GrpcStatus.OK);
    const results = first.answers.flatMap((a) => a.results);
    expect(results.map((r) => r.id).sort()).toEqual(sequences.map((s) => s.id));
    for (const result of results) expect(result.spans[0].sumLogprob).toBeLessThan(0);
    const metrics = await (await fetch(metricsUrl ?? "")).text();
    expect(metrics).toMatch(/^sftscore_tokens_scored_total [1-9]\d*$/m);

    // SIGTERM while a stream is in flight: the stream still gets every answer and ends OK.
    // 60 sequences of 1,000 tokens: several batches, and more than the engine's queue holds at once.
    const tokens = sequences.flatMap((s) => s.tokenIds);
    const many = Array.from({ length: 60 }, (_, i) => ({
      id: `m${i}`,
      tokenIds: Array.from({ length: 1000 }, (_, t) => tokens[(t + i) % tokens.length]),
      spans: [{ start: 500, end: 1000 }],
      wantTokenLogprobs: false,
    }));
    const inFlight = await score(served.port, [{ sequences: many }], () => served.child.kill("SIGTERM"));
    expect(inFlight.status.code).toBe(GrpcStatus.OK);
    expect(inFlight.answers.flatMap((a) => a.results)).toHaveLength(60);
    expect(await served.exit).toBe(0);
    expect(served.stderr()).toMatch(/SIGTERM: finishing in-flight work/);
    expect(served.stderr()).toMatch(/stopped/);
  });

  it("warns that a non-loopback --host has neither TLS nor an auth token, says how to add them, and exits 0 on SIGINT", async () => {
    const served = await serve(["--host", "0.0.0.0"], "0.0.0.0");
    served.child.kill("SIGINT");
    expect(await served.exit).toBe(0);
    expect(served.stderr()).toMatch(/^warning: --host 0\.0\.0\.0 is not a loopback address: .*without TLS or an auth token; use --tls-cert\/--tls-key and set SFTSCORE_AUTH_TOKEN/m);
  });

  it("fails at start with exit 2 and an error line when the model directory does not exist", async () => {
    const failure = await run(bin, ["serve", "--model", path.join(dir, "missing"), "--port", "0"]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/^error: .*missing: no ONNX model found/m);
  });
});
