/**
 * The bad-input corpus (test/bad-input/README.md), each case run through the installed `sftscore` bin
 * as a user runs it: exit code, the one `error:` line, and the output left behind (none for a failure,
 * whole rows for the quirks that are accepted).
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel, buildFixtureTokenizer } from "@sftscore/engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli-process.js";

const CASES_DIR = path.join(import.meta.dirname, "bad-input", "cases");

/**
 * Model directories a case can score with: the tiny fixture model, or a copy of it broken one way.
 * Made at test time because the model is built, not committed.
 */
const MODEL_VARIANTS = {
  tiny: async () => undefined,
  "without-tokenizer": async (dir: string) => rm(path.join(dir, "tokenizer.json")),
  // The fixture tokenizer trained to 2,048 tokens, in front of a model with 1,024 logits.
  "foreign-tokenizer": async (dir: string) => writeFile(path.join(dir, "tokenizer.json"), buildFixtureTokenizer({ vocabSize: 2048 }).tokenizerJson),
  // Renames the graph's `logits` tensor (its producing node's output and the graph output) to
  // `hidden`: the same length, so the protobuf stays valid, and the graph now looks like a base-model
  // export without an LM head.
  "not-causal-lm": async (dir: string) => {
    const file = path.join(dir, "model.onnx");
    const bytes = await readFile(file);
    for (let at = bytes.indexOf("logits"); at !== -1; at = bytes.indexOf("logits", at + 1)) bytes.write("hidden", at, "latin1");
    await writeFile(file, bytes);
  },
  // What a clone without git-lfs leaves in place of the weights.
  "lfs-pointer": async (dir: string) =>
    writeFile(path.join(dir, "model.onnx"), "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146ec1b2bca8d5e4c4fa4d6c2b1f1e0a8b63f6a1a3f0c2c1b5b7e9d1c3a\nsize 1048576\n"),
} satisfies Record<string, (dir: string) => Promise<unknown>>;
type ModelVariant = keyof typeof MODEL_VARIANTS;

/** Inputs too large to commit, written into the case's working directory as `data.jsonl`. */
const GENERATED = {
  // About 1 MB of output, some 200,000 tokens against a 2,048-token context, then a short record.
  "one-megabyte-output": () =>
    [
      { id: "long", instruction: "Write a very long answer.", input: "", output: "The answer goes on and on, 答案很长。".repeat(25_000) },
      { id: "short", instruction: "Say hello in French.", input: "", output: "Bonjour." },
    ]
      .map((record) => `${JSON.stringify(record)}\n`)
      .join(""),
} satisfies Record<string, () => string>;
type GeneratedInput = keyof typeof GENERATED;

/** A `case.json`: see test/bad-input/README.md. */
interface BadInputCase {
  readonly name: string;
  readonly description: string;
  readonly args: readonly string[];
  readonly model: ModelVariant;
  readonly generated?: GeneratedInput;
  /** File name of `{out}` in the case's working directory. */
  readonly out: string;
  readonly exit: number;
  readonly stderr: readonly RegExp[];
  readonly output: "absent" | { readonly rows: number; readonly match: readonly Record<string, unknown>[] };
}

/** Reads and checks one case, failing with the file and the field when it is malformed. */
function readCase(name: string): BadInputCase {
  const file = path.join(CASES_DIR, name, "case.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const fail = (field: string): never => {
    throw new Error(`${file}: field "${field}" is missing or malformed`);
  };
  const strings = (value: unknown, field: string): string[] => (Array.isArray(value) && value.every((v) => typeof v === "string") ? value : fail(field));
  const model = json.model ?? "tiny";
  if (typeof model !== "string" || !Object.hasOwn(MODEL_VARIANTS, model)) fail("model");
  if (json.generated !== undefined && (typeof json.generated !== "string" || !Object.hasOwn(GENERATED, json.generated))) fail("generated");
  const output = json.output;
  if (output !== "absent" && (typeof output !== "object" || output === null || typeof (output as { rows?: unknown }).rows !== "number")) fail("output");
  return {
    name,
    description: typeof json.description === "string" ? json.description : fail("description"),
    args: strings(json.args, "args"),
    model: model as ModelVariant,
    ...(json.generated === undefined ? {} : { generated: json.generated as GeneratedInput }),
    out: typeof json.out === "string" ? json.out : "out.jsonl",
    exit: typeof json.exit === "number" ? json.exit : fail("exit"),
    stderr: strings(json.stderr, "stderr").map((pattern) => new RegExp(pattern, "m")),
    output: output === "absent" ? "absent" : { rows: (output as { rows: number }).rows, match: (output as { match?: Record<string, unknown>[] }).match ?? [] },
  };
}

const CASES = readdirSync(CASES_DIR).sort().map(readCase);

/** Row fields that hold a metric: each is a finite number, or null with its reason in `null_reasons`. */
const isMetricField = (key: string): boolean => /_(ppl|nll)$/.test(key) || ["ifd", "rifd", "oneshot_validity"].includes(key);

let root = "";
let env: NodeJS.ProcessEnv = {};
const models = new Map<ModelVariant, string>();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "sftscore-bad-input-"));
  env = { ...process.env, SFTSCORE_CACHE: path.join(root, "cache") };
  const tiny = (await buildFixtureModel({ preset: "tiny", out: path.join(root, "models", "tiny") })).dir;
  for (const [variant, breakIt] of Object.entries(MODEL_VARIANTS) as [ModelVariant, (dir: string) => Promise<unknown>][]) {
    const dir = path.join(root, "models", variant);
    if (dir !== tiny) await cp(tiny, dir, { recursive: true });
    await breakIt(dir);
    models.set(variant, dir);
  }
});

afterAll(async () => {
  if (root !== "") await rm(root, { recursive: true, force: true });
});

/** Runs a case in its own directory (so messages name its files as written) with a fresh `{dir}`. */
async function runCase(testCase: BadInputCase): Promise<{ code: number; stderr: string; dir: string; out: string }> {
  const dir = await mkdtemp(path.join(root, `${testCase.name}-`));
  const out = path.join(dir, testCase.out);
  const model = models.get(testCase.model) ?? "";
  const args = testCase.args.map((arg) => arg.replaceAll("{model}", model).replaceAll("{out}", out).replaceAll("{dir}", dir));
  if (testCase.generated !== undefined) await writeFile(path.join(dir, "data.jsonl"), GENERATED[testCase.generated]());
  const { code, stderr } = await runCli(args, { env, cwd: path.join(CASES_DIR, testCase.name) });
  return { code, stderr, dir, out };
}

describe("the bad-input corpus", () => {
  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const caseDir = path.join(CASES_DIR, testCase.name);
    const committed = await readdir(caseDir);
    const { code, stderr, dir, out } = await runCase(testCase);

    expect(code, `exit code; stderr:\n${stderr}`).toBe(testCase.exit);
    for (const pattern of testCase.stderr) expect(stderr).toMatch(pattern);
    expect(await readdir(caseDir)).toEqual(committed);

    if (testCase.output === "absent") {
      // One line a user can act on: no stack, no second message, and nothing written anywhere.
      expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^error: /)]);
      expect(await readdir(dir)).toEqual([]);
      return;
    }
    expect(stderr).not.toMatch(/^error:/m);
    const text = await readFile(out, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const rows = text.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(testCase.output.rows);
    testCase.output.match.forEach((expected, i) => expect(rows[i]).toMatchObject(expected));
    for (const row of rows) {
      const reasons = row.null_reasons as Record<string, string>;
      for (const [key, value] of Object.entries(row).filter(([field]) => isMetricField(field))) {
        if (value === null) expect(reasons[key], `${String(row.id)}.${key} is null without a reason`).toMatch(/\w/);
        else expect(Number.isFinite(value), `${String(row.id)}.${key} = ${String(value)}`).toBe(true);
      }
    }
  });
});

describe("bad input and existing output", () => {
  it("leaves the previous results untouched when --overwrite meets a bad input", async () => {
    const dir = await mkdtemp(path.join(root, "overwrite-"));
    const out = path.join(dir, "results.jsonl");
    const good = path.join(CASES_DIR, "crlf-jsonl", "data.jsonl");
    expect((await runCli(["score", good, "--model", models.get("tiny") ?? "", "--out", out, "--metrics", "ifd"], { env })).code).toBe(0);
    const before = await readFile(out);

    const bad = path.join(CASES_DIR, "missing-output", "data.jsonl");
    const failed = await runCli(["score", bad, "--model", models.get("tiny") ?? "", "--out", out, "--overwrite"], { env });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/data\.jsonl:2: field "output" is missing/);
    expect(await readFile(out)).toEqual(before);
    expect(await readdir(dir)).toEqual(["results.jsonl"]);
  });
});
