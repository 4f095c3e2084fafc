import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** Called once when another process holds the lock, with its `host:pid`. */
  readonly onWait?: (holder: string) => void;
  /** Milliseconds between attempts while waiting; default 250. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** A lock file left without an owner line for this long is taken to be from a crash between open and write. */
const ORPHAN_AGE_MS = 10_000;

/**
 * Runs `fn` while holding `lockPath`, so that two processes pulling the same model never append to
 * the same `.incomplete` file. The lock is a file created exclusively (`O_EXCL`) holding
 * `host:pid`; one whose process is gone (same host, pid not alive) is taken over, so a killed pull
 * never blocks the next. Another host's lock on a shared file system is waited for.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const owner = `${hostname()}:${process.pid}`;
  await mkdir(path.dirname(lockPath), { recursive: true });
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, "wx");
      try {
        await handle.writeFile(owner);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readFile(lockPath, "utf8").catch(() => undefined);
    if (holder === undefined) continue; // released between our attempt and the read
    if (await isStale(lockPath, holder)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (!told) options.onWait?.(holder);
    told = true;
    await sleep(options.pollMs ?? 250, undefined, options.signal ? { signal: options.signal } : undefined);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function isStale(lockPath: string, holder: string): Promise<boolean> {
  const separator = holder.lastIndexOf(":");
  if (separator === -1) {
    const info = await stat(lockPath).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > ORPHAN_AGE_MS;
  }
  const host = holder.slice(0, separator);
  const pid = Number(holder.slice(separator + 1));
  if (host !== hostname() || !Number.isInteger(pid)) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
