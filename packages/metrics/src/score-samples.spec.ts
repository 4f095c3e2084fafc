/**
 * scoreSamples with a counting TEST DOUBLE (`testing/counting-scorer.ts`): these tests are about what
 * is sent (sharing, dedup, windows, streaming, errors), never about metric values, which
 * `test/metrics` checks against the reference model.
 */
import { describe, expect, it } from "vitest";
import { METRIC_NAMES, type MetricRow } from "./metric-row.js";
import { MetricsError } from "./metrics-error.js";
import type { Sample } from "./sample.js";
import type { ScoreOptions } from "./score-options.js";
import { scoreSamples } from "./score-samples.js";
import type { Scorer, SequenceRequest, SequenceScore } from "./scorer.js";
import { taskIndexOfSamples } from "./task-index.js";
import { byteTokenizerJson } from "./testing/byte-tokenizer.js";
import { createCountingScorer } from "./testing/counting-scorer.js";

const json = byteTokenizerJson({ merges: [[":", ":"]] });

async function collect(rows: AsyncIterable<MetricRow>): Promise<MetricRow[]> {
  const out: MetricRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

async function run(samples: Sample[] | AsyncIterable<Sample>, options: ScoreOptions = {}) {
  const scorer = createCountingScorer(json);
  const rows = await collect(scoreSamples(samples, scorer, options));
  return { rows, sent: scorer.requests.length, calls: scorer.calls, scorer };
}

// Four distinct samples of one task (by task field); none merges across a boundary.
const distinct: Sample[] = [
  { instruction: "Add.", input: "1 2", output: "3", task: "t" },
  { instruction: "Sum these.", input: "2 2", output: "4", task: "t" },
  { instruction: "Total?", input: "", output: "five", task: "t" },
  { instruction: "Plus.", input: "0 6", output: "6", task: "t" },
];

async function* streamOf(samples: Sample[]): AsyncGenerator<Sample> {
  for (const sample of samples) yield sample;
}

describe("scoreSamples: sharing and dedup", () => {
  it("sends N·(4+K) sequences for distinct samples with every metric", async () => {
    const { rows, sent } = await run(distinct, { oneshotPartners: 2 });
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(rows.every((r) => r.oneshot_partners?.length === 2)).toBe(true);
    expect(sent).toBe(4 * (4 + 2));
  });

  it("scores repeated rows once: a duplicate adds only its new one-shot pairs", async () => {
    const samples = [...distinct, { ...distinct[0] }];
    const { rows, sent } = await run(samples, { oneshotPartners: 4 });
    // 4 distinct contents × 4 own sequences, plus one-shot (partner content, example content)
    // pairs: the 12 ordered pairs of distinct contents and (c0, c0) from rows 0 and 4.
    expect(sent).toBe(16 + 13);
    expect(sent).toBeLessThan(5 * (4 + 4));
    expect(rows[4].oneshot_partners).toEqual([0, 1, 2, 3]);
    const { index: _i, oneshot_partners: _p, oneshot_validity: _v, ...rest4 } = rows[4];
    const { index: _j, oneshot_partners: _q, oneshot_validity: _w, ...rest0 } = rows[0];
    expect(rest4).toEqual(rest0);
  });

  it("shares the instruction sequence of a task grouped by identical instructions", async () => {
    const samples = ["a", "b", "c"].map((x) => ({ instruction: "Echo the input.", input: x, output: x.toUpperCase() }));
    const { sent } = await run(samples, { oneshotPartners: 2 });
    expect(sent).toBe(3 + 3 + 1 + 3 + 3 * 2);
  });

  it("adds one enc(P0) sequence per boundary-merged row", async () => {
    const samples = [...distinct.slice(0, 3), { instruction: "Smile.", input: "", output: ":-)", task: "t" }];
    const { rows, sent } = await run(samples, { oneshotPartners: 3 });
    expect(rows[3].boundary_merged).toBe(true);
    expect(sent).toBe(4 * (4 + 3) + 1);
  });

  it("rides prompt_ppl on the response pass", async () => {
    const { sent, scorer } = await run(distinct, { metrics: ["prompt_ppl", "response_ppl"] });
    expect(sent).toBe(4);
    expect(scorer.requests.every((r) => r.spans.length === 2)).toBe(true);
  });

  it("scores each anchor's zero-shot sequence once for all samples (anchor partners)", async () => {
    const anchors: Sample[] = [
      { instruction: "Anchor one.", input: "", output: "A1" },
      { instruction: "Anchor two.", input: "x", output: "A2" },
    ];
    const { rows, sent } = await run(distinct, { anchors });
    expect(sent).toBe(4 * 4 + 2 + 4 * 2);
    expect(rows.every((r) => JSON.stringify(r.oneshot_partners) === "[0,1]")).toBe(true);
  });
});

describe("scoreSamples: turning sharing off (benchmarks)", () => {
  const all = { sharedPasses: false, dedup: false };

  it("sends the seed's sequences with shared passes and dedup off: five per sample and two per comparison", async () => {
    const shared = await run(distinct, { oneshotPartners: 2 });
    const seedLike = await run(distinct, { oneshotPartners: 2, sharing: all });
    expect(seedLike.sent).toBe(4 * 5 + 2 * 4 * 2);
    expect(seedLike.rows).toEqual(shared.rows);
  });

  it("without shared passes scores enc(P0) and each partner's zero-shot sequence apart, deduplicated per metric", async () => {
    const { rows, sent, scorer } = await run(distinct, { oneshotPartners: 2, sharing: { sharedPasses: false } });
    // 4 × (prompt, response, output, instruction, reverse), 4 distinct zero-shot sequences, 8 one-shot ones.
    expect(sent).toBe(4 * 5 + 4 + 8);
    expect(scorer.requests.every((r) => r.spans.length === 1)).toBe(true);
    expect(rows).toEqual((await run(distinct, { oneshotPartners: 2 })).rows);
  });

  it("without dedup scores a duplicated row's and a repeated instruction's sequences again", async () => {
    const duplicated = [...distinct, { ...distinct[0] }];
    const { rows, sent } = await run(duplicated, { oneshotPartners: 4, sharing: { dedup: false } });
    // 5 rows × (response, output, instruction, reverse) + 5 × 4 one-shot; zero-shot rides on the partner's response.
    expect(sent).toBe(5 * 4 + 5 * 4);
    expect(rows).toEqual((await run(duplicated, { oneshotPartners: 4 })).rows);
    const echoes = ["a", "b", "c"].map((x) => ({ instruction: "Echo the input.", input: x, output: x.toUpperCase() }));
    expect((await run(echoes, { oneshotPartners: 2, sharing: { dedup: false } })).sent).toBe(3 * 4 + 3 * 2);
  });

  it("keeps anchors' zero-shot sequences apart from samples' and per comparison as the switches say", async () => {
    const anchors: Sample[] = [
      { instruction: "Anchor one.", input: "", output: "A1" },
      { ...distinct[1], task: undefined },
    ];
    const shared = await run(distinct, { anchors });
    // Anchor two's zero-shot sequence is sample 1's response sequence: dedup merges them.
    expect(shared.sent).toBe(4 * 4 + 1 + 4 * 2);
    expect((await run(distinct, { anchors, sharing: { dedup: false } })).sent).toBe(4 * 4 + 2 + 4 * 2);
    const seedLike = await run(distinct, { anchors, sharing: all });
    expect(seedLike.sent).toBe(4 * 5 + 2 * 4 * 2);
    expect(seedLike.rows).toEqual(shared.rows);
  });

  it("rejects a switch that is not a boolean", async () => {
    await expect(run(distinct, { sharing: { dedup: "no" as never } })).rejects.toThrowError(/sharing.dedup must be true or false, got no/);
  });
});

describe("scoreSamples: windows and streams", () => {
  const many: Sample[] = Array.from({ length: 23 }, (_, i) => ({
    instruction: `Task ${i % 3}`,
    input: i % 4 === 0 ? "" : `input ${i}`,
    output: `output ${i % 5}`,
    id: `s${i}`,
  }));

  it("yields identical rows, in input order, whatever the window size", async () => {
    const reference = (await run(many, { windowSize: 100 })).rows;
    expect(reference.map((r) => r.index)).toEqual(many.map((_, i) => i));
    expect(reference.map((r) => r.id)).toEqual(many.map((s) => s.id));
    for (const windowSize of [1, 2, 5, 7]) {
      for (const windowsInFlight of [1, 3]) expect((await run(many, { windowSize, windowsInFlight })).rows).toEqual(reference);
    }
  });

  it("makes one scorer call per window and keeps response sequences' scores for the windows whose partners need them", async () => {
    // Distinct texts in one task: across windows only partners' zero-shot sequences, which are other
    // windows' response sequences, repeat, and the cache leaves none of them to score twice.
    const oneTask: Sample[] = Array.from({ length: 23 }, (_, i) => ({ instruction: `Do step ${i}.`, input: "", output: `done ${i}`, task: "t" }));
    const whole = await run(oneTask, { windowSize: 100 });
    const windowed = await run(oneTask, { windowSize: 5, windowsInFlight: 1 });
    expect(windowed.calls).toBe(5);
    expect(windowed.sent).toBe(whole.sent);
    const noCache = await run(oneTask, { windowSize: 5, windowsInFlight: 1, scoreCacheEntries: 0 });
    expect(noCache.sent).toBeGreaterThan(whole.sent);
    expect(noCache.rows).toEqual(whole.rows);
  });

  it("scores other sequences repeated across windows once per window, keeping only response scores", async () => {
    // Three instructions and five outputs repeat over 23 rows: windows of five each score their own.
    const whole = await run(many, { windowSize: 100 });
    const windowed = await run(many, { windowSize: 5, windowsInFlight: 1 });
    expect(windowed.sent).toBeGreaterThan(whole.sent);
    expect(windowed.rows).toEqual(whole.rows);
    const text = (request: SequenceRequest) => Array.from(request.tokenIds).join(",");
    const responseSequences = new Set((await run(many, { metrics: ["response_ppl"], windowSize: 100 })).scorer.requests.map(text));
    const sent = windowed.scorer.requests.map(text);
    const sentAgain = sent.filter((key, i) => sent.indexOf(key) !== i);
    expect(sentAgain.length).toBe(windowed.sent - whole.sent);
    expect(sentAgain.filter((key) => responseSequences.has(key))).toEqual([]);
  });

  it("scores a stream with a task index and random access, as it scores an array", async () => {
    const reference = (await run(many, { windowSize: 4 })).rows;
    const streamed = await run(streamOf(many), { windowSize: 4, taskIndex: taskIndexOfSamples(many), sampleAt: async (i) => many[i] });
    expect(streamed.rows).toEqual(reference);
  });

  it("needs a task index and sampleAt for one-shot partners over a stream", async () => {
    await expect(run(streamOf(many))).rejects.toThrowError(/needs taskIndex .* and sampleAt/);
    // Without oneshot_validity a stream needs neither.
    const metrics = METRIC_NAMES.filter((m) => m !== "oneshot_validity");
    expect((await run(streamOf(many), { metrics })).rows).toHaveLength(23);
  });

  it("rejects a task index built from other data", async () => {
    const other = many.map((s, i) => (i === 6 ? { ...s, instruction: "changed" } : s));
    await expect(run(streamOf(other), { taskIndex: taskIndexOfSamples(many), sampleAt: (i) => other[i] })).rejects.toThrowError(
      /sample 6: its task label differs from the task index's/,
    );
    await expect(run(streamOf(many), { taskIndex: taskIndexOfSamples(many.slice(0, 5)), sampleAt: (i) => many[i] })).rejects.toThrowError(
      /sample 5 is beyond the task index, which has 5 samples/,
    );
  });

  it("validates samples and options at the edge", async () => {
    const bad = [{ instruction: "x", input: 3, output: "" }] as unknown as Sample[];
    await expect(run(bad)).rejects.toThrowError(/sample 0: field "input" must be a string/);
    await expect(run(many, { metrics: ["ppl" as never] })).rejects.toThrowError(/unknown metric "ppl"/);
    await expect(run(many, { windowSize: 0 })).rejects.toThrowError(/windowSize must be a positive integer/);
    await expect(run(many, { maxLength: 5000 })).rejects.toThrowError(/exceeds the model's maximum of 4096/);
    await expect(run(many, { templates: "vicuna" as never })).rejects.toThrowError(/templates must be/);
  });
});

describe("scoreSamples: scorer failures and cancellation", () => {
  const wrap = (inner: Scorer, transform: (score: SequenceScore, request: number) => SequenceScore | undefined): Scorer => ({
    info: () => inner.info(),
    close: () => inner.close(),
    async *score(requests: AsyncIterable<SequenceRequest>, options?: { signal?: AbortSignal }) {
      let n = 0;
      for await (const score of inner.score(requests, options)) {
        const out = transform(score, n++);
        if (out !== undefined) yield out;
      }
    },
  });
  const fails = async (scorer: Scorer, pattern: RegExp, code = "scorer-failed"): Promise<void> => {
    const error = await collect(scoreSamples(distinct, scorer)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MetricsError);
    expect((error as MetricsError).code).toBe(code);
    expect((error as MetricsError).message).toMatch(pattern);
  };

  it("fails when the scorer leaves sequences unanswered, repeats or malforms a result, or throws", async () => {
    await fails(wrap(createCountingScorer(json), (s, i) => (i === 3 ? undefined : s)), /finished without answering 1 of 28 sequences/);
    await fails(wrap(createCountingScorer(json), (s, i) => (i === 3 ? { ...s, id: "nope" } : s)), /unknown or already answered sequence "nope"/);
    await fails(wrap(createCountingScorer(json), (s) => ({ ...s, spans: [] })), /returned 0 span scores/);
    await fails(wrap(createCountingScorer(json), (s) => ({ ...s, spans: s.spans.map((x) => ({ ...x, count: x.count + 1 })) })), /scored \d+ positions of span/);
    await fails(
      wrap(createCountingScorer(json), () => {
        throw new Error("engine exploded");
      }),
      /engine exploded/,
    );
  });

  it("stops with cancelled when the signal fires", async () => {
    const controller = new AbortController();
    const scorer = wrap(createCountingScorer(json), (s, i) => {
      if (i === 2) controller.abort();
      return s;
    });
    const error = await collect(scoreSamples(distinct, scorer, { signal: controller.signal })).then(() => undefined, (e: unknown) => e);
    expect((error as MetricsError).code).toBe("cancelled");
  });

  it("aborts the scorer's stream when the consumer stops early", async () => {
    const signals: AbortSignal[] = [];
    const inner = createCountingScorer(json);
    const scorer: Scorer = { ...inner, score: (requests, options) => (options?.signal && signals.push(options.signal), inner.score(requests, options)) };
    const many = Array.from({ length: 10 }, (_, i) => ({ instruction: `i${i}`, input: "", output: `o${i}` }));
    for await (const row of scoreSamples(many, scorer, { windowSize: 2 })) if (row.index === 0) break;
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});
