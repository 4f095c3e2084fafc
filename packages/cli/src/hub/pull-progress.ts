import { formatDuration } from "../progress.js";
import type { PullEvent, PullResult } from "./pull-model.js";

/** Files at least this big get a "downloading" line when there is no live line. */
const ANNOUNCE_BYTES = 10_000_000;

/** Shows a pull's progress on a stream. */
export interface PullProgress {
  readonly onEvent: (event: PullEvent) => void;
  /** Clears the live line before other output. */
  finish(): void;
}

/** Options of {@link createPullProgress}. */
export interface PullProgressOptions {
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Seconds between log lines when the stream is not a terminal; default 10. */
  readonly logIntervalSeconds?: number;
  readonly now?: () => number;
}

/**
 * A pull's progress on stderr: on a terminal, one live line with the file, bytes, speed and ETA;
 * otherwise a line when each download starts and ends and a periodic line for long files.
 */
export function createPullProgress(options: PullProgressOptions): PullProgress {
  const now = options.now ?? (() => performance.now() / 1000);
  const live = options.stream.isTTY === true;
  const interval = live ? 0.25 : (options.logIntervalSeconds ?? 10);
  let totalBytes = 0;
  let doneBytes = 0;
  let current: { path: string; sizeBytes: number; started: number; startBytes: number; received: number } | undefined;
  let lastShown = -Infinity;
  let shownLive = false;
  const write = (text: string) => options.stream.write(text);
  const clear = () => {
    if (shownLive) write("\r\x1b[2K");
    shownLive = false;
  };

  const line = (): string => {
    if (!current) return "";
    const elapsed = Math.max(now() - current.started, 1e-9);
    const rate = (current.received - current.startBytes) / elapsed;
    const eta = rate > 0 ? (current.sizeBytes - current.received) / rate : Number.NaN;
    const overall = totalBytes > 0 ? ` · total ${formatBytes(doneBytes + current.received)}/${formatBytes(totalBytes)}` : "";
    return `${current.path}: ${formatBytes(current.received)}/${formatBytes(current.sizeBytes)} · ${formatBytes(rate)}/s · ETA ${formatDuration(eta)}${overall}`;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case "resolved": {
          const missing = event.files.filter((f) => !f.cached);
          totalBytes = missing.reduce((sum, f) => sum + f.sizeBytes, 0);
          const cached = event.files.length - missing.length;
          write(
            `${event.repo} at ${event.commit.slice(0, 12)}: ${event.files.length} files` +
              (missing.length === 0 ? ", all in the cache\n" : `, ${missing.length} to download (${formatBytes(totalBytes)})${cached > 0 ? `, ${cached} in the cache` : ""}\n`),
          );
          break;
        }
        case "file-start":
          clear();
          current = { path: event.path, sizeBytes: event.sizeBytes, started: now(), startBytes: event.resumeFromBytes, received: event.resumeFromBytes };
          // A live line shows at once; log lines only once a file has taken a full interval.
          lastShown = live ? -Infinity : now();
          // Without a live line, announce only what takes a while: big files and resumed ones.
          if (!live && (event.sizeBytes >= ANNOUNCE_BYTES || event.resumeFromBytes > 0)) {
            write(`downloading ${event.path} (${formatBytes(event.sizeBytes)}${event.resumeFromBytes > 0 ? `, resuming at ${formatBytes(event.resumeFromBytes)}` : ""})\n`);
          }
          break;
        case "file-progress": {
          if (!current || current.path !== event.path) break;
          current.received = event.receivedBytes;
          const t = now();
          if (t - lastShown < interval) break;
          lastShown = t;
          if (live) {
            write(`\r\x1b[2K${line()}`);
            shownLive = true;
          } else if (event.receivedBytes < event.sizeBytes) write(`${line()}\n`);
          break;
        }
        case "file-done":
          if (!event.cached) {
            clear();
            const seconds = current && current.path === event.path ? now() - current.started : 0;
            doneBytes += event.sizeBytes;
            write(`  ${event.path} ${formatBytes(event.sizeBytes)}${seconds >= 0.1 ? ` in ${formatSeconds(seconds)} (${formatBytes(event.downloadedBytes / Math.max(seconds, 1e-3))}/s)` : ""}\n`);
          }
          current = undefined;
          break;
        case "retry":
          clear();
          write(`retrying ${event.path} (attempt ${event.attempt + 1}) from byte ${event.resumeFromBytes.toLocaleString("en-US")}: ${event.message}\n`);
          if (current && current.path === event.path) current.received = event.resumeFromBytes;
          break;
        case "waiting":
          clear();
          write(`waiting for another download of ${event.path} (process ${event.holder}) to finish\n`);
          break;
      }
    },
    finish: clear,
  };
}

/** One line for the end of a pull. */
export function formatPullSummary(result: PullResult): string {
  const fetched = result.files.filter((file) => !file.cached);
  const total = result.files.reduce((sum, file) => sum + file.sizeBytes, 0);
  const how = result.offline
    ? "from the cache (HF_HUB_OFFLINE is set: the hub was not asked for updates)"
    : fetched.length === 0
      ? "all files were already in the cache"
      : `downloaded ${fetched.length} file${fetched.length === 1 ? "" : "s"}, ${formatBytes(result.downloadedBytes)} in ${formatSeconds(result.seconds)} (${formatBytes(result.downloadedBytes / Math.max(result.seconds, 1e-3))}/s)` +
        (fetched.length < result.files.length ? `; ${result.files.length - fetched.length} already cached` : "");
  return `${result.repo}@${result.commit.slice(0, 12)}: ${result.files.length} files, ${formatBytes(total)}, ${how}; graph ${result.graph}\n  snapshot ${result.snapshotDir}`;
}

/** `812 B`, `4.2 kB`, `1.31 GB` (powers of 1000, as the hub shows sizes). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "?";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** `0.4s` under ten seconds, else as {@link formatDuration}. */
function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
}
