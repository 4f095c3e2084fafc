import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { replaceSection, sectionBody, writeBenchmarkSection } from "./benchmarks-file.js";

const file = "BENCHMARKS.md";

describe("replaceSection", () => {
  it("starts a missing file with the header and the section", () => {
    const text = replaceSection(undefined, "scale", "## Scale\n\nfigures", { file });
    expect(text).toMatch(/^# Benchmarks\n/);
    expect(text).toContain("<!-- bench:scale:start -->\n## Scale\n\nfigures\n<!-- bench:scale:end -->\n");
  });

  it("replaces only the text between the section's markers", () => {
    const before = "# B\n\n<!-- bench:a:start -->\nold a\n<!-- bench:a:end -->\n\n<!-- bench:b:start -->\nold b\n<!-- bench:b:end -->\n";
    expect(replaceSection(before, "a", "new a", { file })).toBe(before.replace("old a", "new a"));
  });

  it("appends a section without markers at the end, or with placement top before the first section", () => {
    const before = "# B\n\nintro\n\n<!-- bench:a:start -->\na\n<!-- bench:a:end -->\n";
    expect(replaceSection(before, "z", "z", { file })).toBe(`${before}\n<!-- bench:z:start -->\nz\n<!-- bench:z:end -->\n`);
    expect(replaceSection(before, "summary", "s", { file, placement: "top" })).toBe(
      "# B\n\nintro\n\n<!-- bench:summary:start -->\ns\n<!-- bench:summary:end -->\n\n<!-- bench:a:start -->\na\n<!-- bench:a:end -->\n",
    );
  });

  it("refuses unbalanced markers, naming the file and the section", () => {
    expect(() => replaceSection("<!-- bench:a:start -->\nx\n", "a", "y", { file })).toThrow(/BENCHMARKS\.md: the markers of section "a" are unbalanced/);
    expect(() => replaceSection("<!-- bench:a:end -->\nx\n<!-- bench:a:start -->\n", "a", "y", { file })).toThrow(/unbalanced/);
  });
});

describe("sectionBody", () => {
  it("returns the trimmed text between the markers, or undefined", () => {
    const text = replaceSection(undefined, "summary", "\nbody\n", { file });
    expect(sectionBody(text, "summary")).toBe("body");
    expect(sectionBody(text, "other")).toBeUndefined();
  });
});

describe("writeBenchmarkSection", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-bench-file-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replaces a section on a rerun instead of appending, leaving the others as they are", async () => {
    const target = path.join(dir, "BENCHMARKS.md");
    await writeFile(target, "# Benchmarks\n\nhand-written note\n");
    await writeBenchmarkSection(target, "engine", "## Engine\nrun 1");
    await writeBenchmarkSection(target, "scale", "## Scale\nrun 1");
    await writeBenchmarkSection(target, "engine", "## Engine\nrun 2");
    await writeBenchmarkSection(target, "summary", "## Summary", "top");
    const text = await readFile(target, "utf8");
    expect(text.match(/bench:engine:start/g)).toHaveLength(1);
    expect(text).toContain("## Engine\nrun 2");
    expect(text).not.toContain("run 1\n<!-- bench:engine:end");
    expect(text).toContain("## Scale\nrun 1");
    expect(text.indexOf("hand-written note")).toBeLessThan(text.indexOf("bench:summary:start"));
    expect(text.indexOf("bench:summary:start")).toBeLessThan(text.indexOf("bench:engine:start"));
  });
});
