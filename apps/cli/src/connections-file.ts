import { parseDocument } from 'yaml';
import { expandEnvReferences } from './env-references.ts';
import { readText } from './flow-file.ts';
import { InputError } from './input-error.ts';

/** A connection as the engine takes it: `{type, ...config}`. */
export interface ConnectionConfig {
  type: string;
  [key: string]: unknown;
}

/**
 * A connections file: a YAML map of name → `{type, ...config}`. String values may reference
 * environment variables as `${VAR}` or `${VAR:-default}`; they are expanded when a connection is
 * resolved, so a variable only matters for the connections a flow uses.
 */
export interface ConnectionsFile {
  /** The file as the user named it, for messages. */
  readonly label: string;
  /** Entries that are not `{type, ...}` maps; the others are still usable. */
  readonly problems: readonly string[];
  /** Whether `name` is an entry, usable or not. */
  isDefined(name: string): boolean;
  names(): string[];
  has(name: string): boolean;
  /** The connection with its environment references expanded; throws InputError. */
  resolve(name: string, env: Readonly<Record<string, string | undefined>>): ConnectionConfig;
}

export async function readConnectionsFile(path: string, label: string): Promise<ConnectionsFile> {
  return parseConnectionsText(await readText(path, label), label);
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function parseConnectionsText(text: string, label: string): ConnectionsFile {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const at = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
        return `${label}: ${at}${e.message.split('\n')[0]}`;
      }),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return connectionsOf(label, new Map(), [], new Set());
  if (!isPlainObject(value)) {
    throw new InputError(`${label}: expected a map of connection name → {type, ...settings}`);
  }
  const problems: string[] = [];
  const entries = new Map<string, ConnectionConfig>();
  const defined = new Set(Object.keys(value));
  for (const [name, config] of Object.entries(value)) {
    if (!NAME.test(name)) {
      problems.push(`${label}: "${name}": expected a name of letters, digits, "_", "." or "-"`);
      continue;
    }
    if (!isPlainObject(config)) {
      problems.push(`${label}: ${name}: expected a map with a "type" and the connection's settings`);
      continue;
    }
    if (typeof config.type !== 'string' || config.type === '') {
      problems.push(
        `${label}: ${name}.type: ${config.type === undefined ? 'required' : 'expected a string'} (e.g. postgres, mysql, http)`,
      );
      continue;
    }
    entries.set(name, config as ConnectionConfig);
  }
  return connectionsOf(label, entries, problems, defined);
}

function connectionsOf(
  label: string,
  entries: Map<string, ConnectionConfig>,
  problems: readonly string[],
  defined: ReadonlySet<string>,
): ConnectionsFile {
  return {
    label,
    problems,
    isDefined: (name) => defined.has(name),
    names: () => [...entries.keys()],
    has: (name) => entries.has(name),
    resolve(name, env) {
      const config = entries.get(name);
      if (config === undefined)
        throw new InputError(unknownConnectionMessage(name, label, [...entries.keys()]));
      return expandValue(config, env, `${label}: connection "${name}"`, []) as ConnectionConfig;
    },
  };
}

export function unknownConnectionMessage(name: string, label: string, known: readonly string[]): string {
  return `unknown connection "${name}": ${label} has ${known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : 'no connections'}`;
}

function expandValue(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
  path: string[],
): unknown {
  if (typeof value === 'string') {
    return expandEnvReferences(value, env, path.length > 0 ? `${where} (${path.join('.')})` : where);
  }
  if (Array.isArray(value)) return value.map((v, i) => expandValue(v, env, where, [...path, String(i)]));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandValue(v, env, where, [...path, k])]),
    );
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
