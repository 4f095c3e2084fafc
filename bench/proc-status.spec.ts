import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { finishedChildrenCpuSeconds, parseProcStatChildrenCpuSeconds, parseProcStatCpuSeconds, parseProcStatus, processCpuSeconds, processMemory } from "./proc-status.js";

describe("parseProcStatus", () => {
  it("reads VmRSS and VmHWM in bytes", () => {
    const text = "Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n";
    expect(parseProcStatus(text)).toEqual({ rssBytes: 100 * 1024 ** 2, peakRssBytes: 200 * 1024 ** 2 });
  });

  it("says which line is missing", () => {
    expect(() => parseProcStatus("Name:\tzombie\nVmHWM:\t1 kB\n")).toThrow(/no VmRSS line/);
  });
});

describe("parseProcStatCpuSeconds", () => {
  it("adds utime and stime, counting fields after the command name even when it holds spaces and parentheses", () => {
    const stat = "4242 (node (worker) x) S 1 2 3 0 -1 4194304 99 0 0 0 250 50 7 8 20 0 11 0 991895 3133440 381";
    expect(parseProcStatCpuSeconds(stat)).toBe(3);
  });

  it("refuses text that is not a stat line", () => {
    expect(() => parseProcStatCpuSeconds("nonsense")).toThrow(/not a \/proc stat line/);
  });

  it("adds cutime and cstime for the finished children", () => {
    const stat = "4242 (node (worker) x) S 1 2 3 0 -1 4194304 99 0 0 0 250 50 7 8 20 0 11 0 991895 3133440 381";
    expect(parseProcStatChildrenCpuSeconds(stat)).toBe(0.15);
  });
});

describe("on this process", () => {
  it("reads a live process's memory and CPU time", async () => {
    const memory = await processMemory(process.pid);
    expect(memory.rssBytes).toBeGreaterThan(0);
    expect(memory.peakRssBytes).toBeGreaterThanOrEqual(memory.rssBytes);
    expect(await processCpuSeconds(process.pid)).toBeGreaterThan(0);
  });

  it("counts the CPU of a child command once it has exited", async () => {
    const before = await finishedChildrenCpuSeconds();
    execFileSync(process.execPath, ["-e", "const end = Date.now() + 300; while (Date.now() < end);"]);
    expect((await finishedChildrenCpuSeconds()) - before).toBeGreaterThanOrEqual(0.2);
  });
});
