import { DataError, type DataErrorLocation } from "../../data/data-error.js";
import { describeValue } from "../../data/record-fields.js";
import type { SourcedSample } from "../../data/sample.js";
import type { ResultRowAt } from "../../data/read-result-rows.js";

/**
 * Joins result rows to the data's samples by `index`, checking that they belong together: the rows'
 * indices run from 0 to n − 1 without gaps or repeats (in any order), the data has exactly n samples,
 * and where a row has an `id`, the sample at its index has the same id.
 */
export interface RowJoin {
  /**
   * Records a row; returns its index.
   * @throws DataError for a missing or malformed index, a repeated index, or a malformed id.
   */
  addRow(at: ResultRowAt): number;
  /**
   * Ends the rows; returns their count n.
   * @throws DataError naming the first index in 0…n−1 that no row has.
   */
  finishRows(): number;
  /**
   * Checks one sample of the data against its row (call in data order, after {@link finishRows}).
   * @throws DataError when the data has more samples than there are rows, or the ids differ.
   */
  checkSample(sourced: SourcedSample): void;
  /**
   * Ends the data.
   * @throws DataError when the data has fewer samples than there are rows.
   */
  finishSamples(samples: number): void;
}

const HINT = "were the results scored from this data file, with the same field options?";

/** Creates a {@link RowJoin} between the result file `results` and the data file `data`. */
export function createRowJoin(results: string, data: string): RowJoin {
  // Per index: where its row is (line, or position for Parquet) and its id. Doubles and strings only,
  // so ten million rows stay affordable.
  const places: number[] = [];
  const ids: (string | undefined)[] = [];
  let hasLines = false;
  let rows = 0;
  const rowPlace = (index: number): DataErrorLocation =>
    hasLines ? { file: results, line: places[index], field: "id" } : { file: results, row: places[index], field: "id" };
  const describeRow = (index: number): string => (hasLines ? `line ${places[index]}` : `row ${places[index]}`);
  const atLocation = (at: ResultRowAt, field: string): DataErrorLocation =>
    at.line === undefined ? { file: results, row: at.position, field } : { file: results, line: at.line, row: at.position, field };

  return {
    addRow(at: ResultRowAt): number {
      rows++;
      hasLines = at.line !== undefined;
      const raw = at.row.index;
      const index = typeof raw === "bigint" ? Number(raw) : raw;
      if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
        const got = raw === undefined ? "it is missing" : `got ${typeof raw === "number" ? raw : describeValue(raw)}`;
        throw new DataError("invalid-input", `column "index" must be a non-negative integer (the sample's position in the data); ${got}`, atLocation(at, "index"));
      }
      if (places[index] !== undefined) {
        throw new DataError("invalid-input", `index ${index} appears twice (also at ${describeRow(index)})`, atLocation(at, "index"));
      }
      places[index] = at.line ?? at.position;
      ids[index] = idOf(at.row.id, atLocation(at, "id"));
      return index;
    },

    finishRows(): number {
      for (let index = 0; index < rows; index++) {
        if (places[index] === undefined) {
          throw new DataError("invalid-input", `no row has index ${index}: ${rows} rows must have the indices 0 to ${rows - 1}, one each`, { file: results, field: "index" });
        }
      }
      return rows;
    },

    checkSample({ index, sample, line }: SourcedSample): void {
      const dataPlace = line === undefined ? { file: data, row: index } : { file: data, line, row: index };
      if (index >= rows) {
        throw new DataError("invalid-input", `sample ${index} has no result row: ${results} has only ${rows} rows; ${HINT}`, dataPlace);
      }
      const rowId = ids[index];
      if (rowId === sample.id) return;
      const rowSays = rowId === undefined ? "has no id" : `has id ${JSON.stringify(rowId)}`;
      const dataSays = sample.id === undefined ? "has no id" : `has id ${JSON.stringify(sample.id)}`;
      const where = line === undefined ? `row ${index}` : `line ${line}`;
      throw new DataError("invalid-input", `the row for index ${index} ${rowSays}, but sample ${index} of ${data} (${where}) ${dataSays}; ${HINT}`, rowPlace(index));
    },

    finishSamples(samples: number): void {
      if (samples < rows) {
        throw new DataError("invalid-input", `the data has ${samples} samples but ${results} has ${rows} rows; ${HINT}`, { file: data });
      }
    },
  };
}

/** A row's id as text (numbers and bigints stringified, as the data reader does), or undefined. */
function idOf(raw: unknown, place: DataErrorLocation): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") return raw;
  if (typeof raw === "number" || typeof raw === "bigint") return String(raw);
  throw new DataError("invalid-input", `column "id" must be text, got ${describeValue(raw)}`, place);
}
