/**
 * Builds apps/api (tsc) unless dist is newer than every source file. Run under `flock` by the
 * test helper, so test files starting in parallel build once and never read a half-written dist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const apiDir = fileURLToPath(new URL('../../', import.meta.url));
const stamp = join(apiDir, 'dist', '.build-stamp');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

const inputs = [
  join(apiDir, 'src'),
  join(apiDir, 'tsconfig.json'),
  join(apiDir, '..', '..', 'tsconfig.base.json'),
];
const sourceTime = Math.max(...inputs.map(newestMtime));
// The stamp holds the newest source time the build saw when it started: a file saved while tsc
// ran is newer than that and rebuilds next time (the stamp's own mtime, taken at the end, would
// hide it).
const built = existsSync(stamp) ? Number(readFileSync(stamp, 'utf8')) : Number.NaN;
if (!(built >= sourceTime)) {
  const tsc = createRequire(join(apiDir, '..', '..', 'package.json')).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(apiDir, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  // tsc still emits on type errors: tests run what was emitted (as Vitest runs untyped-checked
  // sources); `pnpm typecheck` is where type errors fail the build
  if (!existsSync(join(apiDir, 'dist', 'main.js'))) process.exit(result.status ?? 1);
  if (result.status !== 0)
    process.stderr.write('build-api: tsc reported errors (above); running the emitted code\n');
  writeFileSync(stamp, String(sourceTime));
}
