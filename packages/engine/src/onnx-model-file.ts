/**
 * ONNX model files on disk: reading a graph with its external-data references, the content hash of a
 * model directory, and the on-disk cache of loss-head-extended models.
 *
 * External data and ONNX Runtime 1.30 (verified in onnx-model-file.spec.ts): a model loaded from a
 * path may only reference data files whose *resolved* path lies inside the model's directory. An
 * absolute `location`, a `../` location, and a symlink pointing outside the directory are all
 * rejected ("External data path escapes model directory") — which also rejects a Hugging Face hub
 * snapshot, whose `model.onnx_data` is a symlink into `blobs/`. A hard link passes, but needs the
 * same file system and (with `fs.protected_hardlinks`) ownership of the source, and pins a 700 MB
 * inode in the cache once the source is replaced. What works everywhere: a model loaded from *bytes*
 * with `session.model_external_initializers_file_folder_path` set to a folder, and `location`s
 * relative to it. So the cached extended graph references the real data files (symlinks resolved)
 * relative to their common folder, and is loaded as bytes with that folder: nothing is copied or
 * linked, and read-only or cross-device sources work.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import onnxProto, { type onnx as Onnx } from "onnx-proto";
import { EngineError } from "./engine-error.js";
import { extendWithLossHead, LOSS_HEAD_FORMAT_VERSION, type LossHeadKind, type LossHeadOptions } from "./loss-head.js";

const { onnx } = onnxProto;

/** Graph files tried, in order, when a model directory rather than a file is given. */
export const DEFAULT_MODEL_FILES: readonly string[] = ["model.onnx", path.join("onnx", "model.onnx")];

/** Files besides the graph and its data that identify a model: its configuration and tokenizer. */
export const MODEL_METADATA_FILES: readonly string[] = [
  "config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
];

/** ONNX Runtime session config key naming the folder of a bytes-loaded model's external data. */
export const EXTERNAL_DATA_FOLDER_CONFIG = "model_external_initializers_file_folder_path";

/** One external data file a graph references. */
export interface ExternalDataFile {
  /** The `location` as written in the graph. */
  readonly location: string;
  /** Absolute path with symlinks resolved (a Hugging Face cache blob, say). */
  readonly realPath: string;
  readonly sizeBytes: number;
}

/** A graph file read from disk; initializers stay external references (their data is never read). */
export interface ModelFile {
  /** Absolute path of the `.onnx` file. */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly model: Onnx.ModelProto;
  /** Referenced data files, sorted by location. */
  readonly externalData: readonly ExternalDataFile[];
}

/**
 * Reads `source` (an `.onnx` file, or a directory holding one of {@link DEFAULT_MODEL_FILES}) and
 * lists the external data files it references, from initializers, sparse initializers and node
 * attributes in all subgraphs.
 *
 * @throws EngineError `not-found` when no graph file or a referenced data file is missing,
 *   `invalid-argument` when the graph file is not a valid ModelProto.
 */
export async function readModelFile(source: string): Promise<ModelFile> {
  const modelPath = await resolveModelPath(source);
  const bytes = await readFile(modelPath);
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new EngineError("invalid-argument", `${modelPath} is not an ONNX model: ${String(error)}`, { cause: error });
  }
  const locations = new Set<string>();
  forEachTensor(model, (tensor) => {
    const location = externalLocation(tensor);
    if (location !== undefined) locations.add(location);
  });
  const externalData = await Promise.all(
    [...locations].sort().map(async (location) => {
      const resolved = path.resolve(path.dirname(modelPath), location);
      try {
        const realPath = await realpath(resolved);
        return { location, realPath, sizeBytes: (await stat(realPath)).size };
      } catch (error) {
        throw new EngineError("not-found", `${modelPath} references external data "${location}", which cannot be read at ${resolved}`, { cause: error });
      }
    }),
  );
  return { path: modelPath, bytes, model, externalData };
}

/**
 * SHA-256 (hex) of a model's content: the graph file, every external data file it references (read
 * as streams: data files are hundreds of MB), and those of {@link MODEL_METADATA_FILES} that exist
 * beside the graph (or, for `onnx/model.onnx`, in the directory above). Files are named by role and
 * by the name the graph uses, not by path, so copies of a model in other directories hash equal.
 *
 * @param source a model directory or `.onnx` file, as for {@link readModelFile}.
 * @throws EngineError as {@link readModelFile} does; I/O errors as they come.
 */
export async function hashModelDirectory(source: string): Promise<string> {
  return hashModelFile(await readModelFile(source));
}

/** {@link hashModelDirectory} for a graph file already read. */
export async function hashModelFile(file: ModelFile): Promise<string> {
  const hash = createHash("sha256");
  const record = (role: string, name: string, sizeBytes: number) => hash.update(`${role} ${JSON.stringify(name)} ${sizeBytes}\n`);
  hash.update("sftscore model hash v1\n");
  record("graph", path.basename(file.path), file.bytes.byteLength);
  hash.update(file.bytes);
  for (const data of file.externalData) {
    record("external-data", data.location, data.sizeBytes);
    for await (const chunk of createReadStream(data.realPath)) hash.update(chunk as Buffer);
  }
  const metadataDir = await modelMetadataDir(file.path);
  for (const name of MODEL_METADATA_FILES) {
    const content = await readFile(path.join(metadataDir, name)).catch(() => undefined);
    if (content === undefined) continue;
    record("metadata", name, content.byteLength);
    hash.update(content);
  }
  return hash.digest("hex");
}

/** A cached, loss-head-extended model. */
export interface ExtendedModelFile {
  /** The extended `.onnx` in the cache. */
  readonly modelPath: string;
  /**
   * Set when the model has external data: the folder its `location`s are relative to. ONNX Runtime
   * must then load the model from bytes with this folder (see {@link extendedModelSessionInput}).
   */
  readonly externalDataDir?: string;
  /** {@link hashModelFile} of the source model. */
  readonly sourceHash: string;
  readonly lossHead: LossHeadKind;
  /** Why the full-logits fallback is used; absent for `scored-positions`. */
  readonly reason?: string;
  /** Element type of the source model's logits. */
  readonly dtype: string;
}

/** The manifest written beside each cached model. */
interface CacheManifest extends Omit<ExtendedModelFile, "modelPath"> {
  readonly formatVersion: number;
  readonly source: string;
}

const MANIFEST_FILE = "manifest.json";
const EXTENDED_MODEL_FILE = "model.onnx";

/**
 * Returns the loss-head-extended version of `source` from `cacheDir`, creating it when missing.
 * The cache key is the source's content hash, {@link LOSS_HEAD_FORMAT_VERSION}, the options, and the
 * identity (real path, device, inode) of each external data file, because the cached graph refers
 * to those files instead of copying them. A new entry is built in a temporary directory and renamed
 * into place, so concurrent loaders never see a partial entry (the loser of a race uses the
 * winner's). Entries are never evicted.
 *
 * @param source a model directory or `.onnx` file.
 * @param cacheDir created if missing.
 * @throws EngineError as {@link readModelFile} and {@link extendWithLossHead} do, `failed-precondition`
 *   for a corrupt cache entry; I/O errors as they come.
 * @example
 * const extended = await loadExtendedModel("models/qwen2.5-0.5b", ".cache/sftscore");
 * const input = await extendedModelSessionInput(extended);
 */
export async function loadExtendedModel(source: string, cacheDir: string, options: LossHeadOptions = {}): Promise<ExtendedModelFile> {
  const file = await readModelFile(source);
  const sourceHash = await hashModelFile(file);
  const identities = await Promise.all(
    file.externalData.map(async (data) => {
      const { dev, ino } = await stat(data.realPath, { bigint: true });
      return { location: data.location, realPath: data.realPath, dev: String(dev), ino: String(ino) };
    }),
  );
  const head = { forceFullLogits: options.forceFullLogits === true, logitsOutput: options.logitsOutput ?? "logits" };
  const keyMaterial = { sourceHash, formatVersion: LOSS_HEAD_FORMAT_VERSION, head, identities };
  const key = createHash("sha256").update(JSON.stringify(keyMaterial)).digest("hex");
  const entryDir = path.resolve(cacheDir, `${sourceHash.slice(0, 16)}-lh${LOSS_HEAD_FORMAT_VERSION}-${key.slice(0, 16)}`);

  const cached = await readManifest(entryDir);
  if (cached) return cached;

  const extended = extendWithLossHead(file.model, options);
  let externalDataDir: string | undefined;
  if (file.externalData.length > 0) {
    externalDataDir = commonDirectory(file.externalData.map((data) => data.realPath));
    const relocated = new Map(file.externalData.map((data) => [data.location, path.relative(externalDataDir ?? "", data.realPath)]));
    // file.model is private to this call, so rewriting the tensors it shares with the extended model is safe.
    forEachTensor(extended.model, (tensor) => {
      const location = (tensor.externalData ?? []).find((entry) => entry.key === "location");
      if (location?.value && relocated.has(location.value)) location.value = relocated.get(location.value);
    });
  }
  const manifest: CacheManifest = {
    formatVersion: LOSS_HEAD_FORMAT_VERSION,
    source: file.path,
    sourceHash,
    lossHead: extended.lossHead,
    ...(extended.reason === undefined ? {} : { reason: extended.reason }),
    dtype: extended.dtype,
    ...(externalDataDir === undefined ? {} : { externalDataDir }),
  };

  await mkdir(path.dirname(entryDir), { recursive: true });
  const tempDir = `${entryDir}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  await mkdir(tempDir);
  try {
    await writeFile(path.join(tempDir, EXTENDED_MODEL_FILE), onnx.ModelProto.encode(extended.model).finish());
    await writeFile(path.join(tempDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tempDir, entryDir);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    // Another process renamed its entry into place first; a rename onto a non-empty directory fails.
    const winner = await readManifest(entryDir);
    if (winner) return winner;
    throw error;
  }
  return { modelPath: path.join(entryDir, EXTENDED_MODEL_FILE), ...withoutCacheFields(manifest) };
}

/** How to hand an extended model to `InferenceSession.create`. */
export interface ExtendedModelSessionInput {
  /** The model's path, or its bytes when its external data lives in another folder. */
  readonly model: string | Uint8Array;
  /** Entries to merge into the session options' `extra` (ONNX Runtime session config keys, nested by prefix). */
  readonly extra: { readonly session?: Readonly<Record<string, string>> };
}

/**
 * The arguments for `InferenceSession.create` (path or bytes, plus session config) that make ONNX
 * Runtime find an extended model's external data.
 *
 * @example
 * const { model, extra } = await extendedModelSessionInput(extended);
 * const session = typeof model === "string"
 *   ? await ort.InferenceSession.create(model, { extra })
 *   : await ort.InferenceSession.create(model, { extra });
 */
export async function extendedModelSessionInput(file: ExtendedModelFile): Promise<ExtendedModelSessionInput> {
  if (file.externalDataDir === undefined) return { model: file.modelPath, extra: {} };
  return { model: await readFile(file.modelPath), extra: { session: { [EXTERNAL_DATA_FOLDER_CONFIG]: file.externalDataDir } } };
}

async function readManifest(entryDir: string): Promise<ExtendedModelFile | undefined> {
  const text = await readFile(path.join(entryDir, MANIFEST_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(text) as CacheManifest;
  } catch (error) {
    throw new EngineError("failed-precondition", `the model cache entry ${entryDir} is corrupt (${MANIFEST_FILE}); delete the directory`, { cause: error });
  }
  if (manifest.formatVersion !== LOSS_HEAD_FORMAT_VERSION) return undefined;
  return { modelPath: path.join(entryDir, EXTENDED_MODEL_FILE), ...withoutCacheFields(manifest) };
}

function withoutCacheFields(manifest: CacheManifest): Omit<ExtendedModelFile, "modelPath"> {
  const { formatVersion: _version, source: _source, ...rest } = manifest;
  return rest;
}

async function resolveModelPath(source: string): Promise<string> {
  const absolute = path.resolve(source);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new EngineError("not-found", `model path ${absolute} does not exist`);
  if (info.isFile()) return absolute;
  for (const candidate of DEFAULT_MODEL_FILES) {
    const file = path.join(absolute, candidate);
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  }
  throw new EngineError("not-found", `model directory ${absolute} has no graph file (looked for ${DEFAULT_MODEL_FILES.join(", ")})`);
}

/** Hugging Face layout: `config.json` sits beside `model.onnx`, or above `onnx/model.onnx`. */
async function modelMetadataDir(modelPath: string): Promise<string> {
  const dir = path.dirname(modelPath);
  if (path.basename(dir) !== "onnx") return dir;
  const besideGraph = await stat(path.join(dir, "config.json")).catch(() => undefined);
  return besideGraph ? dir : path.dirname(dir);
}

function commonDirectory(files: readonly string[]): string {
  let common = path.dirname(files[0]);
  for (const file of files) {
    while (path.relative(common, file).split(path.sep)[0] === "..") common = path.dirname(common);
  }
  return common;
}

function externalLocation(tensor: Onnx.ITensorProto): string | undefined {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  return (tensor.externalData ?? []).find((entry) => entry.key === "location")?.value ?? undefined;
}

/** Visits every TensorProto of a model that can hold data: initializers, sparse tensors, attributes, subgraphs, functions. */
function forEachTensor(model: Onnx.IModelProto, visit: (tensor: Onnx.ITensorProto) => void): void {
  const visitNodes = (nodes: readonly Onnx.INodeProto[] | null | undefined) => {
    for (const node of nodes ?? []) {
      for (const attribute of node.attribute ?? []) {
        if (attribute.t) visit(attribute.t);
        for (const tensor of attribute.tensors ?? []) visit(tensor);
        for (const sparse of [...(attribute.sparseTensor ? [attribute.sparseTensor] : []), ...(attribute.sparseTensors ?? [])]) visitSparse(sparse);
        if (attribute.g) visitGraph(attribute.g);
        for (const graph of attribute.graphs ?? []) visitGraph(graph);
      }
    }
  };
  const visitSparse = (sparse: Onnx.ISparseTensorProto) => {
    if (sparse.values) visit(sparse.values);
    if (sparse.indices) visit(sparse.indices);
  };
  const visitGraph = (graph: Onnx.IGraphProto) => {
    for (const tensor of graph.initializer ?? []) visit(tensor);
    for (const sparse of graph.sparseInitializer ?? []) visitSparse(sparse);
    visitNodes(graph.node);
  };
  if (model.graph) visitGraph(model.graph);
  for (const fn of model.functions ?? []) visitNodes(fn.node);
}
