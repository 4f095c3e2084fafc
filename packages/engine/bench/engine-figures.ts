/**
 * Figures of the engine benchmark from the contenders' raw results: tokens/s, ratios, targets, and
 * the small formatting helpers both renderings share.
 */
import type { PlannedBatch } from "../src/batcher.js";
import type { ChurnRound, ContenderName, ContenderResult, PassResult, ShapeProbeResult } from "./contender-protocol.js";

/** One contender's child-process run. */
export interface ContenderRun {
  readonly name: ContenderName;
  readonly result: ContenderResult;
  readonly wallSeconds: number;
}

export interface Figures {
  readonly run: ContenderRun;
  readonly label: string;
  /** The fastest warm pass: other processes can only slow a pass down. */
  readonly best: PassResult;
  readonly cold: PassResult;
  readonly tokensPerSecond: number;
  readonly coldTokensPerSecond: number;
  readonly fill: number;
  readonly meanNll: number;
}

export interface Target {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
  /** What the benchmark measured that explains a miss. */
  readonly why: string;
}

export interface Summary {
  readonly figures: ReadonlyMap<ContenderName, Figures>;
  readonly targets: readonly Target[];
  readonly shapeProbe: readonly ShapeProbeResult[];
  /** Rounds of the engine with `defaultLengthBucket` and with exact lengths, from one process. */
  readonly churn?: { readonly defaultBuckets: readonly ChurnRound[]; readonly exactLengths: readonly ChurnRound[] };
  /** Largest |mean NLL − the engine's| over the other contenders: they compute the same numbers. */
  readonly maxNllDifference: number;
  /** Largest share of the cores other processes used during a pass the contender figures come from. */
  readonly maxOtherCpuShare: number;
  /** The same over the churn rounds. */
  readonly maxChurnOtherCpuShare: number;
}

export const LABELS: Record<ContenderName, string> = {
  engine: "(a) engine",
  "js-log-softmax": "(b) full logits, log-softmax in JS",
  floor: "(c) floor: body + head at scored rows",
  "engine-full-logits": "(a) with forceFullLogits: true",
  "shape-churn": "shape churn",
};

const GIB = 1024 ** 3;
const RSS_TARGET_BYTES = 4 * GIB;

/**
 * @param examplePlan the planner's batches for one copy of the example data with the engine's
 *   limits, to explain the fill ratio there.
 */
export function summarize(runs: readonly ContenderRun[], examplePlan: readonly PlannedBatch[]): Summary {
  const figures = new Map<ContenderName, Figures>();
  for (const run of runs) if (run.result.passes.length > 0) figures.set(run.name, figuresOf(run));
  const churn = runs.find((run) => run.result.churn)?.result.churn;
  const need = (name: ContenderName): Figures => {
    const found = figures.get(name);
    if (!found) throw new Error(`no result for ${name}`);
    return found;
  };
  const [a, b, c] = [need("engine"), need("js-log-softmax"), need("floor")];
  const ab = a.tokensPerSecond / b.tokensPerSecond;
  const ac = a.tokensPerSecond / c.tokensPerSecond;
  const rss = a.run.result.maxRssBytes;
  const example = a.run.result.exampleFill ?? a.best;
  const exampleFill = example.realTokens / example.paddedTokens;
  const planText = examplePlan
    .map((batch) => `${batch.items.length}×${batch.paddedLength} (fill ${(batch.items.reduce((s, i) => s + i.length, 0) / (batch.items.length * batch.paddedLength)).toFixed(2)}, lengths ${batch.items.at(-1)?.length}–${batch.items[0].length})`)
    .join(", ");
  const targets: Target[] = [
    {
      figure: "(a)/(b) tokens/s",
      value: `${ab.toFixed(2)}×`,
      target: "≥ 4×",
      met: ab >= 4,
      why:
        `a pass took (a) ${a.best.seconds.toFixed(2)} s against ${c.best.seconds.toFixed(2)} s for the floor (c), whose work (a) cannot avoid; ` +
        `(b) took ${b.best.seconds.toFixed(2)} s: ${(b.best.parts.session ?? 0).toFixed(2)} s in session.run (the LM head at all ${b.best.paddedTokens} padded positions ` +
        `instead of the ${b.best.scoredTokens} scored ones, and the logits copied out) and ${(b.best.parts.jsLogSoftmax ?? 0).toFixed(2)} s of log-softmax in JavaScript`,
    },
    {
      figure: "(a)/(c) tokens/s",
      value: `${ac.toFixed(3)} (${signedPercent(ac - 1)})`,
      target: "≥ 0.85 (within 15% of the floor)",
      met: ac >= 0.85,
      why:
        `(a) spent ${a.best.sessionSeconds.toFixed(2)} s of ${a.best.seconds.toFixed(2)} s in session.run; (c) ${partsText(c)}; ` +
        `padded tokens (a) ${a.best.paddedTokens}, (c) ${c.best.paddedTokens}`,
    },
    { figure: "peak RSS of (a)", value: formatGiB(rss), target: "≤ 4 GiB", met: rss <= RSS_TARGET_BYTES, why: "" },
    {
      figure: `fill ratio on the example data (${example.batches} batches)`,
      value: exampleFill.toFixed(3),
      target: "≥ 0.9",
      met: exampleFill >= 0.9,
      why:
        `the ${examplePlan.reduce((s, batch) => s + batch.items.length, 0)} sequences are ${Math.min(...examplePlan.flatMap((x) => x.items.map((i) => i.length)))}–` +
        `${Math.max(...examplePlan.flatMap((x) => x.items.map((i) => i.length)))} tokens long; the planner packs them longest first until the token budget or the scored-token cap closes ` +
        `a batch, and nothing stops a batch from mixing rows far shorter than its padded length: ${planText}`,
    },
  ];
  const chosen = [...figures.values()];
  return {
    figures,
    targets,
    shapeProbe: a.run.result.shapeProbe ?? [],
    ...(churn ? { churn } : {}),
    maxNllDifference: Math.max(...chosen.map((f) => Math.abs(f.meanNll - a.meanNll))),
    maxOtherCpuShare: maxShare(chosen.map((f) => f.best.otherCpuShare)),
    maxChurnOtherCpuShare: maxShare([...(churn?.defaultBuckets ?? []), ...(churn?.exactLengths ?? [])].map((r) => r.otherCpuShare)),
  };
}

function figuresOf(run: ContenderRun): Figures {
  const [cold, ...warm] = run.result.passes;
  const best = [...warm].sort((x, y) => x.seconds - y.seconds)[0] ?? cold;
  return {
    run,
    label: LABELS[run.name],
    best,
    cold,
    tokensPerSecond: best.realTokens / best.seconds,
    coldTokensPerSecond: cold.realTokens / cold.seconds,
    fill: best.realTokens / best.paddedTokens,
    meanNll: -best.sumLogprob / best.scoredTokens,
  };
}

export function partsText(x: Figures): string {
  const parts = Object.entries(x.best.parts).map(([name, seconds]) => `${name} ${seconds.toFixed(2)} s`);
  return `${parts.length > 0 ? parts.join(", ") : `${x.best.sessionSeconds.toFixed(2)} s in session.run`} of ${x.best.seconds.toFixed(2)} s`;
}

function maxShare(shares: readonly number[]): number {
  const known = shares.filter((x) => !Number.isNaN(x));
  return known.length > 0 ? Math.max(...known) : NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function formatGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(2)} GiB`;
}

export function percent(x: number): string {
  return Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(1)}%`;
}

function signedPercent(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}%`;
}
