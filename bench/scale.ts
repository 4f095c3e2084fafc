/**
 * Scale section (issue 7 §3): the same `sftscore score` job on one engine, on two engines balanced by
 * the client (`--engine a,b`), and on the same two engines behind nginx; throughput ratios and
 * whether the three runs wrote identical rows. Each engine gets one intra-op thread, so two engines
 * use this machine's two cores and the ratio shows how well the work spreads, not how ONNX Runtime
 * scales threads. The model is `bench-small`: its 151,936-token LM head and 8 layers make the model
 * run dominate, as with real models; the tiny model would measure gRPC and tokenizing overhead.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FixturePreset } from "@sftscore/engine";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { describeFixtureModel, ensureFixtureModel } from "./fixture-models.js";
import { markdownTable } from "./markdown-table.js";
import { findNginx, startNginxProxy, type NginxProxy } from "./nginx-proxy.js";
import { finishedChildrenCpuSeconds, processCpuSeconds } from "./proc-status.js";
import { compareResultRows, type RowAgreement } from "./result-rows.js";
import { startServe, stopAll, type ServeProcess } from "./serve-process.js";
import { parseScoreSummary, runSftscoreOk } from "./sftscore-cli.js";
import { EXAMPLES_FILE, WORKSPACE_ROOT } from "./workspace.js";

/** Samples of the warm-up job each engine scores before the timed runs. */
const WARM_UP_SAMPLES = 12;
/** The issue's target for two engines on two cores. */
const TARGET_RATIO = 1.8;

/** One timed `sftscore score` run. */
export interface ScaleRun {
  readonly setup: string;
  readonly wallSeconds: number;
  readonly rows: number;
  readonly tokens: number;
  /** CPU seconds of the engine processes during the run ÷ (wall time × engines). */
  readonly engineBusy: number;
  /** CPU seconds of the `sftscore score` process itself, which shares the machine's cores with the engines. */
  readonly clientCpuSeconds: number;
  readonly outFile: string;
}

/** Options of {@link createScaleSection}; the defaults are the benchmark's. */
export interface ScaleOptions {
  /** Default `bench-small`. */
  readonly preset?: FixturePreset;
  /** A JSON array of Alpaca samples with a `task` field; default examples/alpaca_mixed.json. */
  readonly data?: string;
  /** Samples scored per timed run, from the start of `data`; default 40 (keeps `npm run bench` within 30 minutes). */
  readonly samples?: number;
}

/** The scale section; tests run it on the tiny model and a few samples. */
export function createScaleSection(options: ScaleOptions = {}): BenchSection {
  const preset = options.preset ?? "bench-small";
  const data = options.data ?? EXAMPLES_FILE;
  const samples = options.samples ?? 40;
  return { name: "scale", estimateSeconds: 170, run: (context) => runScale(context, preset, data, samples) };
}

export const scaleSection = createScaleSection();

async function runScale(context: BenchContext, preset: FixturePreset, source: string, samples: number): Promise<SectionResult> {
  const model = await ensureFixtureModel(context.modelCacheDir, preset);
  context.log(model.built ? `built ${model.dir} in ${model.buildSeconds.toFixed(1)} s` : `reusing ${model.dir}`);
  const serveArgs = ["--model", model.dir, "--threads", "1", "--cache-dir", path.join(context.modelCacheDir, "extended-models")];
  const engines: ServeProcess[] = [];
  let proxy: NginxProxy | undefined;
  try {
    // One at a time: the first builds the loss-head-extended model into the shared cache.
    for (let i = 0; i < 2; i++) engines.push(await startServe(serveArgs));
    const [a, b] = engines;
    context.log(`engines listening on ${a.address} and ${b.address}`);

    const warmUp = path.join(context.workDir, "scale-warm-up.json");
    const all = JSON.parse(await readFile(source, "utf8")) as unknown[];
    const data = path.join(context.workDir, "scale-data.json");
    await writeFile(data, JSON.stringify(all.slice(0, samples)));
    const warmUpSamples = all.slice(0, WARM_UP_SAMPLES);
    await writeFile(warmUp, JSON.stringify(warmUpSamples));
    await Promise.all(engines.map((engine, i) => runSftscoreOk(scoreArgs(warmUp, engine.address, path.join(context.workDir, `scale-warm-up-${i}.jsonl`)))));
    context.log(`warmed up both engines on ${warmUpSamples.length} samples each`);

    const runs: ScaleRun[] = [];
    const timed = async (setup: string, address: string, measured: readonly ServeProcess[]) => {
      context.log(`scoring on ${setup} …`);
      const run = await timedScore(context, data, { setup, address, engines: measured });
      context.log(`${setup}: ${run.wallSeconds.toFixed(1)} s, ${(run.rows / run.wallSeconds).toFixed(2)} samples/s`);
      runs.push(run);
    };
    await timed("1 engine", a.address, [a]);
    await timed("2 engines (client balancing)", `${a.address},${b.address}`, engines);
    const nginx = findNginx();
    let nginxNote = "";
    if (nginx === undefined) nginxNote = "nginx is not installed (not on PATH or in /usr/sbin), so the nginx run was skipped.";
    else {
      proxy = await startNginxProxy(nginx, path.join(context.workDir, "nginx"), engines.map((engine) => engine.address));
      nginxNote = `Proxy: ${await nginxVersion(nginx)}.`;
      await timed("2 engines (nginx)", proxy.address, engines);
    }
    const agreement = compareResultRows(await Promise.all(runs.map((run) => readFile(run.outFile, "utf8"))));
    return report(runs, agreement, { model: await describeFixtureModel(model), data: `the first ${Math.min(samples, all.length)} samples of ${displayPath(source)}`, nginxNote });
  } finally {
    await proxy?.stop();
    await stopAll(engines);
  }
}

/** A path relative to the workspace when it is inside it. */
function displayPath(file: string): string {
  const relative = path.relative(WORKSPACE_ROOT, file);
  return relative.startsWith("..") ? file : relative;
}

/** `sftscore score` with all metrics, task labels from the data's `task` field. */
function scoreArgs(data: string, engine: string, out: string): string[] {
  return ["score", data, "--engine", engine, "--task-field", "task", "--out", out, "--overwrite"];
}

/** Engines as one `--engine` address (a list, or a proxy in front of them), named for the report. */
export interface EngineSetup {
  readonly setup: string;
  readonly address: string;
  /** The engine processes behind `address`, whose CPU time is measured. */
  readonly engines: readonly ServeProcess[];
}

/** Scores `data` on `target` with the installed CLI, timed, writing into the work dir. */
export async function timedScore(context: BenchContext, data: string, target: EngineSetup): Promise<ScaleRun> {
  const { setup, address, engines } = target;
  const outFile = path.join(context.workDir, `scale-${setup.replaceAll(/\W+/g, "-")}.jsonl`);
  const cpuBefore = await Promise.all(engines.map((engine) => processCpuSeconds(engine.pid)));
  const clientBefore = await finishedChildrenCpuSeconds();
  const run = await runSftscoreOk(scoreArgs(data, address, outFile));
  const clientCpuSeconds = (await finishedChildrenCpuSeconds()) - clientBefore;
  const cpuAfter = await Promise.all(engines.map((engine) => processCpuSeconds(engine.pid)));
  const engineCpu = cpuAfter.reduce((sum, after, i) => sum + after - cpuBefore[i], 0);
  const summary = parseScoreSummary(run.stderr);
  return { setup, wallSeconds: run.wallSeconds, rows: summary.rows, tokens: summary.tokens, engineBusy: engineCpu / (run.wallSeconds * engines.length), clientCpuSeconds, outFile };
}

/** `nginx/1.22.1`, from the `nginx version: …` line nginx prints to stderr. */
function nginxVersion(bin: string): Promise<string> {
  return new Promise((resolve) => execFile(bin, ["-v"], (_error, stdout, stderr) => resolve(`${stdout}${stderr}`.replace("nginx version:", "").trim())));
}

function report(runs: readonly ScaleRun[], agreement: RowAgreement, notes: { model: string; data: string; nginxNote: string }): SectionResult {
  const [one, ...scaled] = runs;
  const rate = (run: ScaleRun) => run.rows / run.wallSeconds;
  const targets: TargetOutcome[] = scaled.map((run) => {
    const ratio = rate(run) / rate(one);
    return { description: `${run.setup} ÷ 1 engine, samples/s = ${ratio.toFixed(2)}× (target ≥ ${TARGET_RATIO}×)`, met: ratio >= TARGET_RATIO, required: false };
  });
  targets.push({
    description: `rows identical in the ${runs.length} runs (${agreement.differing} of ${agreement.rows} differ)`,
    met: agreement.differing === 0 && runs.every((run) => run.rows === agreement.rows),
    required: true,
  });
  const table = markdownTable(
    [{ header: "setup" }, { header: "wall (s)", numeric: true }, { header: "samples/s", numeric: true }, { header: "tokens/s", numeric: true }, { header: "vs 1 engine", numeric: true }, { header: "engine CPU busy", numeric: true }, { header: "client CPU (s)", numeric: true }],
    runs.map((run) => [run.setup, run.wallSeconds.toFixed(1), rate(run).toFixed(2), (run.tokens / run.wallSeconds).toFixed(0), `${(rate(run) / rate(one)).toFixed(2)}×`, `${(run.engineBusy * 100).toFixed(0)}%`, run.clientCpuSeconds.toFixed(1)]),
  );
  const markdown = `## Scale: one engine against two (\`bench/scale.ts\`)

- **Model:** ${notes.model}. Each engine is \`sftscore serve --threads 1\` (one ONNX Runtime intra-op thread) with default limits, so two engines fill two cores.
- **Job:** \`sftscore score DATA --engine … --task-field task\` on ${notes.data}: ${one.rows} samples, all five metrics (K = 3 one-shot partners), ${one.tokens.toLocaleString("en-US")} tokens scored per run. The client tokenizes, plans and composes in its own process.
- **Method:** both engines start, then each scores a warm-up job (the first ${WARM_UP_SAMPLES} samples) so that every timed run meets warm sessions. Then, one after the other: one engine; both engines listed in \`--engine a,b\` (the client sends each message to the engine with the fewest outstanding tokens, over 4 streams per engine); both behind nginx (\`grpc_pass\` round-robin per stream; the client opens 4 streams to it). Time is the wall time of the \`sftscore score\` process, start-up and writing included. "Engine CPU busy" = CPU seconds the engine processes used during the run ÷ (wall time × engines). "Client CPU" = CPU seconds of the \`sftscore score\` process (tokenizing, planning, composing, start-up): with one engine it has the second core to itself, with two it takes its share of the two cores from the engines. ${notes.nginxNote}

${table}

${agreement.differing === 0 ? `The ${runs.length} runs wrote identical rows (${agreement.rows} rows, compared byte for byte by index).` : `**The runs disagree:** ${agreement.differing} of ${agreement.rows} rows differ between them.`}

${markdownTable(
  [{ header: "target" }, { header: "met" }],
  targets.map((t) => [t.description, t.met ? "yes" : "**no**"]),
)}
`;
  return { markdown, targets };
}
