import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createPullProgress, formatBytes } from "./pull-progress.js";

function stream(isTTY: boolean): { stream: PassThrough & { isTTY: boolean }; text: () => string } {
  const out = Object.assign(new PassThrough(), { isTTY });
  let text = "";
  out.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream: out, text: () => text };
}

describe("createPullProgress", () => {
  it("keeps one live line on a terminal with bytes, speed, ETA and the total", () => {
    let t = 0;
    const out = stream(true);
    const progress = createPullProgress({ stream: out.stream, now: () => t });
    progress.onEvent({ type: "resolved", repo: "o/m", commit: "a".repeat(40), files: [{ path: "m.onnx_data", sizeBytes: 200e6, cached: false }, { path: "config.json", sizeBytes: 700, cached: true }] });
    progress.onEvent({ type: "file-start", path: "m.onnx_data", sizeBytes: 200e6, resumeFromBytes: 0 });
    t = 2;
    progress.onEvent({ type: "file-progress", path: "m.onnx_data", receivedBytes: 50e6, sizeBytes: 200e6 });
    expect(out.text()).toContain("o/m at aaaaaaaaaaaa: 2 files, 1 to download (200 MB), 1 in the cache\n");
    expect(out.text()).toContain("\r\x1b[2Km.onnx_data: 50.0 MB/200 MB · 25.0 MB/s · ETA 6s · total 50.0 MB/200 MB");
    t = 8;
    progress.onEvent({ type: "file-done", path: "m.onnx_data", sizeBytes: 200e6, downloadedBytes: 200e6, cached: false });
    expect(out.text().endsWith("\r\x1b[2K  m.onnx_data 200 MB in 8.0s (25.0 MB/s)\n")).toBe(true);
  });

  it("logs plain lines when not on a terminal: big or resumed files, periodic progress, retries", () => {
    let t = 0;
    const out = stream(false);
    const progress = createPullProgress({ stream: out.stream, now: () => t, logIntervalSeconds: 10 });
    progress.onEvent({ type: "file-start", path: "m.onnx_data", sizeBytes: 2e9, resumeFromBytes: 5e8 });
    t = 1;
    progress.onEvent({ type: "file-progress", path: "m.onnx_data", receivedBytes: 6e8, sizeBytes: 2e9 });
    t = 11;
    progress.onEvent({ type: "file-progress", path: "m.onnx_data", receivedBytes: 1.6e9, sizeBytes: 2e9 });
    progress.onEvent({ type: "retry", path: "m.onnx_data", attempt: 1, message: "connection reset", resumeFromBytes: 1.6e9 });
    expect(out.text().split("\n")).toEqual([
      "downloading m.onnx_data (2.00 GB, resuming at 500 MB)",
      "m.onnx_data: 1.60 GB/2.00 GB · 100 MB/s · ETA 4s",
      "retrying m.onnx_data (attempt 2) from byte 1,600,000,000: connection reset",
      "",
    ]);
  });
});

describe("formatBytes", () => {
  it("uses powers of 1000 like the hub", () => {
    expect([0, 999, 1000, 12_345, 934_892, 1.31e9].map(formatBytes)).toEqual(["0 B", "999 B", "1.00 kB", "12.3 kB", "935 kB", "1.31 GB"]);
  });
});
