/**
 * Escapes text for an HTML text node or a quoted attribute value: `&`, `<`, `>`, `"` and `'` become
 * character references, so text from a dataset (`</script><img onerror=…>`) renders as text and can
 * never close an element or an attribute. Everything else, Chinese and emoji included, is kept as is
 * (the page declares UTF-8).
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * The first `maxChars` characters of `text`, counted in code points so that an emoji or another
 * character outside the Basic Multilingual Plane is never cut in half; `cut` says whether anything
 * was left off.
 */
export function truncateText(text: string, maxChars: number): { readonly text: string; readonly cut: boolean } {
  // Fast path: UTF-16 length bounds the code point count from above.
  if (text.length <= maxChars) return { text, cut: false };
  const points = Array.from(text);
  if (points.length <= maxChars) return { text, cut: false };
  return { text: points.slice(0, maxChars).join(""), cut: true };
}
