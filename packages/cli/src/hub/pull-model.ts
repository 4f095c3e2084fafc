import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { listFiles, modelInfo } from "@huggingface/hub";
import { downloadBlob, type Checksum } from "./download-blob.js";
import { withFileLock } from "./file-lock.js";
import { blobPath, linkSnapshotFile, listSnapshotFiles, readRef, repoCache, snapshotDir, writeRef, type RepoCache } from "./hub-cache.js";
import { copyModelHint, HubError } from "./hub-error.js";
import { createHubFetch, type HubFetch } from "./hub-fetch.js";
import { COMMIT_HASH, formatHubModelRef, type HubModelRef } from "./hub-model-id.js";
import { hubSettings, type HubSettings } from "./hub-settings.js";
import { chooseModelFiles, type ModelFileChoice } from "./model-files.js";

/** Options of {@link pullModel} and {@link findCachedModel}. */
export interface PullOptions {
  /** Read for `HF_HOME`, `HF_HUB_CACHE`, `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`; pass `process.env` at the edge. */
  readonly env: NodeJS.ProcessEnv;
  /** The hub cache, instead of the one the environment names. */
  readonly cacheDir?: string;
  /** Graph variant (`fp16`, `q4`, …); see {@link chooseModelFiles}. */
  readonly variant?: string;
  /** Extra files or globs; an `.onnx` among them is the graph. */
  readonly include?: readonly string[];
  readonly signal?: AbortSignal;
  /** Progress and notable events, for a progress display. */
  readonly onEvent?: (event: PullEvent) => void;
  /** Retries per file after a dropped connection or a hub failure; default 5. */
  readonly retries?: number;
  /** First wait between retries; default 1,000 ms. */
  readonly retryDelayMs?: number;
  /** Wait for response headers; default 10,000 ms. */
  readonly timeoutMs?: number;
  /** The underlying fetch; default the global one. */
  readonly fetch?: typeof fetch;
}

/** A file of a pull. */
export interface PulledFile {
  /** Path in the repository (and in the snapshot), `/`-separated. */
  readonly path: string;
  readonly sizeBytes: number;
  /** Bytes fetched by this pull (0 when the cache had it). */
  readonly downloadedBytes: number;
  /** The cache already held the whole file. */
  readonly cached: boolean;
}

/** What {@link pullModel} produced. */
export interface PullResult {
  readonly repo: string;
  /** The revision asked for (`main`, a tag, a commit). */
  readonly revision: string;
  /** The commit it resolved to: the snapshot's name. */
  readonly commit: string;
  readonly snapshotDir: string;
  /**
   * What to pass as `--model` (or `createEngine`'s `model`): the snapshot directory, or the graph
   * file inside it when the graph is not one the engine finds by itself (`model.onnx`, `onnx/model.onnx`).
   */
  readonly modelPath: string;
  /** The graph, relative to the snapshot. */
  readonly graph: string;
  readonly files: readonly PulledFile[];
  readonly downloadedBytes: number;
  /** Found in the cache without asking the hub (`HF_HUB_OFFLINE`). */
  readonly offline: boolean;
  readonly seconds: number;
}

/** What a pull reports while it runs. */
export type PullEvent =
  | { readonly type: "resolved"; readonly repo: string; readonly commit: string; readonly files: readonly { readonly path: string; readonly sizeBytes: number; readonly cached: boolean }[] }
  | { readonly type: "file-start"; readonly path: string; readonly sizeBytes: number; readonly resumeFromBytes: number }
  | { readonly type: "file-progress"; readonly path: string; readonly receivedBytes: number; readonly sizeBytes: number }
  | { readonly type: "file-done"; readonly path: string; readonly sizeBytes: number; readonly downloadedBytes: number; readonly cached: boolean }
  | { readonly type: "retry"; readonly path: string; readonly attempt: number; readonly message: string; readonly resumeFromBytes: number }
  | { readonly type: "waiting"; readonly path: string; readonly holder: string };

/** A file in the hub's listing, with what the cache needs to know about it. */
interface RepoFile {
  readonly path: string;
  readonly sizeBytes: number;
  /** The blob's name: the LFS SHA-256, or the git blob id of a small file (the hub's ETag). */
  readonly etag: string;
  readonly checksum: Checksum;
}

/**
 * Downloads what an ONNX causal LM needs from a hub repository (see {@link chooseModelFiles}) into
 * the Hugging Face cache and returns its snapshot. Files the cache holds are not fetched again;
 * interrupted files resume. With `HF_HUB_OFFLINE` set, the hub is not contacted and the cached
 * snapshot is returned (see {@link findCachedModel}).
 *
 * Requests: `GET /api/models/{repo}/revision/{revision}` for the commit (`@huggingface/hub`'s
 * `modelInfo`), `GET /api/models/{repo}/tree/{commit}?recursive=true` for names, sizes and hashes
 * (its `listFiles`), then `GET /{repo}/resolve/{commit}/{file}` per missing file.
 *
 * @throws HubError `offline` (offline and not cached), `unauthorized`, `not-found`, `unreachable`,
 *   `no-onnx-graph`, `missing-files`, `integrity`, `http`.
 * @example
 * const pulled = await pullModel({ repo: "onnx-community/Qwen2.5-0.5B-Instruct", revision: "main" }, { env: process.env });
 * const engine = await createEngine({ model: pulled.modelPath, modelId: pulled.repo });
 */
export async function pullModel(ref: HubModelRef, options: PullOptions): Promise<PullResult> {
  const started = performance.now();
  const settings = hubSettings(options.env, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  if (settings.offline) {
    const cached = await findCachedModel(ref, options);
    if (cached) return cached;
    throw new HubError(
      "offline",
      `HF_HUB_OFFLINE is set and ${formatHubModelRef(ref)} is not in the cache at ${settings.cacheDir}: unset HF_HUB_OFFLINE to download it, ` +
        `or point HF_HOME / HF_HUB_CACHE at a cache that has it. ${copyModelHint(ref.repo)}`,
    );
  }
  const hubFetch = createHubFetch({ settings, repo: ref.repo, revision: ref.revision, ...pick(options, "timeoutMs", "fetch") });
  const library = { hubUrl: settings.endpoint, fetch: hubFetch };

  const info = await modelInfo({ name: ref.repo, revision: ref.revision, additionalFields: ["sha"], ...library });
  const commit = info.sha;
  if (typeof commit !== "string" || !COMMIT_HASH.test(commit)) {
    throw new HubError("http", `the hub's answer about ${formatHubModelRef(ref)} has no commit hash (sha: ${JSON.stringify(commit)})`);
  }
  const listing: RepoFile[] = [];
  for await (const entry of listFiles({ repo: ref.repo, revision: commit, recursive: true, ...library })) {
    if (entry.type === "file") listing.push(repoFileOf(entry, ref.repo));
  }
  const choice = chooseModelFiles(listing, { repo: ref.repo, ...pick(options, "variant", "include") });

  const cache = repoCache(settings.cacheDir, ref.repo);
  const present = await Promise.all(choice.files.map((file) => isComplete(blobPath(cache, file.etag), file.sizeBytes)));
  options.onEvent?.({ type: "resolved", repo: ref.repo, commit, files: choice.files.map((file, i) => ({ path: file.path, sizeBytes: file.sizeBytes, cached: present[i] })) });

  const pulled: PulledFile[] = [];
  for (const file of choice.files) {
    options.signal?.throwIfAborted();
    pulled.push(await pullFile(file, { cache, commit, ref, settings, hubFetch, options }));
  }
  await writeRef(cache, ref.revision, commit);
  return resultOf(ref, commit, cache, choice, pulled, false, started);
}

/**
 * The cached snapshot of `ref` with the files {@link pullModel} would fetch, without contacting
 * the hub; `undefined` when the cache has no snapshot for the revision (or it is a symlink-less
 * shell whose blobs are gone).
 *
 * @throws HubError `offline` when the snapshot exists but lacks the graph or the metadata asked for.
 */
export async function findCachedModel(ref: HubModelRef, options: Pick<PullOptions, "env" | "cacheDir" | "variant" | "include">): Promise<PullResult | undefined> {
  const started = performance.now();
  const settings = hubSettings(options.env, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  const cache = repoCache(settings.cacheDir, ref.repo);
  const commit = await readRef(cache, ref.revision);
  if (commit === undefined) return undefined;
  const listing = await listSnapshotFiles(snapshotDir(cache, commit));
  if (listing.length === 0) return undefined;
  let choice: ModelFileChoice<(typeof listing)[number]>;
  try {
    choice = chooseModelFiles(listing, { repo: ref.repo, ...pick(options, "variant", "include") });
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    throw new HubError("offline", `the cached snapshot ${snapshotDir(cache, commit)} of ${formatHubModelRef(ref)} is incomplete: ${error.message}`, { cause: error });
  }
  const files = choice.files.map((file) => ({ path: file.path, sizeBytes: file.sizeBytes, downloadedBytes: 0, cached: true }));
  return resultOf(ref, commit, cache, choice, files, true, started);
}

interface PullContext {
  readonly cache: RepoCache;
  readonly commit: string;
  readonly ref: HubModelRef;
  readonly settings: HubSettings;
  readonly hubFetch: HubFetch;
  readonly options: PullOptions;
}

async function pullFile(file: RepoFile, context: PullContext): Promise<PulledFile> {
  const { cache, commit, options } = context;
  const blob = blobPath(cache, file.etag);
  await mkdir(cache.blobsDir, { recursive: true });
  const lock = path.join(cache.locksDir, `${file.etag}.lock`);
  const result = await withFileLock(
    lock,
    async (): Promise<PulledFile> => {
      if (await isComplete(blob, file.sizeBytes)) return { path: file.path, sizeBytes: file.sizeBytes, downloadedBytes: 0, cached: true };
      // A blob of the wrong size was cut short or replaced by hand: fetch it again.
      await rm(blob, { force: true });
      const resumeFromBytes = (await stat(`${blob}.incomplete`).catch(() => undefined))?.size ?? 0;
      options.onEvent?.({ type: "file-start", path: file.path, sizeBytes: file.sizeBytes, resumeFromBytes: Math.min(resumeFromBytes, file.sizeBytes) });
      const downloaded = await downloadBlob({
        url: resolveUrl(context.settings.endpoint, context.ref.repo, commit, file.path),
        blob,
        sizeBytes: file.sizeBytes,
        checksum: file.checksum,
        name: file.path,
        fetch: context.hubFetch,
        ...pick(options, "retries", "retryDelayMs", "signal"),
        onBytes: (receivedBytes) => options.onEvent?.({ type: "file-progress", path: file.path, receivedBytes, sizeBytes: file.sizeBytes }),
        onRetry: (attempt, error, resumeFrom) => options.onEvent?.({ type: "retry", path: file.path, attempt, message: error.message, resumeFromBytes: resumeFrom }),
      });
      return { path: file.path, sizeBytes: file.sizeBytes, downloadedBytes: downloaded.downloadedBytes, cached: false };
    },
    { onWait: (holder) => options.onEvent?.({ type: "waiting", path: file.path, holder }), ...pick(options, "signal") },
  );
  await linkSnapshotFile(cache, commit, file.path, blob);
  options.onEvent?.({ type: "file-done", ...result });
  return result;
}

/** The hub's download URL of a file at a commit; each path segment is percent-encoded. */
export function resolveUrl(endpoint: string, repo: string, commit: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

function resultOf(
  ref: HubModelRef,
  commit: string,
  cache: RepoCache,
  choice: ModelFileChoice<{ readonly path: string }>,
  files: readonly PulledFile[],
  offline: boolean,
  started: number,
): PullResult {
  const dir = snapshotDir(cache, commit);
  return {
    repo: ref.repo,
    revision: ref.revision,
    commit,
    snapshotDir: dir,
    modelPath: choice.graphIsDefault ? dir : path.join(dir, ...choice.graph.split("/")),
    graph: choice.graph,
    files,
    downloadedBytes: files.reduce((sum, file) => sum + file.downloadedBytes, 0),
    offline,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A listing entry as a {@link RepoFile}; its path and hash become file names, so both are checked. */
function repoFileOf(entry: { path: string; size: number; oid?: string; lfs?: { oid: string; size: number } }, repo: string): RepoFile {
  const segments = entry.path.split("/");
  if (entry.path.startsWith("/") || entry.path.includes("\\") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new HubError("http", `the hub listed an unsafe file name in ${repo}: ${JSON.stringify(entry.path)}`);
  }
  const checksum: Checksum | undefined = entry.lfs ? { algorithm: "sha256", hex: entry.lfs.oid } : entry.oid ? { algorithm: "git-sha1", hex: entry.oid } : undefined;
  if (checksum === undefined || !/^[0-9a-f]{40,64}$/.test(checksum.hex)) {
    throw new HubError("http", `the hub's listing of ${repo} gives no usable hash for ${entry.path}`);
  }
  return { path: entry.path, sizeBytes: entry.lfs?.size ?? entry.size, etag: checksum.hex, checksum };
}

async function isComplete(file: string, sizeBytes: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && info.isFile() && info.size === sizeBytes;
}

/** The entries of `source` named by `keys` that are set, for spreading into options without `undefined`s. */
function pick<T extends object, K extends keyof T>(source: T, ...keys: K[]): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key] as Exclude<T[K], undefined>;
  return out;
}
