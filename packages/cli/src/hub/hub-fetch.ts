import { copyModelHint, HubError } from "./hub-error.js";
import type { HubSettings } from "./hub-settings.js";

/** A `fetch` for hub requests; see {@link createHubFetch}. */
export type HubFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link createHubFetch}. */
export interface HubFetchOptions {
  readonly settings: HubSettings;
  /** The repository the requests are about, for error messages. */
  readonly repo: string;
  /** The revision asked for, for error messages. */
  readonly revision: string;
  /** Milliseconds to wait for response headers (not the body); default 10,000 like `HF_HUB_ETAG_TIMEOUT`. */
  readonly timeoutMs?: number;
  /** The underlying fetch; default the global one. */
  readonly fetch?: typeof fetch;
}

/** Redirects followed before giving up. */
const MAX_REDIRECTS = 10;

/**
 * A `fetch` that speaks to the hub the way `huggingface_hub` does, for `@huggingface/hub`'s calls
 * (passed as their `fetch`) and for file downloads:
 * - `Authorization: Bearer $HF_TOKEN` goes to the hub's own origin only. Redirects are followed
 *   here, hop by hop, so a token never reaches the CDN a large file redirects to.
 * - A request that gets no response headers within `timeoutMs` fails as `unreachable`, as does any
 *   network error (DNS, refused, reset), with a hint on copying a model directory instead.
 * - Any non-2xx answer becomes a {@link HubError} whose message says what to do: 401/403 name
 *   `HF_TOKEN` and gating, 404 names the repository, revision or file.
 * - With `HF_HUB_OFFLINE` set it refuses to run at all (a bug guard: offline code paths never call it).
 *
 * Passing our own fetch to `@huggingface/hub` also sidesteps its token check, which rejects tokens
 * that do not start with `hf_` (a private mirror's tokens may not).
 */
export function createHubFetch(options: HubFetchOptions): HubFetch {
  const { settings } = options;
  const hubOrigin = new URL(settings.endpoint).origin;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseFetch = options.fetch ?? fetch;

  return async (input, init = {}) => {
    if (settings.offline) throw new HubError("offline", `HF_HUB_OFFLINE is set: not contacting ${settings.endpoint}`);
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    let body = init.body;
    for (let hop = 0; ; hop++) {
      const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      headers.set("user-agent", "sftscore (@huggingface/hub)");
      if (settings.token !== undefined && url.origin === hubOrigin) headers.set("authorization", `Bearer ${settings.token}`);
      else headers.delete("authorization");
      const response = await fetchWithTimeout(baseFetch, url, { ...init, method, body, headers, redirect: "manual" }, timeoutMs, settings.endpoint, options.repo);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        if (hop >= MAX_REDIRECTS) throw new HubError("http", `${url.href}: more than ${MAX_REDIRECTS} redirects`, { status: response.status });
        await response.body?.cancel();
        url = new URL(location, url);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      if (!response.ok) throw await httpError(response, url, options);
      return response;
    }
  };
}

async function fetchWithTimeout(
  baseFetch: typeof fetch,
  url: URL,
  init: RequestInit,
  timeoutMs: number,
  endpoint: string,
  repo: string,
): Promise<Response> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal;
  try {
    return await baseFetch(url, { ...init, signal });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    const reason = timeout.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : networkReason(error);
    throw new HubError("unreachable", `cannot reach the Hugging Face Hub at ${endpoint} (${url.host}: ${reason}). ${copyModelHint(repo)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** `ECONNREFUSED`, `ENOTFOUND`, … from undici's `TypeError: fetch failed` and its cause chain. */
export function networkReason(error: unknown): string {
  let deepest = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return `${code}${e.message && !e.message.includes(code) ? `: ${e.message}` : ""}`;
    deepest = e.message;
  }
  return deepest;
}

async function httpError(response: Response, url: URL, options: HubFetchOptions): Promise<HubError> {
  const { repo, revision, settings } = options;
  const errorCode = response.headers.get("x-error-code") ?? "";
  const detail = await responseDetail(response);
  const status = response.status;
  const page = `${settings.endpoint}/${repo}`;
  const tokenNote =
    settings.token === undefined
      ? "HF_TOKEN is not set: set it to a Hugging Face access token with read access (https://huggingface.co/settings/tokens)"
      : "the HF_TOKEN given was not accepted for it: check that it is valid and has read access to this repository";
  if (status === 401 || status === 403) {
    const what =
      errorCode === "GatedRepo" || /gated|restricted/i.test(detail)
        ? `${repo} is gated: accept its conditions at ${page} with your account`
        : errorCode === "RepoNotFound"
          ? `${repo} was not found on ${settings.endpoint}, or it is private or gated`
          : `access to ${repo} was refused (${status} ${response.statusText || "Unauthorized"})`;
    return new HubError("unauthorized", `${what}; ${tokenNote}${detail ? ` (hub: ${detail})` : ""}`, { status });
  }
  if (status === 404) {
    const message =
      errorCode === "RevisionNotFound"
        ? `revision "${revision}" of ${repo} not found on ${settings.endpoint}: check the branch, tag or commit`
        : errorCode === "EntryNotFound"
          ? `${repo} has no file ${decodeURIComponent(url.pathname.split("/resolve/")[1]?.split("/").slice(1).join("/") ?? url.pathname)} at revision ${revision}`
          : `repository ${repo} (revision ${revision}) not found on ${settings.endpoint}: check the id (org/name)${settings.token === undefined ? "; if it is private, set HF_TOKEN" : ""}`;
    return new HubError("not-found", message, { status });
  }
  return new HubError("http", `the hub answered ${status} ${response.statusText} for ${url.href}${detail ? `: ${detail}` : ""}`, { status });
}

/** The hub's own words: its JSON `error` field, or the start of a text body. */
async function responseDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  const header = response.headers.get("x-error-message");
  if (header) return header;
  try {
    const json = JSON.parse(text) as { error?: unknown };
    if (typeof json.error === "string") return json.error;
  } catch {
    // Not JSON: fall through to the text.
  }
  return text.trim().slice(0, 200);
}
