#!/usr/bin/env node
// Fails when the committed gen/ differs from what `buf generate` produces now.
// Generates into a fresh temporary directory and compares file by file, so it needs neither git
// nor a clean working tree, and never touches gen/. Run from proto/: `npm run check-generated`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const committedDir = join(projectDir, 'gen');

/** Every file under `dir`, as paths relative to it, sorted; empty when `dir` does not exist. */
function listFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true });
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .map((entry) => String(entry))
    .filter((entry) => statSync(join(dir, entry)).isFile())
    .sort();
}

const scratchDir = mkdtempSync(join(tmpdir(), 'sftscore-proto-gen-'));
try {
  // buf resolves the template's `out: gen` under --output, and the local plugin path relative to
  // the working directory, so run it from proto/.
  execFileSync('buf', ['generate', '--output', scratchDir], { cwd: projectDir, stdio: 'inherit' });
  const freshDir = join(scratchDir, 'gen');

  const fresh = listFiles(freshDir);
  const committed = listFiles(committedDir);
  const problems = [];
  for (const file of fresh) {
    if (!committed.includes(file)) problems.push(`missing from gen/: ${file}`);
    else if (!readFileSync(join(freshDir, file)).equals(readFileSync(join(committedDir, file)))) {
      problems.push(`differs from a fresh generation: gen/${file}`);
    }
  }
  for (const file of committed) {
    if (!fresh.includes(file)) problems.push(`not produced by generation (stale): gen/${file}`);
  }

  if (problems.length > 0) {
    console.error(`proto/gen is out of date with the .proto files or buf.gen.yaml:`);
    for (const problem of problems) console.error(`  - ${problem}`);
    console.error(`Run \`npm run generate\` at the repository root and commit proto/gen/. Never edit gen/ by hand.`);
    process.exitCode = 1;
  } else {
    console.log(`proto/gen is up to date (${fresh.length} file${fresh.length === 1 ? '' : 's'} checked against ${relative(projectDir, committedDir)}/).`);
  }
} finally {
  rmSync(scratchDir, { recursive: true, force: true });
}
