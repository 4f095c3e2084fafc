import { ClientError } from "@sftscore/client";
import { EngineError } from "@sftscore/engine";
import { describe, expect, it } from "vitest";
import { ExitCode, exitCodeOf, UsageError } from "./exit-codes.js";

describe("exitCodeOf", () => {
  it("maps problems with the call or its input to 2", () => {
    expect(exitCodeOf(new UsageError("give --model or --engine"))).toBe(ExitCode.usage);
    expect(exitCodeOf(new EngineError("invalid-argument", "not a causal LM"))).toBe(ExitCode.usage);
    expect(exitCodeOf(new ClientError("invalid-argument", "bad address"))).toBe(ExitCode.usage);
    expect(exitCodeOf(new ClientError("unauthenticated", "refused the auth token"))).toBe(ExitCode.usage);
    expect(exitCodeOf(new ClientError("model-mismatch", "another model"))).toBe(ExitCode.usage);
  });

  it("maps runtime failures to 1", () => {
    expect(exitCodeOf(new ClientError("unavailable", "every engine failed"))).toBe(ExitCode.failure);
    expect(exitCodeOf(new ClientError("deadline-exceeded", "stalled"))).toBe(ExitCode.failure);
    expect(exitCodeOf(new EngineError("internal", "session crashed"))).toBe(ExitCode.failure);
    expect(exitCodeOf(new Error("anything else"))).toBe(ExitCode.failure);
  });
});
