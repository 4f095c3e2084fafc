import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findNginx, grpcProxyConfig } from "./nginx-proxy.js";

const nginx = findNginx();

describe("grpcProxyConfig", () => {
  it("proxies gRPC round-robin to every engine over HTTP/2", () => {
    const config = grpcProxyConfig("/tmp/x", "127.0.0.1:9000", ["127.0.0.1:1", "127.0.0.1:2"]);
    expect(config).toContain("server 127.0.0.1:1;\n    server 127.0.0.1:2;");
    expect(config).toContain("listen 127.0.0.1:9000 http2;");
    expect(config).toContain("grpc_pass grpc://engines;");
    expect(config).toContain("pid /tmp/x/nginx.pid;");
  });

  it.skipIf(nginx === undefined)("is a configuration nginx accepts (nginx -t)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sftscore-nginx-config-"));
    try {
      const file = path.join(dir, "nginx.conf");
      await writeFile(file, grpcProxyConfig(dir, "127.0.0.1:9000", ["127.0.0.1:1", "127.0.0.1:2"]));
      const output = await new Promise<string>((resolve) => {
        execFile(nginx ?? "nginx", ["-t", "-p", dir, "-c", file, "-e", path.join(dir, "error.log")], (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
      });
      expect(output).toMatch(/syntax is ok/);
      expect(output).toMatch(/test is successful/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
