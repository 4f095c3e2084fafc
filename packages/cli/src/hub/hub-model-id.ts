/** A model repository on the hub at a revision. */
export interface HubModelRef {
  /** `org/name`. */
  readonly repo: string;
  /** Branch, tag or 40-hex commit; default `main`. */
  readonly revision: string;
}

/** The revision used when none is given. */
export const DEFAULT_REVISION = "main";

/** A full commit hash, which names a snapshot directly (no `refs/` lookup). */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** One part of a repo id, as the hub allows it: letters, digits, `-`, `_`, `.`, up to 96 characters. */
const ID_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

/** First segments that mean something else to the hub (or are paths), so never an organisation. */
const RESERVED_NAMESPACES = new Set(["models", "model", "datasets", "dataset", "spaces", "space", "buckets", "kernels", ".", ".."]);

/**
 * Reads `org/name` or `org/name@revision`; `undefined` when `spec` does not have that shape (a local
 * path, say). A single name without an organisation is not accepted: the hub's legacy names
 * (`gpt2`) all have an `org/` form now, and a bare word is more likely a directory.
 *
 * @example
 * parseHubModelId("Qwen/Qwen2.5-0.5B-Instruct@main"); // { repo: "Qwen/Qwen2.5-0.5B-Instruct", revision: "main" }
 * parseHubModelId("./models/tiny"); // undefined
 */
export function parseHubModelId(spec: string): HubModelRef | undefined {
  const at = spec.indexOf("@");
  const repo = at === -1 ? spec : spec.slice(0, at);
  const revision = at === -1 ? DEFAULT_REVISION : spec.slice(at + 1);
  const parts = repo.split("/");
  if (parts.length !== 2 || RESERVED_NAMESPACES.has(parts[0])) return undefined;
  if (!parts.every((part) => ID_PART.test(part) && !part.includes("--") && !part.includes(".."))) return undefined;
  if (parts[1].endsWith(".git")) return undefined;
  if (revision === "" || /\s/.test(revision) || revision.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) return undefined;
  return { repo, revision };
}

/** `org/name`, or `org/name@revision` when the revision is not `main`. */
export function formatHubModelRef(ref: HubModelRef): string {
  return ref.revision === DEFAULT_REVISION ? ref.repo : `${ref.repo}@${ref.revision}`;
}
