import type { Argv } from "yargs";
import type { FieldMapping } from "../data/sample.js";

/** The parsed `--*-field` options (camelCase), as {@link withFieldOptions} declares them. */
export interface FieldOptions {
  readonly instructionField?: string | undefined;
  readonly inputField?: string | undefined;
  readonly outputField?: string | undefined;
  readonly idField?: string | undefined;
  readonly taskField?: string | undefined;
}

/** What {@link withFieldOptions} says of `--task-field`, which each command reads differently. */
export interface FieldOptionsHelp {
  /** The `--task-field` description, e.g. `Field holding the task label (as given to \`score\`)`. */
  readonly taskField: string;
}

/**
 * Declares the field mapping of a data file, shared by every command that reads one:
 * `--instruction-field` (default `instruction`), `--input-field` (`input`), `--output-field`
 * (`output`), `--id-field` (`id`) and `--task-field` (no default). Apply it after the command's own
 * options, so that `--help` lists these last. Map the parsed options to the data layer's
 * `FieldMapping` with {@link fieldMappingOf}.
 *
 * @example
 * ```ts
 * const builder = (y: Argv) => withFieldOptions(y.option("out", { type: "string" }), { taskField: "Field holding the task label" });
 * ```
 */
export function withFieldOptions<T>(y: Argv<T>, help: FieldOptionsHelp) {
  return y
    .option("instruction-field", { type: "string", default: "instruction", describe: "Field holding the instruction" })
    .option("input-field", { type: "string", default: "input", describe: "Field holding the input (context); missing or null is empty" })
    .option("output-field", { type: "string", default: "output", describe: "Field holding the response" })
    .option("id-field", { type: "string", default: "id", describe: "Field holding the sample id" })
    .option("task-field", { type: "string", describe: help.taskField });
}

/**
 * The data layer's {@link FieldMapping} of parsed `--*-field` options; options left undefined are
 * left out, so `resolveFieldMapping` fills in its defaults.
 */
export function fieldMappingOf(options: FieldOptions): FieldMapping {
  return {
    ...(options.instructionField === undefined ? {} : { instructionField: options.instructionField }),
    ...(options.inputField === undefined ? {} : { inputField: options.inputField }),
    ...(options.outputField === undefined ? {} : { outputField: options.outputField }),
    ...(options.idField === undefined ? {} : { idField: options.idField }),
    ...(options.taskField === undefined ? {} : { taskField: options.taskField }),
  };
}
