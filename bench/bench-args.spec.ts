import { describe, expect, it } from "vitest";
import { BenchUsageError, parseBenchArgs } from "./bench-args.js";

const NAMES = ["engine", "whole-job", "scale", "load", "gpu"];

describe("parseBenchArgs", () => {
  it("runs every section on the CPU by default", () => {
    expect(parseBenchArgs([], NAMES)).toEqual({ device: "cpu", sections: NAMES, help: false });
  });

  it("takes --device cuda", () => {
    expect(parseBenchArgs(["--device", "cuda"], NAMES).device).toBe("cuda");
    expect(parseBenchArgs(["--device=cuda"], NAMES).device).toBe("cuda");
  });

  it("keeps registry order for --only, comma-separated or repeated", () => {
    expect(parseBenchArgs(["--only", "load,engine"], NAMES).sections).toEqual(["engine", "load"]);
    expect(parseBenchArgs(["--only", "gpu", "--only", "scale"], NAMES).sections).toEqual(["scale", "gpu"]);
    expect(parseBenchArgs(["--only=scale"], NAMES).sections).toEqual(["scale"]);
  });

  it("rejects an unknown section, naming it and listing the sections", () => {
    expect(() => parseBenchArgs(["--only", "scale,nope"], NAMES)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(["--only", "scale,nope"], NAMES)).toThrow(/unknown section "nope"; the sections are engine, whole-job, scale, load, gpu/);
  });

  it("rejects a device other than cpu or cuda", () => {
    expect(() => parseBenchArgs(["--device", "rocm"], NAMES)).toThrow(/--device must be one of cpu, cuda, got "rocm"/);
  });

  it("rejects unknown flags and positional arguments", () => {
    expect(() => parseBenchArgs(["--fast"], NAMES)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(["scale"], NAMES)).toThrow(BenchUsageError);
  });
});
