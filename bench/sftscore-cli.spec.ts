import { describe, expect, it } from "vitest";
import { parseScoreSummary } from "./sftscore-cli.js";

describe("parseScoreSummary", () => {
  it("reads rows and tokens from the done line of sftscore score", () => {
    const stderr = "model demo (float32, cpu, in process), 60 samples\ndone: 60 rows scored (60 in r.jsonl) in 5s; 67,273 tokens scored, 14,133 tokens/s, batch fill 0.93\nnulls:\n";
    expect(parseScoreSummary(stderr)).toEqual({ rows: 60, tokens: 67_273 });
  });

  it("quotes the output when there is no done line", () => {
    expect(() => parseScoreSummary("error: engine unavailable")).toThrow(/printed no "done:" line:\nerror: engine unavailable/);
  });
});
