import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import type { BatchFeeds } from "./batch-tensors.js";
import { EngineError } from "./engine-error.js";
import { createScheduler, type SchedulerOptions } from "./scheduler.js";
import type { RunPrefixes, RunResult, SessionHost } from "./session-host.js";

// Fault injection for prefix sharing: session hosts whose runs fail on demand. The model itself is
// not the subject here (prefix-sharing.spec.ts runs the real one), so a run "scores" each position
// as −label / 1024 (exact in float32), which lets every result be checked whatever past it ran on.

interface FakeHost {
  busy: boolean;
  failed: boolean;
  readonly runs: { readonly pastLength: number; readonly prefixes: RunPrefixes }[];
  run(feeds: BatchFeeds, prefixes?: RunPrefixes): Promise<RunResult>;
}

function fakeHost(fail: (feeds: BatchFeeds, prefixes: RunPrefixes, host: FakeHost) => boolean): FakeHost {
  const host: FakeHost = {
    busy: false,
    failed: false,
    runs: [],
    async run(feeds, prefixes = { evict: [] }) {
      host.busy = true;
      host.runs.push({ pastLength: feeds.pastLength, prefixes });
      await new Promise((resolve) => setImmediate(resolve));
      host.busy = false;
      if (fail(feeds, prefixes, host)) throw new EngineError("model-failed", "injected failure");
      return { tokenLogprobs: Float32Array.from(feeds.labels, (label) => -Number(label) / 1024), seconds: 0 };
    },
  };
  return host;
}

const PREAMBLE = Array.from({ length: 40 }, (_, i) => 100 + i);

/** Sequences that share a 40-token preamble, each scoring its last 3 tokens. */
function requests(count: number): SequenceRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const tokenIds = Uint32Array.from([...PREAMBLE, 500 + i, 600 + i, 700 + i, 800 + i]);
    return { id: `s${i}`, tokenIds, spans: [{ start: 41, end: 44 }] };
  });
}

const expectedSum = (request: SequenceRequest) => [41, 42, 43].reduce((sum, i) => sum - request.tokenIds[i] / 1024, 0);

function schedulerOf(hosts: FakeHost[], errors: EngineError[] = []) {
  const options: SchedulerOptions = {
    hosts: hosts as unknown as SessionHost[],
    limits: { maxBatchTokens: 8192, maxBatchSize: 64, maxScoredTokens: 4096 },
    maxQueuedTokens: 1 << 20,
    prefixSharing: { cacheBytes: 1 << 20, bytesPerToken: 64 },
    observer: { onError: (error) => errors.push(error) },
  };
  return createScheduler(options);
}

async function scoreAll(scheduler: ReturnType<typeof createScheduler>, list: readonly SequenceRequest[]): Promise<SequenceScore[]> {
  const tickets = await Promise.all(list.map((request) => scheduler.submit(request)));
  return Promise.all(tickets.map((ticket) => ticket.result));
}

describe("scheduler with prefix sharing, when runs fail", () => {
  it("shares the preamble when nothing fails", async () => {
    const host = fakeHost(() => false);
    const list = requests(4);
    const scores = await scoreAll(schedulerOf([host]), list);
    scores.forEach((score, i) => expect(score.spans[0].sumLogprob).toBe(expectedSum(list[i])));
    expect(host.runs.map((run) => run.pastLength)).toEqual([0, 40]);
    expect(host.runs[0].prefixes.store?.lengths).toEqual(Int32Array.of(40));
  });

  it("runs the sequences whole after their prefix's run fails, and reports the failure", async () => {
    const errors: EngineError[] = [];
    const host = fakeHost((_, prefixes) => prefixes.store !== undefined);
    const list = requests(4);
    const scores = await scoreAll(schedulerOf([host], errors), list);
    scores.forEach((score, i) => expect(score.spans[0].sumLogprob).toBe(expectedSum(list[i])));
    expect(host.runs.map((run) => [run.pastLength, run.prefixes.store !== undefined])).toEqual([[0, true], [0, false]]);
    expect(errors.map((error) => error.message)).toEqual(["injected failure"]);
  });

  it("moves the sequences of a worker that died with their prefix to the other worker, whole", async () => {
    // Worker 0 computes the prefix, then dies on its first run with a past.
    const dying = fakeHost((feeds, _, host) => {
      if (feeds.pastLength === 0) return false;
      host.failed = true;
      return true;
    });
    const healthy = fakeHost(() => false);
    const list = requests(4);
    const scheduler = schedulerOf([dying, healthy]);
    const tickets = await Promise.all(list.map((request) => scheduler.submit(request)));
    const settled = await Promise.allSettled(tickets.map((ticket) => ticket.result));
    // The sequences in the failed run fail with it (a client resends them); none is left waiting on the lost prefix.
    const failed = settled.filter((result) => result.status === "rejected");
    expect(failed.length).toBeGreaterThan(0);
    const second = await scoreAll(scheduler, requests(3).map((request) => ({ ...request, id: `again-${request.id}` })));
    second.forEach((score, i) => expect(score.spans[0].sumLogprob).toBe(expectedSum(list[i])));
    expect(healthy.runs.length).toBeGreaterThan(0);
    await scheduler.idle();
  });

  it("releases a prefix whose sequences are all cancelled before it runs", async () => {
    const host = fakeHost(() => false);
    const scheduler = schedulerOf([host]);
    const controller = new AbortController();
    const tickets = await Promise.all(requests(3).map((request) => scheduler.submit(request, controller.signal)));
    controller.abort();
    const settled = await Promise.allSettled(tickets.map((ticket) => ticket.result));
    expect(settled.every((result) => result.status === "rejected")).toBe(true);
    await scheduler.idle();
    expect(host.runs).toEqual([]);
    // The queue is usable afterwards, and the same preamble is planned again from scratch.
    const list = requests(2);
    const scores = await scoreAll(scheduler, list);
    scores.forEach((score, i) => expect(score.spans[0].sumLogprob).toBe(expectedSum(list[i])));
    expect(host.runs.map((run) => run.pastLength)).toEqual([0, 40]);
  });
});
