/** The whole-job section of BENCHMARKS.md, rendered from a {@link WholeJobResult}. */
import path from "node:path";
import { formatGiB } from "./machine-info.js";
import { markdownTable } from "./markdown-table.js";
import type { SeedWayRun } from "./seed-way.js";
import type { SftscoreRun, WholeJobResult } from "./whole-job.js";
import { WORKSPACE_ROOT } from "./workspace.js";

const fixed = (value: number, digits: number) => value.toFixed(digits);
const integer = (value: number) => Math.round(value).toLocaleString("en-US");
const giga = (flops: number) => (flops / 1e9).toFixed(1);
const percent = (share: number) => `${(100 * share).toFixed(0)}%`;
const CJK = /[\u4e00-\u9fff]/;

/** The section's Markdown, starting with its `##` heading. */
export function renderWholeJob(result: WholeJobResult): string {
  return [
    "## Whole job: sftscore against the seed's way, and against the compute floor (`bench/whole-job.ts`)",
    "",
    "Written by `npm run bench`; a rerun replaces this section.",
    "",
    setting(result),
    "",
    seedComparison(result),
    "",
    breakdown(result),
    "",
    floorComparison(result),
  ].join("\n");
}

function setting(result: WholeJobResult): string {
  const { samples, sftscore, seed, model } = result;
  const tasks = new Set(samples.map((s) => s.task)).size;
  const chinese = samples.filter((s) => CJK.test(s.instruction)).length;
  const noInput = samples.filter((s) => s.input === "").length;
  const data = path.relative(WORKSPACE_ROOT, result.dataFile);
  return [
    `- **Date:** ${result.startedAt.toISOString()}; the section took ${fixed(result.totalSeconds, 0)} s.`,
    `- **Machine:** ${result.machine}. 1-minute load average ${fixed(result.loadAverage, 2)} at the start. "Other CPU" in the tables: the share of all cores' time that other processes used during that run (\`/proc/stat\`); a run that shared its cores is slower for reasons that have nothing to do with it.`,
    `- **Model:** fixture preset \`${model.preset}\`, seed 0, random weights: Llama, hidden ${model.shape.hiddenSize}, ${model.shape.layers} layers, ${model.shape.kvHeads} KV heads, MLP ${model.shape.intermediateSize}, vocabulary ${integer(model.shape.vocabSize)}, float32, exported with a KV cache (\`past_key_values.*\` inputs, \`present.*\` outputs, as optimum's with-past exports; the seed way and the floor feed it an empty one); \`${path.relative(WORKSPACE_ROOT, model.dir)}\` (${model.built ? "built by this run" : "reused"}).`,
    `- **Data:** the first ${samples.length} samples of \`${data}\`: ${tasks} tasks, ${chinese} with a Chinese instruction and ${samples.length - chinese} with an English one, ${noInput} without input, short outputs.`,
    `- **Job:** all eight metrics, K = 3 one-shot partners from the sample's task, partner seed 0; 2 intra-op threads, CPU.`,
    peakRssLine(result),
    `- **sftscore:** \`createEngine\` + \`scoreSamples\` in this process (the code path of \`sftscore score\`), defaults: loss head at the scored positions, prefix sharing (256 MiB of KV cache), shared passes, dedup, token-budget batching (8192 tokens, ${integer(sftscore.limits.maxScoredTokens)} scored positions per run). Time: first sample to last row (tokenization, planning, scoring, composition). Model load apart: ${fixed(sftscore.loadSeconds, 1)} s (loss-head graph cached).`,
    `- **Seed way** (\`bench/seed-way.ts\`): a user's straightforward port of the seed: one sequence list per metric (prompt; prompt + response; output; reversed prompt + instruction; instruction; per (sample, partner) pair a zero-shot and a one-shot sequence), \`tokenizers\` with truncation, fixed batches of 5 in list order, right-padded, the same \`model.onnx\` returning the full \`[5, L, ${model.shape.vocabSize}]\` logits, copied out, log-softmax and loss in a JavaScript loop at the labelled positions, PPL = exp(mean loss). Partners: the ones sftscore drew (its rows' \`oneshot_partners\`), so both compute the same comparisons. Session creation apart: ${fixed(seed.loadSeconds, 1)} s.`,
  ].join("\n");
}

function peakRssLine(result: WholeJobResult): string {
  const peak = Math.max(...result.peakRss.map((entry) => entry.bytes));
  const reachedIn = result.peakRss.find((entry) => entry.bytes === peak)?.run ?? "—";
  return `- **Memory:** the section's process peaked at ${formatGiB(peak)} RSS, reached during ${reachedIn}.`;
}

function seedComparison(result: WholeJobResult): string {
  const { sftscore, seed, seedAgreement } = result;
  const speedup = seed.seconds / sftscore.seconds;
  const rows = [seedRow(seed, result.samples.length, result.seedOtherCpuShare), sftscoreRow("sftscore", sftscore)];
  return [
    "### End to end",
    "",
    markdownTable(
      [
        { header: "" },
        ...["samples/s", "tokens/s", "time (s)", "other CPU", "sequences", "tokens", "padded tokens", "scored positions", "batches", "shapes"].map((header) => ({ header, numeric: true })),
      ],
      rows,
    ),
    "",
    `**sftscore: ${fixed(speedup, 2)}× the seed way's samples/s** (target ≥ 10×). tokens/s counts each side's own real tokens, which differ; samples/s is the comparable figure. ` +
      `The seed way's ${fixed(seed.seconds, 1)} s: tokenization ${fixed(seed.tokenizeSeconds, 1)} s, \`session.run\` ${fixed(seed.sessionSeconds, 1)} s (the LM head at every padded position, logits copied out), log-softmax in JavaScript ${fixed(seed.lossSeconds, 1)} s.`,
    "",
    `Agreement, per metric, the largest over the samples of the relative difference of the log values: |ln a − ln b| / |ln a| for a perplexity (its log is the mean NLL); |ln a − ln b| / (|ln num| + |ln den|) for \`ifd\` and \`rifd\`, whose logs are differences of two mean NLLs (the most that relative errors of that size in both can move it); |a − b| for \`oneshot_validity\`, a mean of signs. Required ≤ ${result.tolerance}:`,
    "",
    markdownTable(
      Object.keys(seedAgreement.byMetric).map((header) => ({ header: `\`${header}\``, numeric: true })),
      [Object.values(seedAgreement.byMetric).map((value) => value.toExponential(1))],
    ),
  ].join("\n");
}

function seedRow(seed: SeedWayRun, samples: number, otherCpuShare: number): string[] {
  return [
    "seed way",
    fixed(samples / seed.seconds, 2),
    integer(seed.realTokens / seed.seconds),
    fixed(seed.seconds, 1),
    percent(otherCpuShare),
    integer(seed.sequences),
    integer(seed.realTokens),
    integer(seed.paddedTokens),
    integer(seed.scoredTokens),
    integer(seed.batches),
    integer(seed.shapes),
  ];
}

function sftscoreRow(label: string, run: SftscoreRun): string[] {
  const { stats } = run;
  return [
    label,
    fixed(run.samples / run.seconds, 2),
    integer(stats.realTokens / run.seconds),
    fixed(run.seconds, 1),
    percent(run.otherCpuShare),
    integer(stats.sequences),
    integer(stats.realTokens),
    integer(stats.paddedTokens),
    integer(stats.scoredTokens),
    integer(stats.batches),
    integer(stats.shapes),
  ];
}

function breakdown(result: WholeJobResult): string {
  const base = result.ablationBase;
  const subset = base.samples === result.samples.length ? `the same ${base.samples} samples` : `**a subset: the first ${base.samples} samples** (to keep the section's time in budget; its own all-on run is the reference)`;
  const row = (run: SftscoreRun, difference: string) => [
    run === base ? "all on" : run.name,
    fixed(run.seconds, 1),
    fixed(run.samples / run.seconds, 2),
    `${fixed(run.seconds / base.seconds, 2)}×`,
    percent(run.otherCpuShare),
    integer(run.stats.sequences),
    integer(run.stats.realTokens),
    integer(run.stats.scoredTokens),
    fixed(run.stats.paddedTokens / run.stats.realTokens, 3),
    integer(run.stats.batches),
    integer(run.stats.shapes),
    difference,
  ];
  return [
    "### What each optimisation gives",
    "",
    `sftscore with one optimisation turned off at a time, each with a fresh engine, on ${subset}. Prefix sharing off: every sequence runs from its first token (\`EngineOptions.prefixCacheBytes: 0\`). Shared passes off: \`prompt_ppl\` gets its own \`enc(P0)\` and the one-shot comparisons their own zero-shot sequences (deduplicated among themselves), as in the seed's lists (\`ScoreOptions.sharing.sharedPasses\`). Dedup off: identical sequences of different samples or comparisons are scored again (\`sharing.dedup\`). Loss head off: the full \`[rows, L, vocab]\` logits are computed inside the graph and the scored rows gathered from them (\`EngineOptions.forceFullLogits\`). Token-budget batching off: batches of the 5 oldest queued sequences in arrival order, padded to the longest one's length bucket (\`EngineOptions.batching: { fixedBatchSize: 5 }\`). "Slowdown" is the time over the all-on run's; the last column is the agreement with the all-on run's values (same measure as above).`,
    "",
    markdownTable(
      [
        { header: "configuration" },
        ...["time (s)", "samples/s", "slowdown", "other CPU", "sequences", "tokens", "scored positions", "padded / real", "batches", "shapes", "max difference"].map((header) => ({ header, numeric: true })),
      ],
      [row(base, "—"), ...result.ablations.map(({ run, agreement }) => row(run, agreement.max.toExponential(1)))],
    ),
  ].join("\n");
}

function floorComparison(result: WholeJobResult): string {
  const { floorWork: work, floor, sftscore } = result;
  const stats = sftscore.stats;
  const flops = work.bodyFlops + work.headFlops;
  const floorSession = floor.bodySeconds + floor.headSeconds;
  const sumCheck = Math.abs(floor.sumLogprob - sftscore.sumLogprob) / Math.abs(sftscore.sumLogprob);
  const ran = stats.realTokens;
  const distinctFloor = floor.bodySeconds * (work.distinctPrefixBodyFlops / work.bodyFlops) + floor.headSeconds * (work.distinctHeadFlops / work.headFlops);
  return [
    "### Against the compute floor",
    "",
    `The work no implementation can avoid, counted from the ${integer(work.sequences)} distinct sequences sftscore sent: the model body over ${integer(work.bodyPositions)} positions (each sequence up to its last scored position; ${giga(work.bodyFlops)} GFLOP with attention) and the LM head over ${integer(work.scoredPositions)} scored positions (${giga(work.headFlops)} GFLOP): ${giga(flops)} GFLOP in all. ` +
      `The floor runs exactly that in this process: a graph cut from \`model.onnx\` (onnx-proto) that outputs the final hidden states, each sequence from its first token (an empty KV cache), batched by the engine's own planner under the engine's limits (${integer(floor.batches)} runs, ${integer(floor.paddedTokens)} padded tokens), the scored rows gathered in JavaScript, and a second graph (LM head MatMul → LogSoftmax → label gather) on those rows; one cold pass like sftscore's, intra-op spinning off in its two sessions. ` +
      `Its Σ log p over every span differs from sftscore's by ${sumCheck.toExponential(1)} (relative).`,
    "",
    markdownTable(
      [{ header: "" }, ...["time (s)", "other CPU", "in session runs (s)", "GFLOP/s of the floor's work"].map((header) => ({ header, numeric: true }))],
      [
        [
          "compute floor",
          fixed(floor.seconds, 1),
          percent(result.floorOtherCpuShare),
          `${fixed(floorSession, 1)} (body ${fixed(floor.bodySeconds, 1)}, head ${fixed(floor.headSeconds, 1)})`,
          fixed(flops / 1e9 / floor.seconds, 1),
        ],
        ["sftscore", fixed(sftscore.seconds, 1), percent(sftscore.otherCpuShare), fixed(stats.runSeconds, 1), fixed(flops / 1e9 / sftscore.seconds, 1)],
      ],
    ),
    "",
    `**sftscore's time over the floor's: ${fixed(sftscore.seconds / floor.seconds, 2)}×** (target ≤ 1.2×); in session runs alone ${fixed(stats.runSeconds / floorSession, 2)}×. ` +
      `sftscore can go below this floor because it computes shared prefixes once: its body ran ${integer(ran)} tokens (${integer(stats.prefixTokens)} of them in ${integer(stats.prefixRuns)} prefix runs) where the floor runs ${integer(work.bodyPositions)} positions, and ${integer(stats.reusedTokens)} tokens came from stored prefixes. ` +
      `Padding: ${integer(stats.paddedTokens)} padded tokens for ${integer(ran)} real ones (padded / real = ${fixed(stats.paddedTokens / ran, 3)}); ${integer(stats.shapes)} distinct \`[rows, padded length]\` shapes (with their past lengths) in ${integer(stats.batches)} runs.`,
    "",
    `A lower floor counts every distinct prefix once: the body positions have ${integer(work.distinctPrefixPositions)} distinct prefixes (${fixed((100 * work.distinctPrefixPositions) / work.bodyPositions, 0)}% of them; template preambles and one-shot examples repeat), ${giga(work.distinctPrefixBodyFlops)} GFLOP of body, and the scored positions ${integer(work.distinctScoredPositions)} distinct ones (a log-probability depends on its context and label only; the preamble is scored for prompt perplexity in every sample), ${giga(work.distinctHeadFlops)} GFLOP of head. At the floor's measured body and head rates that is ${fixed(distinctFloor, 1)} s (estimated, not timed): **sftscore ${fixed(sftscore.seconds / distinctFloor, 2)}× that floor**; it scored ${integer(stats.scoredTokens)} positions. sftscore shares a prefix only where the tokens and scores it saves pay for its run, and a sequence that scores the position right after its prefix runs the prefix's last token again.`,
  ].join("\n");
}
