import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The installed `sftscore` bin, run as a user runs it: a separate process from the workspace's
// node_modules/.bin link.
const run = promisify(execFile);
const bin = path.join(import.meta.dirname, "..", "node_modules", ".bin", "sftscore");

describe("the sftscore bin", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-e2e-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the fixture model, which onnxruntime-node loads as a causal LM", async () => {
    const out = path.join(dir, "tiny");
    const { stdout } = await run(bin, ["models", "fixture", "--preset", "tiny", "--out", out]);
    expect(stdout).toMatch(/wrote tiny \(seed 0, float32\)/);
    expect(stdout).toMatch(/weights are random/);
    const session = await ort.InferenceSession.create(path.join(out, "model.onnx"));
    expect(session.inputNames).toEqual(["input_ids", "attention_mask", "position_ids"]);
    expect(session.outputNames).toEqual(["logits"]);
    await session.release();
  });

  it("exits with 2 and a usage message on a missing required option", async () => {
    const failure = await run(bin, ["models", "fixture"]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/Missing required argument: out/);
  });

  it("prints help without loading the engine", async () => {
    const { stdout } = await run(bin, ["--help"]);
    expect(stdout).toMatch(/sftscore models <command>/);
  });
});
