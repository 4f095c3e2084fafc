import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, truncate, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { createEngine } from "@sftscore/engine";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HubError } from "./hub-error.js";
import { pullModel, type PullEvent } from "./pull-model.js";
import type { FakeHub } from "./test-support/fake-hub.js";
import { FIXTURE_REPOS, FIXTURE_TOKEN, startFixtureHub, type FixtureHub } from "./test-support/fixture-repo.js";

const REPO = FIXTURE_REPOS.tiny;
const GATED = FIXTURE_REPOS.gated;
const TOKEN = FIXTURE_TOKEN;
const MAIN = { repo: REPO, revision: "main" };

let fixture: FixtureHub;
let source: string;
let hub: FakeHub;
const temps: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sftscore-pull-"));
  temps.push(dir);
  return dir;
}

/** A fresh HF_HOME pointed at the fake hub; nothing from the real environment. */
async function hubEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return { HF_HOME: await tempDir(), HF_ENDPOINT: hub.url, ...extra };
}

beforeAll(async () => {
  // A page size of 3 makes every listing span several pages (the Link header the hub paginates with).
  fixture = await startFixtureHub({ treePageSize: 3 });
  ({ hub, source } = fixture);
});

afterAll(async () => {
  await fixture.close();
});

afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const MODEL_FILES = [
  "config.json",
  "generation_config.json",
  "onnx/model.onnx",
  "onnx/model.onnx_data",
  "special_tokens_map.json",
  "tokenizer.json",
  "tokenizer_config.json",
];

async function snapshotFiles(dir: string, relative = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(path.join(dir, relative))) {
    const child = relative === "" ? name : `${relative}/${name}`;
    if ((await lstat(path.join(dir, child))).isDirectory()) out.push(...(await snapshotFiles(dir, child)));
    else out.push(child);
  }
  return out.sort();
}

async function expectSameBytes(snapshot: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const [pulled, original] = await Promise.all([readFile(path.join(snapshot, file)), readFile(path.join(source, file))]);
    expect(Buffer.compare(pulled, original), file).toBe(0);
  }
}

describe("pullModel", () => {
  it("downloads config, tokenizer and onnx/model.onnx with its data into the Hugging Face cache layout", async () => {
    const env = await hubEnv();
    const result = await pullModel(MAIN, { env });
    const commit = hub.commit(REPO);
    const repoDir = path.join(env.HF_HOME as string, "hub", "models--acme--tiny-llama");

    expect(result.commit).toBe(commit);
    expect(result.snapshotDir).toBe(path.join(repoDir, "snapshots", commit));
    expect(result.modelPath).toBe(result.snapshotDir);
    expect(result.graph).toBe("onnx/model.onnx");
    expect(await snapshotFiles(result.snapshotDir)).toEqual(MODEL_FILES);
    await expectSameBytes(result.snapshotDir, MODEL_FILES);
    expect(await readFile(path.join(repoDir, "refs", "main"), "utf8")).toBe(commit);

    // Blobs are named by the hub's ETag: SHA-256 for LFS files, the git blob SHA-1 for small ones.
    const data = await readFile(path.join(source, "onnx/model.onnx_data"));
    const config = await readFile(path.join(source, "config.json"));
    const sha256 = createHash("sha256").update(data).digest("hex");
    const gitOid = createHash("sha1").update(`blob ${config.length}\0`).update(config).digest("hex");
    expect(await readlink(path.join(result.snapshotDir, "onnx/model.onnx_data"))).toBe(`../../../blobs/${sha256}`);
    expect(await readlink(path.join(result.snapshotDir, "config.json"))).toBe(`../../blobs/${gitOid}`);
    const blobs = await readdir(path.join(repoDir, "blobs"));
    expect(blobs).toHaveLength(MODEL_FILES.length);
    expect(blobs.filter((name) => name.endsWith(".incomplete"))).toEqual([]);
    expect(await readdir(path.join(env.HF_HOME as string, "hub", ".locks", "models--acme--tiny-llama"))).toEqual([]);

    // Files a causal LM does not need stay on the hub.
    const fetched = hub.fileRequests().map((r) => decodeURIComponent(r.url));
    expect(fetched.some((url) => /README|pytorch_model|model_fp16/.test(url))).toBe(false);
    expect(result.files.every((file) => !file.cached)).toBe(true);
    expect(result.downloadedBytes).toBe(result.files.reduce((sum, file) => sum + file.sizeBytes, 0));
  });

  it("downloads nothing the second time", async () => {
    const env = await hubEnv();
    await pullModel(MAIN, { env });
    const before = hub.fileRequests().length;
    const again = await pullModel(MAIN, { env });
    expect(hub.fileRequests().length).toBe(before);
    expect(again.downloadedBytes).toBe(0);
    expect(again.files.every((file) => file.cached)).toBe(true);
  });

  it("refetches a blob whose size is wrong", async () => {
    const env = await hubEnv();
    const first = await pullModel(MAIN, { env });
    await truncate(await realpath(path.join(first.snapshotDir, "onnx/model.onnx_data")), 1000);
    const second = await pullModel(MAIN, { env });
    expect(second.files.find((file) => file.path === "onnx/model.onnx_data")?.cached).toBe(false);
    await expectSameBytes(second.snapshotDir, MODEL_FILES);
  });

  it("resumes a download whose connection drops mid-file, with a Range request from where it stopped", async () => {
    const env = await hubEnv();
    hub.dropConnection("onnx/model.onnx_data", 300_000);
    const events: PullEvent[] = [];
    const result = await pullModel(MAIN, { env, retryDelayMs: 1, onEvent: (event) => events.push(event) });
    await expectSameBytes(result.snapshotDir, MODEL_FILES);
    const retry = events.find((event) => event.type === "retry");
    expect(retry).toMatchObject({ path: "onnx/model.onnx_data", attempt: 1, resumeFromBytes: 300_000 });
    const cdn = hub.requests.filter((r) => r.server === "cdn").slice(-2);
    expect(cdn.map((r) => r.range)).toEqual([undefined, "bytes=300000-"]);
  });

  it("keeps the bytes of an interrupted download for the next run, which resumes them", async () => {
    const env = await hubEnv();
    hub.dropConnection("onnx/model.onnx_data", 300_000, 1);
    const failure = await pullModel(MAIN, { env, retries: 0 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HubError);
    expect(failure).toMatchObject({ code: "unreachable" });
    expect((failure as Error).message).toMatch(/interrupted at byte 300,000.*300,000 of 933,\d+ bytes are kept; run the command again to resume/);
    const blobs = path.join(env.HF_HOME as string, "hub", "models--acme--tiny-llama", "blobs");
    const partial = (await readdir(blobs)).find((name) => name.endsWith(".incomplete"));
    expect(partial).toBeDefined();
    expect((await stat(path.join(blobs, partial as string))).size).toBe(300_000);

    const result = await pullModel(MAIN, { env });
    await expectSameBytes(result.snapshotDir, MODEL_FILES);
    expect(result.files.find((file) => file.path === "onnx/model.onnx_data")?.downloadedBytes).toBe(933_892 - 300_000);
    expect(hub.requests.filter((r) => r.server === "cdn").at(-1)?.range).toBe("bytes=300000-");
  });

  it("starts over when the server ignores the Range header", async () => {
    const env = await hubEnv();
    hub.dropConnection("onnx/model.onnx_data", 300_000);
    hub.ignoreRanges(true);
    try {
      const result = await pullModel(MAIN, { env, retryDelayMs: 1 });
      await expectSameBytes(result.snapshotDir, MODEL_FILES);
      expect(result.files.find((file) => file.path === "onnx/model.onnx_data")?.downloadedBytes).toBe(300_000 + 933_892);
    } finally {
      hub.ignoreRanges(false);
    }
  });

  it("rejects bytes that do not match the hub's hash, and keeps nothing of them", async () => {
    const env = await hubEnv();
    hub.corruptNextDownload("onnx/model.onnx_data");
    const failure = pullModel(MAIN, { env });
    await expect(failure).rejects.toMatchObject({ code: "integrity" });
    await expect(failure).rejects.toThrow(/onnx\/model\.onnx_data: the downloaded bytes have sha256 [0-9a-f]{64}, the hub announced [0-9a-f]{64}; the file was removed/);
    const blobs = await readdir(path.join(env.HF_HOME as string, "hub", "models--acme--tiny-llama", "blobs"));
    expect(blobs.some((name) => name.endsWith(".incomplete"))).toBe(false);
    await expectSameBytes((await pullModel(MAIN, { env })).snapshotDir, MODEL_FILES);
  });

  it("lets concurrent pulls of one model share the downloads instead of writing the same file twice", async () => {
    const env = await hubEnv();
    const before = hub.requests.filter((r) => r.server === "cdn").length;
    const [a, b] = await Promise.all([pullModel(MAIN, { env }), pullModel(MAIN, { env })]);
    expect(a.snapshotDir).toBe(b.snapshotDir);
    await expectSameBytes(a.snapshotDir, MODEL_FILES);
    // Two LFS files (the graph and its data), each fetched once; the second pull found them done.
    expect(hub.requests.filter((r) => r.server === "cdn").length - before).toBe(2);
    expect([...a.files, ...b.files].filter((file) => !file.cached).length).toBe(MODEL_FILES.length);
  });

  it("takes over a lock left by a process that no longer runs", async () => {
    const env = await hubEnv();
    const data = await readFile(path.join(source, "onnx/model.onnx_data"));
    const locks = path.join(env.HF_HOME as string, "hub", ".locks", "models--acme--tiny-llama");
    await mkdir(locks, { recursive: true });
    await writeFile(path.join(locks, `${createHash("sha256").update(data).digest("hex")}.lock`), `${hostname()}:${await deadPid()}`);
    const result = await pullModel(MAIN, { env });
    await expectSameBytes(result.snapshotDir, MODEL_FILES);
    expect(await readdir(locks)).toEqual([]);
  });

  it("sends HF_TOKEN as a bearer token to the hub and never to the CDN it redirects to", async () => {
    const env = await hubEnv({ HF_TOKEN: TOKEN });
    const start = hub.requests.length;
    const result = await pullModel({ repo: GATED, revision: "main" }, { env });
    await expectSameBytes(result.snapshotDir, MODEL_FILES);
    const requests = hub.requests.slice(start);
    const toHub = requests.filter((r) => r.server === "hub");
    const toCdn = requests.filter((r) => r.server === "cdn");
    expect(toHub.length).toBeGreaterThan(3);
    expect(toCdn.length).toBeGreaterThan(0);
    expect(toHub.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(toCdn.every((r) => r.authorization === undefined)).toBe(true);
  });

  it("explains a 401 from a gated repository with the HF_TOKEN hint, and a 403 for a token without access", async () => {
    const noToken = pullModel({ repo: GATED, revision: "main" }, { env: await hubEnv() });
    await expect(noToken).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    await expect(noToken).rejects.toThrow(/acme\/gated-llama is gated: accept its conditions at http:\/\/127\.0\.0\.1:\d+\/acme\/gated-llama.*HF_TOKEN is not set/);
    const wrongToken = pullModel({ repo: GATED, revision: "main" }, { env: await hubEnv({ HF_TOKEN: "hf_someone_else" }) });
    await expect(wrongToken).rejects.toMatchObject({ code: "unauthorized", status: 403 });
    await expect(wrongToken).rejects.toThrow(/the HF_TOKEN given was not accepted/);
  });

  it("names the repository or revision that does not exist", async () => {
    const env = await hubEnv();
    const missing = pullModel({ repo: "acme/no-such-model", revision: "main" }, { env });
    await expect(missing).rejects.toMatchObject({ code: "not-found", status: 404 });
    await expect(missing).rejects.toThrow(/repository acme\/no-such-model \(revision main\) not found on http:\/\/127\.0\.0\.1/);
    await expect(pullModel({ repo: REPO, revision: "v9" }, { env })).rejects.toThrow(/revision "v9" of acme\/tiny-llama not found/);
  });

  it("pulls a commit hash without writing a ref", async () => {
    const env = await hubEnv();
    const commit = hub.commit(REPO);
    const result = await pullModel({ repo: REPO, revision: commit }, { env });
    expect(result.commit).toBe(commit);
    expect(await readdir(path.join(env.HF_HOME as string, "hub", "models--acme--tiny-llama", "refs")).catch(() => [])).toEqual([]);
  });

  it("with HF_HUB_OFFLINE uses the cache without a request, and fails clearly when nothing is cached", async () => {
    const env = await hubEnv();
    const online = await pullModel(MAIN, { env });
    const before = hub.requests.length;
    const offline = await pullModel(MAIN, { env: { ...env, HF_HUB_OFFLINE: "1" } });
    expect(hub.requests.length).toBe(before);
    expect(offline).toMatchObject({ offline: true, commit: online.commit, snapshotDir: online.snapshotDir, modelPath: online.modelPath, downloadedBytes: 0 });
    expect(offline.files.map((file) => file.path).sort()).toEqual(MODEL_FILES);

    const empty = pullModel(MAIN, { env: { ...(await hubEnv()), HF_HUB_OFFLINE: "true" } });
    await expect(empty).rejects.toMatchObject({ code: "offline" });
    await expect(empty).rejects.toThrow(/HF_HUB_OFFLINE is set and acme\/tiny-llama is not in the cache at .*: unset HF_HUB_OFFLINE/);
    expect(hub.requests.length).toBe(before);
  });

  it("offline, reports a cached snapshot without the graph asked for", async () => {
    const env = await hubEnv();
    await pullModel(MAIN, { env });
    const fp16 = pullModel(MAIN, { env: { ...env, HF_HUB_OFFLINE: "1" }, variant: "fp16" });
    await expect(fp16).rejects.toMatchObject({ code: "offline" });
    await expect(fp16).rejects.toThrow(/cached snapshot .* is incomplete: acme\/tiny-llama has no onnx\/model_fp16\.onnx or model_fp16\.onnx/);
  });

  it("says the hub is unreachable and how to copy a model directory instead", async () => {
    const port = await closedPort();
    const failure = pullModel(MAIN, { env: { HF_HOME: await tempDir(), HF_ENDPOINT: `http://127.0.0.1:${port}` } });
    await expect(failure).rejects.toMatchObject({ code: "unreachable" });
    await expect(failure).rejects.toThrow(/cannot reach the Hugging Face Hub at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)\. .*cp -rL.*--model <that directory>/);
  });

  it("lists what a repository without an ONNX graph has and suggests optimum-cli", async () => {
    const failure = pullModel({ repo: "acme/pytorch-only", revision: "main" }, { env: await hubEnv() });
    await expect(failure).rejects.toMatchObject({ code: "no-onnx-graph" });
    await expect(failure).rejects.toThrow(
      /acme\/pytorch-only has no ONNX graph \(its files: config\.json, model\.safetensors, tokenizer\.json\)\. Export it with optimum: `optimum-cli export onnx --model acme\/pytorch-only --task text-generation/,
    );
  });

  it("picks a transformers.js variant and returns its graph file as the model path", async () => {
    const result = await pullModel(MAIN, { env: await hubEnv(), variant: "fp16" });
    expect(result.graph).toBe("onnx/model_fp16.onnx");
    expect(result.modelPath).toBe(path.join(result.snapshotDir, "onnx", "model_fp16.onnx"));
    expect(result.files.map((file) => file.path)).not.toContain("onnx/model.onnx");
    await expect(pullModel(MAIN, { env: await hubEnv(), variant: "q4" })).rejects.toThrow(/no onnx\/model_q4\.onnx or model_q4\.onnx; its ONNX graphs are .*--variant fp16/);
  });

  it("gives a pulled snapshot, symlinked external data and all, to the engine", async () => {
    const result = await pullModel(MAIN, { env: await hubEnv() });
    const cacheDir = await tempDir();
    const pulled = await createEngine({ model: result.modelPath, modelId: REPO, threads: 1, cacheDir });
    const original = await createEngine({ model: source, threads: 1, cacheDir: await tempDir() });
    try {
      const [pulledInfo, originalInfo] = await Promise.all([pulled.info(), original.info()]);
      expect(pulledInfo.modelId).toBe(REPO);
      expect(pulledInfo.contentHash).toBe(originalInfo.contentHash);
      expect(pulledInfo.lossHead).toBe("scored-positions");
      // The loss-head cache refers to the blob itself (symlinks resolved), not the snapshot link.
      const [entry] = await readdir(cacheDir);
      const manifest = JSON.parse(await readFile(path.join(cacheDir, entry, "manifest.json"), "utf8")) as { externalDataDir?: string };
      expect(manifest.externalDataDir).toBe(path.dirname(await realpath(path.join(result.snapshotDir, "onnx/model.onnx_data"))));
      expect(path.basename(manifest.externalDataDir ?? "")).toBe("blobs");

      const request = { id: "a", tokenIds: Uint32Array.from([1, 40, 41, 42, 43, 44, 45]), spans: [{ start: 1, end: 7 }] };
      const score = async (engine: typeof pulled) => {
        for await (const result of engine.score((async function* () { yield request; })())) return result.spans[0].sumLogprob;
        throw new Error("no result");
      };
      expect(await score(pulled)).toBe(await score(original));
    } finally {
      await Promise.all([pulled.close(), original.close()]);
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}
