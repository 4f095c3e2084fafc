import { status as GrpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { EngineError, type EngineErrorCode } from "../engine-error.js";
import { grpcStatusOf, INTERNAL_ERROR_DETAILS } from "./grpc-status.js";

describe("grpcStatusOf", () => {
  it.each<[EngineErrorCode, GrpcStatus]>([
    ["invalid-argument", GrpcStatus.INVALID_ARGUMENT],
    ["unauthenticated", GrpcStatus.UNAUTHENTICATED],
    ["overloaded", GrpcStatus.RESOURCE_EXHAUSTED],
    ["model-failed", GrpcStatus.INTERNAL],
    ["cancelled", GrpcStatus.CANCELLED],
    ["unavailable", GrpcStatus.UNAVAILABLE],
    ["not-found", GrpcStatus.NOT_FOUND],
    ["failed-precondition", GrpcStatus.FAILED_PRECONDITION],
  ])("maps %s to status %i and keeps the user-facing message", (code, expected) => {
    const logs: string[] = [];
    expect(grpcStatusOf(new EngineError(code, "what to fix"), (line) => logs.push(line))).toEqual({ code: expected, details: "what to fix" });
    expect(logs).toEqual([]);
  });

  it("turns unknown errors into INTERNAL with a generic message and logs the cause", () => {
    const logs: string[] = [];
    const failure = grpcStatusOf(new TypeError("cannot read x of undefined at /srv/secret.js"), (line) => logs.push(line));
    expect(failure).toEqual({ code: GrpcStatus.INTERNAL, details: INTERNAL_ERROR_DETAILS });
    expect(logs.join("\n")).toMatch(/TypeError: cannot read x of undefined at \/srv\/secret\.js/);
  });

  it("treats an aborted operation as CANCELLED", () => {
    expect(grpcStatusOf(new DOMException("aborted", "AbortError"), () => undefined).code).toBe(GrpcStatus.CANCELLED);
  });
});
