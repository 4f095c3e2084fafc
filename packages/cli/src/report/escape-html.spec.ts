import { describe, expect, it } from "vitest";
import { escapeHtml, truncateText } from "./escape-html.js";

describe("escapeHtml", () => {
  it("turns the five markup characters into references and keeps everything else", () => {
    expect(escapeHtml(`a & b < c > d "e" 'f'`)).toBe("a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;");
    expect(escapeHtml("分类以下句子的情感 🦖 {input}")).toBe("分类以下句子的情感 🦖 {input}");
  });

  it("leaves no tag or attribute break in a script-injection payload", () => {
    const escaped = escapeHtml(`</script><img src=x onerror="window.__xss=1">`);
    expect(escaped).toBe("&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;");
    expect(escaped).not.toMatch(/[<>"]/);
  });

  it("escapes an ampersand once, so existing references stay visible as text", () => {
    expect(escapeHtml("&lt;")).toBe("&amp;lt;");
  });
});

describe("truncateText", () => {
  it("keeps text that fits", () => {
    expect(truncateText("abc", 3)).toEqual({ text: "abc", cut: false });
  });

  it("cuts at a code point count, never inside a surrogate pair", () => {
    // 🐠 and 🦖 are two UTF-16 units each: 5 units, 3 code points.
    expect(truncateText("🐠a🦖", 3)).toEqual({ text: "🐠a🦖", cut: false });
    expect(truncateText("🐠a🦖", 2)).toEqual({ text: "🐠a", cut: true });
    expect(truncateText("情感分析", 2)).toEqual({ text: "情感", cut: true });
  });
});
