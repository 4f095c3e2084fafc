import { PassThrough } from "node:stream";
import { vi } from "vitest";

/** A writable stream that keeps what is written, for `run(options, { stdout, stderr })` in tests. */
export function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/**
 * Silences `process.stderr` and keeps what is written to it, for code that writes there directly.
 * Undo with `vi.restoreAllMocks()` (in `afterEach`).
 */
export function captureStderr(): () => string {
  let text = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  return () => text;
}
