import type { SequenceRequest } from "@sftscore/metrics";
import type { ScoreRequest } from "@sftscore/proto";
import { ClientError } from "./client-error.js";
import { sequenceFieldBytes, wireSequenceOf, type EngineLimits } from "./wire-messages.js";

/** Largest value a uint32 wire field holds. */
const MAX_UINT32 = 0xffff_ffff;

/**
 * Checks what the client must know before it sizes messages: a non-empty id, 1 to
 * `maxTokensPerSequence` tokens, span bounds that fit the wire's uint32, and a sequence that fits in
 * one message. Returns the bytes it adds to a ScoreRequest. Span placement (`1 ≤ start ≤ end ≤ n`)
 * and token ids against the vocabulary are the engine's to check: it answers INVALID_ARGUMENT.
 *
 * @throws ClientError `invalid-argument` naming the sequence id and what is wrong.
 */
export function checkSequence(request: SequenceRequest, limits: EngineLimits): number {
  const id = request.id;
  if (typeof id !== "string" || id === "") throw new ClientError("invalid-argument", "a sequence has an empty id; every sequence needs a non-empty id");
  const fail = (reason: string) => new ClientError("invalid-argument", `sequence "${id}": ${reason}`, { sequenceId: id });
  const tokens = request.tokenIds.length;
  if (tokens === 0) throw fail("it has no tokens");
  if (tokens > limits.maxTokensPerSequence) {
    throw fail(`it has ${tokens} tokens, more than the engine's max_tokens_per_sequence of ${limits.maxTokensPerSequence}; truncate it first`);
  }
  request.spans.forEach((span, i) => {
    for (const [name, value] of [["start", span.start], ["end", span.end]] as const) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) throw fail(`spans[${i}].${name} is ${value}, not a position`);
    }
  });
  const bytes = sequenceFieldBytes(request);
  if (bytes > limits.maxMessageBytes) {
    throw fail(`it takes ${bytes} bytes on the wire, more than the engine's max_message_bytes of ${limits.maxMessageBytes}`);
  }
  return bytes;
}

/** Collects sequences into ScoreRequests within an engine's limits. */
export interface MessagePacker {
  /**
   * Adds a sequence checked by {@link checkSequence} (`bytes` is what it returned). Returns the
   * messages that are complete now: the one before it when it does not fit there, and the one it
   * completes by count. Usually none, never more than two.
   */
  add(request: SequenceRequest, bytes: number): ScoreRequest[];
  /** The partly filled message, if any; the packer is empty afterwards. */
  flush(): ScoreRequest | undefined;
  /** Sequences waiting in the partly filled message. */
  readonly pending: number;
}

/**
 * A packer for one stream: messages hold at most `maxSequencesPerMessage` sequences and
 * `maxMessageBytes` serialized bytes (sized exactly, without encoding).
 */
export function createMessagePacker(limits: Pick<EngineLimits, "maxSequencesPerMessage" | "maxMessageBytes">): MessagePacker {
  let sequences: ScoreRequest["sequences"] = [];
  let bytes = 0;
  const flush = (): ScoreRequest | undefined => {
    if (sequences.length === 0) return undefined;
    const message = { sequences };
    sequences = [];
    bytes = 0;
    return message;
  };
  return {
    add(request, requestBytes) {
      const complete: ScoreRequest[] = [];
      if (bytes + requestBytes > limits.maxMessageBytes) {
        const previous = flush();
        if (previous) complete.push(previous);
      }
      sequences.push(wireSequenceOf(request));
      bytes += requestBytes;
      if (sequences.length >= limits.maxSequencesPerMessage) {
        const full = flush();
        if (full) complete.push(full);
      }
      return complete;
    },
    flush,
    get pending() {
      return sequences.length;
    },
  };
}

/** Packs a whole list at once (what a stream does incrementally); for tests and tools. */
export function packMessages(requests: readonly SequenceRequest[], limits: EngineLimits): ScoreRequest[] {
  const packer = createMessagePacker(limits);
  const messages = requests.flatMap((request) => packer.add(request, checkSequence(request, limits)));
  const last = packer.flush();
  return last ? [...messages, last] : messages;
}
