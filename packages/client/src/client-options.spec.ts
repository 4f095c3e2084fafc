import { status as GrpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ClientError, isRetryable } from "./client-error.js";
import { CLIENT_DEFAULTS, resolveClientOptions, targetsOf } from "./client-options.js";

describe("resolveClientOptions", () => {
  it("takes a comma-separated string, a list, or options, canonicalising and de-duplicating addresses", () => {
    expect(resolveClientOptions("gpu-1:50051, [::1]:7000").targets).toEqual(["gpu-1:50051", "[::1]:7000"]);
    expect(resolveClientOptions(["a:1", "b:2", "a:1"]).targets).toEqual(["a:1", "b:2"]);
    expect(resolveClientOptions({ targets: ["dns:///scorer.ml.svc.cluster.local:50051"] }).targets).toEqual(["dns:///scorer.ml.svc.cluster.local:50051"]);
  });

  it("applies the documented defaults, including keepalive channel options", () => {
    const options = resolveClientOptions("a:1");
    expect(options).toMatchObject({ deadlineMs: CLIENT_DEFAULTS.deadlineMs, streamsPerTarget: 4, retry: { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 10_000 } });
    expect(options.maxInFlightTokens).toBeUndefined();
    expect(options.channelOptions).toMatchObject({ "grpc.keepalive_time_ms": 30_000, "grpc.keepalive_timeout_ms": 10_000, "grpc.max_reconnect_backoff_ms": 10_000 });
    expect(resolveClientOptions({ targets: ["a:1"], channelOptions: { "grpc.keepalive_time_ms": 1_000 } }).channelOptions["grpc.keepalive_time_ms"]).toBe(1_000);
  });

  it("rejects bad addresses and options with invalid-argument, naming them", () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error;
      }
    };
    for (const [input, pattern] of [
      [() => targetsOf(["gpu-1"]), /"gpu-1" is not host:port/],
      [() => targetsOf([" , "]), /no engine address/],
      [() => resolveClientOptions({ targets: ["a:1"], streamsPerTarget: 0 }), /streamsPerTarget must be a positive integer, got 0/],
      [() => resolveClientOptions({ targets: ["a:1"], deadlineMs: 1.5 }), /deadlineMs must be a positive integer/],
      [() => resolveClientOptions({ targets: ["a:1"], token: "two\nlines" }), /token must be a non-empty string on one line/],
    ] as const) {
      const error = attempt(input);
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({ code: "invalid-argument", message: expect.stringMatching(pattern) });
    }
  });
});

describe("ClientError", () => {
  it("normalises anything caught: gRPC statuses by code, aborts as cancelled, the rest as internal", () => {
    expect(ClientError.from(Object.assign(new Error("x"), { code: GrpcStatus.UNAUTHENTICATED, details: "missing bearer token" }))).toMatchObject({
      code: "unauthenticated",
      message: "UNAUTHENTICATED: missing bearer token",
    });
    expect(ClientError.from(Object.assign(new Error("x"), { code: GrpcStatus.DEADLINE_EXCEEDED, details: "Deadline exceeded" })).code).toBe("deadline-exceeded");
    expect(ClientError.from(new DOMException("stop", "AbortError")).code).toBe("cancelled");
    expect(ClientError.from("boom")).toMatchObject({ code: "internal", message: "boom" });
    const same = new ClientError("model-mismatch", "m");
    expect(ClientError.from(same)).toBe(same);
  });

  it("calls transport failures retryable and refusals not", () => {
    const of = (code: GrpcStatus) => ClientError.from(Object.assign(new Error(""), { code, details: "d" }));
    expect(isRetryable(of(GrpcStatus.UNAVAILABLE))).toBe(true);
    expect(isRetryable(of(GrpcStatus.INTERNAL))).toBe(true);
    expect(isRetryable(of(GrpcStatus.UNAUTHENTICATED))).toBe(false);
    expect(isRetryable(of(GrpcStatus.RESOURCE_EXHAUSTED))).toBe(false);
    expect(isRetryable(new ClientError("invalid-argument", "x"))).toBe(false);
  });
});
