/**
 * Messages between the load section and its client processes (`load-client.ts`), one process per
 * client so that clients do not share an event loop with each other or with the measuring parent.
 * Sent over the IPC channel with `serialization: "advanced"`, so typed arrays cross as they are.
 */
import type { SequenceRequest } from "@sftscore/metrics";

/** Parent → client: connect and get ready. */
export interface LoadClientSetup {
  readonly type: "setup";
  readonly address: string;
  readonly clientIndex: number;
  /** The pool of sequences the client cycles through, in its own seeded order. */
  readonly pool: readonly SequenceRequest[];
  /** Tokens the client keeps sent and unanswered (EngineClient `maxInFlightTokens`). */
  readonly maxInFlightTokens: number;
  readonly streamsPerTarget: number;
}

/** Parent → client: start offering sequences now, for `durationMs`, then drain and report. */
export interface LoadClientGo {
  readonly type: "go";
  readonly durationMs: number;
}

export type LoadParentMessage = LoadClientSetup | LoadClientGo;

/** What one client saw. */
export interface LoadClientReport {
  /** Sequences the client handed to the SDK. */
  readonly sent: number;
  /** Distinct ids answered. */
  readonly answered: number;
  /** Results for an id answered before. */
  readonly duplicates: number;
  /** Results for an id the client never sent. */
  readonly unknown: number;
  /** Real tokens of the answered sequences. */
  readonly tokens: number;
  /** Per answered sequence: ms from the SDK taking it from the client's stream to its result. */
  readonly latenciesMs: Float64Array;
  /** `sumLogprob` of the first span, per pool index, from the first answer for that index (NaN if none). */
  readonly poolSums: Float64Array;
  /** User + system CPU seconds of the client process during the run. */
  readonly cpuSeconds: number;
}

export type LoadClientMessage = { readonly type: "ready" } | { readonly type: "done"; readonly report: LoadClientReport } | { readonly type: "error"; readonly message: string };
