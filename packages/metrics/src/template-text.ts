import { MetricsError } from "./metrics-error.js";

/**
 * Prompt templates are literal text with `{name}` placeholders (`name` an identifier). Everything
 * that is not exactly `{identifier}` is literal, *including doubled braces*: Python's `format_map`
 * would turn `{{` in a template into `{`, but the seed's templates contain no doubled braces, so
 * literal-text-plus-placeholders reproduces them exactly and needs no escape rules. Template files
 * reject doubled braces so a template ported from Python cannot silently change meaning
 * (see `template-file.ts`).
 *
 * Substitution is one left-to-right pass over the template, never over the inserted values: a sample
 * whose text contains `{input}`, `{output}` or `{{` keeps that text as it is.
 */

/** One piece of a compiled template: literal text, or a placeholder to fill. */
export type TemplatePart = { readonly kind: "text"; readonly text: string } | { readonly kind: "field"; readonly name: string };

/** A template parsed once into its parts; render it with {@link renderTemplate}. */
export interface CompiledTemplate {
  /** The template text as given. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Names of the placeholders the template uses, in first-use order. */
  readonly fields: readonly string[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Parses template text into literal parts and `{identifier}` placeholders. Never fails. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: TemplatePart[] = [];
  const fields: string[] = [];
  let end = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const start = match.index ?? 0;
    if (start > end) parts.push({ kind: "text", text: source.slice(end, start) });
    const name = match[1];
    parts.push({ kind: "field", name });
    if (!fields.includes(name)) fields.push(name);
    end = start + match[0].length;
  }
  if (end < source.length) parts.push({ kind: "text", text: source.slice(end) });
  return { source, parts, fields };
}

/**
 * Fills each placeholder once with `values[name]`, inserting values verbatim.
 *
 * @throws MetricsError `invalid-template` when a placeholder has no value (template sets are
 *   validated on load, so this means a template uses a field its kind does not provide).
 */
export function renderTemplate(template: CompiledTemplate, values: Readonly<Record<string, string>>): string {
  let text = "";
  for (const part of template.parts) {
    if (part.kind === "text") {
      text += part.text;
      continue;
    }
    const value = values[part.name];
    if (value === undefined) {
      throw new MetricsError("invalid-template", `template placeholder {${part.name}} has no value; template: ${JSON.stringify(template.source)}`);
    }
    text += value;
  }
  return text;
}
