// Transport tests with a fake engine (STYLE.md §8): they are about how the stream reads, pauses and
// maps failures, which a fake that never has room or always fails shows deterministically. The
// numbers themselves are checked against the real engine in scoring-service.spec.ts.
import { connect as connectHttp2 } from "node:http2";
import { credentials, Server, ServerCredentials, status as GrpcStatus } from "@grpc/grpc-js";
import type { SequenceRequest, SequenceScore } from "@sftscore/metrics";
import { ErrorCode, ScoringServiceClient, ScoringServiceService, type Sequence } from "@sftscore/proto";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../engine.js";
import { EngineError } from "../engine-error.js";
import type { Ticket } from "../scheduler.js";
import { scoreStream } from "../test-support/grpc-harness.js";
import { createScoringService } from "./scoring-service.js";

type FakeEngine = Pick<Engine, "info" | "submit">;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

async function serveFake(engine: FakeEngine) {
  const logs: string[] = [];
  const service = createScoringService({ engine, maxMessageBytes: 1 << 20, maxSequencesPerMessage: 64, maxTokensPerSequence: 4096, log: (line) => logs.push(line) });
  const server = new Server();
  server.addService(ScoringServiceService, service.handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const client = new ScoringServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  cleanups.push(() => {
    client.close();
    server.forceShutdown();
  });
  return { client, logs, service, port };
}

const info = () => Promise.reject(new Error("not used"));
const sequence = (id: string, length = 2000): Sequence => ({ id, tokenIds: Array.from({ length }, (_, i) => 300 + (i % 500)), spans: [{ start: 1, end: 2 }], wantTokenLogprobs: false });
const score = (request: SequenceRequest): SequenceScore => ({ id: request.id, spans: [{ sumLogprob: -1, count: 1 }] });

describe("Score stream back-pressure", () => {
  it("stops reading a fast client while the engine's queue has no room", async () => {
    let submits = 0;
    const engine: FakeEngine = {
      info,
      // A queue that never has room: submit never resolves.
      submit: () => {
        submits++;
        return new Promise<Ticket>(() => undefined);
      },
    };
    const { client } = await serveFake(engine);
    const call = client.score();
    call.on("error", () => undefined);
    const messages = 2000;
    let written = 0;
    // ~4 KB per message, 8 MB in all. Measured: ~260 writes complete (HTTP/2 windows, socket and
    // client buffers) whether 1,000 or 4,000 are sent, so what passes is bounded, not proportional.
    for (let i = 0; i < messages; i++) call.write({ sequences: [sequence(`b${i}`)] }, () => written++);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(submits).toBe(1);
    expect(written).toBeLessThan(messages / 4);
    call.cancel();
  });
});

describe("Score stream back-pressure on responses", () => {
  it("stops reading requests while the client does not read responses", async () => {
    let submits = 0;
    // Each answer carries 4,000 token log-probs (16 KB): unread answers fill the windows quickly.
    const engine: FakeEngine = {
      info,
      submit: async (request) => {
        submits++;
        return { result: Promise.resolve({ ...score(request), tokenLogprobs: new Float32Array(4000).fill(-1) }) };
      },
    };
    const { port } = await serveFake(engine);
    // A raw HTTP/2 client that never reads its response, so the server's writes meet HTTP/2 flow
    // control. (grpc-js's own client keeps accepting messages into memory while paused.)
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    cleanups.push(() => session.destroy());
    const stream = session.request({ ":method": "POST", ":path": ScoringServiceService.score.path, "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    const messages = 4000;
    for (let i = 0; i < messages; i++) {
      const body = ScoringServiceService.score.requestSerialize({ sequences: [{ ...sequence(`w${i}`, 10), wantTokenLogprobs: true }] });
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      stream.write(frame);
    }
    const samples: number[] = [];
    for (let t = 0; t < 4; t++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      samples.push(submits);
    }
    // Reading stopped, with ~2 MiB of answers held: two unflushed responses of up to 1 MiB
    // (max_message_bytes here, ~64 answers each) plus what the HTTP/2 window let out. Measured: 131.
    expect(samples[3]).toBeGreaterThan(0);
    expect(samples[3]).toBe(samples[1]);
    expect(samples[3]).toBeLessThan(200);
    stream.close();
  });
});

describe("Score stream failures", () => {
  it("answers an unknown engine error with MODEL_FAILED and a generic message, logs the cause, and keeps serving", async () => {
    const engine: FakeEngine = {
      info,
      submit: async (request) => {
        if (request.id === "boom") throw new TypeError("secret internals at /opt/engine/x.js:12");
        return { result: request.id === "late-boom" ? Promise.reject(new RangeError("also secret")) : Promise.resolve(score(request)) };
      },
    };
    const { client, logs } = await serveFake(engine);
    const outcome = await scoreStream(client, [{ sequences: [sequence("ok"), sequence("boom"), sequence("late-boom")] }]);
    expect(outcome.status.code).toBe(GrpcStatus.OK);
    expect([...outcome.results.keys()]).toEqual(["ok"]);
    for (const id of ["boom", "late-boom"]) {
      expect(outcome.errors.get(id)?.code).toBe(ErrorCode.MODEL_FAILED);
      expect(outcome.errors.get(id)?.message).not.toMatch(/secret/);
    }
    expect(logs.join("\n")).toMatch(/secret internals/);
    expect((await scoreStream(client, [{ sequences: [sequence("again")] }])).results.has("again")).toBe(true);
  });

  it("ends the stream with UNAVAILABLE when the engine is shutting down", async () => {
    const engine: FakeEngine = { info, submit: (request) => Promise.reject(new EngineError("unavailable", "the engine is shutting down", { sequenceId: request.id })) };
    const { client } = await serveFake(engine);
    const outcome = await scoreStream(client, [{ sequences: [sequence("a")] }]);
    expect(outcome.status.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(outcome.status.details).toMatch(/shutting down/);
  });

  it("fails GetModelInfo with INTERNAL and a generic message when the engine throws something unknown", async () => {
    const { client, logs } = await serveFake({ info: () => Promise.reject(new Error("disk secret")), submit: () => Promise.reject(new Error("unused")) });
    const error = await new Promise<{ code?: number; details?: string }>((resolve) => client.getModelInfo({}, (failure) => resolve(failure ?? {})));
    expect(error.code).toBe(GrpcStatus.INTERNAL);
    expect(error.details).not.toMatch(/secret/);
    expect(logs.join("\n")).toMatch(/disk secret/);
  });

  it("refuses new streams with UNAVAILABLE once draining", async () => {
    const engine: FakeEngine = { info, submit: async (request) => ({ result: Promise.resolve(score(request)) }) };
    const { client, service } = await serveFake(engine);
    await service.drain();
    const outcome = await scoreStream(client, [{ sequences: [sequence("late")] }]);
    expect(outcome.status.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(outcome.results.size + outcome.errors.size).toBe(0);
  });

  it("answers sequences arriving while draining with CANCELLED, finishes the admitted ones, then ends", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const engine: FakeEngine = { info, submit: async (request) => ({ result: gate.then(() => score(request)) }) };
    const { client, service } = await serveFake(engine);
    const call = client.score();
    const answers: string[] = [];
    const codes: number[] = [];
    call.on("data", (response: { results: { id: string }[]; errors: { id: string; code: number }[] }) => {
      answers.push(...response.results.map((r) => r.id), ...response.errors.map((e) => e.id));
      codes.push(...response.errors.map((e) => e.code));
    });
    const status = new Promise<number>((resolve) => call.on("status", (s: { code: number }) => resolve(s.code)));
    call.on("error", () => undefined);
    call.write({ sequences: [sequence("admitted", 10)] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = service.drain();
    call.write({ sequences: [sequence("refused", 10)] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await drained;
    expect(await status).toBe(GrpcStatus.UNAVAILABLE);
    expect(answers.sort()).toEqual(["admitted", "refused"]);
    expect(codes).toEqual([ErrorCode.CANCELLED]);
  });
});
