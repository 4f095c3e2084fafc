import { describe, expect, it } from "vitest";
import { mergeRecords, parseRecords, renderSummary, requiredFailures, type RunInfo, type SectionRecord } from "./bench-summary.js";

const run: RunInfo = {
  startedAt: "2026-01-02T03:04:05.678Z",
  totalSeconds: 321,
  device: "cpu",
  machine: "AMD EPYC, 2 cores",
  command: "npm run bench -- --only scale",
  ran: ["scale"],
  skipped: [],
};

function record(name: string, overrides: Partial<SectionRecord> = {}): SectionRecord {
  return { name, measuredAt: "2026-01-02T03:04:05.678Z", seconds: 10, device: "cpu", machine: "AMD EPYC, 2 cores", targets: [], ...overrides };
}

describe("renderSummary and parseRecords", () => {
  it("carry the records through the Markdown unchanged, even text that would close an HTML comment", () => {
    const records = [
      record("engine", { targets: [{ description: "(a)/(b) = 3.84× (target ≥ 4×) -->", met: false, required: false }] }),
      record("scale", { targets: [{ description: "rows identical", met: true, required: true }] }),
    ];
    const markdown = renderSummary(run, records);
    const comment = markdown.split("\n").find((line) => line.startsWith("<!-- bench:records "));
    expect(comment?.match(/-->/g)).toHaveLength(1);
    expect(parseRecords(markdown, "BENCHMARKS.md")).toEqual(records);
  });

  it("shows every target with its section, and says when every required one was met", () => {
    const markdown = renderSummary(run, [record("scale", { targets: [{ description: "2 engines / 1 engine = 1.93× (target ≥ 1.8×)", met: true, required: false }] })]);
    expect(markdown).toContain("| scale | 2 engines / 1 engine = 1.93× (target ≥ 1.8×) | no | yes |");
    expect(markdown).toContain("Every required target was met.");
    expect(markdown).toContain("`npm run bench -- --only scale`, started 2026-01-02T03:04:05Z");
  });

  it("lists missed required targets and failed sections", () => {
    const records = [record("load", { targets: [{ description: "every result once", met: false, required: true }] }), record("gpu", { error: "boom\nstack" })];
    const markdown = renderSummary(run, records);
    expect(markdown).toContain("- load: every result once");
    expect(markdown).toContain("- gpu: the section failed: boom");
    expect(markdown).toContain("| gpu | 2026-01-02T03:04:05Z | cpu | 10 s | **failed**: boom |");
  });

  it("names the machine per section when sections were measured on different machines", () => {
    const markdown = renderSummary(run, [record("engine", { machine: "box A" }), record("scale", { machine: "box B" })]);
    expect(markdown).toContain("- engine: box A\n- scale: box B");
  });

  it("finds no records without a summary, and refuses a damaged records comment naming the file", () => {
    expect(parseRecords(undefined, "BENCHMARKS.md")).toEqual([]);
    expect(parseRecords("## Summary\nno records", "BENCHMARKS.md")).toEqual([]);
    expect(() => parseRecords("<!-- bench:records [{] -->", "/x/BENCHMARKS.md")).toThrow(/\/x\/BENCHMARKS\.md: the summary's "bench:records" comment is not JSON/);
    expect(() => parseRecords('<!-- bench:records [{"name":1}] -->', "B.md")).toThrow(/does not hold section records/);
    expect(() => parseRecords("<!-- bench:records []", "B.md")).toThrow(/is not closed/);
  });
});

describe("mergeRecords", () => {
  it("replaces the sections that ran, keeps the others, in registry order", () => {
    const previous = [record("engine", { seconds: 1 }), record("scale", { seconds: 2 })];
    const merged = mergeRecords(previous, [record("scale", { seconds: 3 }), record("gpu", { seconds: 4 })], ["engine", "scale", "load", "gpu"]);
    expect(merged.map((r) => [r.name, r.seconds])).toEqual([
      ["engine", 1],
      ["scale", 3],
      ["gpu", 4],
    ]);
  });
});

describe("requiredFailures", () => {
  it("ignores missed targets that are not required", () => {
    expect(requiredFailures([record("engine", { targets: [{ description: "fast", met: false, required: false }] })])).toEqual([]);
  });
});
