import { describe, expect, it } from 'vitest';
import { parseConnectionsText } from '../src/connections-file.ts';
import { expandEnvReferences } from '../src/env-references.ts';
import { InputError } from '../src/input-error.ts';

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('environment references', () => {
  it('replaces ${VAR} with the variable and ${VAR:-default} with the default when unset or empty', () => {
    const env = { HOST: 'db.local', EMPTY: '' };
    expect(expandEnvReferences('pg://${HOST}:${PORT:-5432}/${EMPTY:-test}', env, 'x')).toBe(
      'pg://db.local:5432/test',
    );
  });

  it('keeps $${ as a literal ${', () => {
    expect(expandEnvReferences('a$${HOME}b', { HOME: '/root' }, 'x')).toBe('a${HOME}b');
  });

  it('names the unset variable and where it was used, not any value', () => {
    const e = inputError(() =>
      expandEnvReferences('${PGPASSWORD}', {}, 'c.yaml: connection "src" (password)'),
    );
    expect(e.message).toBe(
      'c.yaml: connection "src" (password): environment variable PGPASSWORD is not set (set it, or write ${PGPASSWORD:-default})',
    );
  });
});

describe('connections file', () => {
  const text = `
source:
  type: postgres
  url: \${PGURL:-postgres://postgres@127.0.0.1:5432/test}
target:
  type: mysql
  host: 127.0.0.1
  password: \${TARGET_PASSWORD}
`;

  it('lists its connections and expands references when one is resolved', () => {
    const file = parseConnectionsText(text, 'connections.yaml');
    expect(file.names()).toEqual(['source', 'target']);
    expect(file.resolve('source', {})).toEqual({
      type: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/test',
    });
    expect(file.resolve('target', { TARGET_PASSWORD: 's3cret' })).toMatchObject({ password: 's3cret' });
  });

  it('reports an unset variable only for the connection that uses it', () => {
    const file = parseConnectionsText(text, 'connections.yaml');
    expect(() => file.resolve('source', {})).not.toThrow();
    expect(inputError(() => file.resolve('target', {})).message).toContain(
      'connection "target" (password): environment variable TARGET_PASSWORD is not set',
    );
  });

  it('rejects an unknown name listing the known ones', () => {
    const file = parseConnectionsText(text, 'connections.yaml');
    expect(inputError(() => file.resolve('nope', {})).message).toBe(
      'unknown connection "nope": connections.yaml has "source", "target"',
    );
  });

  it('names each entry without a type, keeps the good ones, and rejects a file that is not a map', () => {
    const file = parseConnectionsText('a:\n  host: x\nb: 3\nc:\n  type: http\n', 'c.yaml');
    expect(file.names()).toEqual(['c']);
    expect(file.isDefined('a')).toBe(true);
    expect(file.problems).toEqual([
      'c.yaml: a.type: required (e.g. postgres, mysql, http)',
      'c.yaml: b: expected a map with a "type" and the connection\'s settings',
    ]);
    expect(inputError(() => parseConnectionsText('- a\n- b\n', 'c.yaml')).message).toBe(
      'c.yaml: expected a map of connection name → {type, ...settings}',
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(inputError(() => parseConnectionsText('a:\n  type: [x\n', 'c.yaml')).message).toMatch(
      /^c\.yaml: line \d+/,
    );
  });
});
