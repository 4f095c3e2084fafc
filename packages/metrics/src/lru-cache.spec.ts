import { describe, expect, it } from "vitest";
import { createLruCache } from "./lru-cache.js";

describe("LRU cache", () => {
  it("evicts the least recently used entries beyond its budget", () => {
    const cache = createLruCache<string, number>({ maxWeight: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    expect(cache.size).toBe(2);
  });

  it("weighs entries and skips one heavier than the whole budget", () => {
    const cache = createLruCache<string, string>({ maxWeight: 10, weigh: (_, v) => v.length });
    cache.set("a", "12345");
    cache.set("b", "123456");
    expect(cache.get("a")).toBeUndefined();
    expect(cache.weight).toBe(6);
    cache.set("huge", "x".repeat(11));
    expect(cache.get("huge")).toBeUndefined();
    cache.set("b", "1");
    expect(cache.weight).toBe(1);
  });

  it("stores nothing with a zero budget", () => {
    const cache = createLruCache<string, number>({ maxWeight: 0 });
    cache.set("a", 1);
    expect(cache.size).toBe(0);
  });
});
