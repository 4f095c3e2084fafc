/**
 * The engine benchmark's two renderings of its figures: a table for the terminal and the `engine`
 * section of BENCHMARKS.md.
 */
import type { BenchData } from "./bench-data.js";
import type { BenchModel } from "./bench-model.js";
import type { ChurnRound, ContenderName } from "./contender-protocol.js";
import { formatGiB, median, partsText, percent, type Summary } from "./engine-figures.js";

/** Above this share of the cores used by other processes during a pass, its time is flagged. */
const CONTENTION_WARNING = 0.1;

/** What the renderers need besides the figures. */
export interface ReportContext {
  readonly startedAt: Date;
  readonly totalSeconds: number;
  /** 1-minute load average before the benchmark started anything. */
  readonly loadAtStart: number;
  readonly onnxruntime: string;
  readonly preset: string;
  readonly seed: number;
  readonly model: BenchModel;
  readonly data: BenchData;
  readonly copies: number;
  readonly warmPasses: number;
  readonly fullLogitsWarmPasses: number;
  readonly maxExtraPasses: { readonly light: number; readonly heavy: number };
  readonly churn: { readonly rounds: number; readonly groupSize: number };
  readonly threads: number;
}

export function renderConsole(summary: Summary, context: ReportContext): string {
  const header = ["contender", "tok/s", "cold tok/s", "session s", "pass s", "other CPU", "padded", "fill", "peak RSS", "mean NLL"];
  const rows = [...summary.figures.values()].map((f) => [
    f.label,
    f.tokensPerSecond.toFixed(0),
    f.coldTokensPerSecond.toFixed(0),
    f.best.sessionSeconds.toFixed(2),
    f.best.seconds.toFixed(2),
    percent(f.best.otherCpuShare),
    String(f.best.paddedTokens),
    f.fill.toFixed(3),
    formatGiB(f.run.result.maxRssBytes),
    f.meanNll.toFixed(6),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  return [
    "",
    `engine benchmark: ${context.preset}, ${context.data.tokens * context.copies} tokens per pass, ${context.threads} threads, ${context.totalSeconds.toFixed(0)} s`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    ...summary.targets.map((t) => `${t.met ? "met   " : "MISSED"} ${t.figure}: ${t.value} (target ${t.target})${t.met ? "" : `: ${t.why}`}`),
    ...summary.shapeProbe.map((p) => `new shape ${p.rows}×${p.paddedLength}: first run ${p.firstSeconds.toFixed(3)} s, later ${median(p.laterSeconds).toFixed(3)} s`),
    ...churnRows(summary).map(([name, rounds]) => `churn, ${name}: ${rounds.map((r, i) => `round ${i + 1} ${(r.realTokens / r.seconds).toFixed(0)} tok/s, ${r.newShapes} new shapes`).join("; ")}`),
    ...(["js-log-softmax", "floor"] as const).flatMap((name) => {
      const x = summary.figures.get(name);
      return x ? [`time split, ${x.label}: ${partsText(x)}`] : [];
    }),
    `contenders agree: max |Δ mean NLL| = ${summary.maxNllDifference.toExponential(2)} nats/token; other processes used up to ${percent(summary.maxOtherCpuShare)} of the CPU during the passes reported, ${percent(summary.maxChurnOtherCpuShare)} during churn rounds`,
    "",
  ].join("\n");
}

export function renderMarkdown(summary: Summary, context: ReportContext): string {
  const { data, model } = context;
  const a = summary.figures.get("engine");
  const full = summary.figures.get("engine-full-logits");
  const partsOf = (name: ContenderName) => {
    const x = summary.figures.get(name);
    return x ? partsText(x) : "—";
  };
  const limits = a?.run.result.engine?.limits;
  const missed = summary.targets.filter((t) => !t.met);
  const table = [...summary.figures.values()].map(
    (x) =>
      `| ${x.label} | **${x.tokensPerSecond.toFixed(0)}** | ${x.coldTokensPerSecond.toFixed(0)} | ${x.best.sessionSeconds.toFixed(2)} / ${x.best.seconds.toFixed(2)} | ` +
      `${percent(x.best.otherCpuShare)} | ${x.best.batches} | ${x.best.paddedTokens} | ${x.fill.toFixed(3)} | ${formatGiB(x.run.result.maxRssBytes)} | ${x.meanNll.toFixed(6)} |`,
  );
  const probe = summary.shapeProbe.map((p) => {
    const later = median(p.laterSeconds);
    return `| ${p.rows} × ${p.paddedLength} | ${p.firstSeconds.toFixed(3)} | ${later.toFixed(3)} | ${(p.firstSeconds / later).toFixed(2)}× |`;
  });
  const churn = churnRows(summary).map(
    ([name, rounds]) =>
      `| ${name} | ${rounds.map((r) => `${(r.realTokens / r.seconds).toFixed(0)} (${r.newShapes} new of ${r.batches}; other CPU ${percent(r.otherCpuShare)})`).join(" | ")} |`,
  );
  const contention = [
    summary.maxOtherCpuShare > CONTENTION_WARNING
      ? `**Measured under load:** other processes used up to ${percent(summary.maxOtherCpuShare)} of the cores during the passes reported (column "other CPU"); those times are slower than on a quiet machine, and ratios between passes under different load are skewed.`
      : `Quiet during the passes reported: other processes used at most ${percent(summary.maxOtherCpuShare)} of the cores.`,
    summary.maxChurnOtherCpuShare > CONTENTION_WARNING ? `During the shape-churn rounds they used up to ${percent(summary.maxChurnOtherCpuShare)} (per round below).` : "",
  ]
    .filter((sentence) => sentence !== "")
    .join(" ");
  return `
## Engine: scoring throughput on CPU (\`packages/engine/bench/engine-bench.ts\`)

Written by \`npm run bench\`; a rerun replaces this section.

- **Date:** ${context.startedAt.toISOString()}; the benchmark took ${context.totalSeconds.toFixed(0)} s.
- **Runtime:** onnxruntime-node ${context.onnxruntime}, CPU execution provider, on the machine the summary at the top names for this section. Shared with other work: 1-minute load average ${context.loadAtStart.toFixed(2)} before the start. ${contention}
- **Model:** fixture preset \`${context.preset}\`, seed ${context.seed}, random weights: Llama, hidden 512, 8 layers, 8 heads / 2 KV heads, MLP 1408, vocabulary 151,936, float32, weights in external data; cached in \`${relativeCache(model.dir)}\` (${model.built ? `built in ${model.buildSeconds.toFixed(1)} s by this run` : "reused"}). Engine loss head: \`${a?.run.result.engine?.lossHead ?? "?"}\`.
- **Data:** \`examples/alpaca_mixed.json\`, ${data.records} records: the seed's alpaca zero-shot prompt + output, tokenized with the model's \`tokenizer.json\` (BOS added); the response (from \`len(enc(prompt))\`) is the scored span. ${data.tokens} tokens, ${data.scoredTokens} scored (${percent(data.scoredTokens / data.tokens)}; the issue planned for about 50%, this is what the example data's responses give), lengths ${data.minLength}–${data.maxLength}. Workload: ${context.copies === 1 ? "the data once" : `${context.copies} copies`}, ${data.tokens * context.copies} tokens per pass, the same sequences for every contender.
- **Settings:** ${context.threads} intra-op threads, 1 inter-op thread, sequential execution, all graph optimizations. Engine defaults except threads: maxBatchTokens ${limits?.maxBatchTokens}, maxBatchSize ${limits?.maxBatchSize}, maxScoredTokens ${limits?.maxScoredTokens}, \`defaultLengthBucket\`, one worker. (b) and (c) run the batches that the engine's planner (\`planBatches\`) makes with those limits, fed by the engine's collation (\`buildBatchFeeds\`).
- **Method:** each contender runs in its own child process, one after the other: load, one cold pass (every shape new to the process), then warm passes (${context.warmPasses}; ${context.fullLogitsWarmPasses} for the two full-logits contenders, which are several times slower), plus up to ${context.maxExtraPasses.light} (full-logits: ${context.maxExtraPasses.heavy}) more while the fastest warm pass had other processes using over 10% of the cores. tokens/s = real (unpadded) tokens ÷ wall time of the fastest warm pass (interference only slows a pass down). Peak RSS = \`process.resourceUsage().maxRSS\` of the contender's own process at its end, the engine's session worker thread included (a process with only Node and the sequences peaked at ${formatGiB(a?.run.result.baselineRssBytes ?? 0)}). "other CPU" = share of all cores' time that other processes used during that pass (\`/proc/stat\` minus the process's own CPU time).
- **Contenders:** (b) runs the source \`model.onnx\`, copies the \`[batch, seq, 151936]\` logits out to JavaScript and computes log-softmax + label in a JS loop at the scored positions only (a generous baseline). (c) runs a graph cut from \`model.onnx\` with onnx-proto to output \`final_hidden_states\` (no LM head, no logits), gathers the scored rows in JS, and runs a second graph: MatMul by the LM head weight [512, 151936] → LogSoftmax → GatherElements(label), in the same process. Its two sessions have intra-op spinning off (\`session.intra_op.allow_spinning = 0\`): with it on, one session's pool spin-waiting after its run took a core from the other (measured: body 20% slower), a cost of splitting the graph that the engine's single session does not pay.

| contender | tokens/s | cold-pass tokens/s | in session.run / pass (s) | other CPU | batches | padded tokens | fill | peak RSS | mean NLL (nats) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${table.join("\n")}

The contenders compute the same numbers: their mean NLL agrees to ${summary.maxNllDifference.toExponential(1)} nats/token. Time split of the fastest warm pass: (b) ${partsOf("js-log-softmax")}; (c) ${partsOf("floor")}.

### Ratios and targets

| figure | value | target | met |
|---|---|---|---|
${summary.targets.map((t) => `| ${t.figure} | ${t.value} | ${t.target} | ${t.met ? "yes" : "**no**"} |`).join("\n")}
${a && full ? `| scored-positions head vs \`forceFullLogits\` | ${(a.tokensPerSecond / full.tokensPerSecond).toFixed(2)}× tokens/s; peak RSS ${formatGiB(a.run.result.maxRssBytes)} vs ${formatGiB(full.run.result.maxRssBytes)} | — | — |` : ""}

${missed.length === 0 ? "Every target was met." : missed.map((t) => `- **Missed: ${t.figure}** = ${t.value}, target ${t.target}. Measured: ${t.why}.`).join("\n")}

### Shape bucketing

ONNX Runtime plans memory for each new input shape; the issue's probe saw the first run at a new shape 2–3× slower. Probe here, after the workload's passes: one batch at a shape the process has not run, then the same shape again (engine, \`session.run\` time). The first two shapes hold fewer tokens than the workload's batches; the last is one long row whose attention scores are larger than any tensor the workload needed. For comparison, the first pass of each process (every shape new, nothing allocated yet) against its warm passes is the "cold-pass tokens/s" column above.

| shape | first run (s) | later runs, median (s) | first ÷ later |
|---|---:|---:|---:|
${probe.join("\n")}

Shape churn: a latency-bound client sends the ${data.records} records in groups of ${context.churn.groupSize}, awaiting each group, in a fresh seeded order per round, so every group is planned on its own (into one batch, or more where its lengths differ a lot) and shapes follow the data. Two engines in one process, one per length bucket, take turns round by round on the same orders; tokens/s per round, and how many of the round's batches ran at a shape new to that engine's session. Padded to exact lengths (\`lengthBucket: (n) => n\`), more of the batches run at a new shape than with \`defaultLengthBucket\`, and fewer repeat in later rounds; each cell gives the count.

| length bucket | ${Array.from({ length: context.churn.rounds }, (_, i) => `round ${i + 1} tokens/s`).join(" | ")} |
|---|${Array.from({ length: context.churn.rounds }, () => "---:").join("|")}|
${churn.join("\n")}
`;
}

function churnRows(summary: Summary): [string, readonly ChurnRound[]][] {
  if (!summary.churn) return [];
  return [
    ["`defaultLengthBucket`", summary.churn.defaultBuckets],
    ["exact, `(n) => n`", summary.churn.exactLengths],
  ];
}

function relativeCache(dir: string): string {
  const at = dir.indexOf("node_modules");
  return at >= 0 ? dir.slice(at) : dir;
}
