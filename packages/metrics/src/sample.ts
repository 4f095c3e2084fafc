import { MetricsError } from "./metrics-error.js";

/**
 * One supervised fine-tuning sample: an (instruction, input, output) triplet in the Alpaca layout.
 * `input` is `""` when the sample has none (the `prompt_no_input` templates are then used).
 */
export interface Sample {
  readonly instruction: string;
  readonly input: string;
  readonly output: string;
  /** The dataset's own id of the sample, copied to its row. */
  readonly id?: string;
  /** Task label (from the dataset's task field), used to draw one-shot partners. */
  readonly task?: string;
}

/**
 * The label that groups samples into tasks for one-shot partners (DESIGN.md §1): the sample's `task`
 * when it has one, else its instruction text, so that without a task field samples with identical
 * instructions form a task. The two kinds are prefixed so a task named like an instruction never
 * joins that instruction's group.
 */
export function taskLabelOf(sample: Sample): string {
  return sample.task === undefined ? `instruction:${sample.instruction}` : `task:${sample.task}`;
}

/**
 * Checks that a value has the shape of a {@link Sample} (string fields, optional string id and task).
 * Callers that read samples from files validate there with line numbers; this guards the API edge.
 *
 * @param where Names the sample in the message, e.g. `sample 12`.
 * @throws MetricsError `invalid-argument` naming the field.
 */
export function assertSample(value: unknown, where: string): asserts value is Sample {
  if (typeof value !== "object" || value === null) {
    throw new MetricsError("invalid-argument", `${where}: expected an object with instruction, input and output`);
  }
  const record = value as Record<string, unknown>;
  for (const field of ["instruction", "input", "output"] as const) {
    if (typeof record[field] !== "string") {
      throw new MetricsError("invalid-argument", `${where}: field "${field}" must be a string, got ${describe(record[field])}`);
    }
  }
  for (const field of ["id", "task"] as const) {
    if (record[field] !== undefined && typeof record[field] !== "string") {
      throw new MetricsError("invalid-argument", `${where}: field "${field}" must be a string when present, got ${describe(record[field])}`);
    }
  }
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
