import { formatCount, formatValue } from "./format-number.js";
import { createLogScale } from "./scale.js";
import { COLORS, bottomAxis, esc, leftAxis, px, svgElement, type PlotArea } from "./svg.js";

const WIDTH = 640;
const HEIGHT = 470;
const AREA: PlotArea = { left: 72, top: 28, width: WIDTH - 72 - 24, height: HEIGHT - 28 - 58 };

/** At most this many points are drawn; beyond it an evenly spaced subset, and the caption says so. */
export const MAX_SCATTER_POINTS = 5000;

/** One sample's IFD and r-IFD (both non-null). */
export interface ScatterPoint {
  readonly index: number;
  readonly id?: string;
  readonly ifd: number;
  readonly rifd: number;
}

/**
 * How many points fall in each quadrant around IFD = 1 and r-IFD = 1. A value of exactly 1 counts as
 * "≥ 1": the `reflection` selection keeps IFD < 1 and r-IFD < 1, strictly.
 */
export interface QuadrantCounts {
  /** IFD < 1 and r-IFD < 1: the `reflection` preset's region. */
  readonly bothBelow: number;
  /** IFD < 1, r-IFD ≥ 1. */
  readonly ifdBelow: number;
  /** IFD ≥ 1, r-IFD < 1. */
  readonly rifdBelow: number;
  /** IFD ≥ 1 and r-IFD ≥ 1. */
  readonly neitherBelow: number;
}

/** Counts points per quadrant (see {@link QuadrantCounts}). */
export function quadrantCounts(points: readonly ScatterPoint[]): QuadrantCounts {
  let bothBelow = 0;
  let ifdBelow = 0;
  let rifdBelow = 0;
  let neitherBelow = 0;
  for (const { ifd, rifd } of points) {
    if (ifd < 1 && rifd < 1) bothBelow++;
    else if (ifd < 1) ifdBelow++;
    else if (rifd < 1) rifdBelow++;
    else neitherBelow++;
  }
  return { bothBelow, ifdBelow, rifdBelow, neitherBelow };
}

/**
 * A log axis domain for positive values that always contains 1 (so the IFD = 1 and r-IFD = 1 lines
 * show) with 5% padding in log space on each side; half a decade each side when everything is 1.
 */
export function logDomainAround1(values: readonly number[]): [number, number] {
  let low = 1;
  let high = 1;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const decades = Math.log10(high / low);
  const pad = decades === 0 ? 0.5 : 0.05 * decades;
  return [low / 10 ** pad, high * 10 ** pad];
}

/** Positions of `max` evenly spaced items among `n` (all of them when `n ≤ max`), ascending. */
export function evenlySpaced(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.floor((i * n) / max));
}

/**
 * The IFD (x) against r-IFD (y) scatter on log–log axes: the region IFD < 1 and r-IFD < 1 shaded and
 * its points drawn green, dashed lines at IFD = 1 and r-IFD = 1, each quadrant's count in its corner,
 * and a tooltip per point (`#index id: IFD …, r-IFD …`). Points must be positive.
 */
export function scatterSvg(points: readonly ScatterPoint[]): string {
  const x = createLogScale(logDomainAround1(points.map((p) => p.ifd)), [AREA.left, AREA.left + AREA.width]);
  const y = createLogScale(logDomainAround1(points.map((p) => p.rifd)), [AREA.top + AREA.height, AREA.top]);
  const [x1, y1] = [x.map(1), y.map(1)];
  const right = AREA.left + AREA.width;
  const bottom = AREA.top + AREA.height;
  const counts = quadrantCounts(points);
  const parts: string[] = [];

  parts.push(`<rect class="region" x="${px(AREA.left)}" y="${px(y1)}" width="${px(x1 - AREA.left)}" height="${px(bottom - y1)}" fill="${COLORS.highlightFill}"><title>reflection region: IFD &lt; 1 and r-IFD &lt; 1</title></rect>`);
  parts.push(leftAxis(y, AREA, { label: "r-IFD (log scale)", ticks: y.ticks(6), grid: true }));
  parts.push(bottomAxis(x, AREA, { label: "IFD (log scale)", ticks: x.ticks(7), grid: true }));
  parts.push(
    `<path class="unit-lines" d="M${px(x1)} ${px(AREA.top)}V${px(bottom)}M${px(AREA.left)} ${px(y1)}H${px(right)}" stroke="${COLORS.reference}" stroke-width="1.5" stroke-dasharray="5 4" fill="none"/>`,
    `<text x="${px(x1 + 4)}" y="${px(AREA.top - 10)}" fill="${COLORS.reference}">IFD = 1</text>`,
  );

  const dots: string[] = [];
  const radius = points.length > 1000 ? 2.5 : 3.5;
  for (const at of evenlySpaced(points.length, MAX_SCATTER_POINTS)) {
    const p = points[at];
    const inside = p.ifd < 1 && p.rifd < 1;
    const tip = `#${p.index}${p.id === undefined ? "" : ` ${p.id}`}: IFD ${formatValue(p.ifd)}, r-IFD ${formatValue(p.rifd)}`;
    dots.push(`<circle cx="${px(x.map(p.ifd))}" cy="${px(y.map(p.rifd))}" r="${radius}" fill="${inside ? COLORS.highlight : COLORS.point}" fill-opacity="0.65"><title>${esc(tip)}</title></circle>`);
  }
  parts.push(`<g class="points">${dots.join("")}</g>`);
  // Labels go over the points, with a white halo so they stay legible in a dense cloud.
  const halo = `stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`;
  parts.push(`<text x="${px(right - 4)}" y="${px(y1 - 6)}" text-anchor="end" fill="${COLORS.reference}" ${halo}>r-IFD = 1</text>`);

  const corner = (text: string, cx: number, cy: number, anchor: "start" | "end", color: string) =>
    `<text class="quadrant" x="${px(cx)}" y="${px(cy)}" text-anchor="${anchor}" fill="${color}" font-weight="600" ${halo}>${esc(text)}</text>`;
  parts.push(
    corner(`reflection: ${formatCount(counts.bothBelow)}`, AREA.left + 6, bottom - 8, "start", COLORS.highlight),
    corner(formatCount(counts.ifdBelow), AREA.left + 6, AREA.top + 16, "start", COLORS.muted),
    corner(formatCount(counts.rifdBelow), right - 6, bottom - 8, "end", COLORS.muted),
    corner(formatCount(counts.neitherBelow), right - 6, AREA.top + 16, "end", COLORS.muted),
  );

  const description =
    `${formatCount(points.length)} samples. IFD < 1 and r-IFD < 1: ${counts.bothBelow}; IFD < 1, r-IFD ≥ 1: ${counts.ifdBelow}; ` +
    `IFD ≥ 1, r-IFD < 1: ${counts.rifdBelow}; both ≥ 1: ${counts.neitherBelow}.`;
  return svgElement({ id: "chart-ifd-rifd", width: WIDTH, height: HEIGHT, title: "IFD against r-IFD", description, body: parts.join("") });
}
