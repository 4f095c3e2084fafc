/** Reports a long run's progress on stderr: a live line on a terminal, periodic log lines otherwise. */
export interface Progress {
  /** `done` rows finished out of the run's total. */
  update(done: number): void;
  /** Clears the live line (before other output) and stops the clock. */
  finish(): void;
}

export interface ProgressOptions {
  readonly total: number;
  /** Rows already finished before this run (a resumed run); they do not count towards the rate. */
  readonly already: number;
  /** Model tokens processed so far, for the tokens/s figure. */
  readonly tokens: () => number;
  readonly stream: NodeJS.WriteStream;
  /** Seconds between log lines when stderr is not a terminal; default 10. */
  readonly logIntervalSeconds?: number;
  readonly now?: () => number;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now() / 1000);
  const started = now();
  const live = options.stream.isTTY === true;
  const interval = live ? 0.25 : (options.logIntervalSeconds ?? 10);
  let lastShown = -Infinity;
  let shownLive = false;

  const line = (done: number): string => {
    const elapsed = Math.max(now() - started, 1e-9);
    const fresh = done - options.already;
    const rate = fresh / elapsed;
    const remaining = rate > 0 ? (options.total - done) / rate : Number.NaN;
    const percent = options.total > 0 ? ((100 * done) / options.total).toFixed(1) : "100.0";
    return `scored ${done.toLocaleString("en-US")}/${options.total.toLocaleString("en-US")} samples (${percent}%) · ${Math.round(options.tokens() / elapsed).toLocaleString("en-US")} tokens/s · ETA ${formatDuration(remaining)}`;
  };

  return {
    update(done) {
      const t = now();
      if (t - lastShown < interval && done < options.total) return;
      lastShown = t;
      if (live) {
        options.stream.write(`\r\x1b[2K${line(done)}`);
        shownLive = true;
      } else {
        options.stream.write(`${line(done)}\n`);
      }
    },
    finish() {
      if (shownLive) options.stream.write("\r\x1b[2K");
    },
  };
}

/** `1h02m`, `3m12s`, `45s`; `?` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
