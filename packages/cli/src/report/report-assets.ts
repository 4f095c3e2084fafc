import { createHash } from "node:crypto";

/**
 * The page's stylesheet. System fonts only (nothing is fetched): a sans-serif stack with CJK fallbacks
 * so Chinese text renders with a matching face where one is installed.
 */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f3f4f6; --bg: #f9fafb; --accent: #2563eb; --good: #15803d; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
header.page { background: var(--bg); border-bottom: 1px solid var(--line); padding: 26px 0 18px; }
header.page .kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .06em; text-transform: uppercase; }
h1 { font-size: 28px; line-height: 1.25; margin: 4px 0 16px; }
h2 { font-size: 21px; margin: 44px 0 14px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 28px 0 10px; }
p { margin: 8px 0; max-width: 78ch; }
a { color: var(--accent); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .9em; background: var(--soft); padding: 1px 5px; border-radius: 4px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 5px 18px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav.toc { margin-top: 14px; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 14px; }
.note { color: var(--muted); font-size: 13.5px; }
.table-scroll { overflow-x: auto; margin: 10px 0; }
table { border-collapse: collapse; font-size: 13.5px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--bg); font-weight: 600; white-space: nowrap; border-bottom: 1px solid #d1d5db; }
tbody tr:hover { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.null { color: #9ca3af; }
table[data-table="tasks"] thead th { white-space: normal; vertical-align: bottom; }
table[data-table="tasks"] td.task { white-space: nowrap; }
th button { font: inherit; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button::after { content: " ↕"; color: #9ca3af; font-size: 11px; }
th[aria-sort="ascending"] button::after { content: " ↑"; color: var(--ink); }
th[aria-sort="descending"] button::after { content: " ↓"; color: var(--ink); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 22px; margin-top: 18px; }
figure.chart-figure { margin: 0; padding: 14px 14px 10px; border: 1px solid var(--line); border-radius: 10px; background: #fff; }
figure.chart-figure svg { display: block; width: 100%; height: auto; }
figure.chart-figure svg text { font-family: inherit; }
figcaption { font-size: 13.5px; color: #374151; margin-top: 8px; }
figcaption .note { display: block; margin-top: 2px; }
.wide { max-width: 760px; }
.pair { display: flex; flex-wrap: wrap; gap: 22px; align-items: flex-start; }
.pair > figure { flex: 1 1 560px; max-width: 760px; }
.pair > .side { flex: 0 1 340px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 999px; background: var(--soft); font-size: 12px; color: #374151; white-space: nowrap; }
.good { color: var(--good); font-weight: 600; }
table.samples { width: 100%; }
table.samples td.sample { white-space: nowrap; }
table.samples td.values { white-space: nowrap; font-size: 12.5px; }
table.samples td.values .ranked { font-weight: 700; }
table.samples td.text { min-width: 420px; }
.field + .field { margin-top: 6px; }
.field-name { display: block; font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.field-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.field-text.empty { color: #9ca3af; font-style: italic; }
details.long summary { cursor: pointer; list-style: none; }
details.long summary::-webkit-details-marker { display: none; }
details.long summary .more { color: var(--accent); font-size: 12.5px; margin-left: 4px; white-space: nowrap; }
details.long[open] summary .preview { display: none; }
details.long[open] summary .more::before { content: "show less"; }
details.long:not([open]) summary .more::before { content: "show all"; }
footer.page { margin: 56px 0 0; padding: 18px 0 28px; border-top: 1px solid var(--line); color: var(--muted); font-size: 13px; }
@media print { .charts { grid-template-columns: 1fr 1fr; } figure.chart-figure { break-inside: avoid; } }
`.trim();

/**
 * Makes tables with class `sortable` sortable by clicking a column header: numeric cells sort by
 * their `data-v` value (empty = null, always last), others by text. The page works without it.
 * It reads only the page's own DOM; no data is embedded in the script.
 */
export const REPORT_SCRIPT = `
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v === null) return cell.textContent.trim().toLowerCase();
    return v === "" ? null : Number(v);
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
`.trim();

/**
 * The page's Content-Security-Policy: nothing may be loaded from anywhere (`default-src 'none'`), and
 * only this exact stylesheet and script may run (by hash). It keeps the report offline by construction
 * and is a second line of defence should any data ever escape escaping.
 */
export function contentSecurityPolicy(css: string, script: string): string {
  const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
  return `default-src 'none'; style-src ${hash(css)}; script-src ${hash(script)}; img-src data:; base-uri 'none'; form-action 'none'`;
}
