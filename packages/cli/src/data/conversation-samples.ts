import { asRecordObject, describeValue, fieldError, optionalString, requiredString, withLabels, type RecordObject, type RecordPlace } from "./record-fields.js";
import type { ResolvedFieldMapping, Sample } from "./sample.js";

/** The speaker of one message, after mapping ShareGPT's and OpenAI's role names. */
type Role = "system" | "user" | "assistant";

interface Message {
  readonly role: Role;
  readonly content: string;
  /** Position in the record's own message list; `-1` for ShareGPT's record-level `system` field. */
  readonly position: number;
  /** False for OpenAI fine-tuning's `weight: 0` assistant messages, which are not trained on. */
  readonly trained: boolean;
}

/** One scored assistant turn of a conversation. */
export interface TurnSample {
  readonly sample: Sample;
  /** Position of the assistant message in the record's `conversations` / `messages` list. */
  readonly turn: number;
}

const SHAREGPT_ROLES: Readonly<Record<string, Role>> = {
  system: "system",
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  chatgpt: "assistant",
  model: "assistant",
};
const OPENAI_ROLES: Readonly<Record<string, Role>> = { system: "system", developer: "system", user: "user", assistant: "assistant" };
const ROLE_LABELS: Readonly<Record<Role, string>> = { system: "System", user: "User", assistant: "Assistant" };

/**
 * Whether a record is a conversation rather than an Alpaca triplet: it has no instruction field and
 * has a ShareGPT `conversations` or an OpenAI `messages` field.
 */
export function isConversation(record: RecordObject, mapping: ResolvedFieldMapping): boolean {
  return !(mapping.instructionField in record) && ("conversations" in record || "messages" in record);
}

/**
 * Expands a ShareGPT (`conversations: [{from, value}]`) or OpenAI (`messages: [{role, content}]`)
 * record into one sample per assistant turn, each scored against the conversation so far:
 *
 * - `output` = the assistant message;
 * - `instruction` = the last user message before it (the request this turn answers);
 * - `input` = every earlier message except that one, in order, rendered as `System: …`, `User: …`,
 *   `Assistant: …` paragraphs joined by a blank line (`""` on a first turn without a system prompt);
 * - `id` = `<record id>#<position of the assistant message>` (the record index when it has no id);
 *   `task` = the record's task field.
 *
 * Why this split: the scorer conditions on instruction and input together, so the response is scored
 * against the whole conversation so far; keeping the current request as the instruction makes
 * single-turn conversations identical to the Alpaca record they stand for, lets the reversed
 * (response → instruction) metrics predict the request rather than a transcript, and lets task labels
 * default to requests as they do for Alpaca.
 *
 * Assistant messages with no user message before them (a greeting) and OpenAI `weight: 0` messages
 * are not scored. ShareGPT roles: human/user, gpt/assistant/chatgpt/model, system, plus a record-level
 * `system` string; OpenAI roles: user, assistant, system/developer, with string content or text parts.
 *
 * @throws DataError naming the field, e.g. `field "messages[2].content" must be a string, got null`.
 */
export function conversationSamples(record: RecordObject, mapping: ResolvedFieldMapping, place: RecordPlace): TurnSample[] {
  const messages = "conversations" in record ? shareGptMessages(record, place) : openAiMessages(record, place);
  const samples: TurnSample[] = [];
  messages.forEach((message, at) => {
    if (message.role !== "assistant" || !message.trained) return;
    const request = findLastIndex(messages, at, (earlier) => earlier.role === "user");
    if (request === -1) return;
    const context = messages.slice(0, at).filter((_, index) => index !== request);
    const sample = { instruction: messages[request].content, input: renderTranscript(context), output: message.content };
    samples.push({ sample: withLabels(sample, record, mapping, place, `#${message.position}`), turn: message.position });
  });
  return samples;
}

function renderTranscript(messages: readonly Message[]): string {
  return messages.map((message) => `${ROLE_LABELS[message.role]}: ${message.content}`).join("\n\n");
}

function findLastIndex(messages: readonly Message[], before: number, test: (message: Message) => boolean): number {
  for (let index = before - 1; index >= 0; index--) if (test(messages[index])) return index;
  return -1;
}

function messageList(record: RecordObject, field: string, place: RecordPlace): readonly unknown[] {
  const list = record[field];
  if (!Array.isArray(list)) {
    throw fieldError(place, field, list === undefined || list === null ? `is ${list === null ? "null" : "missing"}` : `must be a list of messages, got ${describeValue(list)}`);
  }
  return list;
}

function shareGptMessages(record: RecordObject, place: RecordPlace): Message[] {
  const messages: Message[] = [];
  const system = optionalString(record, "system", place);
  if (system !== undefined && system !== "") messages.push({ role: "system", content: system, position: -1, trained: false });
  messageList(record, "conversations", place).forEach((entry, position) => {
    const name = `conversations[${position}]`;
    const message = asMessageObject(entry, name, place);
    const from = requiredString(message, "from", place, `${name}.from`);
    const role = SHAREGPT_ROLES[from.toLowerCase()];
    if (role === undefined) throw fieldError(place, `${name}.from`, `has an unsupported role "${from}" (expected human, gpt or system)`);
    const content = requiredString(message, "value", place, `${name}.value`);
    messages.push({ role, content, position, trained: isTrained(message) });
  });
  return messages;
}

function openAiMessages(record: RecordObject, place: RecordPlace): Message[] {
  return messageList(record, "messages", place).map((entry, position) => {
    const name = `messages[${position}]`;
    const message = asMessageObject(entry, name, place);
    const roleName = requiredString(message, "role", place, `${name}.role`);
    const role = OPENAI_ROLES[roleName];
    if (role === undefined) throw fieldError(place, `${name}.role`, `has an unsupported role "${roleName}" (expected user, assistant or system)`);
    return { role, content: openAiContent(message, `${name}.content`, place), position, trained: isTrained(message) };
  });
}

/** OpenAI content is a string or a list of parts; text parts are concatenated, others refused. */
function openAiContent(message: RecordObject, name: string, place: RecordPlace): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) {
    throw fieldError(place, name, content === undefined ? "is missing" : content === null ? "is null" : `must be a string, got ${describeValue(content)}`);
  }
  return content
    .map((part: unknown, index) => {
      const partName = `${name}[${index}]`;
      const object = asMessageObject(part, partName, place);
      if (object.type !== "text") throw fieldError(place, `${partName}.type`, `must be "text" (only text content can be scored), got ${JSON.stringify(object.type) ?? "nothing"}`);
      return requiredString(object, "text", place, `${partName}.text`);
    })
    .join("");
}

/** OpenAI fine-tuning marks untrained assistant turns `weight: 0` (a bigint when read from Parquet INT64). */
function isTrained(message: RecordObject): boolean {
  return message.weight !== 0 && message.weight !== 0n;
}

function asMessageObject(value: unknown, name: string, place: RecordPlace): RecordObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fieldError(place, name, `must be an object, got ${describeValue(value)}`);
  }
  return asRecordObject(value, place);
}
