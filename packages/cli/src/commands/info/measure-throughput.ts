import type { Scorer, SequenceRequest } from "@sftscore/metrics";

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  /** Stop starting new runs after this many seconds; default 1. */
  readonly budgetSeconds?: number;
  /** Most timed runs; default 8. */
  readonly maxRuns?: number;
  /** Tokens per synthetic sequence; default min(128, max length). */
  readonly sequenceLength?: number;
}

/** A measured rate on synthetic input. */
export interface ThroughputMeasurement {
  readonly tokensPerSecond: number;
  /** Sequences per run. */
  readonly sequences: number;
  readonly sequenceLength: number;
  readonly runs: number;
  /** Wall time of the timed runs. */
  readonly seconds: number;
}

/**
 * Times a scorer on synthetic token sequences (seeded, uniform over the vocabulary, every position
 * scored): one untimed warm-up run, then runs of up to 16 sequences filling at most 2,048 tokens,
 * until `budgetSeconds` have passed. A rough hint: real data has other lengths, so other batch
 * shapes and padding.
 */
export async function measureThroughput(
  scorer: Scorer,
  model: { readonly vocabSize: number; readonly maxLength: number; readonly maxBatchTokens?: number },
  options: ThroughputOptions = {},
): Promise<ThroughputMeasurement> {
  const length = Math.max(2, Math.min(options.sequenceLength ?? 128, model.maxLength));
  const sequences = Math.max(1, Math.min(16, Math.floor(Math.min(model.maxBatchTokens ?? 2048, 2048) / length)));
  const random = xorshift(0x5eed);
  const batch = (run: number, count: number): SequenceRequest[] =>
    Array.from({ length: count }, (_, i) => ({
      id: `throughput-${run}-${i}`,
      tokenIds: Uint32Array.from({ length }, () => random() % model.vocabSize),
      spans: [{ start: 1, end: length }],
    }));
  const drain = async (requests: SequenceRequest[]) => {
    async function* stream() {
      yield* requests;
    }
    for await (const _ of scorer.score(stream())) {
      // Results are not needed, only the time they take.
    }
  };

  await drain(batch(0, 1));
  const budget = options.budgetSeconds ?? 1;
  const maxRuns = options.maxRuns ?? 8;
  let seconds = 0;
  let runs = 0;
  while (runs < maxRuns && (runs === 0 || seconds < budget)) {
    const requests = batch(runs + 1, sequences);
    const started = performance.now();
    await drain(requests);
    seconds += (performance.now() - started) / 1000;
    runs++;
  }
  return { tokensPerSecond: (runs * sequences * length) / seconds, sequences, sequenceLength: length, runs, seconds };
}

/** A small seeded generator: the same synthetic tokens on every machine. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}
