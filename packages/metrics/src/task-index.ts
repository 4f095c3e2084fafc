import { createHash } from "node:crypto";
import { MetricsError } from "./metrics-error.js";
import { taskLabelOf, type Sample } from "./sample.js";

/**
 * Task membership of a whole dataset, for drawing one-shot partners: built by one streaming pass over
 * task labels, held in 12 bytes per sample (a 64-bit label hash and one position in a sorted order),
 * however many or long the labels are.
 */
export interface TaskIndex {
  /** Number of samples indexed; sample indices run over `[0, sampleCount)`. */
  readonly sampleCount: number;
  /**
   * Indices of the samples in the same task as sample `index`, ascending, `index` included. A view
   * into the index's storage: do not modify.
   *
   * @throws MetricsError `invalid-argument` when `index` is outside `[0, sampleCount)`.
   */
  membersOf(index: number): Uint32Array;
  /**
   * Whether sample `index` was indexed with `label`, so a caller can check that the stream it scores is
   * the one the index was built from (same file, same task field). False for an index out of range.
   */
  hasLabel(index: number, label: string): boolean;
}

/** Accumulates labels in sample order; {@link TaskIndexBuilder.finish} sorts them into a {@link TaskIndex}. */
export interface TaskIndexBuilder {
  /** Adds the label of the next sample (index = number of labels added so far). */
  add(label: string): void;
  finish(): TaskIndex;
}

/**
 * Starts a task index, for callers that read their file once and feed labels as they go. Labels are
 * compared by a 64-bit hash (SHA-256 prefix): two different labels share a task only on a hash
 * collision, about 3·10⁻⁶ for ten million distinct labels.
 */
export function createTaskIndexBuilder(): TaskIndexBuilder {
  let hashHigh: Uint32Array = new Uint32Array(1024);
  let hashLow: Uint32Array = new Uint32Array(1024);
  let count = 0;
  return {
    add(label) {
      if (count === hashHigh.length) {
        hashHigh = grow(hashHigh);
        hashLow = grow(hashLow);
      }
      const [high, low] = labelHash(label);
      hashHigh[count] = high;
      hashLow[count] = low;
      count++;
    },
    finish() {
      return sortedTaskIndex(hashHigh.slice(0, count), hashLow.slice(0, count));
    },
  };
}

/**
 * Builds a {@link TaskIndex} from task labels in sample order (e.g. `taskLabelOf(sample)` for each
 * sample of a first pass over the file). Memory: O(N) integers, never the labels.
 */
export async function buildTaskIndex(labels: AsyncIterable<string> | Iterable<string>): Promise<TaskIndex> {
  const builder = createTaskIndexBuilder();
  for await (const label of labels) builder.add(label);
  return builder.finish();
}

/** A {@link TaskIndex} of samples in memory, labelled by {@link taskLabelOf}. */
export function taskIndexOfSamples(samples: Iterable<Sample>): TaskIndex {
  const builder = createTaskIndexBuilder();
  for (const sample of samples) builder.add(taskLabelOf(sample));
  return builder.finish();
}

function sortedTaskIndex(hashHigh: Uint32Array, hashLow: Uint32Array): TaskIndex {
  const sampleCount = hashHigh.length;
  const compare = (a: number, b: number): number =>
    hashHigh[a] - hashHigh[b] || hashLow[a] - hashLow[b] || a - b;
  // Sorted by (hash, index): each task is one run, its members ascending.
  const order = new Uint32Array(sampleCount);
  for (let i = 0; i < sampleCount; i++) order[i] = i;
  order.sort(compare);
  // First position in `order` whose hash is ≥ (high, low), or > it when `after`.
  const bound = (high: number, low: number, after: boolean): number => {
    let lo = 0;
    let hi = sampleCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = order[mid];
      const below = hashHigh[m] < high || (hashHigh[m] === high && (after ? hashLow[m] <= low : hashLow[m] < low));
      if (below) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    sampleCount,
    membersOf(index) {
      if (!Number.isInteger(index) || index < 0 || index >= sampleCount) {
        throw new MetricsError("invalid-argument", `sample index ${index} is outside the task index (${sampleCount} samples)`);
      }
      const high = hashHigh[index];
      const low = hashLow[index];
      const start = bound(high, low, false);
      const end = bound(high, low, true);
      return order.subarray(start, end);
    },
    hasLabel(index, label) {
      if (!Number.isInteger(index) || index < 0 || index >= sampleCount) return false;
      const [high, low] = labelHash(label);
      return hashHigh[index] === high && hashLow[index] === low;
    },
  };
}

/** The first 64 bits of the label's SHA-256, as two unsigned 32-bit halves. */
function labelHash(label: string): [number, number] {
  const digest = createHash("sha256").update(label, "utf8").digest();
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}

function grow(array: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
