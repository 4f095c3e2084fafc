/**
 * Position scales for the report's SVG charts: map a data value to a pixel coordinate, and choose
 * readable tick values. Pure and deterministic, so charts are byte-identical for the same data.
 */
export interface Scale {
  readonly kind: "linear" | "log";
  /** Data interval `[low, high]`; for a log scale both are > 0. */
  readonly domain: readonly [number, number];
  /** Pixel interval the domain maps to; may be reversed (`[bottom, top]` for a y axis). */
  readonly range: readonly [number, number];
  /** Pixel coordinate of a value; values outside the domain extrapolate. */
  map(value: number): number;
  /** Tick values inside the domain, ascending, about `target` of them. */
  ticks(target?: number): number[];
}

/**
 * A linear scale. A zero-width domain maps everything to the middle of the range.
 * @example createLinearScale([0, 4], [300, 100]).map(1) === 250
 */
export function createLinearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  return {
    kind: "linear",
    domain: [d0, d1],
    range: [r0, r1],
    map: (value) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((value - d0) / (d1 - d0)) * (r1 - r0)),
    ticks: (target = 5) => linearTicks(d0, d1, target),
  };
}

/**
 * A base-10 logarithmic scale: equal ratios get equal distances.
 * @example createLogScale([0.1, 10], [0, 200]).map(1) === 100
 * @throws RangeError when the domain is not positive.
 */
export function createLogScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  if (!(d0 > 0 && d1 > 0)) throw new RangeError(`a log scale needs a positive domain, got [${d0}, ${d1}]`);
  const [r0, r1] = range;
  const t0 = Math.log10(d0);
  const t1 = Math.log10(d1);
  return {
    kind: "log",
    domain: [d0, d1],
    range: [r0, r1],
    map: (value) => (t1 === t0 ? (r0 + r1) / 2 : r0 + ((Math.log10(value) - t0) / (t1 - t0)) * (r1 - r0)),
    ticks: (target = 5) => logTicks(d0, d1, target),
  };
}

/**
 * "Nice" linear ticks: multiples of 1, 2 or 5 × 10^k that fall inside `[low, high]`, about `target`
 * of them (the step rule of d3's `ticks`). Each tick is computed from an integer multiple, not by
 * repeated addition, and rounded to 12 significant digits, so `0.3` is `0.3`, not `0.30000000000000004`.
 */
export function linearTicks(low: number, high: number, target = 5): number[] {
  if (!(high > low) || target < 1) return Number.isFinite(low) ? [low] : [];
  const rough = (high - low) / target;
  const power = Math.floor(Math.log10(rough));
  const error = rough / 10 ** power;
  const factor = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1;
  const ticks: number[] = [];
  // Steps below 1 are applied as a division by their inverse, which is exact for 0.1, 0.2, 0.5 …
  if (power >= 0) {
    const step = factor * 10 ** power;
    for (let i = Math.ceil(low / step); i * step <= high; i++) ticks.push(round12(i * step));
  } else {
    const inverse = 10 ** -power / factor;
    for (let i = Math.ceil(low * inverse); i / inverse <= high; i++) ticks.push(round12(i / inverse));
  }
  return ticks;
}

/**
 * Log-axis ticks inside `[low, high]`: powers of ten, thinned to every 2nd, 3rd … power over many
 * decades; over about two decades or less also 2× and 5× multiples; within less than one, where that
 * still gives fewer than two ticks, linear ticks.
 */
export function logTicks(low: number, high: number, target = 5): number[] {
  if (!(high > low)) return [low];
  const first = Math.ceil(Math.log10(low) - 1e-9);
  const last = Math.floor(Math.log10(high) + 1e-9);
  const decades = last - first + 1;
  if (decades > target + 1) {
    const every = Math.ceil(decades / target);
    const ticks: number[] = [];
    for (let k = Math.ceil(first / every) * every; k <= last; k += every) ticks.push(round12(10 ** k));
    return ticks;
  }
  const multiples = decades >= 3 ? [1] : decades >= 1 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const ticks: number[] = [];
  for (let k = first - 1; k <= last; k++) {
    for (const m of multiples) {
      const tick = round12(m * 10 ** k);
      if (tick >= low * (1 - 1e-12) && tick <= high * (1 + 1e-12)) ticks.push(tick);
    }
  }
  return ticks.length >= 2 ? ticks : linearTicks(low, high, Math.min(target, 4));
}

function round12(value: number): number {
  return Number(value.toPrecision(12));
}
