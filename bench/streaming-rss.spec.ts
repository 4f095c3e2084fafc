import { describe, expect, it } from "vitest";
import type { RssSample } from "./rss-sampler.js";
import { streamingFigures } from "./streaming-rss.js";

const MiB = 1024 ** 2;
const sample = (rows: number, rssMiB: number, peakMiB = rssMiB): RssSample => ({ seconds: rows / 100, rows, rssBytes: rssMiB * MiB, peakRssBytes: peakMiB * MiB, cpuSeconds: 0 });

describe("streamingFigures", () => {
  it("reads RSS at each mark, the last sample's peak, and the growth from the flat-from mark to the end", () => {
    const samples = [sample(0, 300), sample(2048, 500), sample(10_240, 600, 650), sample(20_480, 620, 700), sample(28_672, 630, 700), sample(30_000, 400, 700)];
    const figures = streamingFigures({ samples }, [1_000, 10_000, 30_000], 10_000);
    expect(figures.marks.map((mark) => mark.sample?.rows)).toEqual([2048, 10_240, 28_672]);
    expect(figures.peakBytes).toBe(700 * MiB);
    expect(figures.growth?.bytes).toBe(30 * MiB);
    expect(figures.growth?.fraction).toBeCloseTo(0.05, 10);
  });

  it("takes the end mark from the last window being scored, not from a process already giving memory back", () => {
    const samples = [sample(10_240, 600), sample(26_624, 608), sample(28_672, 610), sample(30_000, 350)];
    const figures = streamingFigures({ samples }, [10_000, 20_000, 30_000], 10_000);
    expect(figures.marks.map((mark) => mark.sample?.rows)).toEqual([10_240, 26_624, 28_672]);
    expect(figures.growth?.bytes).toBe(10 * MiB);
  });

  it("has no growth when the flat-from mark was never sampled", () => {
    const figures = streamingFigures({ samples: [sample(0, 100)] }, [10_000, 30_000], 10_000);
    expect(figures.marks[0].sample).toBeUndefined();
    expect(figures.growth).toBeUndefined();
  });
});
