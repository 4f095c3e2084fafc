import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `sftscore report` end to end: the installed bin scores the project's example data with the demo
// model, writes the report, and Debian's Chromium opens it from disk with every network request
// blocked. Skipped only where Chromium is not installed (CI installs the `chromium` package).
const execFileAsync = promisify(execFile);
const root = path.join(import.meta.dirname, "..");
const bin = path.join(root, "node_modules", ".bin", "sftscore");
const example = path.join(root, "examples", "alpaca_mixed.json");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const METRICS = ["prompt_ppl", "response_ppl", "output_ppl", "ifd", "instruction_ppl", "reverse_response_ppl", "rifd", "oneshot_validity"];

// Injection attempts in every field the report shows: text, id (tooltips, code) and task (tables, SVG).
const XSS_RECORDS = [
  {
    id: `x"><img src=x onerror="window.__xss=4">`,
    task: `<img src=x onerror="window.__xss=5">`,
    instruction: `</script><img src=x onerror="window.__xss=1">`,
    input: "<script>window.__xss=2</script>",
    output: `"><svg onload="window.__xss=3"></svg> & <b>not bold</b>`,
  },
  {
    id: "xss-2",
    task: `<img src=x onerror="window.__xss=5">`,
    instruction: "</title></desc></text></svg><script>window.__xss=6</script>",
    input: "",
    output: "<!-- --><style>body{display:none}</style>",
  },
];

let dir: string;
let env: NodeJS.ProcessEnv;
let browser: Browser;
let reportFile: string;
let xssReportFile: string;

async function sftscore(args: string[]): Promise<void> {
  await execFileAsync(bin, args, { env, maxBuffer: 64 * 1024 * 1024 });
}

interface OpenedPage {
  readonly page: Page;
  /** Requests for anything but the report's own file:// URL (all of them aborted). */
  readonly blocked: string[];
  /** Console errors and uncaught exceptions (a CSP violation would show here). */
  readonly errors: string[];
}

async function open(file: string, options: { javaScriptEnabled?: boolean } = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: options.javaScriptEnabled ?? true });
  const page = await context.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  await page.route("**", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  return { page, blocked, errors };
}

describe.skipIf(!existsSync(CHROMIUM))("sftscore report in headless Chromium", () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-report-e2e-"));
    env = { ...process.env, SFTSCORE_CACHE: path.join(dir, "cache") };
    const results = path.join(dir, "r.jsonl");
    reportFile = path.join(dir, "report.html");
    await sftscore(["score", example, "--model", "demo", "--task-field", "task", "--out", results]);
    await sftscore(["report", results, "--data", example, "--task-field", "task", "--out", reportFile]);

    // The example plus injection attempts; --top 40 lists every sample, so all of their text is on the page.
    const records = JSON.parse(await readFile(example, "utf8")) as unknown[];
    const xssData = path.join(dir, "xss.json");
    await writeFile(xssData, JSON.stringify([...records, ...XSS_RECORDS], null, 2));
    const xssResults = path.join(dir, "xss.jsonl");
    xssReportFile = path.join(dir, "xss.html");
    await sftscore(["score", xssData, "--model", "demo", "--task-field", "task", "--out", xssResults]);
    await sftscore(["report", xssResults, "--data", xssData, "--task-field", "task", "--top", "40", "--out", xssReportFile]);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("draws every chart as a visible SVG with marks: a histogram per metric, the scatter, the task chart", async () => {
    const { page } = await open(reportFile);
    const figures = page.locator("figure[data-chart]");
    const names = await figures.evaluateAll((elements) => elements.map((e) => e.getAttribute("data-chart")));
    expect(names).toEqual([...METRICS.map((m) => `histogram-${m}`), "ifd-rifd-scatter", "oneshot-validity-by-task"]);
    for (let i = 0; i < names.length; i++) {
      const figure = figures.nth(i);
      const svg = figure.locator("svg");
      expect(await svg.count(), String(names[i])).toBe(1);
      const box = await svg.boundingBox();
      expect(box?.width ?? 0, String(names[i])).toBeGreaterThan(200);
      expect(box?.height ?? 0, String(names[i])).toBeGreaterThan(150);
      expect(await svg.locator("rect, circle, path").count(), String(names[i])).toBeGreaterThan(0);
      expect(await svg.locator("title").first().textContent(), String(names[i])).not.toBe("");
      expect(await figure.locator("figcaption").isVisible(), String(names[i])).toBe(true);
    }
    // The scatter draws one point per sample with both IFD and r-IFD: all 60 here.
    expect(await page.locator('figure[data-chart="ifd-rifd-scatter"] circle').count()).toBe(60);
    await page.context().close();
  });

  it("draws the charts without JavaScript too", async () => {
    const { page } = await open(reportFile, { javaScriptEnabled: false });
    expect(await page.locator("figure[data-chart] svg").count()).toBe(10);
    const box = await page.locator('figure[data-chart="histogram-ifd"] svg').boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(200);
    await page.context().close();
  });

  it("loads nothing from the network and logs no errors", async () => {
    const { page, blocked, errors } = await open(reportFile);
    await page.locator("#samples").scrollIntoViewIfNeeded();
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("shows Chinese sample text as text", async () => {
    const { page } = await open(reportFile);
    const chinese = page.locator('.field-text[lang="zh"]');
    expect(await chinese.count()).toBeGreaterThan(0);
    await expect.poll(() => chinese.first().isVisible()).toBe(true);
    expect(await chinese.first().innerText()).toMatch(/\p{Script=Han}/u);
    // The example's Chinese sentiment task is in the per-task table, and its text renders somewhere.
    expect(await page.locator('table[data-table="tasks"]').innerText()).toContain("sentiment");
    expect(await page.locator("body").innerText()).toMatch(/[伤高]兴|伤心|正常/);
    await page.context().close();
  });

  it("sorts a table when its header is clicked", async () => {
    const { page } = await open(reportFile);
    const header = page.locator('table[data-table="tasks"] thead th').nth(1);
    await header.locator("button").click();
    expect(await header.getAttribute("aria-sort")).toBe("ascending");
    const counts = await page.locator('table[data-table="tasks"] tbody tr td:nth-child(2)').allInnerTexts();
    expect(counts.map(Number)).toEqual([...counts.map(Number)].sort((a, b) => a - b));
    await page.context().close();
  });

  it("renders injection attempts in the data as text and runs none of them", async () => {
    const { page, blocked, errors } = await open(xssReportFile);
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.locator("style").count()).toBe(1);
    const text = await page.locator("body").innerText();
    for (const record of XSS_RECORDS) {
      expect(text).toContain(record.instruction);
      if (record.input !== "") expect(text).toContain(record.input);
      expect(text).toContain(record.output);
    }
    expect(text).toContain(XSS_RECORDS[0].id);
    expect(await page.locator('table[data-table="tasks"]').innerText()).toContain(XSS_RECORDS[0].task);
    expect(await page.locator("body").isVisible()).toBe(true);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("takes a non-trivial screenshot", async () => {
    const { page } = await open(reportFile);
    const shot = path.join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(100 * 1024);
    await page.context().close();
  });
});
