import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel, createEngine, startServer, type RunningServer } from "@sftscore/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../main.js";
import type { InfoCommandOptions } from "./command.js";
import type { InfoReport } from "./info-report.js";
import { run } from "./run.js";
import { sink } from "../../test-support/capture-output.js";

const temps: string[] = [];
const servers: RunningServer[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => server.close({ timeoutMs: 5_000 })));
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-info-"));
  temps.push(dir);
  return dir;
}

function options(extra: Partial<InfoCommandOptions>): InfoCommandOptions {
  return { device: "cpu", throughput: true, json: false, timeoutMs: 10_000, "timeout-ms": 10_000, _: [], $0: "sftscore", ...extra } as InfoCommandOptions;
}

const HEX64 = /^[0-9a-f]{64}$/;

describe("sftscore info --model", () => {
  it("describes the demo model as JSON, with a measured throughput labelled as such", async () => {
    const [stdout, stderr] = [sink(), sink()];
    const env = { SFTSCORE_CACHE: await tempDir() };
    expect(await run(options({ model: "demo", json: true, threads: 1 }), { env, stdout: stdout.stream, stderr: stderr.stream })).toBe(0);
    const report = JSON.parse(stdout.text()) as InfoReport;
    expect(report).toMatchObject({
      source: "model",
      path: path.join(env.SFTSCORE_CACHE, "models", "demo-tiny-seed0-v2"),
      engine: null,
      modelId: "demo-tiny-seed0-v2",
      vocabSize: expect.any(Number),
      maxLength: expect.any(Number),
      dtype: "float32",
      device: "cpu",
      lossHead: "scored-positions",
      lossHeadReason: null,
      limits: { threads: 1, workers: 1, maxSequencesPerMessage: null, maxMessageBytes: null },
      throughput: { measured: true, note: expect.stringMatching(/measured in process on synthetic tokens/) },
    });
    expect(report.contentHash).toMatch(HEX64);
    expect(report.tokenizerHash).toMatch(HEX64);
    expect(report.limits.maxTokensPerSequence).toBe(report.maxLength);
    expect(report.limits.maxBatchTokens).toBeGreaterThanOrEqual(report.maxLength);
    if (!report.throughput.measured) throw new Error("expected a measurement");
    expect(report.throughput.tokensPerSecond).toBeGreaterThan(0);
    expect(report.throughput.runs).toBeGreaterThanOrEqual(1);
    expect(report.throughput.sequences * report.throughput.sequenceLength).toBeLessThanOrEqual(2048);
    expect(stderr.text()).toMatch(/random weights/);
  });

  it("prints aligned text, and skips the measurement with --no-throughput", async () => {
    const stdout = sink();
    const model = await tempDir();
    await buildFixtureModel({ preset: "tiny", out: model });
    const env = { SFTSCORE_CACHE: await tempDir() };
    expect(await run(options({ model, throughput: false, threads: 1 }), { env, stdout: stdout.stream, stderr: sink().stream })).toBe(0);
    const text = stdout.text();
    expect(text).toMatch(new RegExp(`^model {11}${path.basename(model)} \\(${model}\\)\n`));
    for (const label of ["content hash", "vocab size", "max length", "dtype", "device", "loss head", "tokenizer hash", "limits"]) expect(text).toMatch(new RegExp(`^${label} +\\S`, "m"));
    expect(text).toMatch(/^limits +max tokens per sequence [\d,]+ · max batch tokens [\d,]+ · max scored tokens [\d,]+ · 1 thread × 1 worker$/m);
    expect(text).toMatch(/^throughput +not measured \(--no-throughput\)$/m);
  });
});

describe("sftscore info --engine", () => {
  it("asks a running engine over gRPC and reports what it serves", async () => {
    const model = await tempDir();
    await buildFixtureModel({ preset: "tiny", out: model });
    const engine = await createEngine({ model, threads: 1, cacheDir: await tempDir() });
    const expected = await engine.info();
    const server = await startServer({ engine, port: 0, log: () => undefined });
    servers.push(server);

    const stdout = sink();
    expect(await run(options({ engine: `127.0.0.1:${server.port}`, json: true }), { stdout: stdout.stream })).toBe(0);
    const report = JSON.parse(stdout.text()) as InfoReport;
    expect(report).toEqual({
      source: "engine",
      path: null,
      engine: `127.0.0.1:${server.port}`,
      modelId: expected.modelId,
      contentHash: expected.contentHash,
      vocabSize: expected.vocabSize,
      maxLength: expected.maxLength,
      dtype: expected.dtype,
      device: "cpu",
      lossHead: "scored-positions",
      lossHeadReason: null,
      tokenizerHash: expected.tokenizerHash,
      limits: {
        maxTokensPerSequence: expected.maxLength,
        maxBatchTokens: expected.maxBatchTokens,
        maxScoredTokens: null,
        maxSequencesPerMessage: 1024,
        maxMessageBytes: 16 * 1024 * 1024,
        threads: null,
        workers: null,
      },
      throughput: { measured: false, note: expect.stringMatching(/not measured for a remote engine; keep about [\d,]+ tokens in flight per engine/) },
    });

    const text = sink();
    expect(await run(options({ engine: `127.0.0.1:${server.port}` }), { stdout: text.stream })).toBe(0);
    expect(text.text()).toMatch(new RegExp(`^engine +127\\.0\\.0\\.1:${server.port}\nmodel +${expected.modelId}\n`));
  });

  it("says plainly when no engine answers", async () => {
    await expect(run(options({ engine: "127.0.0.1:9", timeoutMs: 3_000 }), { stdout: sink().stream })).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringMatching(/cannot reach an engine at 127\.0\.0\.1:9 .*is `sftscore serve` running there/),
    });
  });

  it("needs exactly one of --model and --engine, and a host:port (exit code 2)", async () => {
    let stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    expect(await main(["info"])).toBe(2);
    expect(stderr).toMatch(/give --model <dir\|demo\|hub-id> to load a model here, or --engine host:port/);
    expect(await main(["info", "--model", "demo", "--engine", "127.0.0.1:1"])).toBe(2);
    expect(stderr).toMatch(/mutually exclusive/);
    expect(await main(["info", "--engine", "localhost"])).toBe(2);
    expect(stderr).toMatch(/--engine: engine address "localhost" is not host:port/);
  });
});
