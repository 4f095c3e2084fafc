import { ErrorCode, ScoreResponse, type SequenceResult } from "@sftscore/proto";
import { describe, expect, it } from "vitest";
import { createResponseOutbox } from "./response-outbox.js";

function manualOutbox(maxResponseBytes: number, maxMessageBytes = maxResponseBytes) {
  const sent: ScoreResponse[] = [];
  let pendingFlush: (() => void) | undefined;
  const outbox = createResponseOutbox({ maxResponseBytes, maxMessageBytes, send: (response) => sent.push(response), defer: (flush) => (pendingFlush = flush) });
  return { outbox, sent, turn: () => pendingFlush?.() };
}

const result = (id: string, logprobs = 0): SequenceResult => ({ id, spans: [{ sumLogprob: -12.5, count: 7 }], tokenLogprobs: Array.from({ length: logprobs }, (_, i) => -i / 8) });

describe("response outbox", () => {
  it("sends the answers added in one turn as one response, after the turn", () => {
    const { outbox, sent, turn } = manualOutbox(1 << 20);
    outbox.addResult(result("a"));
    outbox.addResult(result("b"));
    outbox.addError({ id: "c", code: ErrorCode.INVALID_ARGUMENT, message: "bad" });
    expect(sent).toEqual([]);
    expect(outbox.pending).toBe(3);
    turn();
    expect(sent).toHaveLength(1);
    expect(sent[0].results.map((r) => r.id)).toEqual(["a", "b"]);
    expect(sent[0].errors.map((e) => e.id)).toEqual(["c"]);
    expect(outbox.pending).toBe(0);
  });

  it("splits answers so every response's encoded size stays within the target", () => {
    const target = 1000;
    const { outbox, sent, turn } = manualOutbox(target);
    for (let i = 0; i < 50; i++) outbox.addResult(result(`r${i}`, i % 40));
    turn();
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.flatMap((r) => r.results.map((x) => x.id))).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
    for (const response of sent) expect(ScoreResponse.encode(response).finish().length).toBeLessThanOrEqual(target);
    // Greedy packing: no response could have taken the next one's first answer.
    for (let i = 0; i + 1 < sent.length; i++) {
      const merged = { results: [...sent[i].results, sent[i + 1].results[0]], errors: [] };
      expect(ScoreResponse.encode(merged).finish().length).toBeGreaterThan(target);
    }
  });

  it("sends an answer over the coalescing target alone, and answers a result over max_message_bytes with INVALID_ARGUMENT", () => {
    const { outbox, sent, turn } = manualOutbox(200, 600);
    expect(outbox.addResult(result("small"))).toBe(true);
    expect(outbox.addResult(result("big", 100))).toBe(true);
    expect(outbox.addResult(result("huge", 200))).toBe(false);
    turn();
    expect(sent.map((r) => r.results.map((x) => x.id))).toEqual([["small"], ["big"], []]);
    expect(sent[2].errors[0]).toMatchObject({ id: "huge", code: ErrorCode.INVALID_ARGUMENT });
    expect(sent[2].errors[0].message).toMatch(/sequence "huge": its result takes \d+ bytes, more than the engine's max_message_bytes of 600/);
  });

  it("flushes at once on demand", () => {
    const { outbox, sent } = manualOutbox(1 << 20);
    outbox.addResult(result("a"));
    outbox.flush();
    expect(sent).toHaveLength(1);
    outbox.flush();
    expect(sent).toHaveLength(1);
  });
});
