import { open, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { EngineError } from "./engine-error.js";
import { DEFAULT_MODEL_FILES, readModelFile } from "./onnx-model-file.js";

/** What the engine needs to know about a Hugging Face-layout model directory besides its graph. */
export interface ModelDirectory {
  /** Absolute path of the directory (the folder holding config.json and tokenizer.json). */
  readonly dir: string;
  /** Human-readable name: the directory's name, or the Hub id it came from. */
  readonly modelId: string;
  /** Absolute path of the `.onnx` graph. */
  readonly modelPath: string;
  readonly tokenizerJson: string;
  /** `tokenizer_config.json` verbatim, or "" when absent. */
  readonly tokenizerConfigJson: string;
  /** Vocabulary size of the graph's logits (from config.json, checked against the graph). */
  readonly vocabSize: number;
  /** Longest sequence the model accepts, in tokens. */
  readonly maxLength: number;
  /** `num_key_value_heads` and `head_dim`, used to shape empty past tensors when the graph's dims are symbolic. */
  readonly kvHeads?: number;
  readonly headDim?: number;
  /** `num_attention_heads` (`n_head` in GPT-2-style configs): how many `[L, L]` score matrices a row's attention holds. */
  readonly attentionHeads?: number;
}

/** Graph inputs the engine knows how to feed. Anything else means the graph is not a plain causal LM. */
const KNOWN_INPUT = /^(input_ids|attention_mask|position_ids|past_key_values\.\d+\.(key|value))$/;

/**
 * Opens a model directory (`config.json`, `tokenizer.json`, optional `tokenizer_config.json`, and
 * `model.onnx` or `onnx/model.onnx` with any external data) and checks that it is a causal LM the
 * engine can drive.
 *
 * @throws EngineError `not-found` when the directory or a required file is missing, and
 *   `invalid-argument` naming what is wrong when the graph is not a causal LM, when the `.onnx` file
 *   is not ONNX (a Git LFS pointer is named as such), or when `tokenizer.json` has token ids beyond
 *   the model's vocabulary.
 */
export async function openModelDirectory(source: string, options: { modelId?: string } = {}): Promise<ModelDirectory> {
  const given = path.resolve(source);
  let file;
  try {
    file = await readModelFile(given);
  } catch (error) {
    // A graph file that is there but is not ONNX is a different problem from a missing one.
    if (error instanceof EngineError && error.code === "invalid-argument") throw (await lfsPointerError(given)) ?? error;
    throw new EngineError("not-found", `${given}: no ONNX model found (looked for model.onnx and onnx/model.onnx): ${messageOf(error)}`, { cause: error });
  }
  const dir = path.basename(path.dirname(file.path)) === "onnx" ? path.dirname(path.dirname(file.path)) : path.dirname(file.path);

  const tokenizerJson = await readText(path.join(dir, "tokenizer.json"));
  if (tokenizerJson === undefined) {
    throw new EngineError("not-found", `${dir} has no tokenizer.json: text is tokenized with the model's own tokenizer, so the model directory must include it`);
  }
  const tokenizerConfigJson = (await readText(path.join(dir, "tokenizer_config.json"))) ?? "";
  const configText = await readText(path.join(dir, "config.json"));
  if (configText === undefined) throw new EngineError("not-found", `${dir} has no config.json (needed for the model's maximum length and vocabulary size)`);
  const config = parseJson(configText, path.join(dir, "config.json"));

  const graph = file.model.graph;
  const inputs = (graph?.input ?? []).map((i) => i.name ?? "");
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name ?? ""));
  const feedable = inputs.filter((name) => !initializers.has(name));
  const problems: string[] = [];
  if (!feedable.includes("input_ids")) problems.push("it has no input_ids input");
  const outputs = (graph?.output ?? []).map((o) => o.name ?? "");
  if (!outputs.includes("logits")) problems.push(`it has no logits output (outputs: ${outputs.join(", ") || "none"})`);
  const unknown = feedable.filter((name) => !KNOWN_INPUT.test(name));
  if (unknown.length > 0) problems.push(`it takes inputs a causal LM does not (${unknown.join(", ")})`);
  if (problems.length > 0) throw new EngineError("invalid-argument", `${file.path} is not a causal language model the engine can run: ${problems.join("; ")}`);

  const logitsDims = graph?.output?.find((o) => o.name === "logits")?.type?.tensorType?.shape?.dim ?? [];
  const graphVocab = Number(logitsDims[2]?.dimValue ?? 0) || undefined;
  const configVocab = positiveInteger(config.vocab_size);
  const vocabSize = graphVocab ?? configVocab;
  if (vocabSize === undefined) throw new EngineError("invalid-argument", `${dir}/config.json has no vocab_size and the graph's logits have no fixed vocabulary dimension`);
  if (graphVocab !== undefined && configVocab !== undefined && graphVocab !== configVocab) {
    throw new EngineError("invalid-argument", `${dir}: config.json says vocab_size ${configVocab} but the graph's logits have ${graphVocab} entries`);
  }
  checkTokenizerFits(tokenizerJson, path.join(dir, "tokenizer.json"), vocabSize);
  return {
    dir,
    modelId: options.modelId ?? path.basename(dir),
    modelPath: file.path,
    tokenizerJson,
    tokenizerConfigJson,
    vocabSize,
    maxLength: maxLengthOf(config, tokenizerConfigJson, dir),
    ...optional("kvHeads", positiveInteger(config.num_key_value_heads) ?? positiveInteger(config.num_attention_heads)),
    ...optional("headDim", headDimOf(config)),
    ...optional("attentionHeads", positiveInteger(config.num_attention_heads) ?? positiveInteger(config.n_head)),
  };
}

const LFS_POINTER_START = "version https://git-lfs.github.com/spec/";

/**
 * The commonest `model.onnx` that is not ONNX: the three-line pointer Git LFS leaves when a model
 * repository is cloned without `git lfs`. Its protobuf parse error says nothing useful, so name the
 * cause. Looks at the graph file `readModelFile` picked: `given` itself, else the first candidate there.
 */
async function lfsPointerError(given: string): Promise<EngineError | undefined> {
  for (const file of [given, ...DEFAULT_MODEL_FILES.map((name) => path.join(given, name))]) {
    const head = await readHead(file, LFS_POINTER_START.length);
    if (head === undefined) continue;
    if (head !== LFS_POINTER_START) return undefined;
    return new EngineError("invalid-argument", `${file} is a Git LFS pointer, not the model: its weights were never downloaded (run git lfs pull in the model's repository)`);
  }
  return undefined;
}

/** The first `length` bytes of a file as latin1, or `undefined` when it is not a readable file. */
async function readHead(file: string, length: number): Promise<string | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead).toString("latin1");
  } catch {
    return undefined; // a directory opens but cannot be read
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a tokenizer with token ids the model has no logits for, the sign of a tokenizer.json from
 * another model. Checked here rather than per request so that it fails before any scoring instead of
 * on the first sample that happens to contain such a token. A tokenizer smaller than the vocabulary
 * is fine: exports often pad the vocabulary (Qwen2.5 has 151,665 tokens for 151,936 logits).
 */
function checkTokenizerFits(tokenizerJson: string, file: string, vocabSize: number): void {
  const highest = highestTokenId(parseJson(tokenizerJson, file));
  if (highest !== undefined && highest >= vocabSize) {
    throw new EngineError(
      "invalid-argument",
      `${file} does not match the model: it has token ids up to ${highest}, but the model's vocabulary has only ${vocabSize} entries (ids 0 to ${vocabSize - 1}); use the tokenizer.json exported with this model`,
    );
  }
}

/**
 * The highest id in a `tokenizer.json`: its model's vocabulary (a token → id map for BPE, WordPiece
 * and WordLevel; a list of `[piece, score]` for Unigram, ids by position) and its added tokens.
 */
function highestTokenId(tokenizer: Record<string, unknown>): number | undefined {
  const ids: number[] = [];
  const model = tokenizer.model;
  const vocab = model !== null && typeof model === "object" ? (model as Record<string, unknown>).vocab : undefined;
  if (Array.isArray(vocab)) {
    if (vocab.length > 0) ids.push(vocab.length - 1);
  } else if (vocab !== null && typeof vocab === "object") {
    for (const id of Object.values(vocab)) if (Number.isInteger(id)) ids.push(id as number);
  }
  if (Array.isArray(tokenizer.added_tokens)) {
    for (const token of tokenizer.added_tokens as unknown[]) {
      const id = token !== null && typeof token === "object" ? (token as Record<string, unknown>).id : undefined;
      if (Number.isInteger(id)) ids.push(id as number);
    }
  }
  return ids.length === 0 ? undefined : ids.reduce((a, b) => Math.max(a, b));
}

/** sftscore's cache folder: `$SFTSCORE_CACHE`, else `$XDG_CACHE_HOME/sftscore` or `~/.cache/sftscore`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SFTSCORE_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "sftscore");
}

/** The default folder for loss-head-extended models: `extended-models` in {@link cacheRoot}. */
export function defaultModelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRoot(env), "extended-models");
}

/**
 * The model's maximum length: `max_position_embeddings`, lowered by the tokenizer's
 * `model_max_length` when that is set to a real value (transformers writes 1e30 for "unset").
 */
function maxLengthOf(config: Record<string, unknown>, tokenizerConfigJson: string, dir: string): number {
  const fromConfig = positiveInteger(config.max_position_embeddings) ?? positiveInteger(config.n_positions) ?? positiveInteger(config.max_sequence_length);
  let fromTokenizer: number | undefined;
  if (tokenizerConfigJson !== "") {
    const value = positiveInteger(parseJson(tokenizerConfigJson, path.join(dir, "tokenizer_config.json")).model_max_length);
    if (value !== undefined && value < 1e9) fromTokenizer = value;
  }
  const candidates = [fromConfig, fromTokenizer].filter((v): v is number => v !== undefined);
  if (candidates.length === 0) throw new EngineError("invalid-argument", `${dir}: neither config.json (max_position_embeddings) nor tokenizer_config.json (model_max_length) gives a maximum length`);
  return Math.min(...candidates);
}

function headDimOf(config: Record<string, unknown>): number | undefined {
  const explicit = positiveInteger(config.head_dim);
  if (explicit !== undefined) return explicit;
  const hidden = positiveInteger(config.hidden_size);
  const heads = positiveInteger(config.num_attention_heads);
  return hidden !== undefined && heads !== undefined && hidden % heads === 0 ? hidden / heads : undefined;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

function parseJson(text: string, file: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    throw new Error("not a JSON object");
  } catch (error) {
    throw new EngineError("invalid-argument", `${file} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch(() => undefined);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
