import {
  ConfigError,
  errorMessage,
  type CompileFn,
  type CompiledTemplate,
  type FlowRecord,
} from '@junction/flow';
import { parseSqlTemplate, type SqlDialect } from './sql-template.ts';
import { toBindValue } from './values.ts';

type CompiledSlot =
  { kind: 'param'; name: string } | { kind: 'expr'; source: string; template: CompiledTemplate };

/** A SQL template parsed and its `{{ expr }}` parts compiled, ready to bind per record. */
export interface CompiledSql {
  /** The text sent to the server (`$1..` or `?`). */
  readonly text: string;
  readonly dialect: SqlDialect;
  readonly slots: readonly CompiledSlot[];
}

const cache = new WeakMap<CompileFn, Map<string, CompiledSql>>();

/**
 * Parses the SQL template and compiles its expressions once per compiler (that is, per step
 * run), since an action runs it for every record.
 */
export function compileSql(compile: CompileFn, sql: string, dialect: SqlDialect): CompiledSql {
  let byText = cache.get(compile);
  if (!byText) cache.set(compile, (byText = new Map<string, CompiledSql>()));
  const key = `${dialect}\u0000${sql}`;
  let compiled = byText.get(key);
  if (!compiled) {
    const parsed = parseSqlTemplate(sql, dialect);
    compiled = {
      text: parsed.text,
      dialect,
      slots: parsed.slots.map((slot) =>
        slot.kind === 'param' ? slot : { ...slot, template: compileExpr(compile, slot.source) },
      ),
    };
    byText.set(key, compiled);
  }
  return compiled;
}

/**
 * The bind values for one execution: `{name}` from `params` (a missing name is an error, not a
 * NULL, so a typo cannot go unnoticed), `{{ expr }}` evaluated against the record.
 */
export async function bindValues(
  sql: CompiledSql,
  params: Readonly<Record<string, unknown>>,
  record?: FlowRecord,
): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const slot of sql.slots) {
    if (slot.kind === 'param') {
      if (!Object.hasOwn(params, slot.name)) {
        const known = Object.keys(params);
        throw new ConfigError(
          `sql: {${slot.name}} has no value: params.${slot.name} is not given` +
            (known.length > 0 ? ` (params has: ${known.join(', ')})` : ' (params is empty)'),
        );
      }
      values.push(toBindValue(params[slot.name], sql.dialect));
      continue;
    }
    let value: unknown;
    try {
      value = await slot.template.evaluate(record);
    } catch (e) {
      throw new ConfigError(`sql: {{ ${slot.source} }} failed: ${errorMessage(e)}`, { cause: e });
    }
    values.push(toBindValue(value, sql.dialect));
  }
  return values;
}

function compileExpr(compile: CompileFn, source: string): CompiledTemplate {
  try {
    return compile(`{{ ${source} }}`);
  } catch (e) {
    throw new ConfigError(`sql: {{ ${source} }}: ${errorMessage(e)}`, { cause: e });
  }
}
