import { describe, expect, it } from "vitest";
import { createSequencePool, sequenceKeyOf } from "./sequence-pool.js";

describe("sequence pool", () => {
  it("keeps one sequence per token ids and merges their spans", () => {
    const pool = createSequencePool();
    const a = pool.add(Uint32Array.of(1, 2, 3, 4), { start: 2, end: 4 });
    const b = pool.add(Uint32Array.of(1, 2, 3, 4), { start: 1, end: 2 });
    const c = pool.add(Uint32Array.of(1, 2, 3, 4), { start: 2, end: 4 });
    const d = pool.add(Uint32Array.of(1, 2, 3), { start: 2, end: 3 });
    expect(a).toEqual({ sequence: 0, span: 0 });
    expect(b).toEqual({ sequence: 0, span: 1 });
    expect(c).toEqual(a);
    expect(d).toEqual({ sequence: 1, span: 0 });
    expect(pool.sequences.map((s) => s.spans)).toEqual([
      [
        { start: 2, end: 4 },
        { start: 1, end: 2 },
      ],
      [{ start: 2, end: 3 }],
    ]);
  });

  it("marks a sequence shared across windows when any of its adds says so", () => {
    const pool = createSequencePool();
    pool.add(Uint32Array.of(1, 2, 3), { start: 1, end: 3 });
    pool.add(Uint32Array.of(1, 2, 3), { start: 2, end: 3 }, "", true);
    pool.add(Uint32Array.of(1, 2, 3), { start: 1, end: 2 });
    pool.add(Uint32Array.of(4, 5), { start: 1, end: 2 });
    expect(pool.sequences.map((s) => s.sharedAcrossWindows)).toEqual([true, false]);
  });

  it("keys by content, also for views into larger buffers", () => {
    const buffer = Uint32Array.of(7, 1, 2, 3, 7);
    expect(sequenceKeyOf(buffer.subarray(1, 4))).toBe(sequenceKeyOf(Uint32Array.of(1, 2, 3)));
    expect(sequenceKeyOf(Uint32Array.of(1, 2))).not.toBe(sequenceKeyOf(Uint32Array.of(2, 1)));
    expect(sequenceKeyOf(Uint32Array.of(1, 2))).toHaveLength(43);
  });
});
