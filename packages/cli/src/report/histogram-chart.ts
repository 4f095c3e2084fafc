import { formatCount, formatTick, formatValue } from "./format-number.js";
import type { Histogram } from "./histogram.js";
import { createLinearScale, createLogScale, type Scale } from "./scale.js";
import { COLORS, bottomAxis, countTicks, esc, leftAxis, px, svgElement, type PlotArea } from "./svg.js";

const WIDTH = 560;
const HEIGHT = 300;
const AREA: PlotArea = { left: 64, top: 24, width: WIDTH - 64 - 20, height: HEIGHT - 24 - 52 };

/** What {@link histogramSvg} draws besides the bars. */
export interface HistogramChartOptions {
  /** Metric name, used in the title, axis label and element id. */
  readonly metric: string;
  /** Marked with a dark dashed line, labelled "median". */
  readonly median?: number;
  /** A reference value marked with a red dashed line where it falls inside the axis (1 for IFD, r-IFD). */
  readonly reference?: number;
  /** An interval the x axis must cover, e.g. [-1, 1] for the sign-mode one-shot validity. */
  readonly domainHint?: readonly [number, number];
}

/**
 * An SVG histogram. Binned histograms draw one bar per bin (an empty bin is a gap), distinct-value
 * histograms one narrow bar per value with its count on top. Every bar has a tooltip with its
 * interval or value and count. A log axis is labelled `(log scale)`.
 */
export function histogramSvg(histogram: Histogram, options: HistogramChartOptions): string {
  const x = xScale(histogram, options.domainHint);
  const maxCount = Math.max(1, ...histogram.counts);
  const yTicks = countTicks(maxCount);
  const y = createLinearScale([0, yTicks[yTicks.length - 1]], [AREA.top + AREA.height, AREA.top]);
  const parts: string[] = [leftAxis(y, AREA, { label: "samples", ticks: yTicks, format: (v) => formatCount(v), grid: true })];

  const bars: string[] = [];
  const labels: string[] = [];
  if (histogram.kind === "bins") {
    for (let i = 0; i < histogram.counts.length; i++) {
      const count = histogram.counts[i];
      if (count === 0) continue;
      const [from, to] = [histogram.edges[i], histogram.edges[i + 1]];
      const left = x.map(from);
      const width = Math.max(1, x.map(to) - left - 1);
      const close = i === histogram.counts.length - 1 ? "]" : ")";
      const tip = `[${formatValue(from)}, ${formatValue(to)}${close}: ${formatCount(count)} sample${count === 1 ? "" : "s"}`;
      bars.push(`<rect x="${px(left + 0.5)}" y="${px(y.map(count))}" width="${px(width)}" height="${px(y.map(0) - y.map(count))}" fill="${COLORS.bar}"><title>${esc(tip)}</title></rect>`);
    }
  } else {
    const centres = histogram.values.map((v) => x.map(v));
    let gap = AREA.width;
    for (let i = 1; i < centres.length; i++) gap = Math.min(gap, centres[i] - centres[i - 1]);
    const width = Math.max(4, Math.min(28, gap * 0.7));
    histogram.values.forEach((value, i) => {
      const count = histogram.counts[i];
      const top = y.map(count);
      const tip = `${formatValue(value)}: ${formatCount(count)} sample${count === 1 ? "" : "s"}`;
      bars.push(`<rect x="${px(centres[i] - width / 2)}" y="${px(top)}" width="${px(width)}" height="${px(y.map(0) - top)}" fill="${COLORS.bar}"><title>${esc(tip)}</title></rect>`);
      labels.push(`<text x="${px(centres[i])}" y="${px(top - 5)}" text-anchor="middle" fill="${COLORS.ink}" stroke="#fff" stroke-width="3" paint-order="stroke">${formatCount(count)}</text>`);
    });
  }
  parts.push(`<g class="bars">${bars.join("")}</g>`);
  if (options.reference !== undefined) parts.push(markerLine(x, options.reference, `${formatTick(options.reference)}`, COLORS.reference, "start"));
  if (options.median !== undefined) parts.push(markerLine(x, options.median, "median", COLORS.median, "end"));
  // Counts go over the marker lines, haloed, so a median on a bar does not strike its count through.
  if (labels.length > 0) parts.push(`<g class="counts">${labels.join("")}</g>`);
  const scaleNote = histogram.axis === "log" ? " (log scale)" : "";
  parts.push(bottomAxis(x, AREA, { label: `${options.metric}${scaleNote}`, ticks: x.ticks(6) }));

  const description =
    histogram.kind === "bins"
      ? `${formatCount(histogram.total)} values in ${histogram.counts.length} bins from ${formatValue(histogram.edges[0])} to ${formatValue(histogram.edges[histogram.edges.length - 1])}${scaleNote}.`
      : `${formatCount(histogram.total)} values, ${histogram.values.length} distinct: ${histogram.values.map((v, i) => `${formatValue(v)} ×${histogram.counts[i]}`).join(", ")}.`;
  return svgElement({ id: `chart-histogram-${options.metric}`, width: WIDTH, height: HEIGHT, title: `Distribution of ${options.metric}`, description, body: parts.join("") });
}

/** The x scale: the bins' extent, or the distinct values padded so no bar sits on the frame. */
function xScale(histogram: Histogram, hint: readonly [number, number] | undefined): Scale {
  const range = [AREA.left, AREA.left + AREA.width] as const;
  let [low, high] = histogram.kind === "bins" ? [histogram.edges[0], histogram.edges[histogram.edges.length - 1]] : distinctExtent(histogram.values);
  if (hint !== undefined) [low, high] = [Math.min(low, hint[0]), Math.max(high, hint[1])];
  if (histogram.axis === "log") {
    if (histogram.kind === "distinct" || hint !== undefined) {
      const padDecades = high === low ? 0.5 : Math.max(0.15, 0.08 * Math.log10(high / low));
      [low, high] = [low / 10 ** padDecades, high * 10 ** padDecades];
    }
    return createLogScale([low, high], range);
  }
  if (histogram.kind === "distinct" || hint !== undefined) {
    const pad = high === low ? Math.abs(low) * 0.5 || 1 : 0.08 * (high - low);
    [low, high] = [low - pad, high + pad];
  }
  return createLinearScale([low, high], range);
}

function distinctExtent(values: readonly number[]): [number, number] {
  return values.length === 0 ? [0, 1] : [values[0], values[values.length - 1]];
}

/** A dashed vertical line with a label at the top, drawn only when the value is on the axis. */
function markerLine(x: Scale, value: number, label: string, color: string, anchor: "start" | "end"): string {
  const [low, high] = x.domain;
  if (!(value >= low && value <= high)) return "";
  const at = x.map(value);
  const dx = anchor === "start" ? 4 : -4;
  return (
    `<g class="marker"><path d="M${px(at)} ${px(AREA.top)}V${px(AREA.top + AREA.height)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3" fill="none"/>` +
    `<text x="${px(at + dx)}" y="${px(AREA.top - 8)}" text-anchor="${anchor}" fill="${color}">${esc(label)}</text></g>`
  );
}
