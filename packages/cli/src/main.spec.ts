import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "./main.js";
import { captureStderr } from "./test-support/capture-output.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-cli-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("sftscore models fixture", () => {
  it("writes a Hugging Face model directory, identical for the same preset and seed", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const [a, b] = [await tempDir(), await tempDir()];
    expect(await main(["models", "fixture", "--preset", "tiny", "--seed", "3", "--out", a])).toBe(0);
    expect(await main(["models", "fixture", "--preset", "tiny", "--seed", "3", "--out", b])).toBe(0);
    const files = (await readdir(a)).sort();
    expect(files).toEqual(["README.md", "config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    for (const file of files) expect(Buffer.compare(await readFile(path.join(a, file)), await readFile(path.join(b, file)))).toBe(0);
    const config = JSON.parse(await readFile(path.join(a, "config.json"), "utf8"));
    expect(config.model_type).toBe("llama");
  });

  it("passes the export variant through: float16 with a KV cache in external data", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const dir = await tempDir();
    const code = await main(["models", "fixture", "--out", dir, "--dtype", "float16", "--with-past", "--no-position-ids", "--external-data"]);
    expect(code).toBe(0);
    expect((await readdir(dir)).sort()).toContain("model.onnx_data");
    const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
    expect(config.torch_dtype).toBe("float16");
    expect(config.use_cache).toBe(true);
  });

  it("rejects an unknown preset with exit code 2 and names the choices", async () => {
    const stderr = captureStderr();
    expect(await main(["models", "fixture", "--preset", "huge", "--out", await tempDir()])).toBe(2);
    expect(stderr()).toMatch(/preset.*Given: "huge".*Choices: "tiny"/s);
  });

  it("rejects an unknown command with exit code 2", async () => {
    const stderr = captureStderr();
    expect(await main(["frobnicate"])).toBe(2);
    expect(stderr()).toMatch(/Unknown argument: frobnicate/);
  });
});
