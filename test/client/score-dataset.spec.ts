/**
 * scoreDataset over gRPC equals scoreSamples with the in-process engine, row for row, on the
 * project's example dataset.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ClientError, EngineClient, scoreDataset } from "@sftscore/client";
import { scoreSamples, type MetricRow, type Sample, type ScoreOptions } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { useEngines } from "./engines.js";

const engines = useEngines();
const samples = JSON.parse(readFileSync(fileURLToPath(new URL("../../examples/alpaca_mixed.json", import.meta.url)), "utf8")) as Sample[];
// Small windows, so that several score() calls overlap on the client.
const OPTIONS: ScoreOptions = { oneshotPartners: 3, seed: 11, windowSize: 16, windowsInFlight: 2 };

async function rows(iterable: AsyncIterable<MetricRow>): Promise<MetricRow[]> {
  const all: MetricRow[] = [];
  for await (const row of iterable) all.push(row);
  return all;
}

async function inProcessRows(): Promise<MetricRow[]> {
  const engine = await engines.inProcess();
  try {
    return await rows(scoreSamples(samples, engine, OPTIONS));
  } finally {
    await engine.close();
  }
}

describe("scoreDataset", () => {
  it("gives the in-process rows, row for row, on examples/alpaca_mixed.json through one engine", async () => {
    const served = await engines.serve();
    const remote = await rows(scoreDataset(samples, { engine: served.address, ...OPTIONS }));
    expect(remote).toHaveLength(samples.length);
    expect(remote).toEqual(await inProcessRows());
    expect(remote.some((row) => typeof row.oneshot_validity === "number")).toBe(true);
  });

  it("gives the same rows through two engines (`engines`), both of which score", async () => {
    const [a, b] = [await engines.serve(undefined, 512), await engines.serve(undefined, 512)];
    const remote = await rows(scoreDataset(samples, { engines: [a.address, b.address], client: { streamsPerTarget: 2 }, ...OPTIONS }));
    expect(remote).toEqual(await inProcessRows());
    expect(a.engine.stats().sequences).toBeGreaterThan(0);
    expect(b.engine.stats().sequences).toBeGreaterThan(0);
  });

  it("uses a Scorer it is given and leaves it open", async () => {
    const served = await engines.serve();
    const client = new EngineClient(served.address);
    try {
      const first = await rows(scoreDataset(samples.slice(0, 10), { engine: client, metrics: ["ifd"] }));
      expect(first).toHaveLength(10);
      expect(await client.info()).toMatchObject({ vocabSize: (await served.engine.info()).vocabSize });
    } finally {
      await client.close();
    }
  });

  it("reports engine failures as ClientError, not wrapped in the metrics error", async () => {
    const [a, b] = [await engines.serve(), await engines.serve(engines.models().tinyOtherWeights)];
    const error = await rows(scoreDataset(samples, { engine: [a.address, b.address] })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: "model-mismatch" });
  });

  it("needs an engine", async () => {
    await expect(rows(scoreDataset(samples, {}))).rejects.toMatchObject({ code: "invalid-argument", message: expect.stringMatching(/scoreDataset needs `engine`/) });
  });
});
