/**
 * Compares rows of `scoreSamples` with the seed's computation done independently (support/seed-oracle).
 */
import type { MetricRow, Sample } from "@sftscore/metrics";
import { expect } from "vitest";
import type { SeedOracle } from "../support/seed-oracle.js";

/** What the rows were computed with. */
export interface CheckOptions {
  /** Relative tolerance on log values (floored at an absolute 1 × tolerance near zero). */
  readonly tolerance: number;
  readonly oneshotMode?: "sign" | "raw";
  readonly ifdVariant?: "perplexity-ratio" | "loss-ratio";
  /** K; with `taskOf`, the partner draw is checked to be K distinct same-task others (or all of them). */
  readonly oneshotPartners?: number;
  /** Task label of sample i, to check partners. */
  readonly taskOf?: (index: number) => string;
}

/** `actual` is within `tolerance` of `expected`, relative to |expected| (at least 1). */
export function expectClose(actual: number | null | undefined, expected: number, tolerance: number, what: string): void {
  expect(actual, what).toBeTypeOf("number");
  const error = Math.abs((actual as number) - expected);
  expect(error, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance * Math.max(Math.abs(expected), 1));
}

const PAIRS = [
  ["prompt", "prompt"],
  ["response", "response"],
  ["output", "output"],
  ["instruction", "instruction"],
  ["reverse_response", "reverse"],
] as const;

/** Every metric of every row equals the oracle's (all eight metrics requested). */
export async function expectRowsMatchSeed(rows: readonly MetricRow[], samples: readonly Sample[], oracle: SeedOracle, options: CheckOptions): Promise<void> {
  expect(rows.map((r) => r.index)).toEqual(samples.map((_, i) => i));
  for (const row of rows) {
    const sample = samples[row.index];
    const where = `row ${row.index}${sample.id === undefined ? "" : ` (${sample.id})`}`;
    const nlls = await oracle.nlls(sample);
    for (const [column, key] of PAIRS) {
      const expected = nlls[key];
      const nll = row[`${column}_nll`];
      const ppl = row[`${column}_ppl`];
      if (expected === null) {
        expect(nll, `${where} ${column}_nll`).toBeNull();
        expect(ppl, `${where} ${column}_ppl`).toBeNull();
        expect(row.null_reasons[`${column}_ppl`], `${where} reason of ${column}_ppl`).toMatch(/no-scored-tokens|truncated-away/);
        continue;
      }
      expectClose(nll, expected, options.tolerance, `${where} ${column}_nll`);
      expectClose(Math.log(ppl as number), expected, options.tolerance, `${where} log ${column}_ppl`);
    }
    checkRatio(row.ifd, nlls.response, nlls.output, options.ifdVariant ?? "perplexity-ratio", options.tolerance, `${where} ifd`);
    checkRatio(row.rifd, nlls.reverse, nlls.instruction, "perplexity-ratio", options.tolerance, `${where} rifd`);
    await checkOneshot(row, samples, oracle, options, where);
  }
}

function checkRatio(actual: number | null | undefined, numerator: number | null, denominator: number | null, variant: string, tolerance: number, what: string): void {
  if (numerator === null || denominator === null) {
    expect(actual, what).toBeNull();
    return;
  }
  // Errors of the two log values add up: the allowance is relative to the operands, not to the
  // quotient (whose log can be near 0).
  if (variant === "loss-ratio") {
    // Relative errors of a quotient add up: twice the tolerance.
    expectClose(actual, numerator / denominator, 2 * tolerance, what);
    return;
  }
  // exp(a) / exp(b): compare on the log scale, a − b.
  const error = Math.abs(Math.log(actual as number) - (numerator - denominator));
  expect(error, `log ${what}: ${Math.log(actual as number)} vs ${numerator - denominator}`).toBeLessThanOrEqual(
    tolerance * Math.max(Math.abs(numerator), Math.abs(denominator), 1),
  );
}

async function checkOneshot(row: MetricRow, samples: readonly Sample[], oracle: SeedOracle, options: CheckOptions, where: string): Promise<void> {
  const partners = row.oneshot_partners ?? [];
  const sample = samples[row.index];
  if (options.taskOf !== undefined) {
    const taskOf = options.taskOf;
    const others = samples.flatMap((_, i) => (i !== row.index && taskOf(i) === taskOf(row.index) ? [i] : []));
    for (const p of partners) expect(others, `${where} partner ${p} of the same task`).toContain(p);
    expect(new Set(partners).size).toBe(partners.length);
    if (row.oneshot_validity !== null) expect(partners.length, `${where} partner count`).toBe(Math.min(options.oneshotPartners ?? 3, others.length));
    if (others.length === 0) {
      expect(row.oneshot_validity, `${where} oneshot_validity`).toBeNull();
      expect(row.null_reasons.oneshot_validity).toBe("no-partner");
      return;
    }
  }
  if (row.oneshot_validity === null) return;
  const mode = options.oneshotMode ?? "sign";
  const expected = await oracle.oneshotValidity(sample, partners.map((p) => samples[p]), mode);
  expect(expected, `${where} oracle validity`).not.toBeNull();
  if (mode === "sign") {
    expect(row.oneshot_validity, `${where} oneshot_validity`).toBe(expected);
    return;
  }
  // A raw difference of perplexities inherits each perplexity's error, PPL · (error of its NLL).
  let scale = 0;
  for (const p of partners) {
    const { zero, one } = await oracle.oneshotLosses(samples[p], sample);
    scale += (Math.exp(zero as number) * Math.abs(zero as number) + Math.exp(one as number) * Math.abs(one as number)) / partners.length;
  }
  const error = Math.abs((row.oneshot_validity as number) - (expected as number));
  expect(error, `${where} oneshot_validity: ${row.oneshot_validity} vs ${expected}`).toBeLessThanOrEqual(options.tolerance * Math.max(scale, 1));
}
