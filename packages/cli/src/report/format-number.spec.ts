import { describe, expect, it } from "vitest";
import { formatCount, formatTick, formatValue, powerOfTen } from "./format-number.js";

describe("formatValue", () => {
  it("keeps four significant digits and drops trailing zeros", () => {
    expect(formatValue(0.30601)).toBe("0.306");
    expect(formatValue(1.0417)).toBe("1.042");
    expect(formatValue(22.444)).toBe("22.44");
    expect(formatValue(1)).toBe("1");
    expect(formatValue(-0.333333)).toBe("-0.3333");
    expect(formatValue(0)).toBe("0");
    expect(formatValue(23_567.4)).toBe("23570");
    expect(formatValue(0.0012346)).toBe("0.001235");
  });

  it("switches to scientific notation for large and tiny magnitudes", () => {
    expect(formatValue(1_051_491.6)).toBe("1.05e6");
    expect(formatValue(100_000)).toBe("1e5");
    expect(formatValue(0.00032)).toBe("3.2e-4");
  });
});

describe("tick labels", () => {
  it("are plain decimals in the middle range and powers of ten outside it", () => {
    expect(formatTick(0.05)).toBe("0.05");
    expect(formatTick(0.1 + 0.2)).toBe("0.3");
    expect(formatTick(2000)).toBe("2000");
    expect(formatTick(1e5)).toBe("10⁵");
    expect(formatTick(2e6)).toBe("2×10⁶");
    expect(formatTick(0.001)).toBe("10⁻³");
    expect(powerOfTen(-12)).toBe("10⁻¹²");
  });

  it("counts get thousands separators", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
  });
});
