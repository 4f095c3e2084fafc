/**
 * A {@link Scorer} backed by the project's float64 reference forward pass (`referenceTokenLogprobs`):
 * the oracle the engine's numbers are checked against, not a mock. It scores one unpadded sequence at
 * a time, so it is slow and meant for the tiny fixture model only.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { readLlamaModel, referenceTokenLogprobs, type LlamaConfig, type LlamaWeights } from "@sftscore/engine";
import type { ModelInfo, Scorer, SequenceRequest, SequenceScore } from "@sftscore/metrics";

/** A loaded model and its reference log-probabilities, memoised by token ids (a pure function). */
export interface ReferenceModel {
  readonly dir: string;
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly info: ModelInfo;
  /** `log p(t[i] | t[<i])` for i = 1..n−1 (element i − 1), float64. */
  tokenLogprobs(tokenIds: ArrayLike<number>): Float64Array;
}

const loaded = new Map<string, Promise<ReferenceModel>>();

/** Loads (once per directory) a fixture model written by `buildFixtureModel`. */
export function loadReferenceModel(dir: string): Promise<ReferenceModel> {
  let model = loaded.get(dir);
  if (model === undefined) {
    model = load(dir);
    loaded.set(dir, model);
  }
  return model;
}

async function load(dir: string): Promise<ReferenceModel> {
  const { config, weights } = await readLlamaModel(dir);
  const tokenizerJson = await readFile(path.join(dir, "tokenizer.json"), "utf8");
  const tokenizerConfigJson = await readFile(path.join(dir, "tokenizer_config.json"), "utf8").catch(() => "");
  const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
  const info: ModelInfo = {
    modelId: path.basename(dir),
    contentHash: sha256(await readFile(path.join(dir, "model.onnx"))),
    vocabSize: config.vocabSize,
    maxLength: config.maxPositionEmbeddings,
    dtype: "float32",
    device: "cpu",
    tokenizerJson,
    tokenizerHash: sha256(tokenizerJson),
    tokenizerConfigJson,
  };
  const memo = new Map<string, Float64Array>();
  return {
    dir,
    config,
    weights,
    info,
    tokenLogprobs(tokenIds) {
      const ids = Array.from(tokenIds);
      const key = ids.join(",");
      let logprobs = memo.get(key);
      if (logprobs === undefined) {
        logprobs = referenceTokenLogprobs(config, weights, ids);
        memo.set(key, logprobs);
      }
      return logprobs;
    },
  };
}

/** Creates a reference-forward-pass {@link Scorer} over `model`. */
export function createReferenceScorer(model: ReferenceModel): Scorer {
  return {
    info: async () => model.info,
    async *score(requests: AsyncIterable<SequenceRequest>, options?: { signal?: AbortSignal }): AsyncIterable<SequenceScore> {
      for await (const request of requests) {
        options?.signal?.throwIfAborted();
        const n = request.tokenIds.length;
        for (const span of request.spans) {
          if (!(Number.isInteger(span.start) && Number.isInteger(span.end) && span.start >= 1 && span.start < span.end && span.end <= n)) {
            throw new Error(`reference scorer: span [${span.start}, ${span.end}) is invalid for sequence "${request.id}" of ${n} tokens`);
          }
        }
        if (n > model.info.maxLength) throw new Error(`reference scorer: sequence "${request.id}" has ${n} tokens, over the maximum`);
        const logprobs = model.tokenLogprobs(request.tokenIds);
        yield {
          id: request.id,
          spans: request.spans.map(({ start, end }) => {
            let sumLogprob = 0;
            for (let i = start; i < end; i++) sumLogprob += logprobs[i - 1];
            return { sumLogprob, count: end - start };
          }),
        };
      }
    },
    close: async () => undefined,
  };
}
