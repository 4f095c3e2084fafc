import { describe, expect, it } from "vitest";
import { createLinearScale } from "./scale.js";
import { bottomAxis, countTicks, figureElement, px, svgElement } from "./svg.js";

describe("px", () => {
  it("rounds to a tenth of a pixel and never prints -0", () => {
    expect(px(12.345)).toBe("12.3");
    expect(px(12.35)).toBe("12.4");
    expect(px(-0.01)).toBe("0");
    expect(px(40)).toBe("40");
  });
});

describe("countTicks", () => {
  it("steps 1, 2 or 5 × 10^k and ends at or above the largest count", () => {
    expect(countTicks(0)).toEqual([0, 1]);
    expect(countTicks(3)).toEqual([0, 1, 2, 3]);
    // 17/5 = 3.4 → step 5.
    expect(countTicks(17)).toEqual([0, 5, 10, 15, 20]);
    // 240/5 = 48 → step 50.
    expect(countTicks(240)).toEqual([0, 50, 100, 150, 200, 250]);
  });
});

describe("chart markup", () => {
  it("names the svg with an escaped <title> and <desc>, and the figure with data-chart", () => {
    const svg = svgElement({ id: "c", width: 10, height: 10, title: "<b>t</b>", description: "d & e", body: "" });
    expect(svg).toContain('<title id="c-title">&lt;b&gt;t&lt;/b&gt;</title><desc id="c-desc">d &amp; e</desc>');
    expect(svg).toContain('role="img" aria-labelledby="c-title c-desc"');
    expect(figureElement("histogram-ifd", svg, "caption")).toMatch(/^<figure class="chart-figure" data-chart="histogram-ifd"><svg .*<figcaption>caption<\/figcaption><\/figure>$/);
  });

  it("labels an axis with its ticks and title", () => {
    const axis = bottomAxis(createLinearScale([0, 10], [0, 100]), { left: 0, top: 0, width: 100, height: 50 }, { label: "ifd", ticks: [0, 5, 10] });
    expect(axis.match(/<text /g)).toHaveLength(4);
    expect(axis).toContain('x="50" y="68" text-anchor="middle"');
    expect(axis).toContain(">ifd</text>");
  });
});
