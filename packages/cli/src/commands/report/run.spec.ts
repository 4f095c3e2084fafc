import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DataError } from "../../data/data-error.js";
import { openRowWriter } from "../../data/write-rows.js";
import { ExitCode, UsageError, exitCodeOf } from "../../exit-codes.js";
import { main } from "../../main.js";
import { run, type ReportRunOptions } from "./run.js";

// `run()` on a crafted results file and its dataset: the numbers are chosen by hand so that the
// ranking, the quadrants and the per-task medians below can be checked without recomputing them.

const XSS = `</script><img src=x onerror="window.__xss=1">`;
const LONG_OUTPUT = `${"word ".repeat(79)}END-OF-LONG-TEXT`;
const DATE = new Date("2025-03-04T05:06:07Z");

interface Sample {
  id: string;
  task?: string;
  instruction: string;
  input: string;
  output: string;
}

const SAMPLES: Sample[] = [
  { id: "s0", task: "a", instruction: "分类以下句子的情感。", input: "今天天气很好。", output: "高兴" },
  { id: "s1", task: "a", instruction: XSS, input: "", output: "<b>bold?</b> & more" },
  { id: "s2", task: "a", instruction: "Summarize.", input: "Some text.", output: LONG_OUTPUT },
  { id: "s3", task: "b", instruction: "Translate to French.", input: "Hello", output: "Bonjour 🐠" },
  { id: "s4", task: "b", instruction: "Say nothing.", input: "", output: "" },
  { id: "s5", task: "b", instruction: "Count to three.", input: "", output: "1 2 3" },
  { id: "s6", task: "solo", instruction: "写一首诗。", input: "", output: "床前明月光" },
];

type Values = { ifd: number | null; rifd: number; response: number | null; validity: number | null };
// ifd = response_ppl / output_ppl, so output_ppl = response / ifd.
const VALUES: Values[] = [
  { ifd: 0.5, rifd: 0.4, response: 50, validity: 1 },
  { ifd: 9, rifd: 3, response: 900, validity: -1 / 3 },
  { ifd: 0.8, rifd: 1.5, response: 8, validity: 1 / 3 },
  { ifd: 2, rifd: 0.5, response: 2, validity: 1 / 3 },
  { ifd: null, rifd: 0.9, response: null, validity: 1 / 3 },
  { ifd: 1, rifd: 1, response: 1000, validity: -1 },
  { ifd: 0.05, rifd: 0.2, response: 0.5 * 10, validity: null },
];

function resultRow(index: number): Record<string, unknown> {
  const v = VALUES[index];
  const nullReasons: Record<string, string> = {};
  if (v.ifd === null) Object.assign(nullReasons, { response_ppl: "no-scored-tokens", output_ppl: "no-scored-tokens", ifd: "no-scored-tokens" });
  if (v.validity === null) nullReasons.oneshot_validity = "no-partner";
  return {
    index,
    id: SAMPLES[index].id,
    prompt_ppl: 100 + index,
    response_ppl: v.response,
    output_ppl: v.ifd === null || v.response === null ? null : v.response / v.ifd,
    ifd: v.ifd,
    instruction_ppl: 10,
    reverse_response_ppl: 10 * v.rifd,
    rifd: v.rifd,
    oneshot_validity: v.validity,
    oneshot_partners: [],
    truncated: index === 2,
    boundary_merged: false,
    null_reasons: nullReasons,
  };
}

let dir: string;
let results: string;
let data: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-report-"));
  results = path.join(dir, "results.jsonl");
  data = path.join(dir, "data.jsonl");
  await writeFile(results, SAMPLES.map((_, i) => JSON.stringify(resultRow(i))).join("\n") + "\n");
  await writeFile(data, SAMPLES.map((s) => JSON.stringify(s)).join("\n") + "\n");
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function report(options: Partial<ReportRunOptions> = {}): Promise<string> {
  const out = options.out ?? path.join(dir, "report.html");
  const code = await run({ results, data, taskField: "task", out, generatedAt: DATE, ...options });
  expect(code).toBe(ExitCode.ok);
  return readFile(out, "utf8");
}

async function failure(options: Partial<ReportRunOptions>): Promise<Error> {
  try {
    await run({ results, out: path.join(dir, "report.html"), generatedAt: DATE, ...options });
  } catch (error: unknown) {
    if (error instanceof Error) return error;
  }
  throw new Error("expected run() to fail");
}

/** The HTML of the `<table data-table="name">` element. */
function table(html: string, name: string): string {
  const match = new RegExp(`<table[^>]*data-table="${name}"[^>]*>([\\s\\S]*?)</table>`).exec(html);
  if (match === null) throw new Error(`no table ${name}`);
  return match[1];
}

/** Each `<tr>` of a table body as the text of its cells. */
function bodyRows(tableHtml: string): string[][] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(tableHtml)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) => cell[1].replace(/<[^>]+>/g, "")));
}

describe("sftscore report on a crafted results file with its data", () => {
  it("draws a histogram per metric, the IFD/r-IFD scatter and the per-task validity chart", async () => {
    const html = await report();
    const charts = [...html.matchAll(/<figure [^>]*data-chart="([^"]+)"/g)].map((m) => m[1]);
    expect(charts).toEqual([
      "histogram-prompt_ppl",
      "histogram-response_ppl",
      "histogram-output_ppl",
      "histogram-ifd",
      "histogram-instruction_ppl",
      "histogram-reverse_response_ppl",
      "histogram-rifd",
      "histogram-oneshot_validity",
      "ifd-rifd-scatter",
      "oneshot-validity-by-task",
    ]);
    // Every chart: an <svg role="img"> with a <title>, axis labels, and a caption.
    for (const figure of html.match(/<figure [\s\S]*?<\/figure>/g) ?? []) {
      expect(figure).toMatch(/<svg [^>]*role="img"[^>]*><title id="[^"]+">[^<]+<\/title>/);
      expect(figure).toMatch(/class="axis-label"/);
      expect(figure).toMatch(/<figcaption>[\s\S]+<\/figcaption>/);
    }
    expect(html).toContain("response_ppl (log scale)");
    expect(html).toContain(">oneshot_validity</text>");
  });

  it("counts nulls by reason in the overview and notes them under the histograms", async () => {
    const html = await report();
    expect(bodyRows(table(html, "nulls"))).toEqual([
      ["no-scored-tokens", "3", "ifd ×1, output_ppl ×1, response_ppl ×1"],
      ["no-partner", "1", "oneshot_validity ×1"],
    ]);
    expect(html).toMatch(/data-chart="histogram-ifd">[\s\S]*?1 null \(no-scored-tokens ×1\), not drawn\./);
    expect(html).toMatch(/Truncated rows<\/dt><dd>1</);
    expect(html).toContain("<dt>Nulls</dt><dd><code>no-scored-tokens</code> ×3, <code>no-partner</code> ×1</dd>");
  });

  it("summarises each metric: n, nulls, mean and interpolated quantiles", async () => {
    const rows = bodyRows(table(await report(), "summary"));
    const rifd = rows.find((r) => r[0] === "rifd");
    // rifd sorted: 0.2 0.4 0.5 0.9 1 1.5 3; mean 7.5/7; p25 at h = 1.5 → 0.45; p75 at h = 4.5 → 1.25.
    expect(rifd).toEqual(["rifd", "7", "0", "1.071", "0.2", expect.any(String), "0.45", "0.9", "1.25", expect.any(String), "3"]);
    const ifd = rows.find((r) => r[0] === "ifd");
    // ifd sorted: 0.05 0.5 0.8 1 2 9, one null; median (0.8 + 1) / 2.
    expect(ifd?.slice(0, 3)).toEqual(["ifd", "6", "1"]);
    expect(ifd?.[7]).toBe("0.9");
  });

  it("counts the IFD/r-IFD quadrants, with the reflection region highlighted", async () => {
    const html = await report();
    expect(bodyRows(table(html, "quadrants")).map((r) => r[1])).toEqual(["2", "1", "1", "2"]);
    expect(html).toContain('<rect class="region"');
    expect(html).toContain(">reflection: 2</text>");
    expect(html).toMatch(/IFD = 1<\/text>/);
    expect(html).toMatch(/1 row with a null \(or non-positive\) IFD or r-IFD not drawn/);
  });

  it("breaks the metrics down per task: counts, medians and the share of positive validity", async () => {
    const rows = bodyRows(table(await report(), "tasks"));
    // Columns: task, n, 8 medians (prompt, response, output, ifd, instruction, reverse, rifd, validity), share.
    expect(rows.map((r) => [r[0], r[1], r[5], r[8], r[9], r[10]])).toEqual([
      // a: ifd 0.5 0.8 9 → 0.8; rifd 0.4 1.5 3 → 1.5; validity 1, −1/3, 1/3 → 1/3; 2 of 3 positive.
      ["a", "3", "0.8", "1.5", "0.3333", "67%"],
      // b: ifd 2, null, 1 → 1.5; rifd 0.5 0.9 1 → 0.9; validity 1/3 1/3 −1 → 1/3.
      ["b", "3", "1.5", "0.9", "0.3333", "67%"],
      ["solo", "1", "0.05", "0.2", "—", "—"],
    ]);
  });

  it("shows the top and bottom samples by IFD and response_ppl with their text, escaped", async () => {
    const html = await report({ top: 2 });
    const highest = bodyRows(table(html, "samples-ifd-highest"));
    expect(highest.map((r) => r[1])).toEqual(["#1s1a", "#3s3b"]);
    expect(bodyRows(table(html, "samples-ifd-lowest")).map((r) => r[1])).toEqual(["#6s6solo", "#0s0a"]);
    expect(bodyRows(table(html, "samples-response_ppl-highest")).map((r) => r[1])).toEqual(["#5s5b", "#1s1a"]);
    // The injection payload is text: escaped, never markup.
    expect(html).toContain("&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;");
    expect(html).toContain("&lt;b&gt;bold?&lt;/b&gt; &amp; more");
    expect(html).not.toContain(XSS);
    expect(html).not.toMatch(/<img/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    // Chinese and emoji pass through as UTF-8, with lang="zh" on Han text.
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<div class="field-text" lang="zh">分类以下句子的情感。</div>');
  });

  it("folds long text into a <details> with a preview and the whole text", async () => {
    const html = await report({ top: 7 });
    const details = /<details class="long">[\s\S]*?<\/details>/.exec(html)?.[0] ?? "";
    expect(details).toMatch(/<summary><span class="field-text preview">(word ){56}…<\/span><span class="more"> \(411 characters\)<\/span><\/summary>/);
    expect(details).toContain("END-OF-LONG-TEXT</div>");
  });

  it("is self-contained: nothing references the network, and a CSP forbids loading anything", async () => {
    const html = await report();
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-[^"]+&#39;; script-src &#39;sha256-/);
  });

  it("is byte-identical for the same inputs and date, and prints the date", async () => {
    const first = await report({ out: path.join(dir, "one.html") });
    const second = await report({ out: path.join(dir, "two.html") });
    expect(second).toBe(first);
    expect(first).toContain('<time datetime="2025-03-04T05:06:07.000Z">2025-03-04 05:06 UTC</time>');
  });

  it("reads CSV and Parquet results as `score` writes them, with the same report as from JSONL", async () => {
    const fromJsonl = await report({ title: "same" });
    for (const extension of ["csv", "parquet"]) {
      const file = path.join(dir, `results.${extension}`);
      const writer = await openRowWriter(file);
      for (let i = 0; i < SAMPLES.length; i++) await writer.write(resultRow(i));
      await writer.close();
      const html = await report({ results: file, title: "same", out: path.join(dir, `${extension}.html`) });
      expect(html.replaceAll(file, results)).toBe(fromJsonl);
    }
  });

  it("works from the rows alone: tasks from the rows' own task column, no text", async () => {
    await writeFile(results, SAMPLES.map((s, i) => JSON.stringify({ ...resultRow(i), task: s.task })).join("\n") + "\n");
    const html = await report({ data: undefined, taskField: undefined });
    expect(html).toContain(`labels from column &quot;task&quot; of ${results}`);
    expect(bodyRows(table(html, "tasks")).map((r) => r[0])).toEqual(["a", "b", "solo"]);
    expect(html).toContain("Pass <code>--data</code> (the file these results were scored from)");
    expect(html).not.toContain("分类以下句子的情感");
  });

  it("handles a single row, all-equal values and an all-null metric", async () => {
    await writeFile(results, JSON.stringify({ ...resultRow(0), oneshot_validity: null, null_reasons: { oneshot_validity: "no-partner" } }) + "\n");
    await writeFile(data, JSON.stringify(SAMPLES[0]) + "\n");
    const html = await report();
    expect(html).toMatch(/data-chart="histogram-ifd">[\s\S]*?all 1 value is 0\.5/);
    expect(html).not.toContain('data-chart="histogram-oneshot_validity"');
    expect(html).toContain("No values to draw: every row is null. 1 null (no-partner ×1)");
    expect(html).toContain('data-chart="ifd-rifd-scatter"');
  });

  it("shows what the metrics present allow: no scatter, ranking or validity chart without their columns", async () => {
    const row = (i: number) => ({ index: i, id: SAMPLES[i].id, prompt_ppl: 10 + i, prompt_nll: Math.log(10 + i), truncated: false, boundary_merged: false, null_reasons: {} });
    await writeFile(results, SAMPLES.map((_, i) => JSON.stringify(row(i))).join("\n") + "\n");
    const html = await report();
    expect([...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1])).toEqual(["histogram-prompt_ppl"]);
    expect(html).not.toContain('id="ifd-rifd"');
    expect(html).toContain("The results have neither <code>ifd</code> nor <code>response_ppl</code>, so no samples are ranked.");
    expect(bodyRows(table(html, "tasks"))).toEqual([
      // prompt_ppl medians: a 10 11 12 → 11; b 13 14 15 → 14; solo 16.
      ["a", "3", "11"],
      ["b", "3", "14"],
      ["solo", "1", "16"],
    ]);
  });

  it("runs through the command line and exits 0", async () => {
    const out = path.join(dir, "cli.html");
    expect(await main(["report", results, "--data", data, "--task-field", "task", "--out", out, "--title", "Crafted <set>"])).toBe(0);
    const html = await readFile(out, "utf8");
    expect(html).toContain("<title>Crafted &lt;set&gt;</title>");
  });
});

describe("sftscore report errors (exit 2)", () => {
  it("names a missing results file", async () => {
    const error = await failure({ results: path.join(dir, "missing.jsonl") });
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/missing\.jsonl: cannot (open|read) the file: no such file or directory \(ENOENT\)/);
    expect(exitCodeOf(error)).toBe(ExitCode.usage);
  });

  it("names the file and line of a malformed JSON row", async () => {
    await writeFile(results, `${JSON.stringify(resultRow(0))}\n{"index": 1, "ifd": \n`);
    const error = await failure({});
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/results\.jsonl:2:\d+: malformed JSON/);
  });

  it("names the line and field of a metric that is not a number", async () => {
    await writeFile(results, `${JSON.stringify(resultRow(0))}\n${JSON.stringify({ ...resultRow(1), ifd: "high" })}\n`);
    const error = await failure({});
    expect(error.message).toMatch(/results\.jsonl:2: field "ifd" must be a finite number or null, got "high"/);
  });

  it("refuses rows without an index, and duplicate indices", async () => {
    await writeFile(results, `{"instruction": "not a results file"}\n`);
    expect((await failure({})).message).toMatch(/results\.jsonl:1: field "index" is missing/);
    await writeFile(results, `${JSON.stringify(resultRow(0))}\n${JSON.stringify(resultRow(0))}\n`);
    expect((await failure({})).message).toMatch(/results\.jsonl:2: index 0 appears twice \(line 1 and line 2\)/);
  });

  it("refuses results and data of different lengths", async () => {
    await writeFile(results, SAMPLES.slice(0, 5).map((_, i) => JSON.stringify(resultRow(i))).join("\n") + "\n");
    const error = await failure({ data });
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/results\.jsonl has 5 rows but .*data\.jsonl has 7 samples/);
    expect(exitCodeOf(error)).toBe(ExitCode.usage);
  });

  it("refuses data whose ids differ from the rows'", async () => {
    await writeFile(data, SAMPLES.map((s, i) => JSON.stringify(i === 3 ? { ...s, id: "other" } : s)).join("\n") + "\n");
    const error = await failure({ data });
    expect(error.message).toMatch(/results\.jsonl line 4 has id "s3" but sample 3 of .*data\.jsonl has id "other"/);
  });

  it("refuses an --out that is not .html, or is an input, and a bad --top", async () => {
    expect((await failure({ out: path.join(dir, "report.json") })).message).toMatch(/--out must name an \.html file/);
    expect((await failure({ top: 0 })).message).toMatch(/--top must be a whole number from 1 to 1000, got 0/);
    const html = path.join(dir, "results.html");
    await writeFile(html, "x");
    expect((await failure({ results: html, out: html })).message).toMatch(/is an input file/);
  });

  it("exits 2 from the command line", async () => {
    expect(await main(["report", path.join(dir, "missing.jsonl"), "--out", path.join(dir, "r.html")])).toBe(2);
  });
});
