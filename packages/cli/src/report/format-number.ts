/**
 * A metric value for tables and tooltips: four significant digits without trailing zeros
 * (`0.306`, `1.042`, `22.44`, `23570`, `1`), scientific notation from 10^5 up and below 10^-3 (`1.05e6`,
 * `3.2e-4`), the way the end-of-run summary of `score` prints them.
 */
export function formatValue(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    const [mantissa, exponent] = value.toExponential(2).split("e");
    return `${trimZeros(mantissa)}e${exponent.replace("+", "")}`;
  }
  // Via Number: toPrecision(4) would write 23570 as "2.357e+4".
  return String(Number(value.toPrecision(4)));
}

/** A count with thousands separators: `12,345`. */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

const SUPERSCRIPT: Readonly<Record<string, string>> = {
  "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻",
};

/** `10` followed by the exponent in superscript digits: `10⁵`, `10⁻³`. */
export function powerOfTen(exponent: number): string {
  return `10${String(exponent).replace(/./g, (char) => SUPERSCRIPT[char] ?? char)}`;
}

/**
 * An axis tick label. Plain decimals between 10^-2 and 10^4 (`0.05`, `1`, `2000`); beyond that powers
 * of ten (`10⁵`) or a multiple of one (`2×10⁵`), which stay short and readable on a log axis.
 */
export function formatTick(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 0.01 && magnitude < 1e4) return String(Number(value.toPrecision(6)));
  const exponent = Math.floor(Math.log10(magnitude) + 1e-9);
  const mantissa = Number((value / 10 ** exponent).toPrecision(3));
  return mantissa === 1 ? powerOfTen(exponent) : mantissa === -1 ? `−${powerOfTen(exponent)}` : `${mantissa}×${powerOfTen(exponent)}`;
}

function trimZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
