import type { MetricName } from "@sftscore/metrics";
import { escapeHtml as esc, truncateText } from "./escape-html.js";
import { formatValue } from "./format-number.js";
import type { ExtremeList, ReportModel, SampleText } from "./report-model.js";

/** Text longer than this many characters shows a preview and expands on click. */
export const PREVIEW_CHARS = 280;

/** Metric columns shown next to each ranked sample, when present. */
const SHOWN_METRICS: readonly MetricName[] = ["ifd", "rifd", "response_ppl", "output_ppl", "oneshot_validity"];

const METRIC_TITLES: Readonly<Record<string, string>> = { ifd: "IFD", response_ppl: "response perplexity" };

/** The top and bottom samples by each ranked metric, with their text. */
export function samplesSection(model: ReportModel): string {
  if (model.extremes.length === 0) return `<p class="note">The results have neither <code>ifd</code> nor <code>response_ppl</code>, so no samples are ranked.</p>`;
  const intro = model.hasText
    ? `<p>The ${model.top} highest and lowest samples by IFD and by response perplexity, with their text (HTML-escaped; long text expands on click). Nulls are not ranked; ties go to the earlier sample.</p>`
    : `<p class="note">Pass <code>--data</code> (the file these results were scored from) to show each sample's instruction, input and output.</p>`;
  return intro + model.extremes.map((list) => extremeTable(model, list)).join("");
}

function extremeTable(model: ReportModel, list: ExtremeList): string {
  const name = METRIC_TITLES[list.metric] ?? list.metric;
  const heading = `${list.direction === "highest" ? "Highest" : "Lowest"} ${name}`;
  const id = `samples-${list.metric}-${list.direction}`;
  if (list.entries.length === 0) return `<h3 id="${id}">${esc(heading)}</h3><p class="note">No sample has a non-null <code>${list.metric}</code>.</p>`;
  const shown = SHOWN_METRICS.filter((m) => model.metrics.includes(m));
  const rows = list.entries.map((entry) => {
    const values = entry.values
      .filter(([metric]) => shown.includes(metric))
      .map(([metric, value]) => `<div${metric === list.metric ? ' class="ranked"' : ""}>${esc(metric)} <span class="num">${value === null ? '<span class="null">null</span>' : esc(formatValue(value))}</span></div>`)
      .join("");
    const sample =
      `<div>#${entry.index}</div>` +
      (entry.id === undefined ? "" : `<div><code>${esc(entry.id)}</code></div>`) +
      (entry.task === undefined ? "" : `<div><span class="badge">${esc(entry.task)}</span></div>`);
    const text = entry.text === undefined ? `<span class="note">${model.hasText ? "text not found" : "—"}</span>` : sampleText(entry.text);
    return `<tr><td class="num">${entry.rank}</td><td class="sample">${sample}</td><td class="values">${values}</td><td class="text">${text}</td></tr>`;
  });
  return (
    `<h3 id="${id}">${esc(heading)} <span class="note">(${list.entries.length})</span></h3>` +
    `<div class="table-scroll"><table class="samples" data-table="${id}"><thead><tr><th class="num">rank</th><th>sample</th><th>values</th><th>text</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></div>`
  );
}

/** A sample's instruction, input and output, each escaped; an empty input is marked as empty. */
export function sampleText(text: SampleText): string {
  return (["instruction", "input", "output"] as const).map((field) => `<div class="field"><span class="field-name">${field}</span>${fieldText(text[field])}</div>`).join("");
}

/**
 * One text field, escaped, with line breaks kept (CSS `pre-wrap`). Longer than {@link PREVIEW_CHARS}
 * characters it becomes a `<details>`: the preview in the summary, the whole text when opened.
 * Han text gets `lang="zh"` so the browser picks Chinese glyph forms.
 */
export function fieldText(text: string): string {
  if (text === "") return `<div class="field-text empty">(empty)</div>`;
  const lang = HAN.test(text) && !KANA.test(text) ? ' lang="zh"' : "";
  const preview = truncateText(text, PREVIEW_CHARS);
  if (!preview.cut) return `<div class="field-text"${lang}>${esc(text)}</div>`;
  return (
    `<details class="long"><summary><span class="field-text preview"${lang}>${esc(preview.text)}…</span><span class="more"> (${Array.from(text).length.toLocaleString("en-US")} characters)</span></summary>` +
    `<div class="field-text full"${lang}>${esc(text)}</div></details>`
  );
}

const HAN = /\p{Script=Han}/u;
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
