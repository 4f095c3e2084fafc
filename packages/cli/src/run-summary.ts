import type { MetricRow } from "@sftscore/metrics";

/** Metric columns summarised with quantiles at the end of a run. */
const SUMMARY_COLUMNS = [
  "prompt_ppl",
  "response_ppl",
  "output_ppl",
  "ifd",
  "instruction_ppl",
  "reverse_response_ppl",
  "rifd",
  "oneshot_validity",
] as const;

/** Values kept per column for quantiles; beyond this a seeded reservoir sample keeps memory flat. */
const RESERVOIR_SIZE = 100_000;

/** Accumulates what the end-of-run summary reports, in memory independent of the row count. */
export interface RunSummary {
  add(row: MetricRow): void;
  readonly rows: number;
  /** Multi-line text: rows, nulls by column and reason, quantiles per metric. */
  format(): string;
}

export function createRunSummary(): RunSummary {
  let rows = 0;
  const nulls = new Map<string, number>();
  const values = new Map<string, { kept: number[]; seen: number }>();
  let state = 0x9e3779b9;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  return {
    add(row) {
      rows++;
      const record = row as unknown as Record<string, unknown>;
      const reasons = (record.null_reasons ?? {}) as Record<string, string>;
      for (const [column, reason] of Object.entries(reasons)) nulls.set(`${column}: ${reason}`, (nulls.get(`${column}: ${reason}`) ?? 0) + 1);
      for (const column of SUMMARY_COLUMNS) {
        const value = record[column];
        if (typeof value !== "number") continue;
        const entry = values.get(column) ?? { kept: [], seen: 0 };
        values.set(column, entry);
        entry.seen++;
        if (entry.kept.length < RESERVOIR_SIZE) entry.kept.push(value);
        else {
          const slot = Math.floor(random() * entry.seen);
          if (slot < RESERVOIR_SIZE) entry.kept[slot] = value;
        }
      }
    },
    get rows() {
      return rows;
    },
    format() {
      const lines: string[] = [];
      if (nulls.size > 0) {
        lines.push("nulls:");
        for (const [key, count] of [...nulls].sort((a, b) => b[1] - a[1])) lines.push(`  ${key} ×${count}`);
      }
      if (values.size > 0) {
        lines.push(`${"metric".padEnd(22)}${["n", "p5", "p25", "p50", "p75", "p95"].map((h) => h.padStart(11)).join("")}`);
        for (const column of SUMMARY_COLUMNS) {
          const entry = values.get(column);
          if (!entry) continue;
          const sorted = [...entry.kept].sort((a, b) => a - b);
          const q = (p: number) => formatNumber(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
          lines.push(`${column.padEnd(22)}${[String(entry.seen), q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)].map((v) => v.padStart(11)).join("")}`);
        }
      }
      return lines.join("\n");
    },
  };
}

function formatNumber(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1e5 || magnitude < 1e-3 ? value.toExponential(2) : value.toPrecision(4);
}
