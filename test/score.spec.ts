import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `sftscore score` end to end, as a user runs it: the installed bin in a child process, the
// built-in demo model (built into a private cache on first use) and the project's example data.
const execFileAsync = promisify(execFile);
const root = path.join(import.meta.dirname, "..");
const bin = path.join(root, "node_modules", ".bin", "sftscore");
const example = path.join(root, "examples", "alpaca_mixed.json");

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sftscore-score-"));
  env = { ...process.env, SFTSCORE_CACHE: path.join(dir, "cache") };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function score(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(bin, ["score", ...args, "--threads", "2"], { env, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

async function readRows(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("sftscore score on the built-in example", () => {
  let out: string;
  let first: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    out = path.join(dir, "results.jsonl");
    first = await score([example, "--model", "demo", "--out", out, "--task-field", "task"]);
  });

  it("writes one row per sample, in input order, with every metric, and says the demo model is random once", async () => {
    expect(first.code).toBe(0);
    const rows = await readRows(out);
    const records = JSON.parse(await readFile(example, "utf8")) as { id: string }[];
    expect(rows.map((r) => r.index)).toEqual(records.map((_, i) => i));
    expect(rows.map((r) => r.id)).toEqual(records.map((r) => r.id));
    for (const key of ["prompt_ppl", "response_ppl", "output_ppl", "ifd", "instruction_ppl", "reverse_response_ppl", "rifd", "oneshot_validity", "truncated", "boundary_merged", "null_reasons"]) {
      expect(rows[0]).toHaveProperty(key);
    }
    expect(first.stderr.match(/random weights/g)).toHaveLength(1);
    expect(first.stderr).toMatch(/done: 60 rows scored/);
  });

  it("gives the single-sample task a null one-shot validity with a reason, and no NaN anywhere", async () => {
    const text = await readFile(out, "utf8");
    expect(text).not.toMatch(/NaN|Infinity/);
    const rows = await readRows(out);
    const poem = rows[59];
    expect(poem.oneshot_validity).toBeNull();
    expect((poem.null_reasons as Record<string, string>).oneshot_validity).toBe("no-partner");
  });

  it("is deterministic: a second run gives an identical file", async () => {
    const again = path.join(dir, "again.jsonl");
    expect((await score([example, "--model", "demo", "--out", again, "--task-field", "task"])).code).toBe(0);
    expect(await readFile(again, "utf8")).toBe(await readFile(out, "utf8"));
  });

  it("resumes a killed run without rescoring, ending with the same file as an uninterrupted run", async () => {
    // A bigger input so the run lasts long enough to be killed in the middle; windows of 60 samples
    // so rows reach the file in several bursts, not only at the end of one 480-sample window.
    const records = JSON.parse(await readFile(example, "utf8")) as Record<string, string>[];
    const big = path.join(dir, "big.jsonl");
    await writeFile(big, Array.from({ length: 8 }, (_, copy) => records.map((r) => JSON.stringify({ ...r, id: `${r.id}-${copy}`, output: `${r.output} (${copy})` })).join("\n")).join("\n") + "\n");
    const full = path.join(dir, "big-full.jsonl");
    expect((await score([big, "--model", "demo", "--out", full, "--metrics", "response_ppl,ifd,oneshot_validity"])).code).toBe(0);

    const partial = path.join(dir, "big-partial.jsonl");
    const child = spawn(bin, ["score", big, "--model", "demo", "--out", partial, "--metrics", "response_ppl,ifd,oneshot_validity", "--threads", "2", "--window-size", "60"], { env, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    for (;;) {
      const size = await stat(partial).then((s) => s.size, () => 0);
      if (size > 4000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGKILL");
    await exited;
    const killedRows = (await readFile(partial, "utf8")).split("\n").filter((l) => l !== "").length;
    expect(killedRows).toBeGreaterThan(0);
    expect(killedRows).toBeLessThan(480);

    const resumed = await score([big, "--model", "demo", "--out", partial, "--metrics", "response_ppl,ifd,oneshot_validity", "--resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: \d+ rows already/);
    expect(await readFile(partial, "utf8")).toBe(await readFile(full, "utf8"));
  });

  it("gives identical rows against a `sftscore serve` engine over gRPC as in process", async () => {
    const server = spawn(bin, ["serve", "--model", "demo", "--port", "0", "--threads", "2"], { env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = "";
        server.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          const match = /listening on [^\s]+:(\d+)/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const remote = path.join(dir, "remote.jsonl");
      const result = await score([example, "--engine", `127.0.0.1:${port}`, "--out", remote, "--task-field", "task"]);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/on 127\.0\.0\.1:\d+/);
      expect(await readFile(remote, "utf8")).toBe(await readFile(out, "utf8"));
    } finally {
      server.kill("SIGTERM");
    }
  });

  it("gives an identical file with prefix sharing off (--prefix-cache-mb 0), and rejects a negative size", async () => {
    const whole = path.join(dir, "whole.jsonl");
    expect((await score([example, "--model", "demo", "--out", whole, "--task-field", "task", "--prefix-cache-mb", "0"])).code).toBe(0);
    expect(await readFile(whole, "utf8")).toBe(await readFile(out, "utf8"));
    const bad = await score([example, "--model", "demo", "--out", path.join(dir, "bad.jsonl"), "--prefix-cache-mb", "-1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prefix-cache-mb must be a non-negative integer, got -1/);
  });

  it("writes CSV by extension", async () => {
    const csv = path.join(dir, "results.csv");
    expect((await score([example, "--model", "demo", "--out", csv, "--metrics", "ifd"])).code).toBe(0);
    const lines = (await readFile(csv, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(61);
    expect(lines[0]).toMatch(/^index,id,/);
  });
});

describe("sftscore score on bad usage and bad input", () => {
  it("rejects unknown metrics with exit code 2, listing the known ones", async () => {
    const result = await score([example, "--model", "demo", "--out", path.join(dir, "x.jsonl"), "--metrics", "ifd,perplexity"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown metric "perplexity"; known: prompt_ppl/);
  });

  it("names the file, line and field of a bad record, exits 2 and writes no rows", async () => {
    const bad = path.join(dir, "bad.jsonl");
    await writeFile(bad, '{"instruction":"a","output":"b"}\n{"instruction":"c"}\n');
    const out = path.join(dir, "bad-out.jsonl");
    const result = await score([bad, "--model", "demo", "--out", out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.jsonl:2: field "output" is missing/);
    expect(await readFile(out, "utf8").catch(() => "")).toBe("");
  });

  it("refuses to overwrite an existing output without --resume or --overwrite", async () => {
    const out = path.join(dir, "exists.jsonl");
    await writeFile(out, '{"index":0}\n');
    const result = await score([example, "--model", "demo", "--out", out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--resume|--overwrite/);
  });
});
