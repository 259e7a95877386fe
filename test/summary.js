// Prints vitest's JSON result as one plain closing line ("tests: N passed, N failed, N skipped"), the
// form CI reads in any language.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-results.json';
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
} catch (err) {
  console.log(`tests: 0 passed, 1 failed (no results in ${file}: ${err.message})`);
}
