import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess as runCli } from './support/in-process.ts';

// The CLI's main() in this process, for the input checks that need no child process;
// cli-process.test.ts runs the real process for exit codes, signals and output streams.
const FIXTURES = 'apps/cli/test/fixtures';
const STACK_FRAME = /\n\s+at .+:\d+/;

describe('junction validate (in process)', () => {
  it('confirms a valid flow with its step count and exits 0', async () => {
    const result = await runCli(['validate', 'examples/pg-to-mariadb/flow.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('✓ flow "pg-to-mariadb" is valid (3 steps)\n');
  });

  it('says a missing file is missing, without a stack trace', async () => {
    const result = await runCli(['validate', `${FIXTURES}/nope.yaml`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${FIXTURES}/nope.yaml: no such file\n`);
  });
});

describe('junction run: bad input is reported before anything runs (in process)', () => {
  it('rejects a --param without a value and a bad --page-size', async () => {
    const a = await runCli(['run', `${FIXTURES}/hello.flow.yaml`, '--param', 'times']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--param "times": expected name=value');
    const b = await runCli(['run', `${FIXTURES}/hello.flow.yaml`, '--page-size', 'lots']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--page-size: expected a whole number from 1 to 100000, got "lots"');
  });

  it('names the fields of a bad connections file', async () => {
    const result = await runCli([
      'run',
      `${FIXTURES}/slow.flow.yaml`,
      '--connections',
      `${FIXTURES}/bad-connections.yaml`,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${FIXTURES}/bad-connections.yaml: cache.type: required (e.g. postgres, mysql, http)`,
      `${FIXTURES}/bad-connections.yaml: pg.port: expected number, got string`,
    ]);
  });

  it('names an unknown connection and lists the known ones', async () => {
    const result = await runCli(['run', `${FIXTURES}/unknown-connection.flow.yaml`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `${FIXTURES}/unknown-connection.flow.yaml: steps[0].connection: unknown connection "warehouse": ${FIXTURES}/connections.yaml has "pg"\n`,
    );
  });

  it('names an unset environment variable and the connection that needs it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'junction-cli-'));
    try {
      await writeFile(
        join(dir, 'connections.yaml'),
        'pg:\n  type: postgres\n  url: ${JUNCTION_TEST_UNSET_URL}\n',
      );
      const result = await runCli([
        'run',
        `${FIXTURES}/slow.flow.yaml`,
        '--connections',
        join(dir, 'connections.yaml'),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        'connection "pg" (url): environment variable JUNCTION_TEST_UNSET_URL is not set',
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('prints usage for an unknown command or option', async () => {
    const a = await runCli(['deploy']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "deploy"');
    const b = await runCli(['run', `${FIXTURES}/hello.flow.yaml`, '--fast']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("Unknown option '--fast'");
    expect(b.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('junction run --params-file', () => {
  it('reads params from a YAML file, with --param taking precedence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'junction-params-'));
    try {
      await writeFile(join(dir, 'params.yaml'), 'who: file\ntimes: 5\n');
      const result = await runCli([
        'run',
        `${FIXTURES}/hello.flow.yaml`,
        '--params-file',
        join(dir, 'params.yaml'),
        '--param',
        'times=7',
        '--json',
      ]);
      expect(result.code).toBe(0);
      const finished = JSON.parse(result.stdout.trimEnd().split('\n').at(-1)!);
      expect(finished.output).toEqual({ greeting: 'hello, file', times: 14 });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
