import { describe, expect, it } from "vitest";
import { taskLabelOf } from "./sample.js";
import { buildTaskIndex, createTaskIndexBuilder, taskIndexOfSamples } from "./task-index.js";

describe("task index", () => {
  it("groups samples by label, members ascending, self included", async () => {
    const index = await buildTaskIndex(["a", "b", "a", "c", "b", "a"]);
    expect(index.sampleCount).toBe(6);
    expect(Array.from(index.membersOf(0))).toEqual([0, 2, 5]);
    expect(Array.from(index.membersOf(5))).toEqual([0, 2, 5]);
    expect(Array.from(index.membersOf(4))).toEqual([1, 4]);
    expect(Array.from(index.membersOf(3))).toEqual([3]);
    expect(() => index.membersOf(6)).toThrowError(/outside the task index \(6 samples\)/);
  });

  it("accepts async label streams and grows past its initial capacity", async () => {
    async function* labels(): AsyncGenerator<string> {
      for (let i = 0; i < 5000; i++) yield `task ${i % 7}`;
    }
    const index = await buildTaskIndex(labels());
    expect(index.sampleCount).toBe(5000);
    const members = index.membersOf(4999);
    expect(members.length).toBe(715);
    expect(Array.from(members).every((m) => m % 7 === 4999 % 7)).toBe(true);
  });

  it("checks labels, so a mismatched input can be detected", () => {
    const builder = createTaskIndexBuilder();
    builder.add("x");
    builder.add("y");
    const index = builder.finish();
    expect(index.hasLabel(0, "x")).toBe(true);
    expect(index.hasLabel(0, "y")).toBe(false);
    expect(index.hasLabel(2, "x")).toBe(false);
  });

  it("groups by the task field when present, else by identical instruction text", () => {
    const samples = [
      { instruction: "A", input: "1", output: "" },
      { instruction: "A", input: "2", output: "", task: "t" },
      { instruction: "B", input: "", output: "", task: "t" },
      { instruction: "A", input: "3", output: "" },
      { instruction: "t", input: "", output: "" },
    ];
    const index = taskIndexOfSamples(samples);
    expect(Array.from(index.membersOf(0))).toEqual([0, 3]);
    expect(Array.from(index.membersOf(1))).toEqual([1, 2]);
    // An instruction that reads like a task name is still its own group.
    expect(Array.from(index.membersOf(4))).toEqual([4]);
    expect(taskLabelOf(samples[4])).not.toBe(taskLabelOf(samples[1]));
  });
});
