import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './support/cli-process.ts';

const FIXTURES = 'apps/cli/test/fixtures';
const STACK_FRAME = /\n\s+at .+:\d+/;

describe('junction validate', () => {
  it('lists every problem of an invalid flow with the file and field path, and exits 2', async () => {
    const result = await runCli(['validate', `${FIXTURES}/invalid.flow.yaml`]);
    expect(result.code).toBe(2);
    const file = `${FIXTURES}/invalid.flow.yaml`;
    expect(result.stdout.trim().split('\n')).toEqual([
      `${file}: steps[0].with.sql: required`,
      `${file}: steps[1].use: connector "transform" has no operation "reshape" (it has: map, filter, toXml, fromXml, parseJson, parseCsv, toCsv)`,
      `${file}: steps[2].id: duplicate id "shape" (first used at steps[1])`,
      `${file}: steps[2].with.fields.total: refers to unknown step "later"`,
    ]);
    expect(result.stderr).toContain('4 problems');
    expect(result.stdout + result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('junction run: bad input exits 2 before anything runs', () => {
  it('names each bad or unknown parameter', async () => {
    const result = await runCli([
      'run',
      `${FIXTURES}/hello.flow.yaml`,
      '--param',
      'times=often',
      '--param',
      'colour=red',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('params.times: expected an integer, got "often"');
    expect(result.stderr).toContain('params.colour: unknown parameter "colour"');
    expect(result.stdout).toBe('');
  });
});

describe('junction run --json', () => {
  it('prints one JSON run event per line and nothing else', async () => {
    const result = await runCli(['run', `${FIXTURES}/hello.flow.yaml`, '--param', 'who=json', '--json']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as { type: string; [k: string]: unknown });
    expect(events.map((e) => e.type)).toEqual([
      'job.started',
      'step.started',
      'step.finished',
      'job.finished',
    ]);
    expect(events.at(-1)).toMatchObject({
      status: 'completed',
      output: { greeting: 'hello, json', times: 2 },
    });
  });
});

describe('junction run: Ctrl-C', () => {
  it('cancels a running flow on SIGINT, says so and exits 130 promptly', async () => {
    const run = startCli(['run', `${FIXTURES}/slow.flow.yaml`]);
    await run.waitForOutput(/▶ wait/);
    // let the query reach the server
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('cancelling… (press Ctrl-C again to exit at once)');
    expect(result.stdout).toMatch(/■ cancelled after/);
  });
});

describe('secrets', () => {
  const SECRET = 'Sup3r-Secret-Passw0rd';
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'junction-secret-'));
    // trust authentication accepts any password, so the connection works with this one
    await writeFile(
      join(dir, 'connections.yaml'),
      'pg:\n  type: postgres\n  host: 127.0.0.1\n  user: postgres\n  database: test\n  password: ${JUNCTION_TEST_PASSWORD}\n',
    );
    // a record that carries the password (a users table would) and fails in the next step with
    // a message quoting it: the record.error event, the error list and the outcome would show it
    await writeFile(
      join(dir, 'leak.flow.yaml'),
      `name: leak
steps:
  - id: read
    use: database.query
    connection: pg
    with:
      sql: SELECT 1 AS id, '${SECRET}' AS stored_password
  - id: shape
    use: transform.map
    with:
      fields:
        pin: '{{ $number(record.stored_password) }}'
`,
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('never prints a password from the connections file, in text or JSON output', async () => {
    const env = { JUNCTION_TEST_PASSWORD: SECRET };
    const text = await runCli(['run', join(dir, 'leak.flow.yaml')], { env });
    const json = await runCli(['run', join(dir, 'leak.flow.yaml'), '--json'], { env });
    for (const result of [text, json]) {
      expect(result.code).not.toBe(2);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    }
    // the record error was reported, scrubbed
    expect(text.stdout).toContain(
      'shape: field "pin": expression "$number(record.stored_password)" failed: Unable to cast value to a number: "***"',
    );
    const recordError = json.stdout.split('\n').find((l) => l.includes('"type":"record.error"'));
    expect(JSON.parse(recordError!)).toMatchObject({ record: { id: 1, stored_password: '***' } });
  });
});
