#!/usr/bin/env node
// `npm test`: runs both vitest projects, then prints the plain summary line CI reads
// ("N passed, N failed"). Extra arguments go to vitest (e.g. `npm test -- --project node`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const resultsFile = '.vitest-results.json';
rmSync(resultsFile, { force: true });
const vitest = spawnSync(
  process.execPath,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${resultsFile}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
    },
  },
);

let passed = 0;
let failed = 0;
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests ?? 0;
  failed =
    (results.numFailedTests ?? 0) +
    (results.testResults ?? []).filter((f) => f.status === 'failed' && f.assertionResults.length === 0)
      .length;
} else {
  failed = 1;
}
const code = vitest.status ?? 1;
if (code !== 0 && failed === 0) failed = 1; // a crash or a failed suite file with no failed test still fails
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(code);
