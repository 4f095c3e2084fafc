import { homedir } from "node:os";
import path from "node:path";

/** Where the Hugging Face Hub lives unless `HF_ENDPOINT` says otherwise. */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** How to reach the hub and where its cache is, read from the environment like `huggingface_hub` does. */
export interface HubSettings {
  /** Base URL, without a trailing slash: `HF_ENDPOINT`, default {@link DEFAULT_HUB_ENDPOINT}. */
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer` to {@link endpoint} only: `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`). */
  readonly token?: string;
  /** `HF_HUB_OFFLINE` is `1`/`true`/`yes`/`on`: never contact the hub, use the cache only. */
  readonly offline: boolean;
  /**
   * The hub cache (`models--org--name/{blobs,refs,snapshots}` inside): the `cacheDir` override, else
   * `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
   * `~/.cache/huggingface/hub`.
   */
  readonly cacheDir: string;
}

/**
 * Reads {@link HubSettings} from `env` (pass `process.env` at the edge; tests pass their own).
 *
 * @example
 * const settings = hubSettings(process.env);
 * // { endpoint: "https://huggingface.co", offline: false, cacheDir: "/home/me/.cache/huggingface/hub" }
 */
export function hubSettings(env: NodeJS.ProcessEnv, overrides: { cacheDir?: string } = {}): HubSettings {
  const endpoint = (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
  const token = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  const home = nonEmpty(env.HF_HOME) ?? path.join(nonEmpty(env.XDG_CACHE_HOME) ?? path.join(homedir(), ".cache"), "huggingface");
  const cacheDir = nonEmpty(overrides.cacheDir) ?? nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? path.join(home, "hub");
  return {
    endpoint,
    ...(token === undefined ? {} : { token }),
    offline: isTrue(env.HF_HUB_OFFLINE),
    cacheDir: path.resolve(expandHome(cacheDir)),
  };
}

/** `huggingface_hub`'s reading of boolean variables: `1`, `true`, `yes`, `on`, any case. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function expandHome(dir: string): string {
  return dir === "~" || dir.startsWith("~/") ? path.join(homedir(), dir.slice(1)) : dir;
}
