// Prints one plain "N passed, N failed, N skipped" line from vitest's JSON report, for CI logs.
import { readFileSync } from 'node:fs';
const file = process.argv[2] ?? 'test-artifacts/vitest.json';
const r = JSON.parse(readFileSync(file, 'utf8'));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests ?? 0)} skipped (${r.numTotalTests} tests in ${r.numTotalTestSuites} files)`);
