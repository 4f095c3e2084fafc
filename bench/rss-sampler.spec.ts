import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLineCounter, sampleAtRows, sampleUntilExit, type RssSample } from "./rss-sampler.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "rss-sampler-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createLineCounter", () => {
  it("counts 0 before the file exists, then only the newlines appended since", async () => {
    const file = path.join(dir, "lines.txt");
    const counter = createLineCounter(file);
    expect(await counter.count()).toBe(0);
    await appendFile(file, "a\nb\npartial");
    expect(await counter.count()).toBe(2);
    await appendFile(file, " line\n" + "x\n".repeat(600_000));
    expect(await counter.count()).toBe(600_003);
    await counter.close();
  });
});

describe("sampleUntilExit", () => {
  it("samples a child's memory against the lines it writes, until it exits", async () => {
    const out = path.join(dir, "child.txt");
    const script = `const fs = require("fs"); let n = 0; const t = setInterval(() => { fs.appendFileSync(${JSON.stringify(out)}, "row\\n".repeat(10)); if (++n === 8) { clearInterval(t); process.exit(3); } }, 60);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
    const seen: RssSample[] = [];
    const run = await sampleUntilExit(child, { outputFile: out, intervalMs: 25, onSample: (sample) => seen.push(sample) });
    expect(run.code).toBe(3);
    expect(run.finalRows).toBe(80);
    expect(run.samples.length).toBeGreaterThan(2);
    expect(seen).toEqual(run.samples);
    for (const [i, sample] of run.samples.entries()) {
      expect(sample.rssBytes).toBeGreaterThan(0);
      expect(sample.peakRssBytes).toBeGreaterThanOrEqual(sample.rssBytes);
      if (i > 0) expect(sample.rows).toBeGreaterThanOrEqual(run.samples[i - 1].rows);
    }
  });
});

describe("sampleAtRows", () => {
  const sample = (rows: number, rssBytes: number): RssSample => ({ seconds: rows, rows, rssBytes, peakRssBytes: rssBytes, cpuSeconds: 0 });
  it("is the first sample at or past the row count, undefined when none reached it", () => {
    const samples = [sample(0, 1), sample(2048, 2), sample(4096, 3), sample(4096, 4)];
    expect(sampleAtRows(samples, 1000)?.rssBytes).toBe(2);
    expect(sampleAtRows(samples, 4096)?.rssBytes).toBe(3);
    expect(sampleAtRows(samples, 5000)).toBeUndefined();
  });
});
