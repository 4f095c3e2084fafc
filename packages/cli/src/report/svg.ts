import { escapeHtml } from "./escape-html.js";
import { formatTick } from "./format-number.js";
import type { Scale } from "./scale.js";

/** Colours of the charts, shared so every figure reads the same way. */
export const COLORS = {
  ink: "#1f2937",
  muted: "#6b7280",
  axis: "#9ca3af",
  grid: "#e5e7eb",
  bar: "#3b82f6",
  point: "#2563eb",
  highlight: "#15803d",
  highlightFill: "#dcfce7",
  reference: "#b91c1c",
  median: "#111827",
} as const;

/** The drawing area inside a chart's margins, in pixels. */
export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** A pixel coordinate as SVG text: rounded to 0.1 px (keeps files small and output byte-stable). */
export function px(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/** Escapes text for SVG content or a quoted attribute (SVG inside HTML follows HTML's escaping). */
export const esc = escapeHtml;

/**
 * A complete `<svg>` element: fixed `viewBox` (CSS scales it to the page width), `role="img"`, and a
 * `<title>` and `<desc>` that name it for screen readers and show as its tooltip.
 */
export function svgElement(options: { id: string; width: number; height: number; title: string; description: string; body: string }): string {
  const { id, width, height, title, description, body } = options;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `role="img" aria-labelledby="${esc(id)}-title ${esc(id)}-desc" font-size="13">` +
    `<title id="${esc(id)}-title">${esc(title)}</title><desc id="${esc(id)}-desc">${esc(description)}</desc>${body}</svg>`
  );
}

/**
 * A `<figure>` holding one chart, with a `data-chart` name (stable, used by tests and for linking) and
 * a caption; `captionHtml` must already be escaped.
 */
export function figureElement(chart: string, svg: string, captionHtml: string): string {
  return `<figure class="chart-figure" data-chart="${esc(chart)}">${svg}<figcaption>${captionHtml}</figcaption></figure>`;
}

/** Options of {@link bottomAxis} and {@link leftAxis}. */
export interface AxisOptions {
  /** Axis title, e.g. `response_ppl (log scale)`. */
  readonly label: string;
  readonly ticks?: readonly number[];
  readonly format?: (value: number) => string;
  /** Draw light grid lines across the plot at each tick. */
  readonly grid?: boolean;
}

/** An x axis along the bottom of `area`: line, ticks, tick labels and a centred title. */
export function bottomAxis(scale: Scale, area: PlotArea, options: AxisOptions): string {
  const ticks = options.ticks ?? scale.ticks(6);
  const format = options.format ?? formatTick;
  const y = area.top + area.height;
  const parts: string[] = [];
  if (options.grid) {
    parts.push(`<path d="${ticks.map((t) => `M${px(scale.map(t))} ${px(area.top)}V${px(y)}`).join("")}" stroke="${COLORS.grid}" fill="none"/>`);
  }
  const tickPath = ticks.map((t) => `M${px(scale.map(t))} ${px(y)}v5`).join("");
  parts.push(`<path class="axis" d="M${px(area.left)} ${px(y)}H${px(area.left + area.width)}${tickPath}" stroke="${COLORS.axis}" fill="none"/>`);
  for (const t of ticks) {
    parts.push(`<text x="${px(scale.map(t))}" y="${px(y + 18)}" text-anchor="middle" fill="${COLORS.muted}">${esc(format(t))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${px(area.left + area.width / 2)}" y="${px(y + 38)}" text-anchor="middle" fill="${COLORS.ink}">${esc(options.label)}</text>`);
  return `<g class="x-axis">${parts.join("")}</g>`;
}

/** A y axis along the left of `area`: line, ticks, tick labels and a rotated title. */
export function leftAxis(scale: Scale, area: PlotArea, options: AxisOptions): string {
  const ticks = options.ticks ?? scale.ticks(5);
  const format = options.format ?? formatTick;
  const x = area.left;
  const parts: string[] = [];
  if (options.grid) {
    parts.push(`<path d="${ticks.map((t) => `M${px(x)} ${px(scale.map(t))}H${px(x + area.width)}`).join("")}" stroke="${COLORS.grid}" fill="none"/>`);
  }
  const tickPath = ticks.map((t) => `M${px(x)} ${px(scale.map(t))}h-5`).join("");
  parts.push(`<path class="axis" d="M${px(x)} ${px(area.top)}V${px(area.top + area.height)}${tickPath}" stroke="${COLORS.axis}" fill="none"/>`);
  for (const t of ticks) {
    parts.push(`<text x="${px(x - 8)}" y="${px(scale.map(t) + 4)}" text-anchor="end" fill="${COLORS.muted}">${esc(format(t))}</text>`);
  }
  const cx = x - 44;
  const cy = area.top + area.height / 2;
  parts.push(`<text class="axis-label" x="${px(cx)}" y="${px(cy)}" transform="rotate(-90 ${px(cx)} ${px(cy)})" text-anchor="middle" fill="${COLORS.ink}">${esc(options.label)}</text>`);
  return `<g class="y-axis">${parts.join("")}</g>`;
}

/**
 * Integer ticks for a count axis: from 0 in a nice step up to the first tick at or above `max` (at
 * least `[0, 1]`); the last tick is the top of the axis.
 */
export function countTicks(max: number): number[] {
  if (max <= 1) return [0, 1];
  const step = Math.max(1, niceIntegerStep(max / 5));
  const ticks: number[] = [0];
  while (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function niceIntegerStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const error = rough / power;
  const factor = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1;
  return Math.round(factor * power);
}
