/**
 * Scale-out (README, "Scaling out"): two `sftscore serve` engines, reached through nginx
 * (`grpc_pass` to an upstream group) or listed to the client directly (`--engine a,b`). Either way
 * the rows are the in-process run's, byte for byte, and each engine's own metrics show it scored.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel } from "@sftscore/engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, readMetric, runCli, startServe, type ServeProcess } from "./support/cli-process.js";
import { findNginx, startNginx, type RunningNginx } from "./support/nginx.js";

const example = path.join(import.meta.dirname, "..", "examples", "alpaca_mixed.json");
const TOKENS_SCORED = "sftscore_tokens_scored_total";

let dir: string;
let model: string;
/** ~240 samples: enough that several Score streams are busy at once. */
let data: string;
/** The in-process run's output, every remote run's expected file. */
let reference: string;
const engines: ServeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-scale-out-"));
  model = (await buildFixtureModel({ preset: "tiny", out: path.join(dir, "tiny") })).dir;
  const records = JSON.parse(await readFile(example, "utf8")) as Record<string, string>[];
  data = path.join(dir, "data.jsonl");
  const copies = Array.from({ length: 4 }, (_, copy) => records.map((r) => JSON.stringify({ ...r, id: `${r.id}-${copy}`, output: `${r.output} (${copy})` })));
  await writeFile(data, copies.flat().join("\n") + "\n");
  const cacheDir = path.join(dir, "cache");
  for (let i = 0; i < 2; i++) engines.push(await startServe({ model, cacheDir, extra: ["--metrics-port", "0"] }));
  reference = path.join(dir, "reference.jsonl");
  const inProcess = await runCli(["score", data, "--model", model, "--threads", "1", "--out", reference, "--task-field", "task"]);
  expect(inProcess.code, inProcess.stderr).toBe(0);
});
afterAll(async () => {
  killAll(engines, "SIGTERM");
  await Promise.all(engines.map((engine) => engine.exit));
  await rm(dir, { recursive: true, force: true });
});

/** Tokens each engine has scored so far, from its Prometheus endpoint. */
async function tokensScored(): Promise<number[]> {
  return Promise.all(
    engines.map((engine) => {
      if (engine.metricsUrl === undefined) throw new Error(`engine ${engine.address} printed no metrics URL:\n${engine.stdout()}`);
      return readMetric(engine.metricsUrl, TOKENS_SCORED);
    }),
  );
}

/**
 * Runs `sftscore score --engine <engine>` on the data and returns its output and the tokens each
 * engine scored during the run.
 */
async function scoreOn(engine: string, name: string): Promise<{ out: string; stderr: string; tokensPerEngine: number[] }> {
  const before = await tokensScored();
  const out = path.join(dir, `${name}.jsonl`);
  const result = await runCli(["score", data, "--engine", engine, "--out", out, "--task-field", "task"]);
  expect(result.code, result.stderr).toBe(0);
  const after = await tokensScored();
  return { out, stderr: result.stderr, tokensPerEngine: after.map((total, i) => total - before[i]) };
}

const nginxBin = findNginx();

describe.skipIf(nginxBin === undefined)(`two engines behind nginx${nginxBin === undefined ? " (skipped: no nginx on PATH or in /usr/sbin; CI installs it)" : ""}`, () => {
  let nginx: RunningNginx;
  beforeAll(async () => {
    nginx = await startNginx({ bin: nginxBin ?? "nginx", upstreams: engines.map((engine) => engine.address) });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it("gives the in-process rows byte for byte through nginx's address, and both engines score part of the run", async () => {
    const run = await scoreOn(nginx.address, "nginx");
    expect(run.stderr).toContain(`on ${nginx.address}`);
    expect(await readFile(run.out, "utf8")).toBe(await readFile(reference, "utf8"));
    for (const tokens of run.tokensPerEngine) expect(tokens).toBeGreaterThan(0);
    // nginx's own view: it spread the client's Score streams over both engines, and no call ended
    // in an nginx error (408 client timeout, 502 no engine, 504 engine timeout).
    const calls = await nginx.calls();
    expect(calls.filter((call) => call.status !== 200), nginx.config).toEqual([]);
    const streamEngines = new Set(calls.filter((call) => call.path === "/sftscore.v1.ScoringService/Score").flatMap((call) => call.upstreams));
    expect([...streamEngines].sort()).toEqual(engines.map((engine) => engine.address).sort());
    expect(await nginx.errorLog(), nginx.config).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });
});

describe("two engines listed to the client (client-side balancing)", () => {
  it("gives the in-process rows byte for byte with --engine a,b, and both engines score part of the run", async () => {
    const run = await scoreOn(engines.map((engine) => engine.address).join(","), "listed");
    expect(await readFile(run.out, "utf8")).toBe(await readFile(reference, "utf8"));
    for (const tokens of run.tokensPerEngine) expect(tokens).toBeGreaterThan(0);
  });

  // What `dns:///engines.ns.svc.cluster.local:50051` does with a Kubernetes headless service, without
  // a DNS name: one gRPC target whose resolver yields both addresses, spread by round_robin.
  it("gives the in-process rows byte for byte with one target resolving to both engines, and both engines score part of the run", async () => {
    const run = await scoreOn(`ipv4:${engines.map((engine) => engine.address).join(",")}`, "resolved");
    expect(await readFile(run.out, "utf8")).toBe(await readFile(reference, "utf8"));
    for (const tokens of run.tokensPerEngine) expect(tokens).toBeGreaterThan(0);
  });
});
