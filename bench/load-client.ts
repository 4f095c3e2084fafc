/**
 * One client of the load section, run as its own process (`fork`ed by load.ts): an EngineClient that
 * streams sequences to the engine for a fixed time, as fast as the SDK takes them, and reports what
 * came back. See load-protocol.ts for the messages.
 */
import { EngineClient } from "@sftscore/client";
import type { SequenceRequest } from "@sftscore/metrics";
import type { LoadClientMessage, LoadClientReport, LoadClientSetup, LoadParentMessage } from "./load-protocol.js";

function send(message: LoadClientMessage): void {
  process.send?.(message);
}

/** The pool in a seeded order (xorshift32), so that clients do not send the same sequence at the same time. */
function shuffled(length: number, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function runClient(setup: LoadClientSetup, durationMs: number, client: EngineClient): Promise<LoadClientReport> {
  const order = shuffled(setup.pool.length, setup.clientIndex + 1);
  const takenAt = new Map<string, number>();
  const poolIndexOf = new Map<string, number>();
  const latencies: number[] = [];
  const poolSums = new Float64Array(setup.pool.length).fill(Number.NaN);
  let sent = 0;
  let duplicates = 0;
  let unknown = 0;
  let tokens = 0;
  const cpuBefore = process.cpuUsage();
  const deadline = performance.now() + durationMs;

  async function* requests(): AsyncGenerator<SequenceRequest> {
    for (let i = 0; performance.now() < deadline; i++) {
      const poolIndex = order[i % order.length];
      const id = `c${setup.clientIndex}-${i}`;
      // The SDK pulls the next sequence only when it has room under maxInFlightTokens.
      takenAt.set(id, performance.now());
      poolIndexOf.set(id, poolIndex);
      sent++;
      yield { ...setup.pool[poolIndex], id };
    }
  }

  const answered = new Set<string>();
  for await (const score of client.score(requests())) {
    const at = takenAt.get(score.id);
    if (at === undefined) {
      unknown++;
      continue;
    }
    if (answered.has(score.id)) {
      duplicates++;
      continue;
    }
    answered.add(score.id);
    latencies.push(performance.now() - at);
    const poolIndex = poolIndexOf.get(score.id) ?? 0;
    tokens += setup.pool[poolIndex].tokenIds.length;
    if (Number.isNaN(poolSums[poolIndex])) poolSums[poolIndex] = score.spans[0]?.sumLogprob ?? Number.NaN;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { sent, answered: answered.size, duplicates, unknown, tokens, latenciesMs: Float64Array.from(latencies), poolSums, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

let setup: LoadClientSetup | undefined;
let client: EngineClient | undefined;
process.on("message", (message: LoadParentMessage) => {
  void (async () => {
    try {
      if (message.type === "setup") {
        setup = message;
        client = new EngineClient({ targets: [message.address], maxInFlightTokens: message.maxInFlightTokens, streamsPerTarget: message.streamsPerTarget });
        await client.info();
        send({ type: "ready" });
        return;
      }
      if (!setup || !client) throw new Error("go before setup");
      const report = await runClient(setup, message.durationMs, client);
      await client.close();
      send({ type: "done", report });
      process.disconnect();
    } catch (error) {
      send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.disconnect();
    }
  })();
});
