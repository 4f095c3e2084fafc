import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BENCHMARKS_FILE, WORKSPACE_ROOT } from "./workspace.js";

const TSX = path.join(WORKSPACE_ROOT, "node_modules", ".bin", "tsx");
const BENCH = path.join(import.meta.dirname, "bench.ts");

function runBench(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [BENCH, ...args], { cwd: WORKSPACE_ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

async function modifiedMs(file: string): Promise<number | undefined> {
  return (await stat(file).catch(() => undefined))?.mtimeMs;
}

describe("npm run bench (bench.ts)", () => {
  it("exits 2 with --device cuda on a host without the CUDA provider, before running or writing anything", async () => {
    const before = await modifiedMs(BENCHMARKS_FILE);
    const { code, stdout, stderr } = await runBench(["--device", "cuda", "--only", "gpu"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/CUDA execution provider is not installed/);
    expect(stderr).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
    expect(stderr).not.toMatch(/\[bench/);
    expect(stdout).toBe("");
    expect(await modifiedMs(BENCHMARKS_FILE)).toBe(before);
  });

  it("exits 2 with the usage for an unknown section", async () => {
    const { code, stderr } = await runBench(["--only", "nope"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--only: unknown section "nope"; the sections are engine, whole-job, scale, streaming, load, gpu/);
    expect(stderr).toMatch(/Usage: npm run bench/);
  });
});
