import { formatDuration } from "../../progress.js";

/** What `sftscore info` reports, the same shape for an in-process model and a remote engine (`--json` prints it). */
export interface InfoReport {
  readonly source: "model" | "engine";
  /** The model path loaded (`--model`), or `null`. */
  readonly path: string | null;
  /** The engine asked (`--engine`), or `null`. */
  readonly engine: string | null;
  readonly modelId: string;
  /** SHA-256 of the model's files, hex. */
  readonly contentHash: string;
  readonly vocabSize: number;
  /** Longest sequence, in tokens. */
  readonly maxLength: number;
  readonly dtype: string;
  readonly device: string;
  readonly lossHead: "scored-positions" | "full-logits" | "unspecified";
  /** Why the full-logits head is used; `null` otherwise or when the engine does not say (the wire has no field for it). */
  readonly lossHeadReason: string | null;
  /** SHA-256 of tokenizer.json, hex. */
  readonly tokenizerHash: string;
  readonly limits: InfoLimits;
  readonly throughput: ThroughputHint;
}

/** Limits; a field the source does not know is `null`. */
export interface InfoLimits {
  readonly maxTokensPerSequence: number;
  /** Rows × padded length per model run. */
  readonly maxBatchTokens: number | null;
  /** Scored positions per model run (in-process only). */
  readonly maxScoredTokens: number | null;
  /** Sequences per Score message (engine only). */
  readonly maxSequencesPerMessage: number | null;
  /** Largest Score message, bytes (engine only). */
  readonly maxMessageBytes: number | null;
  /** ONNX Runtime intra-op threads per worker (in-process only). */
  readonly threads: number | null;
  /** Session worker threads (in-process only). */
  readonly workers: number | null;
}

/** A measured rate, or (for a remote engine) advice instead of a number. */
export type ThroughputHint =
  | {
      readonly measured: true;
      /** Real tokens through the model per second of wall time. */
      readonly tokensPerSecond: number;
      readonly sequences: number;
      readonly sequenceLength: number;
      readonly runs: number;
      readonly seconds: number;
      readonly note: string;
    }
  | { readonly measured: false; readonly note: string };

/** The report as aligned `label  value` lines. */
export function formatInfoReport(report: InfoReport): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const l = report.limits;
  const limits = [
    `max tokens per sequence ${n(l.maxTokensPerSequence)}`,
    l.maxBatchTokens === null ? undefined : `max batch tokens ${n(l.maxBatchTokens)}`,
    l.maxScoredTokens === null ? undefined : `max scored tokens ${n(l.maxScoredTokens)}`,
    l.maxSequencesPerMessage === null ? undefined : `max sequences per message ${n(l.maxSequencesPerMessage)}`,
    l.maxMessageBytes === null ? undefined : `max message ${n(l.maxMessageBytes)} bytes`,
    l.threads === null ? undefined : `${n(l.threads)} thread${l.threads === 1 ? "" : "s"}${l.workers === null ? "" : ` × ${n(l.workers)} worker${l.workers === 1 ? "" : "s"}`}`,
  ].filter((part) => part !== undefined);
  const t = report.throughput;
  const throughput = t.measured
    ? `≈ ${n(Math.round(t.tokensPerSecond))} tokens/s (${t.note}: ${t.sequences} × ${t.sequenceLength} tokens, ${t.runs} run${t.runs === 1 ? "" : "s"} in ${formatDuration(t.seconds)})`
    : t.note;
  const rows: [string, string][] = [
    report.engine === null ? ["model", `${report.modelId}${report.path === null ? "" : ` (${report.path})`}`] : ["engine", report.engine],
    ...(report.engine === null ? [] : [["model", report.modelId] as [string, string]]),
    ["content hash", report.contentHash],
    ["vocab size", n(report.vocabSize)],
    ["max length", `${n(report.maxLength)} tokens`],
    ["dtype", report.dtype],
    ["device", report.device],
    ["loss head", report.lossHeadReason === null ? report.lossHead : `${report.lossHead} (${report.lossHeadReason})`],
    ["tokenizer hash", report.tokenizerHash],
    ["limits", limits.join(" · ")],
    ["throughput", throughput],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join("");
}
