import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig } from '../src/config/app-config.ts';
import { runApiToExit } from './support/api-process.ts';

const KEY_HEX = 'ab'.repeat(32);

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigurationError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigurationError');
}

describe('configuration', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimit: 1024 * 1024 });
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/junction');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.secrets.key).toHaveLength(32);
    expect(config.warnings.join(' ')).toMatch(/JUNCTION_SECRET_KEY is not set/);
  });

  it('reads typed values and sizes', () => {
    const config = loadConfig({
      PORT: '9000',
      BODY_LIMIT: '512kb',
      JUNCTION_SECRET_KEY: KEY_HEX,
      LOG_LEVEL: 'debug',
      DATABASE_PREPARED_STATEMENTS: 'false',
    });
    expect(config.database.preparedStatements).toBe(false);
    expect(loadConfig({}).database.preparedStatements).toBe(true);
    expect(config.http.port).toBe(9000);
    expect(config.http.bodyLimit).toBe(512 * 1024);
    expect(config.secrets.key.toString('hex')).toBe(KEY_HEX);
    expect(config.log.level).toBe('debug');
    expect(config.warnings).toEqual([]);
  });

  it('lists every bad key at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x@y/z',
      REDIS_URL: 'not a url',
      JUNCTION_SECRET_KEY: 'short',
      LOG_LEVEL: 'loud',
      BODY_LIMIT: '5gb',
      NODE_ENV: 'staging',
      DATABASE_PREPARED_STATEMENTS: 'maybe',
    });
    const keys = problems.map((p) => p.split(':')[0]);
    expect(keys.sort()).toEqual(
      [
        'BODY_LIMIT',
        'DATABASE_PREPARED_STATEMENTS',
        'DATABASE_URL',
        'JUNCTION_SECRET_KEY',
        'LOG_LEVEL',
        'NODE_ENV',
        'PORT',
        'REDIS_URL',
      ].sort(),
    );
    expect(problems).toContain('PORT: expected an integer from 0 to 65535, got "eighty"');
    expect(problems.find((p) => p.startsWith('LOG_LEVEL'))).toMatch(
      /expected one of fatal, error, warn, info/,
    );
  });

  it('requires a real secret key in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'JUNCTION_SECRET_KEY: required in production (32 bytes, hex or base64)',
    ]);
  });

  it('reads secrets from NAME_FILE and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-config-'));
    const file = join(dir, 'key');
    writeFileSync(file, `${KEY_HEX}\n`);
    expect(loadConfig({ JUNCTION_SECRET_KEY_FILE: file }).secrets.key.toString('hex')).toBe(KEY_HEX);
    expect(problemsOf({ JUNCTION_SECRET_KEY_FILE: join(dir, 'missing') })).toEqual([
      `JUNCTION_SECRET_KEY_FILE: cannot read ${join(dir, 'missing')}: ENOENT`,
    ]);
    expect(problemsOf({ JUNCTION_SECRET_KEY: KEY_HEX, JUNCTION_SECRET_KEY_FILE: file })).toEqual([
      'JUNCTION_SECRET_KEY: set either JUNCTION_SECRET_KEY or JUNCTION_SECRET_KEY_FILE, not both',
    ]);
  });

  it('never echoes a database password in a problem', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('makes the built API exit at start, listing every bad key, before touching any server', async () => {
    const { code, stderr } = await runApiToExit({
      PATH: process.env.PATH ?? '',
      PORT: '-1',
      LOG_LEVEL: 'chatty',
      NODE_ENV: 'production',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('invalid configuration');
    expect(stderr).toContain('PORT: expected an integer from 0 to 65535, got "-1"');
    expect(stderr).toContain('LOG_LEVEL: expected one of');
    expect(stderr).toContain('JUNCTION_SECRET_KEY: required in production');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
