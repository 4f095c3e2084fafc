#!/usr/bin/env node
// Runs every project's tests through nx (cached per project) and prints one summary line,
// `N passed, N failed[, N skipped]`, from the vitest JSON reports each project writes.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const reports = join(import.meta.dirname, "..", "reports", "tests");
rmSync(reports, { recursive: true, force: true });

const nx = spawnSync("npx", ["nx", "run-many", "-t", "test", "--outputStyle=static", "--parallel=1", ...process.argv.slice(2)], {
  stdio: "inherit",
});

let passed = 0;
let failed = 0;
let skipped = 0;
const files = existsSync(reports) ? readdirSync(reports).filter((f) => f.endsWith(".json")) : [];
for (const file of files) {
  const report = JSON.parse(readFileSync(join(reports, file), "utf8"));
  passed += report.numPassedTests;
  // A suite that fails to load has no failed tests but must still count as a failure.
  failed += report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
  skipped += report.numPendingTests + report.numTodoTests;
}
if (nx.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || nx.status !== 0 ? 1 : 0);
