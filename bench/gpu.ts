/**
 * GPU section (issue 7 §4). On `--device cuda` it measures the engine on the GPU: tokens/s with the
 * scored-positions loss head against the same engine computing full logits, batch fill, peak GPU
 * memory (nvidia-smi), and `sftscore score` on one GPU against two (one engine per GPU). On the CPU
 * it writes what to measure and how, with the table left empty: onnxruntime-node's CUDA binaries
 * cannot be installed on the machines this project is developed on, so these figures wait for the
 * first user with a GPU.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createEngine } from "@sftscore/engine";
import type { SequenceRequest } from "@sftscore/metrics";
import type { BenchContext, BenchSection, SectionResult, TargetOutcome } from "./bench-section.js";
import { loadExampleSequences, tokensOf } from "./example-sequences.js";
import { ensureFixtureModel } from "./fixture-models.js";
import { markdownTable } from "./markdown-table.js";
import { compareResultRows } from "./result-rows.js";
import { timedScore, type ScaleRun } from "./scale.js";
import { startServe, stopAll, type ServeProcess } from "./serve-process.js";
import { streamOf } from "./stream-of.js";
import { writeSyntheticJsonl } from "./synthetic-dataset.js";

const PRESET = "bench-small";
/** Copies of the example sequences per pass: a GPU scores one copy (8.5k tokens) in well under a second. */
const COPIES = 20;
const WARM_PASSES = 3;
/** Rows of the generated dataset for the 1 vs 2 GPU job, enough for its start-up to be a small part. */
const JOB_ROWS = 2000;
const TARGET_RATIO = 1.8;
const MEMORY_SAMPLE_MS = 250;

/** What a CUDA run measured; every field is filled in the table that the CPU run leaves empty. */
interface GpuFigures {
  readonly gpuName: string;
  readonly engine: HeadRun;
  readonly fullLogits: HeadRun;
  /** Absent with fewer than two GPUs. */
  readonly scaling?: { readonly one: ScaleRun; readonly two: ScaleRun; readonly identicalRows: boolean };
}

/** The engine on one GPU with one loss head. */
interface HeadRun {
  readonly tokensPerSecond: number;
  readonly fill: number;
  /** nvidia-smi `memory.used` peak during the passes minus before the engine loaded, in MiB. */
  readonly peakMemoryMiB: number;
}

export const gpuSection: BenchSection = {
  name: "gpu",
  // On the CPU it only writes the plan; on CUDA it takes a few minutes.
  estimateSeconds: 5,
  devices: ["cpu", "cuda"],
  async run(context: BenchContext): Promise<SectionResult> {
    if (context.device === "cpu") return { markdown: renderGpuSection(undefined), targets: [] };
    const figures = await measureGpu(context);
    const targets: TargetOutcome[] = [];
    if (figures.scaling) {
      const ratio = rate(figures.scaling.two) / rate(figures.scaling.one);
      targets.push({ description: `2 GPUs ÷ 1 GPU, samples/s = ${ratio.toFixed(2)}× (target ≥ ${TARGET_RATIO}×)`, met: ratio >= TARGET_RATIO, required: false });
      targets.push({ description: "rows identical on 1 and 2 GPUs", met: figures.scaling.identicalRows, required: true });
    }
    return { markdown: renderGpuSection(figures), targets };
  },
};

async function measureGpu(context: BenchContext): Promise<GpuFigures> {
  const model = await ensureFixtureModel(context.modelCacheDir, PRESET);
  const base = await loadExampleSequences(model.dir);
  const requests = Array.from({ length: COPIES }, (_, copy) => base.map((request) => ({ ...request, id: `${request.id}#${copy}` }))).flat();
  const cacheDir = path.join(context.modelCacheDir, "extended-models");
  const gpuName = (await nvidiaSmi(["--query-gpu=name", "--format=csv,noheader", "-i", "0"])).trim();
  context.log(`GPU 0: ${gpuName}; engine on ${tokensOf(requests)} tokens per pass`);
  const engine = await measureHead(model.dir, cacheDir, requests, false);
  context.log(`scored-positions head: ${engine.tokensPerSecond.toFixed(0)} tokens/s`);
  const fullLogits = await measureHead(model.dir, cacheDir, requests, true);
  context.log(`full logits: ${fullLogits.tokensPerSecond.toFixed(0)} tokens/s`);
  const gpus = (await nvidiaSmi(["--list-gpus"])).split("\n").filter((line) => line.trim() !== "").length;
  if (gpus < 2) return { gpuName, engine, fullLogits };

  const data = path.join(context.workDir, "gpu-job.jsonl");
  await writeSyntheticJsonl(data, JOB_ROWS, 0);
  const engines: ServeProcess[] = [];
  try {
    for (const gpu of ["0", "1"]) {
      engines.push(await startServe(["--model", model.dir, "--device", "cuda", "--cache-dir", cacheDir], { ...process.env, CUDA_VISIBLE_DEVICES: gpu }));
    }
    const one = await timedScore(context, data, { setup: "1 GPU", address: engines[0].address, engines: [engines[0]] });
    const two = await timedScore(context, data, { setup: "2 GPUs", address: engines.map((e) => e.address).join(","), engines });
    const agreement = compareResultRows(await Promise.all([one, two].map((run) => readFile(run.outFile, "utf8"))));
    return { gpuName, engine, fullLogits, scaling: { one, two, identicalRows: agreement.differing === 0 } };
  } finally {
    await stopAll(engines);
  }
}

/** One cold pass, then the fastest of {@link WARM_PASSES} warm passes, with GPU memory sampled throughout. */
async function measureHead(model: string, cacheDir: string, requests: readonly SequenceRequest[], forceFullLogits: boolean): Promise<HeadRun> {
  const before = await gpuMemoryUsedMiB();
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await gpuMemoryUsedMiB());
      await new Promise((resolve) => setTimeout(resolve, MEMORY_SAMPLE_MS));
    }
  })();
  try {
    const engine = await createEngine({ model, device: "cuda", cacheDir, forceFullLogits });
    try {
      let best = Number.POSITIVE_INFINITY;
      for (let pass = 0; pass <= WARM_PASSES; pass++) {
        const started = performance.now();
        for await (const score of engine.score(streamOf(requests))) void score;
        if (pass > 0) best = Math.min(best, (performance.now() - started) / 1000);
      }
      const stats = engine.stats();
      return { tokensPerSecond: tokensOf(requests) / best, fill: stats.realTokens / stats.paddedTokens, peakMemoryMiB: peak - before };
    } finally {
      await engine.close();
    }
  } finally {
    sampling = false;
    await sampler;
  }
}

/** `memory.used` of GPU 0 in MiB. */
async function gpuMemoryUsedMiB(): Promise<number> {
  return Number((await nvidiaSmi(["--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"])).trim());
}

function nvidiaSmi(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("nvidia-smi", args, (error, stdout, stderr) => (error ? reject(new Error(`nvidia-smi ${args.join(" ")}: ${stderr || error.message}`)) : resolve(stdout)));
  });
}

function rate(run: ScaleRun): number {
  return run.rows / run.wallSeconds;
}

/** The section; with `figures` undefined, the plan and an empty table. */
function renderGpuSection(figures: GpuFigures | undefined): string {
  const value = (render: (f: GpuFigures) => string | undefined) => (figures === undefined ? "" : (render(figures) ?? "one GPU only"));
  const table = markdownTable(
    [{ header: "figure" }, { header: "value", numeric: true }],
    [
      ["engine tokens/s, scored-positions loss head", value((f) => f.engine.tokensPerSecond.toFixed(0))],
      ["engine tokens/s, full logits (`forceFullLogits`)", value((f) => f.fullLogits.tokensPerSecond.toFixed(0))],
      ["loss head speed-up", value((f) => `${(f.engine.tokensPerSecond / f.fullLogits.tokensPerSecond).toFixed(2)}×`)],
      ["batch fill (real ÷ padded tokens)", value((f) => f.engine.fill.toFixed(3))],
      ["peak GPU memory, scored-positions / full logits", value((f) => `${f.engine.peakMemoryMiB} / ${f.fullLogits.peakMemoryMiB} MiB`)],
      ["`sftscore score` samples/s, 1 GPU", value((f) => f.scaling && rate(f.scaling.one).toFixed(1))],
      ["`sftscore score` samples/s, 2 GPUs (one engine each)", value((f) => f.scaling && `${rate(f.scaling.two).toFixed(1)} (${(rate(f.scaling.two) / rate(f.scaling.one)).toFixed(2)}×)`)],
      ["rows identical on 1 and 2 GPUs", value((f) => f.scaling && (f.scaling.identicalRows ? "yes" : "**no**"))],
    ],
  );
  const status =
    figures === undefined
      ? `Not measured yet: the machines this project is developed on have no GPU, and onnxruntime-node's CUDA binaries cannot be installed there. The engine never falls back from \`--device cuda\` to the CPU, so these figures need a GPU host. On one with an NVIDIA GPU, CUDA 12 and cuDNN 9:

\`\`\`bash
ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci
npm run bench -- --device cuda            # or: npm run bench -- --device cuda --only gpu
\`\`\`

With \`--device cuda\`, \`npm run bench\` first creates an engine on the GPU and scores one sequence; when that fails it exits 2 at once, saying what is missing (the CUDA provider library, or a CUDA/cuDNN runtime) and how to install it. It then runs the sections that measure on CUDA (this one) and fills in the table below. The measuring code has not yet run on a GPU, so expect to fix small things on that first run.`
      : `Measured on ${figures.gpuName}.`;
  return `## GPU (\`bench/gpu.ts\`)

${status}

What is measured, and why:

- **Engine tokens/s against full logits**, on \`${PRESET}\` (vocabulary 151,936), the example sequences (examples/alpaca_mixed.json) ${COPIES} times per pass, fastest of ${WARM_PASSES} warm passes after a cold one: the engine's loss head computes log-softmax only at the scored positions and returns sums, where full logits are \`[batch, length, 151936]\` floats computed everywhere and copied off the GPU. The same engine with \`forceFullLogits: true\` is the baseline.
- **Batch fill**: real ÷ padded tokens of the engine's batches; on a GPU padding costs as much as real tokens.
- **Peak GPU memory**: \`nvidia-smi\` \`memory.used\` of GPU 0, sampled every ${MEMORY_SAMPLE_MS} ms during the passes, minus its value before the engine loaded.
- **1 GPU against 2**: one \`sftscore serve --device cuda\` per GPU (\`CUDA_VISIBLE_DEVICES\`), \`sftscore score\` on ${JOB_ROWS.toLocaleString("en-US")} generated rows (bench/synthetic-dataset.ts) against one engine and against both (\`--engine a,b\`); samples/s, the ratio (target ≥ ${TARGET_RATIO}×), and whether the rows are identical (required). Skipped on a host with one GPU.
- Not yet here: the whole-job ratio against the seed's way (bench/whole-job.ts), which measures on the CPU.

${table}
`;
}
