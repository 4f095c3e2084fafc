import { describe, expect, it } from "vitest";
import { histogramSvg } from "./histogram-chart.js";
import { binValues } from "./histogram.js";

// The plot area is x 64…540 (476 px) and y 24…248 (224 px).
describe("histogramSvg", () => {
  it("draws one bar per non-empty bin, scaled to the bins' extent and the count axis", () => {
    const svg = histogramSvg(binValues([0, 1, 3, 4, 4], { bins: 2, maxDistinct: 0 }), { metric: "m", reference: 1 });
    // Counts 2 and 3; count ticks 0…3, so 3 fills the height and 2 is 2/3 of it (149.3 px, top at 98.7).
    // Bin [0, 2) spans x 64…302: drawn from 64.5, 1 px narrower than the bin (237).
    expect(svg).toContain('<rect x="64.5" y="98.7" width="237" height="149.3" fill="#3b82f6"><title>[0, 2): 2 samples</title></rect>');
    expect(svg).toContain('<rect x="302.5" y="24" width="237" height="224" fill="#3b82f6"><title>[2, 4]: 3 samples</title></rect>');
    // The reference line at 1: a quarter of the way, 64 + 119 = 183.
    expect(svg).toContain('<path d="M183 24V248" stroke="#b91c1c"');
    expect(svg).toContain(">m</text>");
  });

  it("skips empty bins and labels a log axis", () => {
    const svg = histogramSvg(binValues([1, 1000], { axis: "log", bins: 3, maxDistinct: 0 }), { metric: "response_ppl" });
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain(">response_ppl (log scale)</text>");
    expect(svg).toMatch(/<title id="chart-histogram-response_ppl-title">Distribution of response_ppl<\/title>/);
  });

  it("draws a single value as one bar in the middle, with its count on top", () => {
    const svg = histogramSvg(binValues([5, 5, 5]), { metric: "m", median: 5 });
    // Domain 2.5…7.5: 5 is the middle, x 302; the bar is 28 px wide.
    expect(svg).toContain('<rect x="288" y="24" width="28" height="224"');
    expect(svg).toMatch(/<text x="302" y="19" [^>]*>3<\/text>/);
    expect(svg).toContain('<path d="M302 24V248" stroke="#111827"');
  });
});
