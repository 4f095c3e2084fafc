import { describe, expect, it } from "vitest";
import { countFloorWork, scoredPositionsOf, type ModelShape } from "./compute-floor.js";

const shape: ModelShape = { hiddenSize: 4, intermediateSize: 8, layers: 2, kvHeads: 1, headDim: 2, vocabSize: 10 };

describe("the compute floor's work", () => {
  it("scores the union of a sequence's spans", () => {
    const request = { id: "a", tokenIds: Uint32Array.of(1, 2, 3, 4, 5), spans: [{ start: 1, end: 3 }, { start: 2, end: 4 }, { start: 4, end: 4 }] };
    expect(scoredPositionsOf(request)).toEqual([1, 2, 3]);
  });

  it("counts the body up to each sequence's last scored position and the head at the scored ones", () => {
    const work = countFloorWork(
      [
        { id: "a", tokenIds: Uint32Array.of(1, 2, 3, 4), spans: [{ start: 1, end: 2 }, { start: 2, end: 4 }] },
        { id: "b", tokenIds: Uint32Array.of(1, 2, 5, 6, 7), spans: [{ start: 3, end: 5 }] },
      ],
      shape,
    );
    // Per position and layer: q, k, v, o projections 2·4·(4 + 2·1·2 + 4) and the MLP 2·3·4·8.
    const perPosition = 2 * (2 * 4 * (2 * 4 + 2 * 1 * 2) + 6 * 4 * 8);
    // Attention: position t reads t + 1 keys, 4·hidden FLOPs each, in each layer.
    const attention = 2 * 4 * 4 * (1 + 2 + 3) + 2 * 4 * 4 * (1 + 2 + 3 + 4);
    expect(work).toEqual({
      sequences: 2,
      bodyPositions: 3 + 4,
      scoredPositions: 3 + 2,
      // Prefixes [1], [1 2], [1 2 3], [1 2 5], [1 2 5 6], at depths 1, 2, 3, 3, 4 (keys read).
      distinctPrefixPositions: 5,
      distinctPrefixBodyFlops: 5 * perPosition + 2 * 4 * 4 * (1 + 2 + 3 + 3 + 4),
      // [1 2], [1 2 3], [1 2 3 4] scored in a; [1 2 5 6], [1 2 5 6 7] in b.
      distinctScoredPositions: 5,
      distinctHeadFlops: 5 * 2 * 4 * 10,
      bodyFlops: 7 * perPosition + attention,
      headFlops: 5 * 2 * 4 * 10,
    });
  });

  it("counts a scored position once when its context and label repeat", () => {
    // Both score [1 2] and [1 2 3]; b also scores [1 2 3 9]. The body runs [1], [1 2], [1 2 3] once.
    const work = countFloorWork(
      [
        { id: "a", tokenIds: Uint32Array.of(1, 2, 3, 4), spans: [{ start: 1, end: 3 }] },
        { id: "b", tokenIds: Uint32Array.of(1, 2, 3, 9), spans: [{ start: 1, end: 4 }] },
      ],
      shape,
    );
    expect(work.scoredPositions).toBe(5);
    expect(work.distinctScoredPositions).toBe(3);
    expect(work.distinctPrefixPositions).toBe(3);
    expect(work.distinctHeadFlops).toBe(3 * 2 * 4 * 10);
  });
});
