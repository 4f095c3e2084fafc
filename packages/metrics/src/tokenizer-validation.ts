import { MetricsError } from "./metrics-error.js";

/**
 * Checks a `tokenizer.json` for what the Rust `tokenizers` bindings do not check on load but abort the
 * whole process for on the first encode: a `TemplateProcessing` post-processor (also inside a
 * `Sequence`) whose `single` or `pair` template names a special token missing from its
 * `special_tokens` map panics across the FFI boundary, which no `try` can catch. Also rejects text
 * that is not a JSON object with a `model`.
 *
 * @throws MetricsError `invalid-tokenizer` naming the post-processor entry at fault.
 */
export function validateTokenizerJson(tokenizerJson: string): void {
  let value: unknown;
  try {
    value = JSON.parse(tokenizerJson);
  } catch (error) {
    throw new MetricsError("invalid-tokenizer", `tokenizer.json is not valid JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (!isRecord(value) || !isRecord(value.model)) {
    throw new MetricsError("invalid-tokenizer", "tokenizer.json must be an object with a \"model\" entry");
  }
  checkPostProcessor(value.post_processor, "post_processor");
}

function checkPostProcessor(processor: unknown, where: string): void {
  if (processor === null || processor === undefined) return;
  if (!isRecord(processor)) throw invalid(`${where} must be an object or null`);
  if (processor.type === "Sequence") {
    const processors = processor.processors;
    if (!Array.isArray(processors)) throw invalid(`${where}.processors must be a list`);
    processors.forEach((inner, i) => checkPostProcessor(inner, `${where}.processors[${i}]`));
    return;
  }
  if (processor.type !== "TemplateProcessing") return;
  const specials = processor.special_tokens;
  if (!isRecord(specials)) throw invalid(`${where}.special_tokens must be an object`);
  for (const [name, entry] of Object.entries(specials)) {
    if (!isRecord(entry) || !Array.isArray(entry.ids) || !entry.ids.every((id) => Number.isInteger(id) && id >= 0)) {
      throw invalid(`${where}.special_tokens["${name}"] must have "ids", a list of non-negative integers`);
    }
  }
  for (const key of ["single", "pair"] as const) {
    const template = processor[key];
    if (template === undefined) continue;
    if (!Array.isArray(template)) throw invalid(`${where}.${key} must be a list`);
    template.forEach((piece, i) => {
      if (!isRecord(piece) || piece.SpecialToken === undefined) return;
      const id = isRecord(piece.SpecialToken) ? piece.SpecialToken.id : undefined;
      if (typeof id !== "string" || !Object.hasOwn(specials, id)) {
        throw invalid(
          `${where}.${key}[${i}] names special token ${JSON.stringify(id)}, which ${where}.special_tokens does not define (defined: ${Object.keys(specials).map((k) => JSON.stringify(k)).join(", ") || "none"})`,
        );
      }
    });
  }
}

function invalid(message: string): MetricsError {
  return new MetricsError("invalid-tokenizer", `tokenizer.json: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
