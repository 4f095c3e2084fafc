/**
 * A single-consumer async queue: producers `push` values or `fail`, the consumer iterates. Used to
 * turn results that settle in any order into an AsyncIterable.
 */
export interface ResultChannel<T> extends AsyncIterable<T> {
  push(value: T): void;
  fail(error: unknown): void;
  /** No more values will be pushed; iteration ends after the buffered ones. */
  end(): void;
}

export function createResultChannel<T>(): ResultChannel<T> {
  const buffer: T[] = [];
  let failure: { error: unknown } | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  return {
    push(value) {
      buffer.push(value);
      signal();
    },
    fail(error) {
      failure ??= { error };
      signal();
    },
    end() {
      ended = true;
      signal();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (failure) throw failure.error;
        if (buffer.length > 0) {
          yield buffer.shift() as T;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
