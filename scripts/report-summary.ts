// Prints `N passed, N failed` from the Vitest JSON reports in a folder (what CI reads).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numTotalTestSuites?: number;
  testResults?: { status: string; message?: string; name: string }[];
}

const dir = process.argv[2] ?? '.reports';
let passed = 0;
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // a suite that failed to load has no tests but must still count as a failure
  failed += (report.testResults ?? []).filter((r) => r.status === 'failed' && r.message).length;
}
console.log(`${passed} passed, ${failed} failed`);
