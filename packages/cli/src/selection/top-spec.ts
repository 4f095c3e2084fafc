import { SelectionError } from "./selection-error.js";

/**
 * How many ranked rows `--top` keeps: a count (`--top 500`) or a percentage of the whole result file
 * (`--top 10%`), kept exactly as the decimal the user typed so that `10%` of 52002 rows is 5200, not
 * 5200.000000000001 rounded some way.
 */
export type TopSpec =
  | { readonly kind: "count"; readonly count: number }
  | { readonly kind: "percent"; readonly text: string; /** numerator and power-of-ten denominator of the percentage */ readonly numerator: bigint; readonly scale: bigint };

const COUNT = /^[0-9]+$/;
const PERCENT = /^([0-9]+)(?:\.([0-9]+))?%$/;

/**
 * Parses `--top`: a non-negative integer, or a percentage from 0% to 100% with an optional decimal
 * fraction (`2.5%`).
 * @throws SelectionError `invalid-option` for anything else.
 */
export function parseTop(text: string): TopSpec {
  const trimmed = text.trim();
  if (COUNT.test(trimmed)) {
    const count = Number(trimmed);
    if (!Number.isSafeInteger(count)) throw new SelectionError("invalid-option", `--top: ${trimmed} is too large`);
    return { kind: "count", count };
  }
  const match = PERCENT.exec(trimmed);
  if (match !== null) {
    const fraction = match[2] ?? "";
    const numerator = BigInt(match[1] + fraction);
    const scale = 10n ** BigInt(fraction.length);
    if (numerator > 100n * scale) throw new SelectionError("invalid-option", `--top: ${trimmed} is more than 100%`);
    return { kind: "percent", text: trimmed, numerator, scale };
  }
  throw new SelectionError("invalid-option", `--top: expected a number of rows (500) or a percentage (10%), got "${text}"`);
}

/**
 * The number of rows `--top` keeps when the results have `totalRows` rows: the count itself, or
 * ⌊totalRows × P / 100⌋ computed exactly (as Python's `int(n * rate)` in the papers' scripts rounds
 * down). The percentage is of every row of the results file, not of the rows left after filtering.
 */
export function topCount(spec: TopSpec, totalRows: number): number {
  if (spec.kind === "count") return spec.count;
  return Number((BigInt(totalRows) * spec.numerator) / (100n * spec.scale));
}

/** `500` or `10%`, as typed. */
export function formatTop(spec: TopSpec): string {
  return spec.kind === "count" ? String(spec.count) : spec.text;
}
