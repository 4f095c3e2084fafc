/**
 * Empty KV-cache feeds for a with-past export, so that a plain forward pass (no cache) runs on the
 * same model file sftscore uses: `past_key_values.*` as `[rows, kv_heads, 0, head_dim]`.
 */
import { PAST_INPUT } from "@sftscore/engine";
import ort from "onnxruntime-node";

/** The cache's shape, from the model's config.json. */
export interface CacheShape {
  readonly kvHeads: number;
  readonly headDim: number;
}

/** One empty past tensor per `past_key_values.*` input of `session` (none for a model without them). */
export function emptyPastFeeds(session: ort.InferenceSession, rows: number, shape: CacheShape): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!PAST_INPUT.test(input.name)) continue;
    const dims = [rows, shape.kvHeads, 0, shape.headDim];
    feeds[input.name] = input.isTensor && input.type === "float16" ? new ort.Tensor("float16", new Uint16Array(0), dims) : new ort.Tensor("float32", new Float32Array(0), dims);
  }
  return feeds;
}
