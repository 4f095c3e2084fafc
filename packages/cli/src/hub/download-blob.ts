import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm, stat, truncate } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { HubError } from "./hub-error.js";
import type { HubFetch } from "./hub-fetch.js";

/** How to check a downloaded file: the hub's LFS oid is its SHA-256, a small file's oid its git blob SHA-1. */
export interface Checksum {
  readonly algorithm: "sha256" | "git-sha1";
  readonly hex: string;
}

/** Options of {@link downloadBlob}. */
export interface BlobDownloadOptions {
  /** The file's `resolve` URL at a fixed commit. */
  readonly url: string;
  /** Where the finished file goes (`blobs/<etag>`); the download runs in `<blob>.incomplete`. */
  readonly blob: string;
  readonly sizeBytes: number;
  readonly checksum?: Checksum;
  /** The file's path in the repository, for messages. */
  readonly name: string;
  readonly fetch: HubFetch;
  /** Attempts after the first when the connection drops or the hub fails (5xx, 429); default 5. */
  readonly retries?: number;
  /** First wait between attempts, doubled each time up to 30 s; default 1,000 ms. */
  readonly retryDelayMs?: number;
  /** An attempt that receives no bytes for this long is dropped and retried; default 60,000 ms. */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Bytes received so far in this file (resumed bytes included), after each write. */
  readonly onBytes?: (receivedBytes: number) => void;
  /** Before each retry, with the error and the offset it resumes from. */
  readonly onRetry?: (attempt: number, error: HubError, resumeFromBytes: number) => void;
}

/** What {@link downloadBlob} did. */
export interface BlobDownloadResult {
  /** Bytes fetched over the network by this call. */
  readonly downloadedBytes: number;
  /** Bytes of an earlier, interrupted download that were kept. */
  readonly resumedFromBytes: number;
}

/** Bytes gathered before each write: fewer, larger writes. */
const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * Downloads one file into the cache, resumably: bytes go to `<blob>.incomplete`, which a later call
 * (or a retry of this one) continues with an HTTP `Range` request; a server that ignores the range
 * restarts it. The finished file is checked against the announced size and checksum, then renamed
 * to `blob`. The caller holds the blob's lock.
 *
 * @throws HubError `integrity` when size or checksum differ (the partial file is removed), or the
 *   last attempt's error (`unreachable`, `http`, …) with the partial file kept for the next run.
 */
export async function downloadBlob(options: BlobDownloadOptions): Promise<BlobDownloadResult> {
  const incomplete = `${options.blob}.incomplete`;
  const retries = options.retries ?? 5;
  let offset = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
  if (offset > options.sizeBytes) {
    await truncate(incomplete, 0);
    offset = 0;
  }
  const resumedFromBytes = offset;
  // Counted as bytes land on disk, so attempts that fail part-way count too.
  const received = { bytes: 0 };
  for (let attempt = 0; ; attempt++) {
    try {
      if (offset < options.sizeBytes || options.sizeBytes === 0) {
        offset = await fetchInto(incomplete, offset, options, received);
      }
      break;
    } catch (error) {
      // Network and hub failures arrive as HubErrors; anything else (a full disk, say) is not retried.
      if (options.signal?.aborted || !(error instanceof HubError)) throw error;
      const failure = error;
      offset = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
      if (!failure.retryable || attempt >= retries) {
        if (failure.retryable) {
          failure.message += ` (${options.name}: ${offset.toLocaleString("en-US")} of ${options.sizeBytes.toLocaleString("en-US")} bytes are kept; run the command again to resume)`;
        }
        throw failure;
      }
      options.onRetry?.(attempt + 1, failure, offset);
      await sleep(Math.min(30_000, (options.retryDelayMs ?? 1_000) * 2 ** attempt), undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
  await verify(incomplete, options);
  await rename(incomplete, options.blob);
  return { downloadedBytes: received.bytes, resumedFromBytes };
}

/** One attempt: writes the bytes from `offset` on into `file`, adding them to `received`; returns where the file ends. */
async function fetchInto(file: string, offset: number, options: BlobDownloadOptions, received: { bytes: number }): Promise<number> {
  const idle = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => idle.abort(), idleTimeoutMs);
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const handle = await open(file, offset > 0 ? "r+" : "w");
  let position = offset;
  try {
    const response = await options.fetch(options.url, { headers, signal });
    if (offset > 0 && response.status !== 206) {
      // The server sent the whole file: start over rather than append it.
      position = 0;
      await handle.truncate(0);
    } else if (offset > 0) {
      const start = Number(/bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1]);
      if (start !== offset) {
        await response.body?.cancel();
        throw new HubError("http", `${options.name}: asked for bytes from ${offset} on, the server sent a range starting at ${response.headers.get("content-range")}`);
      }
    }
    if (response.body === null) return position;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunk = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
      received.bytes += chunk.length;
      pending = [];
      pendingBytes = 0;
      options.onBytes?.(position);
    };
    try {
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), idleTimeoutMs);
        pending.push(Buffer.from(chunk));
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_CHUNK_BYTES) await flush();
        if (position + pendingBytes > options.sizeBytes) {
          throw new HubError("integrity", `${options.name}: the server sent more than the announced ${options.sizeBytes} bytes`);
        }
      }
    } catch (error) {
      // Bytes that arrived before the drop are good: keep them for the resume.
      await flush();
      if (error instanceof HubError) throw error;
      if (options.signal?.aborted) throw error;
      const reason = idle.signal.aborted ? `no data for ${idleTimeoutMs / 1000} s` : describe(error);
      throw new HubError("unreachable", `the download of ${options.name} was interrupted at byte ${position.toLocaleString("en-US")} (${reason})`, { cause: error });
    }
    await flush();
    return position;
  } finally {
    clearTimeout(timer);
    await handle.close();
  }
}

async function verify(file: string, options: BlobDownloadOptions): Promise<void> {
  const size = (await stat(file)).size;
  if (size !== options.sizeBytes) {
    await rm(file, { force: true });
    throw new HubError("integrity", `${options.name}: downloaded ${size} bytes but the hub announced ${options.sizeBytes}; the partial file was removed, run the command again`);
  }
  if (options.checksum === undefined) return;
  const hash = startHash(options.checksum.algorithm, size);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  const actual = hash.digest("hex");
  if (actual !== options.checksum.hex) {
    await rm(file, { force: true });
    throw new HubError(
      "integrity",
      `${options.name}: the downloaded bytes have ${options.checksum.algorithm} ${actual}, the hub announced ${options.checksum.hex}; the file was removed, run the command again`,
    );
  }
}

function startHash(algorithm: Checksum["algorithm"], size: number): Hash {
  if (algorithm === "sha256") return createHash("sha256");
  // git's blob id: SHA-1 of "blob <size>\0" and the content.
  return createHash("sha1").update(`blob ${size}\0`);
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}
