/**
 * One section of `npm run bench`: it measures something and returns the Markdown that replaces its
 * part of BENCHMARKS.md (between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`).
 * Sections run one after the other in one process tree, so ratios inside a section are measured
 * side by side on the same machine state.
 */
export interface BenchSection {
  /** Marker name in BENCHMARKS.md, e.g. `whole-job`. */
  readonly name: string;
  /** A rough wall-time estimate shown before the run, in seconds. */
  readonly estimateSeconds: number;
  /**
   * Devices the section measures on; default `["cpu"]`. A run with `--device cuda` skips the
   * sections without `cuda` here, and their text in BENCHMARKS.md stays.
   */
  readonly devices?: readonly BenchContext["device"][];
  run(context: BenchContext): Promise<SectionResult>;
}

/** What every section gets. */
export interface BenchContext {
  /** `cpu`, or `cuda` when `npm run bench -- --device cuda` was asked for (and found). */
  readonly device: "cpu" | "cuda";
  /** A scratch directory of this run, removed at the end. */
  readonly workDir: string;
  /** Where built models are cached between runs (`node_modules/.cache/sftscore/bench-models`). */
  readonly modelCacheDir: string;
  /** Progress lines for the console (not the report). */
  log(line: string): void;
}

/** A section's outcome. */
export interface SectionResult {
  /** The section's Markdown, starting with its `##` heading. */
  readonly markdown: string;
  /** Targets the issue sets, each met or missed; a missed hard requirement fails the run. */
  readonly targets: readonly TargetOutcome[];
}

/** One target and how it came out. */
export interface TargetOutcome {
  readonly description: string;
  readonly met: boolean;
  /** A hard requirement (e.g. agreement ≤ 1e-6) fails `npm run bench` when missed; a speed target is only reported. */
  readonly required: boolean;
}
