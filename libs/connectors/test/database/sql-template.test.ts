import { describe, expect, it } from 'vitest';
import { ConfigError } from '@junction/flow';
import { compileTemplate } from '@junction/engine';
import { parseSqlTemplate, sqlTemplateParts } from '../../src/database/sql-template.ts';
import { bindValues, compileSql } from '../../src/database/sql-statement.ts';

describe('sqlTemplateParts (what flow validation checks in a SQL field)', () => {
  it('finds the templates outside literals, with their offsets, and not a PostgreSQL array literal', () => {
    const sql = 'SELECT \'{{1,2},{3,4}}\'::int[] AS a, {{  params.n }} AS b, "{{col}}" -- {{ note }}';
    expect(sqlTemplateParts(sql)).toEqual([{ expr: 'params.n', offset: sql.indexOf('params.n') }]);
  });

  it("reads MySQL's backslash-escaped quotes when PostgreSQL's quoting cannot read the text", () => {
    const sql = "SELECT 'it\\'s {{1}}' AS a, {{ record.x }} AS b";
    expect(sqlTemplateParts(sql)).toEqual([{ expr: 'record.x', offset: sql.indexOf('record.x') }]);
  });

  it('falls back to every {{ }} of the text when neither dialect reads it (the run reports the SQL)', () => {
    const sql = "SELECT {{ record.a }}, 'never closed";
    expect(sqlTemplateParts(sql)).toEqual([{ expr: 'record.a', offset: sql.indexOf('record.a') }]);
  });
});

describe('parseSqlTemplate', () => {
  it('turns {name} and {{ expr }} into numbered PostgreSQL parameters, reusing a repeated name', () => {
    const sql = 'SELECT * FROM t WHERE a = {a} AND b > {{ record.b }} OR a2 = {a}';
    const r = parseSqlTemplate(sql, 'postgres');
    expect(r.text).toBe('SELECT * FROM t WHERE a = $1 AND b > $2 OR a2 = $1');
    expect(r.slots).toEqual([
      { kind: 'param', name: 'a' },
      { kind: 'expr', source: 'record.b', at: sql.indexOf('record.b') },
    ]);
  });

  it('turns each placeholder into a ? for MySQL, in order', () => {
    const r = parseSqlTemplate('UPDATE t SET x = {x} WHERE id = {id} OR id = {x}', 'mysql');
    expect(r.text).toBe('UPDATE t SET x = ? WHERE id = ? OR id = ?');
    expect(r.slots.map((s) => (s.kind === 'param' ? s.name : s.source))).toEqual(['x', 'id', 'x']);
  });

  it('leaves braces that are not placeholders alone: JSON, arrays, ODBC escapes', () => {
    const sql = `SELECT '{"a": {b}}'::jsonb, '{1,2}'::int[], '{{1,2},{3,4}}'::int[], { fn now() }, {1}`;
    const r = parseSqlTemplate(sql, 'postgres');
    expect(r.text).toBe(sql);
    expect(r.slots).toEqual([]);
  });

  it('ignores placeholders in comments, quoted identifiers and dollar-quoted bodies', () => {
    const sql = [
      'SELECT "{col}", $$ {body} $$, $fn$ {{ x }} $fn$ -- {line}',
      '/* {block} /* nested {x} */ still {comment} */ FROM t WHERE a = {a}',
    ].join('\n');
    const r = parseSqlTemplate(sql, 'postgres');
    expect(r.slots).toEqual([{ kind: 'param', name: 'a' }]);
    expect(r.text).toBe(sql.replace('{a}', '$1'));
  });

  it('handles doubled quotes and MySQL backslash escapes inside literals', () => {
    expect(parseSqlTemplate(`SELECT 'it''s {x}', {y}`, 'postgres').text).toBe(`SELECT 'it''s {x}', $1`);
    expect(parseSqlTemplate(`SELECT 'a\\' {x}', \`{c}\`, "q {z}", {y} # {n}`, 'mysql').text).toBe(
      `SELECT 'a\\' {x}', \`{c}\`, "q {z}", ? # {n}`,
    );
    expect(parseSqlTemplate(`SELECT E'a\\' {x}', {y}`, 'postgres').text).toBe(`SELECT E'a\\' {x}', $1`);
  });

  it('keeps $ inside identifiers and the jsonb ? operator on PostgreSQL', () => {
    const r = parseSqlTemplate(`SELECT a$b, doc ? 'k' FROM t WHERE id = {id}`, 'postgres');
    expect(r.text).toBe(`SELECT a$b, doc ? 'k' FROM t WHERE id = $1`);
  });

  it('rejects a template inside quotes, which would never be replaced', () => {
    expect(() => parseSqlTemplate(`SELECT * FROM t WHERE name = '{{ record.name }}'`, 'postgres')).toThrow(
      /inside quotes.*remove the quotes/,
    );
  });

  it('rejects positional parameters, naming what to write instead', () => {
    expect(() => parseSqlTemplate('SELECT $1', 'postgres')).toThrow(/positional parameter "\$1".*\{name\}/);
    expect(() => parseSqlTemplate('SELECT ?', 'mysql')).toThrow(/"\?" at character 8/);
  });

  it('rejects unclosed quotes, comments and templates with the position', () => {
    expect(() => parseSqlTemplate(`SELECT 'abc`, 'postgres')).toThrow(
      /opened at character 8 is never closed/,
    );
    expect(() => parseSqlTemplate('SELECT 1 /* x', 'postgres')).toThrow(ConfigError);
    expect(() => parseSqlTemplate('SELECT {{ a', 'postgres')).toThrow(/"\{\{" at character 8 has no closing/);
  });
});

describe('bindValues', () => {
  const compile = (source: string) => compileTemplate(source, { params: {} });

  it('binds an injection attempt as a value: the SQL text does not change', async () => {
    const attack = "'; DROP TABLE x; --";
    const sql = compileSql(
      compile,
      'SELECT * FROM t WHERE name = {name} AND note = {{ record.note }}',
      'postgres',
    );
    expect(sql.text).toBe('SELECT * FROM t WHERE name = $1 AND note = $2');
    const values = await bindValues(sql, { name: attack }, { note: '{evil}' });
    expect(values).toEqual([attack, '{evil}']);
    expect(sql.text).not.toContain('DROP');
  });

  it('names a {name} that params does not give, and lists the ones it does', async () => {
    const sql = compileSql(compile, 'SELECT {idd}', 'postgres');
    await expect(bindValues(sql, { id: 1 })).rejects.toThrow(
      'sql: {idd} has no value: params.idd is not given (params has: id)',
    );
  });

  it('binds a missing record field as NULL and objects as JSON text for MySQL', async () => {
    const sql = compileSql(compile, 'SELECT {{ record.missing }}, {{ record.doc }}', 'mysql');
    expect(await bindValues(sql, {}, { doc: { a: [1] } })).toEqual([null, '{"a":[1]}']);
  });

  it('reports a JSONata syntax error of a placeholder as a configuration error', () => {
    expect(() => compileSql(compile, 'SELECT {{ record.( }}', 'postgres')).toThrow(ConfigError);
  });
});
