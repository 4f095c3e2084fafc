/** `Scorer.score` takes an async stream; benchmarks often hold their requests in an array. */
export async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
