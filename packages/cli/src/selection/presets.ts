/** Ranking direction: `desc` puts the largest value first. */
export type RankOrder = "asc" | "desc";

/** The selection recipes from the literature that `--preset` names. */
export type PresetName = "cherry" | "superfiltering" | "reflection" | "nuggets";

/** Every {@link PresetName}, in the order `--help` lists them. */
export const PRESET_NAMES: readonly PresetName[] = ["cherry", "superfiltering", "reflection", "nuggets"];

/**
 * A selection recipe: a filter with one threshold, a ranking, and optionally a default `--top`.
 * Explicit `--by`, `--order`, `--top` and `--threshold` replace the matching part; `--where` is added
 * to the filter (both must hold). See `README.md` beside this file for the sources in full.
 */
export interface SelectionPreset {
  readonly name: PresetName;
  /** One line for `--help`. */
  readonly summary: string;
  /** The paper (and the code) the recipe follows. */
  readonly source: string;
  /** The filter for a threshold, in the `--where` language. */
  filter(threshold: number): string;
  readonly defaultThreshold: number;
  /** The column ranked by and its direction. */
  readonly by: string;
  readonly order: RankOrder;
  /** The default `--top`; `undefined` keeps every row that passes the filter. */
  readonly top?: string;
  /** Columns the results must have (what to pass to `score --metrics`). */
  readonly columns: readonly string[];
}

const IFD_TOP_PERCENT = {
  filter: (threshold: number) => `ifd < ${threshold}`,
  defaultThreshold: 1,
  by: "ifd",
  order: "desc",
  top: "10%",
  columns: ["ifd"],
} as const;

/** The presets by name. */
export const PRESETS: Readonly<Record<PresetName, SelectionPreset>> = {
  cherry: {
    name: "cherry",
    ...IFD_TOP_PERCENT,
    summary: "drop ifd >= 1 (--threshold), keep the top 10% (--top) of all rows by ifd, highest first",
    source:
      'Li et al. 2023, "From Quantity to Quality: Boosting LLM Performance with Self-Guided Data Selection for Instruction Tuning" (Cherry LLM, NAACL 2024); tianyi-lab/Cherry_LLM cherry_seletion/data_by_IFD.py',
  },
  superfiltering: {
    name: "superfiltering",
    ...IFD_TOP_PERCENT,
    summary: "cherry's rule, for IFD scored with a small model (e.g. GPT-2): the difference is the scorer, not the selection",
    source:
      'Li et al. 2024, "Superfiltering: Weak-to-Strong Data Filtering for Fast Instruction-Tuning" (ACL 2024); tianyi-lab/Superfiltering code_ifd/select_data.py',
  },
  reflection: {
    name: "reflection",
    summary: "keep rows with ifd < 1 and rifd < 1 (--threshold sets both), ranked by ifd, highest first; no --top by default",
    source:
      'Li et al. 2024, "Selective Reflection-Tuning: Student-Selected Data Recycling for LLM Instruction-Tuning" (Findings of ACL 2024); tianyi-lab/Reflection_Tuning selection_code/get_select_data.py',
    filter: (threshold: number) => `ifd < ${threshold} and rifd < ${threshold}`,
    defaultThreshold: 1,
    by: "ifd",
    order: "desc",
    columns: ["ifd", "rifd"],
  },
  nuggets: {
    name: "nuggets",
    summary: "keep rows with oneshot_validity > 0 (--threshold), ranked by oneshot_validity, highest first; no --top by default",
    source:
      'Li et al. 2023, "One-Shot Learning as Instruction Data Prospector for Large Language Models" (Nuggets, ACL 2024); pldlgb/nuggets top_sample.py',
    filter: (threshold: number) => `oneshot_validity > ${threshold}`,
    defaultThreshold: 0,
    by: "oneshot_validity",
    order: "desc",
    columns: ["oneshot_validity"],
  },
};
