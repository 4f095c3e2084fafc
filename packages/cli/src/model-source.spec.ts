import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_REPOS, startFixtureHub, type FixtureHub } from "./hub/test-support/fixture-repo.js";
import { resolveModel } from "./model-source.js";
import { sink } from "./test-support/capture-output.js";

let fixture: FixtureHub;
const temps: string[] = [];

beforeAll(async () => {
  fixture = await startFixtureHub();
});
afterAll(async () => {
  await fixture.close();
});
afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-model-source-"));
  temps.push(dir);
  return dir;
}

describe("resolveModel", () => {
  it("builds the demo model into the sftscore cache and says its weights are random", async () => {
    const stderr = sink();
    const cache = await tempDir();
    const model = await resolveModel("demo", { env: { SFTSCORE_CACHE: cache }, stderr: stderr.stream });
    expect(model).toEqual({ path: path.join(cache, "models", "demo-tiny-seed0-v2"), kind: "demo" });
    expect(stderr.text()).toMatch(/random weights/);
  });

  it("returns an existing directory as it is, even when it looks like a hub id", async () => {
    const dir = await tempDir();
    const relative = path.relative(process.cwd(), dir);
    expect(await resolveModel(dir, { env: {} })).toEqual({ path: dir, kind: "directory" });
    expect(await resolveModel(relative, { env: {} })).toEqual({ path: relative, kind: "directory" });
  });

  it("downloads a hub id into the cache once, then reuses it, and reports the hub id as the model id", async () => {
    const env = { HF_HOME: await tempDir(), HF_ENDPOINT: fixture.hub.url };
    const stderr = sink();
    const model = await resolveModel(FIXTURE_REPOS.tiny, { env, stderr: stderr.stream });
    const commit = fixture.hub.commit(FIXTURE_REPOS.tiny);
    expect(model).toEqual({ path: path.join(env.HF_HOME, "hub", "models--acme--tiny-llama", "snapshots", commit), modelId: FIXTURE_REPOS.tiny, kind: "hub" });
    expect(stderr.text()).toMatch(/downloaded 7 files/);
    const before = fixture.hub.fileRequests().length;
    const again = sink();
    expect(await resolveModel(`${FIXTURE_REPOS.tiny}@main`, { env, stderr: again.stream })).toMatchObject({ path: model.path, modelId: FIXTURE_REPOS.tiny });
    expect(fixture.hub.fileRequests().length).toBe(before);
    // One line says which commit is used; nothing is downloaded.
    expect(again.text()).toBe(`acme/tiny-llama at ${commit.slice(0, 12)}: 7 files, all in the cache\n`);
  });

  it("offline, uses the cache, and fails naming HF_HUB_OFFLINE when the model is not there", async () => {
    const env = { HF_HOME: await tempDir(), HF_ENDPOINT: fixture.hub.url };
    const online = await resolveModel(FIXTURE_REPOS.tiny, { env, stderr: sink().stream });
    const requests = fixture.hub.requests.length;
    expect(await resolveModel(FIXTURE_REPOS.tiny, { env: { ...env, HF_HUB_OFFLINE: "1" }, stderr: sink().stream })).toEqual(online);
    expect(fixture.hub.requests.length).toBe(requests);
    await expect(resolveModel("acme/other", { env: { ...env, HF_HUB_OFFLINE: "1" }, stderr: sink().stream })).rejects.toThrow(/HF_HUB_OFFLINE is set and acme\/other is not in the cache/);
  });

  it("falls back to a cached snapshot, with a warning, when the hub cannot be reached", async () => {
    const env = { HF_HOME: await tempDir(), HF_ENDPOINT: fixture.hub.url };
    const online = await resolveModel(FIXTURE_REPOS.tiny, { env, stderr: sink().stream });
    const stderr = sink();
    const model = await resolveModel(FIXTURE_REPOS.tiny, { env: { ...env, HF_ENDPOINT: "http://127.0.0.1:9" }, stderr: stderr.stream });
    expect(model).toEqual(online);
    expect(stderr.text()).toMatch(/^warning: cannot reach the Hugging Face Hub at http:\/\/127\.0\.0\.1:9 .*; using the cached snapshot .*, which may be out of date\n$/);
  });

  it("says a missing hub id is not a directory either", async () => {
    const env = { HF_HOME: await tempDir(), HF_ENDPOINT: fixture.hub.url };
    await expect(resolveModel("acme/nothing", { env, stderr: sink().stream })).rejects.toThrow(/repository acme\/nothing .*not found.*\(and there is no directory .*acme\/nothing\)/);
  });
});
