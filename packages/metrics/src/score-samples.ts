import { composeRow } from "./compose.js";
import type { MetricRow } from "./metric-row.js";
import { MetricsError } from "./metrics-error.js";
import { selectPartners } from "./partners.js";
import { planWindow, type Partner, type WindowRow } from "./plan.js";
import { assertSample, taskLabelOf, type Sample } from "./sample.js";
import { resolveScoreSettings, type ScoreOptions, type ScoreSettings } from "./score-options.js";
import type { Scorer } from "./scorer.js";
import { taskIndexOfSamples, type TaskIndex } from "./task-index.js";
import { createSpanScoreCache, type SpanScoreCache } from "./span-score-cache.js";
import { scoreWindowPlan } from "./window-scoring.js";

/** Partner samples fetched at once through `sampleAt`. */
const PARTNER_FETCH_CONCURRENCY = 16;

/**
 * Scores samples with a {@link Scorer} and yields one {@link MetricRow} per sample, in input order.
 *
 * The input is read in windows of `windowSize` samples. Each window is planned (prompts, tokens,
 * spans, dedup), its sequences are streamed to one `scorer.score()` call, and its rows are composed
 * once all of its scores are back; up to `windowsInFlight` windows overlap. Memory is bounded by the
 * windows in flight (their samples, partner samples and token ids), the tokenizer cache, the span
 * score cache (`scoreCacheEntries`), and, for one-shot partners, the {@link TaskIndex} (12 bytes per
 * sample) — never by the input's length.
 *
 * One-shot partners are drawn from the whole input's tasks, deterministically from `seed` and the
 * sample's index (independent of window size). A partner outside the current window is fetched with
 * `sampleAt`. With an array input both the task index and `sampleAt` come from the array; a stream
 * needs `taskIndex` and `sampleAt` from the caller (a first pass over task labels, and random access
 * to the file).
 *
 * @throws MetricsError (from the iterator) `invalid-argument` for bad options or samples or a task
 *   index that does not match the input; `invalid-template` / `invalid-tokenizer` when the model's
 *   files are unusable; `scorer-failed` when the scorer fails; `cancelled` when `signal` fires.
 * @example
 * for await (const row of scoreSamples(samples, scorer, { metrics: ["ifd"] })) console.log(row.ifd);
 */
export async function* scoreSamples(
  samples: AsyncIterable<Sample> | Iterable<Sample>,
  scorer: Scorer,
  options: ScoreOptions = {},
): AsyncGenerator<MetricRow, void, undefined> {
  const settings = await resolveScoreSettings(options, await scorer.info());
  const partnersOf = partnerSource(samples, options, settings);
  const cache = createSpanScoreCache(settings.scoreCacheEntries);
  // Aborted when the consumer stops early or an error ends the run, so windows in flight stop too.
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const inFlight: Promise<MetricRow[]>[] = [];
  let windowNumber = 0;
  try {
    for await (const window of windowsOf(samples, settings.windowSize, options.firstIndex ?? 0)) {
      if (options.signal?.aborted) throw new MetricsError("cancelled", "scoring was cancelled");
      const rows = runWindow(window, windowNumber++, scorer, settings, partnersOf, cache, controller.signal);
      // Awaited in order below; this only stops a later window's failure counting as unhandled meanwhile.
      rows.catch(() => undefined);
      inFlight.push(rows);
      while (inFlight.length >= settings.windowsInFlight) yield* await takeFirst(inFlight);
    }
    while (inFlight.length > 0) yield* await takeFirst(inFlight);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}

function takeFirst<T>(queue: T[]): T {
  const first = queue.shift();
  if (first === undefined) throw new Error("takeFirst: empty queue");
  return first;
}

/** A window's samples with their input indices. */
interface Window {
  readonly rows: readonly { readonly index: number; readonly sample: Sample }[];
}

async function* windowsOf(samples: AsyncIterable<Sample> | Iterable<Sample>, size: number, firstIndex: number): AsyncGenerator<Window> {
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 0) throw new MetricsError("invalid-argument", `firstIndex must be a non-negative integer, got ${firstIndex}`);
  let rows: { index: number; sample: Sample }[] = [];
  let index = firstIndex;
  for await (const sample of samples) {
    assertSample(sample, `sample ${index}`);
    rows.push({ index: index++, sample });
    if (rows.length === size) {
      yield { rows };
      rows = [];
    }
  }
  if (rows.length > 0) yield { rows };
}

async function runWindow(
  window: Window,
  windowNumber: number,
  scorer: Scorer,
  settings: ScoreSettings,
  partnersOf: PartnerSource,
  cache: SpanScoreCache,
  signal: AbortSignal,
): Promise<MetricRow[]> {
  const rows: readonly WindowRow[] = settings.metrics.has("oneshot_validity") ? await partnersOf(window) : window.rows;
  const plan = await planWindow(rows, settings);
  const scoreOf = await scoreWindowPlan(plan, scorer, { cache, idPrefix: `w${windowNumber}.`, signal });
  return plan.rows.map((row) => composeRow(row, scoreOf, settings));
}

/** Attaches one-shot partners to a window's rows. */
type PartnerSource = (window: Window) => Promise<WindowRow[]>;

function partnerSource(samples: AsyncIterable<Sample> | Iterable<Sample>, options: ScoreOptions, settings: ScoreSettings): PartnerSource {
  if (!settings.metrics.has("oneshot_validity")) return async (window) => [...window.rows];
  const anchors = settings.anchors;
  if (anchors !== undefined) {
    anchors.forEach((anchor, i) => assertSample(anchor, `anchor ${i}`));
    const partners: Partner[] = anchors.map((sample, label) => ({ label, sample, anchor: true }));
    return async (window) => window.rows.map((row) => ({ ...row, partners }));
  }
  // An array that starts mid-input (firstIndex > 0) cannot stand in for the whole input's tasks.
  const array = Array.isArray(samples) && !options.firstIndex ? (samples as readonly Sample[]) : undefined;
  const taskIndex = options.taskIndex ?? (array === undefined ? undefined : taskIndexOfSamples(array));
  const sampleAt = options.sampleAt ?? (array === undefined ? undefined : (index: number): Sample => array[index]);
  if (taskIndex === undefined || sampleAt === undefined) {
    throw new MetricsError(
      "invalid-argument",
      "oneshot_validity over a stream needs taskIndex (a first pass over task labels, see buildTaskIndex) and sampleAt (random access to partners outside the current window); or pass an array, or anchors",
    );
  }
  return (window) => attachTaskPartners(window, taskIndex, sampleAt, settings);
}

async function attachTaskPartners(
  window: Window,
  taskIndex: TaskIndex,
  sampleAt: (index: number) => Sample | Promise<Sample>,
  settings: ScoreSettings,
): Promise<WindowRow[]> {
  const inWindow = new Map(window.rows.map((row) => [row.index, row.sample]));
  const drawn = window.rows.map((row) => {
    if (row.index >= taskIndex.sampleCount) {
      throw new MetricsError("invalid-argument", `sample ${row.index} is beyond the task index, which has ${taskIndex.sampleCount} samples`);
    }
    if (!taskIndex.hasLabel(row.index, taskLabelOf(row.sample))) {
      throw new MetricsError(
        "invalid-argument",
        `sample ${row.index}: its task label differs from the task index's (was the index built from this input, with the same task field?)`,
      );
    }
    return selectPartners(taskIndex.membersOf(row.index), row.index, settings.oneshotPartners, settings.seed);
  });
  const outside = [...new Set(drawn.flat().filter((index) => !inWindow.has(index)))].sort((a, b) => a - b);
  const fetched = await fetchSamples(outside, sampleAt);
  outside.forEach((index, i) => {
    const sample: unknown = fetched[i];
    assertSample(sample, `sampleAt(${index})`);
    if (!taskIndex.hasLabel(index, taskLabelOf(sample))) {
      throw new MetricsError("invalid-argument", `sampleAt(${index}) returned a sample whose task label differs from the task index's`);
    }
    inWindow.set(index, sample);
  });
  return window.rows.map((row, i) => ({
    ...row,
    partners: drawn[i].map((label) => ({ label, sample: known(inWindow, label) })),
  }));
}

function known(samples: ReadonlyMap<number, Sample>, index: number): Sample {
  const sample = samples.get(index);
  if (sample === undefined) throw new Error(`partner ${index} was not fetched`);
  return sample;
}

/** Fetches samples in order, a few at a time. */
async function fetchSamples(indices: readonly number[], sampleAt: (index: number) => Sample | Promise<Sample>): Promise<Sample[]> {
  const results: Sample[] = new Array<Sample>(indices.length);
  for (let start = 0; start < indices.length; start += PARTNER_FETCH_CONCURRENCY) {
    const slice = indices.slice(start, start + PARTNER_FETCH_CONCURRENCY);
    const samples = await Promise.all(slice.map((index) => sampleAt(index)));
    samples.forEach((sample, i) => (results[start + i] = sample));
  }
  return results;
}
