import { ConfigError, templateParts, type TemplatePart } from '@junction/flow';

export type SqlDialect = 'postgres' | 'mysql';

/** What fills one bind parameter: a named value of `params`, or a `{{ expr }}` evaluated per record. */
export type SqlSlot =
  | { kind: 'param'; name: string }
  /** `at`: where `source` starts in the SQL text. */
  | { kind: 'expr'; source: string; at: number };

export interface ParsedSql {
  /** The SQL sent to the server, with `$1..` (PostgreSQL) or `?` (MySQL) where placeholders were. */
  text: string;
  /** One entry per bind parameter, in order. */
  slots: SqlSlot[];
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

/**
 * Turns `{name}` and `{{ expr }}` placeholders into bind parameters. Only SQL outside string
 * literals, quoted identifiers and comments is searched, so `'{a,b}'` (a PostgreSQL array) or
 * `'{"k": 1}'` (JSON) stay text. Values never enter the SQL text: the caller binds them.
 */
export function parseSqlTemplate(sql: string, dialect: SqlDialect): ParsedSql {
  return new SqlTemplateParser(sql, dialect).parse();
}

/**
 * The `{{ }}` templates of a SQL text as the database operations read them (outside literals,
 * quoted identifiers and comments), for flow validation. The dialect comes with the connection,
 * which validation may not know: PostgreSQL's quoting is tried first, then MySQL's; SQL neither
 * reads is left to the run to report, and its templates are found as in any other field.
 */
export function sqlTemplateParts(sql: string): TemplatePart[] {
  for (const dialect of ['postgres', 'mysql'] as const) {
    try {
      const parts: TemplatePart[] = [];
      for (const slot of parseSqlTemplate(sql, dialect).slots)
        if (slot.kind === 'expr') parts.push({ expr: slot.source, offset: slot.at });
      return parts;
    } catch {
      // not this dialect's SQL, or a mistake the run reports with its position
    }
  }
  return templateParts(sql);
}

class SqlTemplateParser {
  private readonly sql: string;
  private readonly dialect: SqlDialect;
  private pos = 0;
  private out = '';
  private readonly slots: SqlSlot[] = [];
  /** PostgreSQL numbers parameters, so a repeated placeholder reuses its number. */
  private readonly numbers = new Map<string, number>();

  constructor(sql: string, dialect: SqlDialect) {
    this.sql = sql;
    this.dialect = dialect;
  }

  parse(): ParsedSql {
    const s = this.sql;
    while (this.pos < s.length) {
      const c = s[this.pos];
      const next = s[this.pos + 1];
      if (c === '{' && next === '{') this.template();
      else if (c === '{') this.maybeParam();
      else if (c === "'") this.quoted("'", this.backslashEscapes(), true);
      else if (c === '"') this.quoted('"', this.dialect === 'mysql', this.dialect === 'mysql');
      else if (c === '`' && this.dialect === 'mysql') this.quoted('`', false, false);
      else if (c === '-' && next === '-') this.lineComment();
      else if (c === '#' && this.dialect === 'mysql') this.lineComment();
      else if (c === '/' && next === '*') this.blockComment();
      else if (c === '$' && this.dialect === 'postgres') this.dollar();
      else if (c === '?' && this.dialect === 'mysql') {
        throw new ConfigError(
          `sql: "?" at character ${this.pos + 1} is not supported; name the value instead: {name} with params.name, or {{ expression }}`,
        );
      } else if ((c === 'E' || c === 'e') && next === "'" && this.dialect === 'postgres' && !this.inWord()) {
        this.out += c;
        this.pos++;
        this.quoted("'", true, true);
      } else {
        this.out += c;
        this.pos++;
      }
    }
    return { text: this.out, slots: this.slots };
  }

  private backslashEscapes(): boolean {
    return this.dialect === 'mysql';
  }

  private inWord(): boolean {
    const prev = this.sql[this.pos - 1];
    return prev !== undefined && /[A-Za-z0-9_$]/.test(prev);
  }

  private template(): void {
    const start = this.pos;
    const close = this.sql.indexOf('}}', start + 2);
    if (close < 0) throw new ConfigError(`sql: "{{" at character ${start + 1} has no closing "}}"`);
    const inner = this.sql.slice(start + 2, close);
    const source = inner.trim();
    if (source === '') throw new ConfigError(`sql: empty "{{ }}" at character ${start + 1}`);
    this.pos = close + 2;
    const at = start + 2 + inner.length - inner.trimStart().length;
    this.bind({ kind: 'expr', source, at }, `expr:${source}`);
  }

  private maybeParam(): void {
    IDENT.lastIndex = this.pos + 1;
    const m = IDENT.exec(this.sql);
    const end = m ? this.pos + 1 + m[0].length : -1;
    if (m && this.sql[end] === '}') {
      this.pos = end + 1;
      this.bind({ kind: 'param', name: m[0] }, `param:${m[0]}`);
      return;
    }
    // Any other brace (JSON, an ODBC escape) is SQL text.
    this.out += '{';
    this.pos++;
  }

  private bind(slot: SqlSlot, key: string): void {
    if (this.dialect === 'mysql') {
      this.slots.push(slot);
      this.out += '?';
      return;
    }
    let n = this.numbers.get(key);
    if (n === undefined) {
      this.slots.push(slot);
      n = this.slots.length;
      this.numbers.set(key, n);
    }
    this.out += `$${n}`;
  }

  /** Copies a quoted literal or identifier verbatim; a doubled quote stays inside it. */
  private quoted(quote: string, backslash: boolean, isString: boolean): void {
    const s = this.sql;
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      if (i >= s.length)
        throw new ConfigError(`sql: ${quote} opened at character ${start + 1} is never closed`);
      const c = s[i];
      if (backslash && c === '\\') i += 2;
      else if (c === quote && s[i + 1] === quote) i += 2;
      else if (c === quote) break;
      else i++;
    }
    const literal = s.slice(start, i + 1);
    if (isString) this.rejectQuotedTemplate(literal, start);
    this.out += literal;
    this.pos = i + 1;
  }

  /**
   * `'{{ record.name }}'` would reach the server as those very characters; that is never what the
   * author meant, so say how to write it. `'{{1,2},{3,4}}'` (a PostgreSQL array) is left alone.
   */
  private rejectQuotedTemplate(literal: string, start: number): void {
    const m = /\{\{\s[\s\S]*?\s\}\}/.exec(literal);
    if (!m) return;
    throw new ConfigError(
      `sql: the template ${m[0]} at character ${start + m.index + 1} is inside quotes, so it would not be replaced; ` +
        'remove the quotes: it becomes a bind parameter',
    );
  }

  private lineComment(): void {
    const end = this.sql.indexOf('\n', this.pos);
    const stop = end < 0 ? this.sql.length : end;
    this.out += this.sql.slice(this.pos, stop);
    this.pos = stop;
  }

  private blockComment(): void {
    const s = this.sql;
    const start = this.pos;
    // PostgreSQL block comments nest; MySQL's do not.
    let depth = 0;
    let i = start;
    while (i < s.length) {
      if (s[i] === '/' && s[i + 1] === '*') {
        depth = this.dialect === 'postgres' ? depth + 1 : 1;
        i += 2;
      } else if (s[i] === '*' && s[i + 1] === '/') {
        depth--;
        i += 2;
        if (depth === 0) break;
      } else i++;
    }
    if (depth > 0) throw new ConfigError(`sql: comment opened at character ${start + 1} is never closed`);
    this.out += s.slice(start, i);
    this.pos = i;
  }

  /** `$tag$ ... $tag$` strings (function bodies); `$1` is a positional parameter we do not allow. */
  private dollar(): void {
    const s = this.sql;
    const start = this.pos;
    if (this.inWord()) {
      // `$` inside an identifier such as a$b
      this.out += '$';
      this.pos++;
      return;
    }
    if (/[0-9]/.test(s[start + 1] ?? '')) {
      throw new ConfigError(
        `sql: positional parameter "$${/^[0-9]+/.exec(s.slice(start + 1))?.[0]}" at character ${start + 1} is not supported; ` +
          'name the value instead: {name} with params.name, or {{ expression }}',
      );
    }
    DOLLAR_TAG.lastIndex = start;
    const m = DOLLAR_TAG.exec(s);
    if (!m) {
      this.out += '$';
      this.pos++;
      return;
    }
    const tag = m[0];
    const close = s.indexOf(tag, start + tag.length);
    if (close < 0)
      throw new ConfigError(`sql: ${tag} string opened at character ${start + 1} is never closed`);
    this.out += s.slice(start, close + tag.length);
    this.pos = close + tag.length;
  }
}
