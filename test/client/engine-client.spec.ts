/**
 * EngineClient against real engines on the tiny fixture model: results equal the in-process
 * engine's bit for bit, work spreads over engines, faults lose and repeat nothing.
 */
import { ClientError, EngineClient } from "@sftscore/client";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { describe, expect, it } from "vitest";
import { randomRequests, scoresById, streamOf, useEngines } from "./engines.js";

const engines = useEngines();

/** The in-process engine's results: what every gRPC run must reproduce exactly. */
async function reference(requests: readonly SequenceRequest[]): Promise<Map<string, SequenceScore>> {
  const engine = await engines.inProcess();
  try {
    return await scoresById(engine.score(streamOf(requests)));
  } finally {
    await engine.close();
  }
}

/** Exact equality: span sums with ===, token log-probabilities element by element. */
function expectIdentical(actual: ReadonlyMap<string, SequenceScore>, expected: ReadonlyMap<string, SequenceScore>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, want] of expected) {
    const got = actual.get(id);
    expect(got?.spans, id).toEqual(want.spans);
    for (let s = 0; s < want.spans.length; s++) expect(got?.spans[s].sumLogprob === want.spans[s].sumLogprob, `${id} span ${s}`).toBe(true);
    expect(got?.tokenLogprobs, id).toEqual(want.tokenLogprobs);
  }
}

async function withClient<T>(client: EngineClient, use: (client: EngineClient) => Promise<T>): Promise<T> {
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

describe("EngineClient with real engines", () => {
  it("gives results identical to the in-process engine through one engine", async () => {
    const served = await engines.serve();
    const vocabSize = (await served.engine.info()).vocabSize;
    const requests = randomRequests(120, vocabSize);
    const results = await withClient(new EngineClient(served.address), async (client) => {
      expect(await client.info()).toMatchObject({ contentHash: (await served.engine.info()).contentHash, vocabSize });
      return scoresById(client.score(streamOf(requests)));
    });
    expectIdentical(results, await reference(requests));
  });

  it("spreads work over two engines (both run batches) with identical results", async () => {
    const [a, b] = [await engines.serve(undefined, 1024), await engines.serve(undefined, 1024)];
    const requests = randomRequests(200, (await a.engine.info()).vocabSize, { seed: 2 });
    const client = new EngineClient({ targets: [a.address, b.address], streamsPerTarget: 2 });
    const results = await withClient(client, async () => scoresById(client.score(streamOf(requests))));
    expectIdentical(results, await reference(requests));
    const [sa, sb] = [a.engine.stats(), b.engine.stats()];
    expect(sa.sequences).toBeGreaterThan(20);
    expect(sb.sequences).toBeGreaterThan(20);
    expect(sa.sequences + sb.sequences).toBe(200);
    expect(client.targetStats().map((t) => t.scored)).toEqual([sa.sequences, sb.sequences]);
  });

  it("finishes with identical results, nothing repeated, when one of two engines is killed -9 mid-run", async () => {
    const [victim, survivor] = [await engines.serveProcess(["--max-batch-tokens", "1024"]), await engines.serveProcess(["--max-batch-tokens", "1024"])];
    const client = new EngineClient({ targets: [victim.address, survivor.address], retry: { baseDelayMs: 50, maxDelayMs: 500 } });
    const requests = randomRequests(400, (await client.info()).vocabSize, { seed: 3, maxTokens: 400 });
    const results = new Map<string, SequenceScore>();
    let repeated = 0;
    let killedAfter = -1;
    await withClient(client, async () => {
      for await (const result of client.score(streamOf(requests))) {
        if (results.has(result.id)) repeated++;
        results.set(result.id, result);
        if (killedAfter < 0 && client.targetStats()[0].scored >= 20) {
          killedAfter = results.size;
          victim.child.kill("SIGKILL");
        }
      }
    });
    expect(await victim.exit).toBeNull();
    expect(killedAfter).toBeGreaterThan(0);
    expect(killedAfter).toBeLessThan(300);
    expect(repeated).toBe(0);
    expect(client.targetStats()[0].lastError?.code).toBe("unavailable");
    expectIdentical(results, await reference(requests));
  });

  it("moves the work of an engine that shuts down gracefully mid-run to the other", async () => {
    const [draining, steady] = [await engines.serve(undefined, 1024), await engines.serve(undefined, 1024)];
    const requests = randomRequests(300, (await steady.engine.info()).vocabSize, { seed: 4, maxTokens: 400 });
    const client = new EngineClient({ targets: [draining.address, steady.address], retry: { baseDelayMs: 20, maxDelayMs: 200 } });
    const results = await withClient(client, async () => {
      const byId = new Map<string, SequenceScore>();
      let closing: Promise<void> | undefined;
      for await (const result of client.score(streamOf(requests))) {
        expect(byId.has(result.id)).toBe(false);
        byId.set(result.id, result);
        if (byId.size === 30) closing = draining.server.close();
      }
      await closing;
      return byId;
    });
    expectIdentical(results, await reference(requests));
    expect(steady.engine.stats().sequences).toBeGreaterThan(150);
  });

  it("refuses to mix engines that serve different weights, naming both targets and content hashes", async () => {
    const [a, b] = [await engines.serve(), await engines.serve(engines.models().tinyOtherWeights)];
    const [ha, hb] = [(await a.engine.info()).contentHash, (await b.engine.info()).contentHash];
    expect(ha).not.toBe(hb);
    const error = await withClient(new EngineClient([a.address, b.address]), (client) => client.info().catch((caught: unknown) => caught));
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: "model-mismatch" });
    expect((error as Error).message).toContain(`${a.address} reports content_hash ${ha}`);
    expect((error as Error).message).toContain(`${b.address} reports content_hash ${hb}`);
  });

  it("fails with invalid-argument naming the sequence and the engine's reason for a token id outside the vocabulary", async () => {
    const served = await engines.serve();
    const vocabSize = (await served.engine.info()).vocabSize;
    const requests = randomRequests(20, vocabSize, { seed: 5 });
    const bad: SequenceRequest = { id: "bad-token", tokenIds: Uint32Array.from([1, 2, vocabSize + 7]), spans: [{ start: 1, end: 3 }] };
    const error = await withClient(new EngineClient(served.address), (client) =>
      scoresById(client.score(streamOf([...requests.slice(0, 10), bad, ...requests.slice(10)]))).catch((caught: unknown) => caught),
    );
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: "invalid-argument", sequenceId: "bad-token", target: served.address });
    expect((error as Error).message).toMatch(new RegExp(`^sequence "bad-token" was refused by engine ${served.address}: .*${vocabSize + 7}`));
  });
});
