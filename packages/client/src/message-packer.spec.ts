import { ScoreRequest } from "@sftscore/proto";
import type { SequenceRequest } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { ClientError } from "./client-error.js";
import { checkSequence, createMessagePacker, packMessages } from "./message-packer.js";
import { sequenceFieldBytes, wireSequenceOf, type EngineLimits } from "./wire-messages.js";

const LIMITS: EngineLimits = { maxSequencesPerMessage: 4, maxTokensPerSequence: 100, maxMessageBytes: 1 << 20, maxBatchTokens: 400 };

function request(id: string, tokens: number, extra: Partial<SequenceRequest> = {}): SequenceRequest {
  return { id, tokenIds: Uint32Array.from({ length: tokens }, (_, i) => (i * 977) % 200_000), spans: [{ start: 1, end: tokens }], ...extra };
}

const encodedBytes = (requests: readonly SequenceRequest[]) => ScoreRequest.encode({ sequences: requests.map(wireSequenceOf) }).finish().length;

describe("sequenceFieldBytes", () => {
  it("equals the bytes ts-proto encodes, for ids, token values, spans and flags of every size", () => {
    const cases: SequenceRequest[] = [
      request("a", 1, { spans: [] }),
      request("中文-id-😀", 3, { spans: [{ start: 0, end: 0 }, { start: 1, end: 3 }] }),
      request("x".repeat(200), 130, { wantTokenLogprobs: true }),
      request("big", 2, { tokenIds: Uint32Array.from([0, 0xffff_ffff]), spans: [{ start: 1, end: 2 }, { start: 2, end: 2 }] }),
      request("many", 5000),
    ];
    for (const one of cases) expect(sequenceFieldBytes(one), one.id).toBe(encodedBytes([one]));
    expect(cases.reduce((sum, one) => sum + sequenceFieldBytes(one), 0)).toBe(encodedBytes(cases));
  });
});

describe("packMessages", () => {
  it("keeps every message within max_sequences_per_message, in input order, losing nothing", () => {
    const requests = Array.from({ length: 10 }, (_, i) => request(`s${i}`, 5));
    const messages = packMessages(requests, LIMITS);
    expect(messages.map((m) => m.sequences.length)).toEqual([4, 4, 2]);
    expect(messages.flatMap((m) => m.sequences.map((s) => s.id))).toEqual(requests.map((r) => r.id));
  });

  it("keeps every serialized message within max_message_bytes", () => {
    const requests = Array.from({ length: 40 }, (_, i) => request(`s${i}`, 20 + (i % 7) * 10));
    const limits = { ...LIMITS, maxSequencesPerMessage: 1000, maxMessageBytes: 700 };
    const messages = packMessages(requests, limits);
    expect(messages.length).toBeGreaterThan(4);
    for (const message of messages) expect(ScoreRequest.encode(message).finish().length).toBeLessThanOrEqual(700);
    // Packing is greedy: no two neighbours would have fit together.
    for (let i = 1; i < messages.length; i++) {
      expect(ScoreRequest.encode({ sequences: [...messages[i - 1].sequences, messages[i].sequences[0]] }).finish().length).toBeGreaterThan(700);
    }
    expect(messages.flatMap((m) => m.sequences.map((s) => s.id))).toEqual(requests.map((r) => r.id));
  });

  it("completes a message by count without waiting for the next sequence", () => {
    const packer = createMessagePacker({ maxSequencesPerMessage: 2, maxMessageBytes: 1 << 20 });
    expect(packer.add(request("a", 3), sequenceFieldBytes(request("a", 3)))).toEqual([]);
    expect(packer.add(request("b", 3), sequenceFieldBytes(request("b", 3))).map((m) => m.sequences.map((s) => s.id))).toEqual([["a", "b"]]);
    expect(packer.pending).toBe(0);
    expect(packer.flush()).toBeUndefined();
  });
});

describe("checkSequence", () => {
  it("refuses a sequence longer than max_tokens_per_sequence, naming its id and both lengths", () => {
    const error = (() => {
      try {
        checkSequence(request("long-one", 101), LIMITS);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: "invalid-argument", sequenceId: "long-one" });
    expect((error as ClientError).message).toMatch(/"long-one": it has 101 tokens, more than the engine's max_tokens_per_sequence of 100/);
  });

  it("refuses empty ids, empty sequences, negative span bounds and a sequence larger than a message", () => {
    expect(() => checkSequence(request("", 3), LIMITS)).toThrow(/empty id/);
    expect(() => checkSequence(request("e", 0), LIMITS)).toThrow(/"e": it has no tokens/);
    expect(() => checkSequence(request("n", 3, { spans: [{ start: -1, end: 2 }] }), LIMITS)).toThrow(/"n": spans\[0\]\.start is -1/);
    expect(() => checkSequence(request("huge", 100), { ...LIMITS, maxMessageBytes: 50 })).toThrow(/"huge": it takes \d+ bytes on the wire, more than the engine's max_message_bytes of 50/);
  });

  it("leaves span placement and token ids to the engine (which answers INVALID_ARGUMENT)", () => {
    expect(checkSequence(request("late", 3, { spans: [{ start: 0, end: 9 }], tokenIds: Uint32Array.from([1, 2, 999_999]) }), LIMITS)).toBeGreaterThan(0);
  });
});
