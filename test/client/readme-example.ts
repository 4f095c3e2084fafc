import { readFile } from "node:fs/promises";
import { scoreDataset, type MetricRow, type Sample } from "@sftscore/client";

/**
 * Cherry-style selection on running engines: scores an Alpaca JSON file and returns the `top`
 * samples with the highest IFD below 1 (at IFD ≥ 1 the instruction does not help the model).
 *
 * @param engine `"host:port"`, or several: `"gpu-1:50051,gpu-2:50051"`.
 */
export async function cherryPick(file: string, engine: string, top: number): Promise<MetricRow[]> {
  const samples = JSON.parse(await readFile(file, "utf8")) as Sample[];
  const kept: MetricRow[] = [];
  for await (const row of scoreDataset(samples, { engine, metrics: ["ifd"] })) {
    if (typeof row.ifd === "number" && row.ifd < 1) kept.push(row);
  }
  return kept.sort((a, b) => (b.ifd ?? 0) - (a.ifd ?? 0)).slice(0, top);
}
