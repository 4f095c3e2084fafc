import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { createBearerTokenCheck } from "./auth-token.js";

function metadataWith(...authorization: string[]): Metadata {
  const metadata = new Metadata();
  for (const value of authorization) metadata.add("authorization", value);
  return metadata;
}

describe("createBearerTokenCheck", () => {
  const check = createBearerTokenCheck("t0ken");

  it("accepts `Bearer <token>` with the scheme in any case", () => {
    expect(check(metadataWith("Bearer t0ken"))).toBeUndefined();
    expect(check(metadataWith("BEARER t0ken"))).toBeUndefined();
  });

  it("calls a call without authorization metadata missing", () => {
    expect(check(new Metadata())).toBe("missing");
  });

  it("calls a wrong token, a prefix, an extension, another scheme or several headers invalid", () => {
    for (const value of ["Bearer t0keN", "Bearer t0ke", "Bearer t0ken0", "Basic t0ken", "t0ken", "Bearer", "Bearer t0ken extra"]) {
      expect(check(metadataWith(value)), value).toBe("invalid");
    }
    expect(check(metadataWith("Bearer t0ken", "Bearer t0ken"))).toBe("invalid");
  });

  it("refuses to be created with an empty token or one with spaces or control characters", () => {
    for (const token of ["", "a b", "a\nb", "tök"]) {
      expect(() => createBearerTokenCheck(token), JSON.stringify(token)).toThrow(/auth token must be non-empty visible ASCII/);
    }
  });
});
