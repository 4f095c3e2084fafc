import type { ModelInfo } from "@sftscore/metrics";
import { ClientError } from "./client-error.js";

/** One target's answer to GetModelInfo. */
export interface TargetModel {
  readonly target: string;
  readonly info: Pick<ModelInfo, "modelId" | "contentHash" | "tokenizerHash">;
}

/**
 * Checks that every target serves the same model and tokenizer as the first: the same
 * `content_hash` (same numbers) and `tokenizer_hash` (same token ids). Mixing them would give rows
 * that depend on which engine scored what.
 *
 * @throws ClientError `model-mismatch` naming both targets, the field and both hashes.
 */
export function checkSameModel(models: readonly TargetModel[]): void {
  const [first, ...rest] = models;
  if (first === undefined) return;
  for (const other of rest) {
    for (const [field, key] of [["tokenizer_hash", "tokenizerHash"], ["content_hash", "contentHash"]] as const) {
      if (other.info[key] !== first.info[key]) {
        throw new ClientError(
          "model-mismatch",
          `engines serve different models: ${first.target} reports ${field} ${first.info[key]} (model ${first.info.modelId}), ` +
            `${other.target} reports ${field} ${other.info[key]} (model ${other.info.modelId}); point the client at engines that load the same model files`,
          { target: other.target },
        );
      }
    }
  }
}
