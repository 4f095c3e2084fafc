import { scoreSamples, type MetricRow, type Sample, type Scorer } from "@sftscore/metrics";

/** Scores samples and returns their rows, lowest IFD first (rows whose IFD is null go last). */
export async function lowestIfdFirst(samples: readonly Sample[], scorer: Scorer): Promise<MetricRow[]> {
  const rows: MetricRow[] = [];
  for await (const row of scoreSamples(samples, scorer, { oneshotPartners: 2, seed: 7 })) {
    rows.push(row);
  }
  return rows.sort((a, b) => (a.ifd ?? Number.POSITIVE_INFINITY) - (b.ifd ?? Number.POSITIVE_INFINITY));
}
