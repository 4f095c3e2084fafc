import { truncateText } from "./escape-html.js";
import { formatCount, formatValue } from "./format-number.js";
import { median } from "./quantiles.js";
import { createLinearScale } from "./scale.js";
import { COLORS, bottomAxis, esc, px, svgElement, type PlotArea } from "./svg.js";

/** One task's one-shot validity values (nulls left out) and how many of its samples were null. */
export interface TaskValues {
  readonly task: string;
  /** Non-null values with the sample index each belongs to (the index seeds a point's jitter). */
  readonly values: readonly number[];
  readonly indices: readonly number[];
  readonly nulls: number;
}

const WIDTH = 640;
const LABEL_WIDTH = 150;
const ROW_HEIGHT = 24;
const LEGEND_HEIGHT = 34;
const AXIS_HEIGHT = 50;

/**
 * One-shot validity per task, one row per task. When the values take few distinct values (the default
 * `sign` mode gives multiples of 1/K) each row is a 100% stacked bar of their shares, red for negative
 * (the example made the partners' responses less likely), grey for 0, blue for positive; otherwise a
 * strip of points (one per sample, jittered vertically) with the median marked.
 */
export function taskValiditySvg(tasks: readonly TaskValues[], distinct: readonly number[] | undefined): string {
  const height = LEGEND_HEIGHT + tasks.length * ROW_HEIGHT + AXIS_HEIGHT;
  const area: PlotArea = { left: LABEL_WIDTH, top: LEGEND_HEIGHT, width: WIDTH - LABEL_WIDTH - 56, height: tasks.length * ROW_HEIGHT };
  const parts: string[] = [];
  tasks.forEach((task, row) => {
    const cy = area.top + row * ROW_HEIGHT + ROW_HEIGHT / 2;
    const label = truncateText(task.task, 20);
    parts.push(`<text x="${px(LABEL_WIDTH - 8)}" y="${px(cy + 4)}" text-anchor="end" fill="${COLORS.ink}">${esc(label.text)}${label.cut ? "…" : ""}<title>${esc(task.task)}</title></text>`);
    parts.push(`<text x="${px(area.left + area.width + 8)}" y="${px(cy + 4)}" fill="${COLORS.muted}">n=${formatCount(task.values.length)}</text>`);
    if (task.values.length === 0) {
      parts.push(`<text x="${px(area.left + 4)}" y="${px(cy + 4)}" fill="${COLORS.muted}" font-style="italic">no values (${formatCount(task.nulls)} null)</text>`);
    }
  });
  const discrete = distinct !== undefined && distinct.length > 0;
  const body = discrete ? stackedBars(tasks, distinct, area, parts) : strips(tasks, area, parts);
  const description = discrete
    ? `Share of each one-shot validity value per task, for ${tasks.length} task${tasks.length === 1 ? "" : "s"}.`
    : `One-shot validity of each sample by task, with each task's median, for ${tasks.length} task${tasks.length === 1 ? "" : "s"}.`;
  return svgElement({ id: "chart-oneshot-validity-by-task", width: WIDTH, height, title: "One-shot validity by task", description, body });
}

function stackedBars(tasks: readonly TaskValues[], distinct: readonly number[], area: PlotArea, parts: string[]): string {
  const maxAbs = Math.max(...distinct.map(Math.abs));
  const x = createLinearScale([0, 1], [area.left, area.left + area.width]);
  tasks.forEach((task, row) => {
    if (task.values.length === 0) return;
    const top = area.top + row * ROW_HEIGHT + 5;
    let start = 0;
    for (const value of distinct) {
      const count = task.values.filter((v) => v === value).length;
      if (count === 0) continue;
      const share = count / task.values.length;
      const tip = `${task.task}: ${formatValue(value)} ×${count} (${Math.round(share * 100)}%)`;
      parts.push(`<rect x="${px(x.map(start))}" y="${px(top)}" width="${px(x.map(start + share) - x.map(start))}" height="${ROW_HEIGHT - 10}" fill="${divergingColor(value, maxAbs)}" stroke="#fff"><title>${esc(tip)}</title></rect>`);
      start += share;
    }
  });
  // Legend: one swatch per value, left to right.
  let lx = area.left;
  for (const value of distinct) {
    const label = formatValue(value);
    parts.push(`<rect x="${px(lx)}" y="8" width="12" height="12" fill="${divergingColor(value, maxAbs)}"/><text x="${px(lx + 16)}" y="18" fill="${COLORS.ink}">${esc(label)}</text>`);
    lx += 28 + label.length * 7;
  }
  parts.push(bottomAxis(x, area, { label: "share of the task's samples", ticks: [0, 0.25, 0.5, 0.75, 1], format: (v) => `${Math.round(v * 100)}%` }));
  return parts.join("");
}

function strips(tasks: readonly TaskValues[], area: PlotArea, parts: string[]): string {
  const all = tasks.flatMap((t) => t.values);
  let [low, high] = all.length === 0 ? [-1, 1] : [Math.min(...all), Math.max(...all)];
  const pad = high === low ? Math.abs(low) * 0.5 || 1 : 0.05 * (high - low);
  [low, high] = [low - pad, high + pad];
  const x = createLinearScale([low, high], [area.left, area.left + area.width]);
  tasks.forEach((task, row) => {
    const cy = area.top + row * ROW_HEIGHT + ROW_HEIGHT / 2;
    task.values.forEach((value, i) => {
      const jitter = ((Math.imul(task.indices[i], 0x9e3779b1) >>> 0) % 9) - 4;
      parts.push(`<circle cx="${px(x.map(value))}" cy="${px(cy + jitter * 1.5)}" r="3" fill="${COLORS.point}" fill-opacity="0.55"><title>${esc(`#${task.indices[i]}: ${formatValue(value)}`)}</title></circle>`);
    });
    const middle = median(task.values);
    if (middle !== undefined) parts.push(`<path d="M${px(x.map(middle))} ${px(cy - 8)}V${px(cy + 8)}" stroke="${COLORS.median}" stroke-width="2.5"><title>${esc(`median ${formatValue(middle)}`)}</title></path>`);
  });
  if (low < 0 && high > 0) parts.push(`<path d="M${px(x.map(0))} ${px(area.top)}V${px(area.top + area.height)}" stroke="${COLORS.axis}" stroke-dasharray="3 3"/>`);
  parts.push(`<text x="${px(area.left)}" y="20" fill="${COLORS.muted}">one point per sample; bar = median</text>`);
  parts.push(bottomAxis(x, area, { label: "oneshot_validity" }));
  return parts.join("");
}

/**
 * Colour of a validity value on a diverging red–grey–blue ramp: negative values red, 0 grey, positive
 * blue, deeper the larger `|value| / maxAbs`.
 */
export function divergingColor(value: number, maxAbs: number): string {
  if (value === 0 || maxAbs === 0) return "#d1d5db";
  const t = Math.min(1, Math.abs(value) / maxAbs);
  const [from, to] = value < 0 ? [[254, 202, 202], [185, 28, 28]] : [[191, 219, 254], [29, 78, 216]];
  const channel = (i: number) => Math.round(from[i] + (to[i] - from[i]) * t).toString(16).padStart(2, "0");
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}
