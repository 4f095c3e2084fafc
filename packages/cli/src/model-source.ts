import { stat } from "node:fs/promises";
import path from "node:path";
import { DEMO_MODEL, DEMO_MODEL_NOTICE, ensureDemoModel } from "./demo-model.js";
import { HubError } from "./hub/hub-error.js";
import { formatHubModelRef, parseHubModelId } from "./hub/hub-model-id.js";
import { createPullProgress, formatPullSummary } from "./hub/pull-progress.js";
import { findCachedModel, pullModel } from "./hub/pull-model.js";

/** A `--model` value turned into something the engine can load. */
export interface ResolvedModel {
  /** A model directory, or an `.onnx` file inside one: `createEngine`'s `model`. */
  readonly path: string;
  /** The name the engine should report (the Hub id for a Hub model); absent means the directory's name. */
  readonly modelId?: string;
  readonly kind: "demo" | "directory" | "hub";
}

/** Options of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** Read for the hub's and sftscore's cache variables; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Notices and download progress; default `process.stderr`. */
  readonly stderr?: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly signal?: AbortSignal;
}

/**
 * Resolves a `--model` value:
 * - `demo`: the built-in test model, built into the cache on first use (and says, once, that its
 *   weights are random);
 * - an existing path: itself (a model directory or an `.onnx` file);
 * - `org/name` or `org/name@revision`: the Hub model's snapshot in the Hugging Face cache, downloaded
 *   when missing or out of date (see `pullModel`). With `HF_HUB_OFFLINE=1` only the cache is used;
 *   when the hub cannot be reached, a cached snapshot of the revision is used with a warning;
 * - anything else is returned as a path, for the engine to report as not found.
 *
 * @throws HubError as `pullModel` does (a `not-found` one also says no such directory exists).
 * @example
 * const model = await resolveModel("onnx-community/Qwen2.5-0.5B-Instruct");
 * const engine = await createEngine({ model: model.path, ...(model.modelId ? { modelId: model.modelId } : {}) });
 */
export async function resolveModel(spec: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  if (spec === DEMO_MODEL) {
    const dir = await ensureDemoModel(env);
    stderr.write(`${DEMO_MODEL_NOTICE}\n`);
    return { path: dir, kind: "demo" };
  }
  if (await exists(spec)) return { path: spec, kind: "directory" };
  const ref = looksLikePath(spec) ? undefined : parseHubModelId(spec);
  if (ref === undefined) return { path: spec, kind: "directory" };

  const modelId = formatHubModelRef(ref);
  const progress = createPullProgress({ stream: stderr });
  try {
    const pulled = await pullModel(ref, { env, onEvent: progress.onEvent, ...(options.signal ? { signal: options.signal } : {}) });
    progress.finish();
    if (pulled.offline || pulled.downloadedBytes > 0) stderr.write(`${formatPullSummary(pulled)}\n`);
    return { path: pulled.modelPath, modelId, kind: "hub" };
  } catch (error) {
    progress.finish();
    if (error instanceof HubError && error.code === "unreachable") {
      const cached = await findCachedModel(ref, { env }).catch(() => undefined);
      if (cached) {
        stderr.write(`warning: ${error.message.split(". ")[0]}; using the cached snapshot ${cached.snapshotDir}, which may be out of date\n`);
        return { path: cached.modelPath, modelId, kind: "hub" };
      }
    }
    if (error instanceof HubError && error.code === "not-found") {
      error.message += ` (and there is no directory ${path.resolve(spec)})`;
    }
    if (error instanceof HubError && error.code === "no-onnx-graph" && /--variant|--include/.test(error.message)) {
      error.message += `. --model takes the default graph: run \`sftscore models pull ${spec} --variant …\` and pass the path it prints as --model`;
    }
    throw error;
  }
}

/** Explicitly a path (`./x`, `../x`, `/x`, `~/x`, `C:\x`): never taken for a hub id. */
function looksLikePath(spec: string): boolean {
  return spec.startsWith(".") || spec.startsWith("~") || path.isAbsolute(spec) || spec.includes("\\");
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
