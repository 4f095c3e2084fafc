/**
 * The Hugging Face cache layout, as `huggingface_hub` and `@huggingface/hub` write it, so that
 * Python, transformers.js and sftscore share downloads:
 *
 * ```text
 * $HF_HUB_CACHE/models--org--name/
 *   blobs/<etag>                      file contents, named by the hub's ETag: the SHA-256 of an
 *                                     LFS file, the git blob SHA-1 of a small one
 *   blobs/<etag>.incomplete           a download in progress (resumed from its length)
 *   refs/main                         the commit `main` pointed at, 40 hex digits, no newline
 *   snapshots/<commit>/config.json -> ../../blobs/<etag>
 *   snapshots/<commit>/onnx/model.onnx -> ../../../blobs/<etag>
 * $HF_HUB_CACHE/.locks/models--org--name/<etag>.lock
 * ```
 *
 * Snapshot entries are relative symlinks; where symlinks cannot be made, the blob is copied.
 */
import { copyFile, lstat, mkdir, readdir, readFile, realpath, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { COMMIT_HASH } from "./hub-model-id.js";

/** Folders of one model repository in the cache. */
export interface RepoCache {
  /** `models--org--name`. */
  readonly root: string;
  readonly blobsDir: string;
  readonly refsDir: string;
  readonly snapshotsDir: string;
  /** `.locks/models--org--name`, beside the repositories, as `huggingface_hub` keeps it. */
  readonly locksDir: string;
}

/** The cache folders of `repo` (`org/name`) under `cacheDir`. */
export function repoCache(cacheDir: string, repo: string): RepoCache {
  const folder = `models--${repo.split("/").join("--")}`;
  const root = path.join(cacheDir, folder);
  return {
    root,
    blobsDir: path.join(root, "blobs"),
    refsDir: path.join(root, "refs"),
    snapshotsDir: path.join(root, "snapshots"),
    locksDir: path.join(cacheDir, ".locks", folder),
  };
}

/** The blob file for an ETag. */
export function blobPath(cache: RepoCache, etag: string): string {
  return path.join(cache.blobsDir, etag);
}

/** The snapshot directory of a commit. */
export function snapshotDir(cache: RepoCache, commit: string): string {
  return path.join(cache.snapshotsDir, commit);
}

/** The commit `revision` points at in the cache: itself for a commit hash, else `refs/<revision>`'s content. */
export async function readRef(cache: RepoCache, revision: string): Promise<string | undefined> {
  if (COMMIT_HASH.test(revision)) return revision;
  const text = await readFile(path.join(cache.refsDir, ...revision.split("/")), "utf8").catch(() => undefined);
  const commit = text?.trim();
  return commit !== undefined && COMMIT_HASH.test(commit) ? commit : undefined;
}

/** Records that `revision` points at `commit` (nothing to record when the revision is the commit). */
export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const file = path.join(cache.refsDir, ...revision.split("/"));
  await mkdir(path.dirname(file), { recursive: true });
  // A ref is 40 bytes: a torn write is not a practical risk, and huggingface_hub writes it the same way.
  await writeFile(file, commit);
}

/**
 * Makes `snapshots/<commit>/<file>` point at the blob: a relative symlink, or a copy where the file
 * system refuses symlinks. An existing entry that already resolves to the blob is kept.
 */
export async function linkSnapshotFile(cache: RepoCache, commit: string, file: string, blob: string): Promise<string> {
  const pointer = path.join(snapshotDir(cache, commit), ...file.split("/"));
  const current = await realpath(pointer).catch(() => undefined);
  if (current !== undefined && current === (await realpath(blob))) return pointer;
  await mkdir(path.dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    await copyFile(blob, pointer);
  }
  return pointer;
}

/** A file of a cached snapshot. */
export interface CachedFile {
  /** Relative to the snapshot, `/`-separated. */
  readonly path: string;
  readonly sizeBytes: number;
}

/**
 * The files of a snapshot whose blobs are present (a dangling symlink, from a blob deleted by hand,
 * is left out), relative and `/`-separated.
 */
export async function listSnapshotFiles(dir: string): Promise<CachedFile[]> {
  const files: CachedFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(dir, relative)).catch(() => [] as string[]);
    for (const name of entries.sort()) {
      const child = relative === "" ? name : `${relative}/${name}`;
      const info = await stat(path.join(dir, child)).catch(() => undefined);
      if (info?.isDirectory() && !(await lstat(path.join(dir, child))).isSymbolicLink()) await walk(child);
      else if (info?.isFile()) files.push({ path: child, sizeBytes: info.size });
    }
  };
  await walk("");
  return files;
}
