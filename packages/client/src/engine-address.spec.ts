import { describe, expect, it } from "vitest";
import { formatEngineAddress, parseEngineAddress, parseEngineAddresses } from "./engine-address.js";

describe("parseEngineAddresses", () => {
  it("splits a comma-separated list, trimming blanks and dropping duplicates", () => {
    expect(parseEngineAddresses(" gpu-1:50051, 10.0.0.5:7000 ,gpu-1:50051,")).toEqual([
      { host: "gpu-1", port: 50051 },
      { host: "10.0.0.5", port: 7000 },
    ]);
  });

  it("accepts bracketed IPv6 hosts and formats them back with brackets", () => {
    const [address] = parseEngineAddresses("[::1]:50051");
    expect(address).toEqual({ host: "::1", port: 50051 });
    expect(formatEngineAddress(address)).toBe("[::1]:50051");
  });

  it("rejects an entry without a port, naming it", () => {
    expect(() => parseEngineAddresses("gpu-1:50051,gpu-2")).toThrow(/"gpu-2" is not host:port/);
  });

  it("rejects ports outside 1-65535", () => {
    expect(() => parseEngineAddress("h:0")).toThrow(/outside 1-65535/);
    expect(() => parseEngineAddress("h:65536")).toThrow(/outside 1-65535/);
  });

  it("rejects an empty list", () => {
    expect(() => parseEngineAddresses(" , ")).toThrow(/no engine address/);
  });
});
