import { describe, expect, it } from "vitest";
import { evenlySpaced, logDomainAround1, quadrantCounts, scatterSvg, type ScatterPoint } from "./scatter-chart.js";

const point = (ifd: number, rifd: number, index = 0): ScatterPoint => ({ index, ifd, rifd });

describe("quadrantCounts", () => {
  it("counts each quadrant, with exactly 1 on the ≥ side", () => {
    const counts = quadrantCounts([point(0.5, 0.5), point(0.9, 0.2), point(0.5, 2), point(1, 0.5), point(1, 1), point(3, 4)]);
    expect(counts).toEqual({ bothBelow: 2, ifdBelow: 1, rifdBelow: 1, neitherBelow: 2 });
  });
});

describe("logDomainAround1", () => {
  it("always contains 1 and pads 5% of the decades on each side", () => {
    // 0.01..100 is four decades: pad 0.2 decades.
    const [low, high] = logDomainAround1([0.01, 100, 3]);
    expect(Math.log10(low)).toBeCloseTo(-2.2, 12);
    expect(Math.log10(high)).toBeCloseTo(2.2, 12);
    // Values all above 1: the domain still starts below 1. 1..1000 is 3 decades: pad 0.15.
    const [from, to] = logDomainAround1([10, 1000]);
    expect(Math.log10(from)).toBeCloseTo(-0.15, 12);
    expect(Math.log10(to)).toBeCloseTo(3.15, 12);
  });

  it("spans half a decade each side when everything is 1", () => {
    const [low, high] = logDomainAround1([1, 1]);
    expect(low).toBeCloseTo(10 ** -0.5, 12);
    expect(high).toBeCloseTo(10 ** 0.5, 12);
  });
});

describe("scatter scaling", () => {
  it("puts IFD = 1 and r-IFD = 1 where the log scales say", () => {
    // x: 0.01..100 padded to 10^±2.2 over 544 px from 72; 1 is in the middle: 72 + 272 = 344.
    // y: 0.1..10 padded to 10^±1.1 over 384 px from 412 up; 1 is in the middle: 412 − 192 = 220.
    const svg = scatterSvg([point(0.01, 0.1), point(100, 10)]);
    expect(svg).toContain('d="M344 28V412M72 220H616"');
    // The point (0.01, 0.1) sits 0.2 decades of 4.4 in from the left and bottom:
    // x = 72 + 544·0.2/4.4 = 96.7; y = 412 − 384·0.1/2.2 = 394.5.
    expect(svg).toContain('cx="96.7" cy="394.5"');
  });

  it("shades the reflection region from the frame to the 1-lines and colours its points", () => {
    const svg = scatterSvg([point(0.01, 0.1, 0), point(100, 10, 1)]);
    expect(svg).toContain('<rect class="region" x="72" y="220" width="272" height="192"');
    expect(svg).toMatch(/<circle [^>]*fill="#15803d"[^>]*><title>#0: IFD 0.01, r-IFD 0.1<\/title>/);
    expect(svg).toContain(">reflection: 1</text>");
  });
});

describe("evenlySpaced", () => {
  it("keeps everything up to the limit and spreads the subset over the whole range beyond it", () => {
    expect(evenlySpaced(3, 5)).toEqual([0, 1, 2]);
    expect(evenlySpaced(10, 4)).toEqual([0, 2, 5, 7]);
  });
});
