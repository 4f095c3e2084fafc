import { describe, expect, it } from "vitest";
import { MetricsError } from "./metrics-error.js";
import { compileTemplate, renderTemplate } from "./template-text.js";

describe("compileTemplate / renderTemplate", () => {
  it("fills each placeholder once, left to right, without rescanning inserted values", () => {
    const template = compileTemplate("A:{a} B:{b} A again:{a}");
    expect(template.fields).toEqual(["a", "b"]);
    expect(renderTemplate(template, { a: "{b}", b: "{a}" })).toBe("A:{b} B:{a} A again:{b}");
  });

  it("treats everything but {identifier} as literal, doubled braces included", () => {
    const template = compileTemplate("{{a}} {a }{1} {} {a-b} { {");
    // `{{a}}` holds the placeholder `{a}` between literal braces: there are no escapes.
    expect(renderTemplate(template, { a: "X" })).toBe("{X} {a }{1} {} {a-b} { {");
  });

  it("inserts values verbatim, including replacement patterns that String.replace would expand", () => {
    expect(renderTemplate(compileTemplate("<{a}>"), { a: "$& $1 $$ $'" })).toBe("<$& $1 $$ $'>");
  });

  it("handles adjacent placeholders, empty values and templates without placeholders", () => {
    expect(renderTemplate(compileTemplate("{a}{b}"), { a: "", b: "" })).toBe("");
    expect(renderTemplate(compileTemplate("{a}{b}"), { a: "1", b: "2" })).toBe("12");
    expect(renderTemplate(compileTemplate("plain"), {})).toBe("plain");
    expect(renderTemplate(compileTemplate(""), {})).toBe("");
  });

  it("fails with invalid-template when a placeholder has no value", () => {
    const render = (): string => renderTemplate(compileTemplate("x{missing}"), {});
    expect(render).toThrowError(MetricsError);
    expect(render).toThrowError(/\{missing\} has no value/);
  });
});
