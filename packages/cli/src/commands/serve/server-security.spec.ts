import { describe, expect, it } from "vitest";
import { exposureWarning, securitySummary, type ServerSecurity } from "./server-security.js";

const tls = { cert: "CERT", key: "KEY" };
const mutualTls = { ...tls, ca: "CA" };

describe("exposureWarning", () => {
  it("says nothing on loopback, however the engine is secured", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(exposureWarning(host, {})).toBeUndefined();
  });

  it("beyond loopback, names what is missing: TLS and a token, TLS, or a way to authenticate clients", () => {
    expect(exposureWarning("0.0.0.0", {})).toMatch(/anyone who can reach it can use this engine, which serves without TLS or an auth token/);
    expect(exposureWarning("0.0.0.0", { authToken: "t" })).toMatch(/serves without TLS: the auth token crosses the network in plaintext/);
    expect(exposureWarning("10.0.0.5", { tls })).toMatch(/serves without an auth token: anyone who can reach it can use this engine; set SFTSCORE_AUTH_TOKEN/);
  });

  it("is silent beyond loopback with TLS and a token, or with client certificates", () => {
    const secured: ServerSecurity[] = [{ tls, authToken: "t" }, { tls: mutualTls }];
    for (const security of secured) expect(exposureWarning("0.0.0.0", security)).toBeUndefined();
  });
});

describe("securitySummary", () => {
  it("lists TLS (mutual when client certificates are required) and the token for the listening line", () => {
    expect(securitySummary({})).toBe("");
    expect(securitySummary({ tls })).toBe(", tls");
    expect(securitySummary({ tls: mutualTls, authToken: "t" })).toBe(", mutual tls, auth token");
  });
});
