/** The KV-cache tensor names of an optimum with-past export. */

/** Graph inputs: one layer's cached keys or values, `[batch, kv_heads, past, head_dim]`. */
export const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;
/** Graph outputs: the past with this run's keys or values appended. */
export const PRESENT_OUTPUT = /^present\.\d+\.(key|value)$/;

/** `past_key_values.3.key` → `present.3.key`. */
export const presentNameOf = (pastName: string): string => pastName.replace(/^past_key_values\./, "present.");
