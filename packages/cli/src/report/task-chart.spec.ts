import { describe, expect, it } from "vitest";
import { divergingColor, taskValiditySvg, type TaskValues } from "./task-chart.js";

const task = (name: string, values: number[], nulls = 0): TaskValues => ({ task: name, values, indices: values.map((_, i) => i), nulls });

describe("divergingColor", () => {
  it("is deep red at −max, grey at 0, deep blue at +max, and halfway in between", () => {
    expect(divergingColor(-1, 1)).toBe("#b91c1c");
    expect(divergingColor(0, 1)).toBe("#d1d5db");
    expect(divergingColor(1, 1)).toBe("#1d4ed8");
    // Halfway from #bfdbfe to #1d4ed8: (191+29)/2 = 110, (219+78)/2 = 148.5 → 149, (254+216)/2 = 235.
    expect(divergingColor(0.5, 1)).toBe("#6e95eb");
  });
});

describe("taskValiditySvg", () => {
  it("stacks each task's shares of the distinct values across the bar", () => {
    const svg = taskValiditySvg([task("a", [1, 1, -1, 1 / 3]), task("solo", [], 1)], [-1, 1 / 3, 1]);
    // Bar from x = 150 over 434 px: −1 is 1/4 (108.5 px), 1/3 is 1/4, 1 is 2/4 (217 px).
    expect(svg).toContain('<rect x="150" y="39" width="108.5" height="14" fill="#b91c1c"');
    expect(svg).toContain('<rect x="367" y="39" width="217" height="14" fill="#1d4ed8"');
    expect(svg).toContain("<title>a: 1 ×2 (50%)</title>");
    expect(svg).toContain("no values (1 null)");
    expect(svg).toMatch(/<title id="chart-oneshot-validity-by-task-title">One-shot validity by task<\/title>/);
  });

  it("draws one point per sample and the median for continuous values", () => {
    const svg = taskValiditySvg([task("a", [-200, 100, 400]), task("b", [50])], undefined);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain("<title>median 100</title>");
    expect(svg).toContain("one point per sample; bar = median");
  });

  it("escapes task names, in labels and tooltips", () => {
    const svg = taskValiditySvg([task("<img src=x onerror=alert(1)>", [1])], [1]);
    expect(svg).not.toContain("<img");
    expect(svg).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});
