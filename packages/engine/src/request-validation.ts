import type { SequenceRequest } from "@sftscore/metrics";
import { EngineError } from "./engine-error.js";

/** What a request is checked against. */
export interface RequestLimits {
  readonly vocabSize: number;
  /** Longest sequence accepted, in tokens. */
  readonly maxTokens: number;
}

/**
 * Checks a request at the engine's boundary: a non-empty id, 1..maxTokens token ids each below the
 * vocabulary size, and spans with integer bounds `1 ≤ start ≤ end ≤ n`. ONNX Gather accepts
 * negative indices, so an unchecked id would silently score the wrong token.
 *
 * @throws EngineError `invalid-argument` naming the sequence and what is wrong.
 */
export function validateRequest(request: SequenceRequest, limits: RequestLimits): void {
  const id = request.id;
  const fail = (reason: string): never => {
    throw new EngineError("invalid-argument", `sequence "${id}": ${reason}`, { sequenceId: id });
  };
  if (typeof id !== "string" || id === "") throw new EngineError("invalid-argument", "a sequence has an empty id");
  const n = request.tokenIds.length;
  if (n === 0) fail("has no tokens");
  if (n > limits.maxTokens) fail(`has ${n} tokens, more than the model's maximum of ${limits.maxTokens}; truncate it`);
  for (let i = 0; i < n; i++) {
    const token = request.tokenIds[i];
    if (token >= limits.vocabSize) fail(`token ${i} is ${token}, outside the vocabulary (size ${limits.vocabSize})`);
  }
  request.spans.forEach((span, s) => {
    const { start, end } = span;
    if (!Number.isInteger(start) || !Number.isInteger(end)) fail(`span ${s} has non-integer bounds [${start}, ${end})`);
    if (start < 1) fail(`span ${s} starts at ${start}; position 0 has no context, so spans start at 1 or later`);
    if (end < start) fail(`span ${s} ends at ${end}, before its start ${start}`);
    if (end > n) fail(`span ${s} ends at ${end}, past the sequence's ${n} tokens`);
  });
}
