import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../main.js";
import { FIXTURE_REPOS, startFixtureHub, type FixtureHub } from "../../../hub/test-support/fixture-repo.js";
import type { PullCommandOptions } from "./command.js";
import { run } from "./run.js";
import { sink } from "../../../test-support/capture-output.js";

let fixture: FixtureHub;
const temps: string[] = [];

beforeAll(async () => {
  fixture = await startFixtureHub();
});
afterAll(async () => {
  await fixture.close();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-pull-cmd-"));
  temps.push(dir);
  return dir;
}

function options(hubId: string, extra: Partial<PullCommandOptions> = {}): PullCommandOptions {
  return { hubId, "hub-id": hubId, _: [], $0: "sftscore", ...extra } as PullCommandOptions;
}

describe("sftscore models pull", () => {
  it("prints the snapshot directory on stdout and the progress and a summary on stderr", async () => {
    const [stdout, stderr] = [sink(), sink()];
    const env = { HF_HOME: await tempDir(), HF_ENDPOINT: fixture.hub.url };
    const code = await run(options(FIXTURE_REPOS.tiny), { env, stdout: stdout.stream, stderr: stderr.stream });
    expect(code).toBe(0);
    const commit = fixture.hub.commit(FIXTURE_REPOS.tiny);
    const snapshot = path.join(env.HF_HOME, "hub", "models--acme--tiny-llama", "snapshots", commit);
    expect(stdout.text()).toBe(`${snapshot}\n`);
    expect(stderr.text()).toMatch(new RegExp(`acme/tiny-llama at ${commit.slice(0, 12)}: 7 files, 7 to download \\(\\d+(\\.\\d+)? (kB|MB)\\)`));
    expect(stderr.text()).toMatch(/^ {2}onnx\/model\.onnx_data 934 kB( in \d+\.\ds \([\d.]+ [kMG]?B\/s\))?$/m);
    expect(stderr.text()).toMatch(/acme\/tiny-llama@[0-9a-f]{12}: 7 files, .*downloaded 7 files, .* in \d+\.\ds \(.*\/s\); graph onnx\/model\.onnx\n {2}snapshot /);

    const again = sink();
    expect(await run(options(FIXTURE_REPOS.tiny), { env, stdout: sink().stream, stderr: again.stream })).toBe(0);
    expect(again.text()).toMatch(/7 files, all in the cache/);
  });

  it("takes --cache-dir, --revision and --variant, and prints the variant's graph file", async () => {
    const [stdout, cacheDir] = [sink(), await tempDir()];
    const commit = fixture.hub.commit(FIXTURE_REPOS.tiny);
    const code = await run(options(FIXTURE_REPOS.tiny, { revision: commit, variant: "fp16", cacheDir }), { env: { HF_ENDPOINT: fixture.hub.url }, stdout: stdout.stream, stderr: sink().stream });
    expect(code).toBe(0);
    expect(stdout.text()).toBe(`${path.join(cacheDir, "models--acme--tiny-llama", "snapshots", commit, "onnx", "model_fp16.onnx")}\n`);
    expect(await readdir(path.join(cacheDir, "models--acme--tiny-llama"))).not.toContain("refs");
  });

  it("rejects an id that is not org/name with exit code 2", async () => {
    let stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    expect(await main(["models", "pull", "gpt2"])).toBe(2);
    expect(stderr).toMatch(/error: "gpt2" is not a Hugging Face Hub model id: expected org\/name/);
    expect(await main(["models", "pull", "a/b", "--variant", "fp16", "--include", "x.onnx"])).toBe(2);
    expect(stderr).toMatch(/mutually exclusive/);
  });
});
