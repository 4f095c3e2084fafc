import { readFile } from "node:fs/promises";
import path from "node:path";
import { MetricsError } from "./metrics-error.js";
import { compileTemplate } from "./template-text.js";
import { TEMPLATE_FIELDS, TEMPLATE_KINDS, type TemplateKind, type TemplateSetText, type TemplateVariants } from "./templates.js";

/** A named template set, as read from a template file. */
export interface TemplateSet {
  readonly name: string;
  readonly templates: TemplateSetText;
}

const VARIANTS: readonly (keyof TemplateVariants)[] = ["prompt_input", "prompt_no_input"];

/**
 * Reads a custom template set from a JSON file in the seed's `PROMPT_DICT` layout:
 *
 * ```json
 * { "name": "my-set",
 *   "zero-shot":          { "prompt_input": "…{instruction}…{input}…", "prompt_no_input": "…" },
 *   "one-shot":           { "prompt_input": "…{example_input}…{example_output}…", "prompt_no_input": "…" },
 *   "reversed-zero-shot": { "prompt_input": "…{output}…", "prompt_no_input": "…" } }
 * ```
 *
 * `name` is optional (default: the file name without extension). See {@link parseTemplateSet} for the
 * rules.
 *
 * @throws MetricsError `invalid-template` naming the file and the key, or the I/O error's message.
 */
export async function loadTemplateSetFile(file: string): Promise<TemplateSet> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new MetricsError("invalid-template", `template file ${file}: cannot read it (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  return parseTemplateSet(text, file);
}

/**
 * Parses and validates template-set JSON. Every kind and both variants are required, no other key is
 * allowed, values are strings, placeholders are those the kind provides ({@link TEMPLATE_FIELDS}),
 * and doubled braces are rejected: templates are literal text plus `{name}` placeholders, so `{{`
 * would not be Python's escape for `{` here and a template ported from Python would change meaning.
 *
 * @param source The file name, used in messages and as the default name.
 * @throws MetricsError `invalid-template` naming `source` and the offending key.
 */
export function parseTemplateSet(json: string, source: string): TemplateSet {
  const fail = (message: string): never => {
    throw new MetricsError("invalid-template", `template file ${source}: ${message}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(value)) return fail("expected a JSON object with keys zero-shot, one-shot, reversed-zero-shot");
  for (const key of Object.keys(value)) {
    if (key !== "name" && !(TEMPLATE_KINDS as readonly string[]).includes(key)) {
      fail(`unknown key "${key}" (expected name, ${TEMPLATE_KINDS.join(", ")})`);
    }
  }
  const name = value.name ?? path.basename(source).replace(/\.[^.]*$/, "");
  if (typeof name !== "string" || name === "") return fail(`"name" must be a non-empty string`);
  const templates = {} as Record<TemplateKind, TemplateVariants>;
  for (const kind of TEMPLATE_KINDS) {
    const entry = value[kind];
    if (entry === undefined) fail(`missing key "${kind}"`);
    if (!isRecord(entry)) return fail(`"${kind}" must be an object with prompt_input and prompt_no_input`);
    for (const key of Object.keys(entry)) {
      if (!(VARIANTS as readonly string[]).includes(key)) fail(`unknown key "${kind}.${key}" (expected prompt_input, prompt_no_input)`);
    }
    for (const variant of VARIANTS) {
      const text = entry[variant];
      if (text === undefined) fail(`missing key "${kind}.${variant}"`);
      if (typeof text !== "string") return fail(`"${kind}.${variant}" must be a string`);
      checkTemplateText(text, kind, `${kind}.${variant}`, fail);
    }
    templates[kind] = { prompt_input: entry.prompt_input as string, prompt_no_input: entry.prompt_no_input as string };
  }
  return { name, templates };
}

function checkTemplateText(text: string, kind: TemplateKind, key: string, fail: (message: string) => never): void {
  const doubled = text.search(/\{\{|\}\}/);
  if (doubled >= 0) {
    fail(`"${key}" contains "${text.slice(doubled, doubled + 2)}" at offset ${doubled}; templates are literal text with {name} placeholders and have no brace escapes, write a single brace`);
  }
  for (const field of compileTemplate(text).fields) {
    if (!TEMPLATE_FIELDS[kind].includes(field)) {
      fail(`"${key}" uses unknown placeholder {${field}} (allowed: ${TEMPLATE_FIELDS[kind].map((f) => `{${f}}`).join(", ")})`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
