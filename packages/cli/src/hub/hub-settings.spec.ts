import { homedir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatHubModelRef, parseHubModelId } from "./hub-model-id.js";
import { hubSettings } from "./hub-settings.js";

describe("hubSettings", () => {
  it("defaults like huggingface_hub: huggingface.co, ~/.cache/huggingface/hub, online, no token", () => {
    expect(hubSettings({})).toEqual({ endpoint: "https://huggingface.co", offline: false, cacheDir: path.join(homedir(), ".cache", "huggingface", "hub") });
  });

  it("reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and HF_HOME", () => {
    const settings = hubSettings({ HF_ENDPOINT: "https://mirror.example/", HF_TOKEN: "hf_x", HF_HUB_OFFLINE: "YES", HF_HOME: "/data/hf" });
    expect(settings).toEqual({ endpoint: "https://mirror.example", token: "hf_x", offline: true, cacheDir: "/data/hf/hub" });
  });

  it("takes the cache from --cache-dir, then HF_HUB_CACHE, then HF_HOME, then XDG_CACHE_HOME", () => {
    const env = { HF_HUB_CACHE: "/a", HF_HOME: "/b", XDG_CACHE_HOME: "/c" };
    expect(hubSettings(env, { cacheDir: "/z" }).cacheDir).toBe("/z");
    expect(hubSettings(env).cacheDir).toBe("/a");
    expect(hubSettings({ HF_HOME: "/b", XDG_CACHE_HOME: "/c" }).cacheDir).toBe("/b/hub");
    expect(hubSettings({ XDG_CACHE_HOME: "/c" }).cacheDir).toBe("/c/huggingface/hub");
  });

  it("treats 0, false and empty HF_HUB_OFFLINE as online", () => {
    for (const value of ["0", "false", "", "no"]) expect(hubSettings({ HF_HUB_OFFLINE: value }).offline).toBe(false);
  });
});

describe("parseHubModelId", () => {
  it("reads org/name and org/name@revision", () => {
    expect(parseHubModelId("Qwen/Qwen2.5-0.5B-Instruct")).toEqual({ repo: "Qwen/Qwen2.5-0.5B-Instruct", revision: "main" });
    expect(parseHubModelId("onnx-community/SmolLM2-135M@refs/pr/3")).toEqual({ repo: "onnx-community/SmolLM2-135M", revision: "refs/pr/3" });
    expect(formatHubModelRef({ repo: "a/b", revision: "main" })).toBe("a/b");
    expect(formatHubModelRef({ repo: "a/b", revision: "v1" })).toBe("a/b@v1");
  });

  it("leaves paths and malformed ids alone", () => {
    for (const spec of ["./models/tiny", "models/tiny", "gpt2", "a/b/c", "/abs/path", "a/b@", "a/-b", "a/b..c", "a/b--c", "a/b@x y", "a/b@../x"]) {
      expect(parseHubModelId(spec), spec).toBeUndefined();
    }
  });
});
