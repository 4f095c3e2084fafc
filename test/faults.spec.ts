/**
 * `sftscore score --engine` under faults, end to end: the installed bin against `sftscore serve`
 * engines on the tiny fixture model that a test kills -9, restarts, stalls (SIGSTOP) or takes away
 * for good, and the CLI itself killed mid-run. A run that completes, directly or through
 * `--resume`, must write the same bytes as an uninterrupted in-process run: nothing lost, nothing
 * scored twice. Build first: `npx nx run-many -t build`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildFixtureModel } from "@sftscore/engine";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SFTSCORE_BIN, killAll, runCli, startServe, type ServeProcess } from "./support/cli-process.js";

const SAMPLES = 300;
/**
 * Every run scores the same way. Windows of 25 samples make rows reach the file all along the run
 * (a window's rows are written when it is done), so a fault can strike with a third of them written.
 */
const SCORING = ["--task-field", "task", "--window-size", "25"];

let dir: string;
let model: string;
let data: string;
let env: NodeJS.ProcessEnv;
/** The uninterrupted in-process run's file: what every run must end with. */
let reference: string;
const engines: ServeProcess[] = [];
const runs: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-faults-"));
  env = { ...process.env, SFTSCORE_CACHE: path.join(dir, "cache") };
  model = (await buildFixtureModel({ preset: "tiny", out: path.join(dir, "tiny") })).dir;
  data = path.join(dir, "data.jsonl");
  await writeFile(data, generateSamples(SAMPLES));
  const out = path.join(dir, "reference.jsonl");
  const result = await runCli(["score", data, "--model", model, "--out", out, "--threads", "1", ...SCORING], { env });
  expect(result.code, result.stderr).toBe(0);
  reference = await readFile(out, "utf8");
  expect(rowIndices(reference)).toEqual(Array.from({ length: SAMPLES }, (_, i) => i));
});
afterEach(() => {
  // A stopped engine must be let go on before it can exit.
  const started = engines.splice(0);
  killAll(started, "SIGCONT");
  killAll(started);
  for (const child of runs.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sftscore score --engine under faults", () => {
  it("finishes with the uninterrupted run's rows when one of two engines is killed -9 with a third of the rows written", async () => {
    const [victim, survivor] = [await serve(), await serve()];
    const out = path.join(dir, "one-of-two-killed.jsonl");
    const scoring = startScore(["--engine", `${victim.address},${survivor.address}`, "--out", out]);
    const writtenAtKill = await waitForRows(out, SAMPLES / 3, scoring);
    victim.child.kill("SIGKILL");
    expect(await victim.exit).toBeNull();

    const { code, stderr } = await scoring.exit;
    expect(code, stderr).toBe(0);
    expect(writtenAtKill).toBeLessThan(SAMPLES);
    expect(stderr).toMatch(new RegExp(`done: ${SAMPLES} rows scored`));
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("waits for its only engine when it is killed -9 and restarted on the same port, then finishes with the same rows", async () => {
    const engine = await serve();
    const out = path.join(dir, "restarted.jsonl");
    const scoring = startScore(["--engine", engine.address, "--out", out]);
    await waitForRows(out, SAMPLES / 3, scoring);
    engine.child.kill("SIGKILL");
    await engine.exit;
    await sleep(2_000);
    const restarted = await serve(engine.port);
    expect(restarted.address).toBe(engine.address);

    const { code, stderr } = await scoring.exit;
    expect(code, stderr).toBe(0);
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("resends a stalled engine's work to the other engine once --engine-timeout passes without an answer", async () => {
    const [stalled, steady] = [await serve(), await serve()];
    const out = path.join(dir, "one-of-two-stalled.jsonl");
    const scoring = startScore(["--engine", `${stalled.address},${steady.address}`, "--engine-timeout", "2", "--out", out]);
    await waitForRows(out, SAMPLES / 3, scoring);
    stalled.child.kill("SIGSTOP");

    const { code, stderr } = await scoring.exit;
    expect(code, stderr).toBe(0);
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("fails like a lost engine when its only engine stalls past --engine-timeout for --engine-give-up, and resumes once it is back", async () => {
    const engine = await serve();
    const out = path.join(dir, "only-stalled.jsonl");
    const scoring = startScore(["--engine", engine.address, "--engine-timeout", "1", "--engine-give-up", "3", "--out", out]);
    await waitForRows(out, SAMPLES / 3, scoring);
    engine.child.kill("SIGSTOP");

    const { code, stderr } = await scoring.exit;
    expect(code, stderr).toBe(1);
    const written = expectResumableFailure(stderr, engine.address, out, "no answer for 1000 ms with \\d+ sequences outstanding \\(deadlineMs\\)");
    expect(rowIndices(await readFile(out, "utf8"))).toEqual(Array.from({ length: written }, (_, i) => i));

    engine.child.kill("SIGCONT");
    const resumed = await runCli(["score", data, "--engine", engine.address, "--out", out, "--resume", ...SCORING], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming: ${written} rows already in ${out}`);
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("exits 1 when its only engine is gone for good, saying what finished and how to resume; --resume on a new engine completes the file", async () => {
    const engine = await serve();
    const out = path.join(dir, "only-gone.jsonl");
    const scoring = startScore(["--engine", engine.address, "--engine-give-up", "5", "--out", out]);
    await waitForRows(out, SAMPLES / 3, scoring);
    engine.child.kill("SIGKILL");

    const { code, stderr } = await scoring.exit;
    expect(code, stderr).toBe(1);
    const written = expectResumableFailure(stderr, engine.address, out, "UNAVAILABLE: [^)]+");
    expect(Number(/over ([\d.]+) s/.exec(stderr)?.[1])).toBeGreaterThanOrEqual(5);
    // Only whole rows, in input order: the failed run wrote nothing it had not finished.
    const text = await readFile(out, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(rowIndices(text)).toEqual(Array.from({ length: written }, (_, i) => i));

    const fresh = await serve();
    const resumed = await runCli(["score", data, "--engine", fresh.address, "--out", out, "--resume", ...SCORING], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming: ${written} rows already in ${out}`);
    expect(await readFile(out, "utf8")).toBe(reference);
  });

  it("exits 1 after --engine-give-up when no engine answers at the start, naming the engine and the reason", async () => {
    const port = await closedPort();
    const result = await runCli(["score", data, "--engine", `127.0.0.1:${port}`, "--engine-give-up", "2", "--out", path.join(dir, "never.jsonl"), ...SCORING], { env });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^error: no engine answered GetModelInfo: 127\\.0\\.0\\.1:${port} given up \\(UNAVAILABLE: .*ECONNREFUSED`, "m"));
  });

  it("resumes a CLI killed -9 mid-run against engines, ending with the uninterrupted run's file", async () => {
    // test/score.spec.ts covers the in-process run; this one scores on engines over gRPC.
    const [a, b] = [await serve(), await serve()];
    const engineList = `${a.address},${b.address}`;
    const out = path.join(dir, "cli-killed.jsonl");
    const scoring = startScore(["--engine", engineList, "--out", out]);
    const writtenAtKill = await waitForRows(out, SAMPLES / 3, scoring);
    scoring.child.kill("SIGKILL");
    expect((await scoring.exit).signal).toBe("SIGKILL");
    const left = rowIndices(await readFile(out, "utf8"));
    expect(left.length).toBeGreaterThanOrEqual(writtenAtKill);
    expect(left.length).toBeLessThan(SAMPLES);

    const resumed = await runCli(["score", data, "--engine", engineList, "--out", out, "--resume", ...SCORING], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming: ${left.length} rows already in ${out}`);
    expect(await readFile(out, "utf8")).toBe(reference);
  });
});

/** A `sftscore serve` on the tiny model, on a free port or the one given; killed after the test. */
async function serve(port?: number): Promise<ServeProcess> {
  const served = await startServe({ model, cacheDir: path.join(dir, "engine-cache"), env, ...(port === undefined ? {} : { port }) });
  engines.push(served);
  return served;
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

/** A `sftscore score` run in the background, to act on while it runs. */
interface ScoreProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }>;
}

function startScore(args: readonly string[]): ScoreProcess {
  const child = spawn(SFTSCORE_BIN, ["score", data, ...args, ...SCORING], { env });
  runs.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exit };
}

/**
 * Waits until `file` holds at least `rows` whole rows and returns how many it holds; fails if the
 * run ends first (it was not mid-run).
 */
async function waitForRows(file: string, rows: number, run: ScoreProcess): Promise<number> {
  let ended = false;
  void run.exit.then(() => (ended = true));
  for (;;) {
    const text = await readFile(file, "utf8").catch(() => "");
    const whole = text.length - text.replaceAll("\n", "").length;
    if (whole >= rows) return whole;
    if (ended) throw new Error(`the run ended with ${whole} rows in ${file} before ${rows} were written:\n${(await run.exit).stderr}`);
    await sleep(25);
  }
}

/**
 * Checks the one-line error of a run whose only engine was given up: which engine, after how many
 * failures over how long and why, how many rows are in the file and how to finish; returns that
 * row count.
 */
function expectResumableFailure(stderr: string, address: string, out: string, reason: string): number {
  const errors = stderr.split("\n").filter((line) => line.startsWith("error: "));
  expect(errors, stderr).toHaveLength(1);
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(
    `^error: every engine failed: ${escape(address)} given up after \\d+ failures over [\\d.]+ s \\(${reason}\\); ` +
      `\\d+ sequences were scored, \\d+ were not.*; (\\d+) of ${SAMPLES} rows are in ${escape(out)}; rerun with --resume to score the rest$`,
  );
  const match = pattern.exec(errors[0]);
  expect(match, errors[0]).not.toBeNull();
  const written = Number(match?.[1]);
  expect(written).toBeGreaterThanOrEqual(SAMPLES / 3);
  expect(written).toBeLessThan(SAMPLES);
  return written;
}

/** The `index` of every row of a JSONL text, in file order. */
function rowIndices(text: string): number[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { index: number }).index);
}

/**
 * `count` Alpaca-style samples in 8 tasks (so every sample has one-shot partners), with outputs of
 * 20 to 49 words drawn from a seeded generator: the same file on every run.
 */
function generateSamples(count: number): string {
  const words = ["river", "light", "table", "garden", "number", "quiet", "market", "letter", "window", "summer", "engine", "paper", "cloud", "stone", "music", "bread", "travel", "forest", "silver", "school"];
  let state = 7;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const phrase = (length: number) => Array.from({ length }, () => words[Math.floor(next() * words.length)]).join(" ");
  const samples = Array.from({ length: count }, (_, i) => ({
    id: `s${i}`,
    task: `t${i % 8}`,
    instruction: `Write about ${phrase(3)}.`,
    input: i % 3 === 0 ? "" : phrase(8),
    output: phrase(20 + (i % 30)),
  }));
  return samples.map((sample) => JSON.stringify(sample)).join("\n") + "\n";
}
