/**
 * A one-consumer queue between callbacks that produce values and a `for await` that reads them.
 * Values pushed before the consumer asks wait in the queue. `fail` ends the iteration with an error
 * after the values already queued, so a consumer sees every result that arrived before a failure.
 */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(value: T): void;
  /** Ends the iteration once the queued values are read. */
  end(): void;
  /** Ends the iteration with `error` once the values already queued are read. */
  fail(error: unknown): void;
  /** Called once when the consumer stops reading early (`break`, `return`). */
  onAbandon(listener: () => void): void;
  /** Called after each value the consumer takes. */
  onRead(listener: () => void): void;
  /** Values pushed and not yet read. */
  readonly size: number;
}

/** Creates an {@link AsyncQueue}. It can be iterated once. */
export function createAsyncQueue<T>(): AsyncQueue<T> {
  const values: T[] = [];
  let head = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let waiter: (() => void) | undefined;
  let abandon: (() => void) | undefined;
  let read: (() => void) | undefined;
  const wake = () => {
    const resolve = waiter;
    waiter = undefined;
    resolve?.();
  };

  async function* iterate(): AsyncGenerator<T> {
    let completed = false;
    try {
      for (;;) {
        if (head < values.length) {
          const value = values[head];
          values[head++] = undefined as T;
          // Compacts now and then so a long run does not keep a growing array of holes.
          if (head > 1024 && head * 2 > values.length) {
            values.splice(0, head);
            head = 0;
          }
          read?.();
          yield value;
          continue;
        }
        if (failure) throw failure.error;
        if (ended) {
          completed = true;
          return;
        }
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    } finally {
      if (!completed && !failure) abandon?.();
    }
  }

  return {
    push(value) {
      if (ended || failure) return;
      values.push(value);
      wake();
    },
    end() {
      ended = true;
      wake();
    },
    fail(error) {
      if (ended || failure) return;
      failure = { error };
      wake();
    },
    onAbandon(listener) {
      abandon = listener;
    },
    onRead(listener) {
      read = listener;
    },
    get size() {
      return values.length - head;
    },
    [Symbol.asyncIterator]: () => iterate(),
  };
}
