import path from "node:path";
import { HubError } from "./hub-error.js";

/** Files the engine needs beside the graph. */
export const REQUIRED_METADATA_FILES: readonly string[] = ["config.json", "tokenizer.json"];

/** Downloaded when the repository has them: tokenizer settings and chat templates the metrics read, generation defaults. */
export const OPTIONAL_METADATA_FILES: readonly string[] = [
  "tokenizer_config.json",
  "special_tokens_map.json",
  "generation_config.json",
  "chat_template.jinja",
  "chat_template.json",
];

/** Options of {@link chooseModelFiles}. */
export interface ModelFileOptions {
  /** The repository, for messages. */
  readonly repo: string;
  /**
   * A transformers.js dtype suffix: `fp16` picks `onnx/model_fp16.onnx` (or `model_fp16.onnx`,
   * `onnx/decoder_model_fp16.onnx`). Default: the unsuffixed graph.
   */
  readonly variant?: string;
  /**
   * Extra files to download, as paths or globs (`*` within a folder, `**` across folders). An
   * `.onnx` file among them replaces the automatic graph choice.
   */
  readonly include?: readonly string[];
}

/** What to download. */
export interface ModelFileChoice<F> {
  /** The graph the engine should load, relative to the repository root. */
  readonly graph: string;
  /** True when `graph` is one the engine finds in a directory by itself (`model.onnx` or `onnx/model.onnx`). */
  readonly graphIsDefault: boolean;
  /** Metadata, graph(s) with their external data, and included files, without duplicates. */
  readonly files: readonly F[];
}

/** Graph names the engine finds on its own, in its order of preference for a download. */
const DEFAULT_GRAPHS = ["onnx/model.onnx", "model.onnx"];

/**
 * Chooses the files an ONNX causal LM needs from a repository listing: `config.json`,
 * `tokenizer.json` and the optional {@link OPTIONAL_METADATA_FILES}; one graph —
 * `onnx/model.onnx`, else `model.onnx`, else optimum's older `decoder_model.onnx` (with `variant`,
 * `model_<variant>.onnx` and so on) — with its external data (`<graph>_data`, `<graph>_data_1`, …,
 * `<graph>.data`); and whatever `include` names. Works on a hub listing and on a cached snapshot alike.
 *
 * @throws HubError `no-onnx-graph` listing the graphs (or, without any, the files) the repository
 *   has and how to get one; `missing-files` without config.json or tokenizer.json; `not-found`
 *   when an `include` pattern matches nothing.
 */
export function chooseModelFiles<F extends { readonly path: string }>(listing: readonly F[], options: ModelFileOptions): ModelFileChoice<F> {
  const byPath = new Map(listing.map((file) => [file.path, file]));
  const chosen = new Set<string>();

  const included = new Set<string>();
  for (const pattern of options.include ?? []) {
    const match = globMatcher(pattern);
    const hits = listing.filter((file) => match(file.path));
    if (hits.length === 0) {
      throw new HubError("not-found", `--include ${pattern} matches no file of ${options.repo}; it has: ${summarize(listing.map((f) => f.path))}`);
    }
    for (const hit of hits) included.add(hit.path);
  }

  const includedGraphs = [...included].filter(isOnnxGraph).sort();
  let graphs: string[];
  if (includedGraphs.length > 0) {
    graphs = includedGraphs;
  } else {
    const candidates = graphCandidates(options.variant);
    const found = candidates.find((candidate) => byPath.has(candidate));
    if (found === undefined) throw noGraphError(listing.map((f) => f.path), options);
    graphs = [found];
  }
  const graph = graphs.find((g) => DEFAULT_GRAPHS.includes(g)) ?? graphs[0];

  const missing = REQUIRED_METADATA_FILES.filter((name) => !byPath.has(name));
  if (missing.length > 0) {
    throw new HubError(
      "missing-files",
      `${options.repo} has no ${missing.join(" or ")} at its root: the engine needs the model's config.json and its fast tokenizer (tokenizer.json) beside the ONNX graph`,
    );
  }
  for (const name of [...REQUIRED_METADATA_FILES, ...OPTIONAL_METADATA_FILES]) if (byPath.has(name)) chosen.add(name);
  for (const g of graphs) {
    chosen.add(g);
    for (const data of externalDataOf(g, listing.map((f) => f.path))) chosen.add(data);
  }
  for (const name of included) chosen.add(name);
  return {
    graph,
    graphIsDefault: DEFAULT_GRAPHS.includes(graph),
    files: [...chosen].map((name) => byPath.get(name) as F),
  };
}

/** Graph paths tried for a variant (or none), best first. */
export function graphCandidates(variant: string | undefined): string[] {
  const suffix = variant === undefined || variant === "" ? "" : `_${variant}`;
  return [`onnx/model${suffix}.onnx`, `model${suffix}.onnx`, `onnx/decoder_model${suffix}.onnx`, `decoder_model${suffix}.onnx`];
}

/** The variants (`fp16`, `q4`, `quantized`, …) of the graphs in a listing; `""` for the unsuffixed one. */
export function onnxVariants(paths: readonly string[]): string[] {
  const variants = new Set<string>();
  for (const file of paths) {
    const match = /^(?:onnx\/)?(?:model|decoder_model)(?:_([A-Za-z0-9]+))?\.onnx$/.exec(file);
    if (match) variants.add(match[1] ?? "");
  }
  return [...variants].sort();
}

/** External data files that sit beside `graph` and carry its name: `model.onnx_data`, `model.onnx_data_1`, `model.onnx.data`. */
export function externalDataOf(graph: string, paths: readonly string[]): string[] {
  const dir = path.posix.dirname(graph);
  const base = path.posix.basename(graph);
  return paths
    .filter((file) => path.posix.dirname(file) === dir)
    .filter((file) => {
      const name = path.posix.basename(file);
      return name.startsWith(`${base}_data`) || name === `${base}.data`;
    })
    .sort();
}

/** A matcher for a path or glob: `*` and `?` stay within a folder, `**` crosses folders. */
export function globMatcher(pattern: string): (file: string) => boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      // `**/` also matches no folder at all.
      source += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += pattern[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  const regex = new RegExp(`^${source}$`);
  return (file) => regex.test(file);
}

function isOnnxGraph(file: string): boolean {
  return file.endsWith(".onnx");
}

function noGraphError(paths: readonly string[], options: ModelFileOptions): HubError {
  const graphs = paths.filter(isOnnxGraph);
  const wanted = graphCandidates(options.variant).slice(0, 2).join(" or ");
  if (graphs.length > 0) {
    const variants = onnxVariants(paths).filter((v) => v !== "");
    const choose = variants.length > 0 ? `choose one with --variant ${variants.join("|")}, or name a graph with --include <path>` : "name one with --include <path>";
    return new HubError("no-onnx-graph", `${options.repo} has no ${wanted}; its ONNX graphs are ${summarize(graphs)}: ${choose}`);
  }
  const exportDir = `./${options.repo.replace("/", "-")}-onnx`;
  return new HubError(
    "no-onnx-graph",
    `${options.repo} has no ONNX graph (its files: ${summarize(paths)}). Export it with optimum: ` +
      `\`optimum-cli export onnx --model ${options.repo} --task text-generation ${exportDir}\` and pass --model ${exportDir}, ` +
      "or look for an ONNX export of the model on the hub (onnx-community/… repositories hold many)",
  );
}

function summarize(paths: readonly string[], max = 15): string {
  if (paths.length === 0) return "none";
  const shown = paths.slice(0, max).join(", ");
  return paths.length > max ? `${shown} and ${paths.length - max} more` : shown;
}
