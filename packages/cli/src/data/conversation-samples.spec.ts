import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { conversationSamples, isConversation } from "./conversation-samples.js";
import { DataError } from "./data-error.js";
import { readSamples } from "./read-samples.js";
import { resolveFieldMapping } from "./sample.js";

const mapping = resolveFieldMapping();
const place = { file: "chat.jsonl", line: 4, row: 3 };

const SHAREGPT = {
  id: "conv-1",
  conversations: [
    { from: "system", value: "You are terse." },
    { from: "human", value: "Capital of France?" },
    { from: "gpt", value: "Paris." },
    { from: "human", value: "And of Italy?" },
    { from: "gpt", value: "Rome." },
  ],
};

const OPENAI = {
  messages: [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello! How can I help?", weight: 0 },
    { role: "user", content: [{ type: "text", text: "Write " }, { type: "text", text: "a haiku." }] },
    { role: "assistant", content: "Autumn moonlight—\na worm digs silently\ninto the chestnut." },
  ],
};

describe("conversationSamples", () => {
  it("scores each ShareGPT assistant turn against the conversation so far", () => {
    expect(conversationSamples(SHAREGPT, mapping, place)).toEqual([
      { turn: 2, sample: { instruction: "Capital of France?", input: "System: You are terse.", output: "Paris.", id: "conv-1#2" } },
      {
        turn: 4,
        sample: {
          instruction: "And of Italy?",
          input: "System: You are terse.\n\nUser: Capital of France?\n\nAssistant: Paris.",
          output: "Rome.",
          id: "conv-1#4",
        },
      },
    ]);
  });

  it("makes a single-turn conversation without a system prompt identical to its Alpaca record", () => {
    const record = { conversations: [{ from: "human", value: "Say hi." }, { from: "gpt", value: "Hi!" }], id: 9 };
    expect(conversationSamples(record, mapping, place)).toEqual([{ turn: 1, sample: { instruction: "Say hi.", input: "", output: "Hi!", id: "9#1" } }]);
  });

  it("expands OpenAI messages, joining text parts, skipping weight-0 turns, naming turns by record index without an id", () => {
    expect(conversationSamples(OPENAI, mapping, place)).toEqual([
      {
        turn: 3,
        sample: {
          instruction: "Write a haiku.",
          input: "User: Hi\n\nAssistant: Hello! How can I help?",
          output: "Autumn moonlight—\na worm digs silently\ninto the chestnut.",
          id: "3#3",
        },
      },
    ]);
  });

  it("uses a record-level ShareGPT system prompt and the task field", () => {
    const record = { system: "Be kind.", topic: "greeting", conversations: [{ from: "user", value: "Hey" }, { from: "assistant", value: "Hello!" }] };
    const samples = conversationSamples(record, resolveFieldMapping({ taskField: "topic" }), place);
    expect(samples.map((s) => s.sample)).toEqual([{ instruction: "Hey", input: "System: Be kind.", output: "Hello!", id: "3#1", task: "greeting" }]);
  });

  it("does not score an assistant message that answers no user message", () => {
    const record = { messages: [{ role: "system", content: "S" }, { role: "assistant", content: "Welcome!" }, { role: "user", content: "Q" }, { role: "assistant", content: "A" }] };
    expect(conversationSamples(record, mapping, place).map((s) => s.turn)).toEqual([3]);
  });

  it("keeps an earlier message between the request and the answer in the context", () => {
    const record = { messages: [{ role: "user", content: "Q" }, { role: "assistant", content: "Thinking…" }, { role: "assistant", content: "A" }] };
    expect(conversationSamples(record, mapping, place).map((s) => s.sample.input)).toEqual(["", "Assistant: Thinking…"]);
  });

  it("recognises conversations only when the instruction field is absent", () => {
    expect(isConversation(SHAREGPT, mapping)).toBe(true);
    expect(isConversation(OPENAI, mapping)).toBe(true);
    expect(isConversation({ instruction: "x", output: "y", messages: [] }, mapping)).toBe(false);
  });

  it.each([
    [{ conversations: null }, 'field "conversations" is null'],
    [{ conversations: "hi" }, 'field "conversations" must be a list of messages, got a string'],
    [{ conversations: [{ from: "human" }] }, 'field "conversations[0].value" is missing'],
    [{ conversations: [{ from: "tool", value: "x" }] }, 'field "conversations[0].from" has an unsupported role "tool" (expected human, gpt or system)'],
    [{ conversations: ["hi"] }, 'field "conversations[0]" must be an object, got a string'],
    [{ messages: [{ role: "user", content: "Q" }, { role: "assistant", content: null }] }, 'field "messages[1].content" is null'],
    [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }, 'field "messages[0].content[0].type" must be "text" (only text content can be scored), got "image_url"'],
    [{ messages: [{ role: "function", content: "x" }] }, 'field "messages[0].role" has an unsupported role "function" (expected user, assistant or system)'],
  ])("rejects %j", (record, message) => {
    let error: unknown;
    try {
      conversationSamples(record, mapping, place);
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toBe(`chat.jsonl:4: ${message}`);
  });
});

describe("readSamples with conversations", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("yields one sample per turn with running indices pointing back to the record and turn", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-chat-"));
    const file = path.join(dir, "chat.jsonl");
    await writeFile(file, [SHAREGPT, { instruction: "Alpaca too", output: "ok" }, OPENAI].map((record) => JSON.stringify(record)).join("\n"));
    const samples = [];
    for await (const sourced of readSamples(file)) samples.push(sourced);
    expect(samples.map((s) => [s.index, s.recordIndex, s.line, s.turn, s.sample.id])).toEqual([
      [0, 0, 1, 2, "conv-1#2"],
      [1, 0, 1, 4, "conv-1#4"],
      [2, 1, 2, undefined, undefined],
      [3, 2, 3, 3, "2#3"],
    ]);
    expect(samples[1].record).toBe(samples[0].record);
  });

  it("fails when no conversation has a scorable turn", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sftscore-chat-"));
    const file = path.join(dir, "chat.json");
    await writeFile(file, JSON.stringify([{ messages: [{ role: "user", content: "Q" }] }]));
    await expect(async () => {
      for await (const sourced of readSamples(file)) void sourced;
    }).rejects.toThrow(`${file}: no samples to score: no conversation has an assistant turn after a user message`);
  });
});
