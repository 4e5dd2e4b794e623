import { existsSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import type { ConnectorManifest, ConnectorRegistry, Flow } from '@junction/flow';
import {
  readConnectionsFile,
  unknownConnectionMessage,
  type ConnectionConfig,
  type ConnectionsFile,
} from './connections-file.ts';
import { displayPath } from './flow-file.ts';
import { namedConnectionUses, type NamedConnectionUse } from './flow-connections.ts';
import { InputError } from './input-error.ts';
import { secretFieldsOf, secretValuesOf } from './secret-values.ts';

export interface PreparedConnections {
  /** For runFlow's `connections` option. */
  resolve(name: string): Promise<ConnectionConfig>;
  /** Secret values of the connections, to scrub from output. */
  secrets: string[];
}

export interface PrepareConnectionsOptions {
  flow: Flow;
  flowPath: string;
  flowLabel: string;
  /** `--connections FILE`; default: connections.yaml next to the flow, if there is one. */
  connectionsFile?: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  registry: ConnectorRegistry;
}

/**
 * Reads the connections file and checks, before anything runs, every connection the flow names:
 * it exists, its environment references resolve, its type fits the step's connector and its
 * settings pass the connector's schema. All problems are reported at once (exit 2).
 */
export async function prepareConnections(options: PrepareConnectionsOptions): Promise<PreparedConnections> {
  const file = await openConnectionsFile(options);
  const problems: string[] = [...(file?.problems ?? [])];
  const resolved = new Map<string, ConnectionConfig>();
  const secrets: string[] = [];
  const checked = new Set<string>();

  for (const use of namedConnectionUses(options.flow)) {
    const key = `${use.name}\u0000${use.connectorId}`;
    if (checked.has(key)) continue;
    checked.add(key);
    const outcome = checkUse(use, file, resolved.get(use.name), options);
    problems.push(...outcome.problems);
    secrets.push(...outcome.secrets);
    if (outcome.config) resolved.set(use.name, outcome.config);
  }
  // Scrub the secrets of connections the flow does not use too: a template might still print one.
  for (const name of file?.names() ?? []) {
    if (resolved.has(name) || !file) continue;
    try {
      secrets.push(...secretValuesOf(file.resolve(name, options.env), new Set()));
    } catch {
      // an unset variable in an unused connection is no problem
    }
  }
  if (problems.length > 0) throw new InputError([...new Set(problems)]);

  return {
    secrets,
    async resolve(name) {
      const config = resolved.get(name);
      if (config !== undefined) return config;
      if (!file) throw new Error(`unknown connection "${name}": no connections file was given`);
      // a name the static check did not see (none today); resolve it now, with the same messages
      return file.resolve(name, options.env);
    },
  };
}

interface UseOutcome {
  config?: ConnectionConfig;
  problems: string[];
  secrets: string[];
}

/** One step's named connection: found, expanded, fitting its connector. */
function checkUse(
  use: NamedConnectionUse,
  file: ConnectionsFile | undefined,
  already: ConnectionConfig | undefined,
  options: PrepareConnectionsOptions,
): UseOutcome {
  const at = `${options.flowLabel}: ${use.path}`;
  if (!file) {
    return {
      problems: [
        `${at}: connection "${use.name}" needs a connections file (pass --connections FILE, or put connections.yaml next to the flow)`,
      ],
      secrets: [],
    };
  }
  // an entry that is there but malformed is reported with the file's problems
  if (file.isDefined(use.name) && !file.has(use.name)) return { problems: [], secrets: [] };
  if (!file.has(use.name)) {
    return {
      problems: [`${at}: ${unknownConnectionMessage(use.name, file.label, file.names())}`],
      secrets: [],
    };
  }
  let config = already;
  if (config === undefined) {
    try {
      config = file.resolve(use.name, options.env);
    } catch (e) {
      if (e instanceof InputError) return { problems: [...e.lines], secrets: [] };
      throw e;
    }
  }
  const manifest = options.registry.get(use.connectorId);
  if (!manifest) return { config, problems: [], secrets: secretValuesOf(config, new Set()) };
  const result = checkAgainstConnector(manifest, config, use, file.label);
  return {
    config: result.config,
    problems: result.problems,
    secrets: secretValuesOf(result.config, secretFieldsOf(manifest.connection)),
  };
}

async function openConnectionsFile(options: PrepareConnectionsOptions): Promise<ConnectionsFile | undefined> {
  if (options.connectionsFile !== undefined) {
    return readConnectionsFile(
      resolvePath(options.cwd, options.connectionsFile),
      displayPath(options.connectionsFile, options.cwd),
    );
  }
  const beside = join(dirname(options.flowPath), 'connections.yaml');
  if (!existsSync(beside)) return undefined;
  return readConnectionsFile(beside, displayPath(beside, options.cwd));
}

function checkAgainstConnector(
  manifest: ConnectorManifest,
  config: ConnectionConfig,
  use: NamedConnectionUse,
  label: string,
): { config: ConnectionConfig; problems: string[] } {
  const types = manifest.connectionTypes ?? [manifest.id];
  if (!types.includes(config.type)) {
    return {
      config,
      problems: [
        `${label}: ${use.name}.type: "${config.type}" does not fit connector "${manifest.id}" (used at ${use.path}); expected ${types.map((t) => `"${t}"`).join(' or ')}`,
      ],
    };
  }
  if (!manifest.connection) return { config, problems: [] };
  const coerced = coerceToSchema(manifest.connection, config);
  const result = manifest.connection.safeParse(coerced);
  if (result.success) return { config: coerced, problems: [] };
  return {
    config: coerced,
    problems: result.error.issues.map(
      (issue) =>
        `${label}: ${[use.name, ...issue.path.map(String)].join('.')}: ${issueMessage(issue, coerced)}`,
    ),
  };
}

/**
 * `port: ${PGPORT:-5432}` yields the text "5432"; where the schema wants a number or a boolean and
 * the text is one, use it as one, as if the value had been written without a reference.
 */
function coerceToSchema(schema: z.ZodType, config: ConnectionConfig): ConnectionConfig {
  const result = schema.safeParse(config);
  if (result.success) return config;
  const copy = structuredClone(config);
  for (const issue of result.error.issues) {
    if (issue.code !== 'invalid_type' || issue.path.length === 0) continue;
    const parent = valueAt(copy, issue.path.slice(0, -1));
    const key = issue.path[issue.path.length - 1];
    if (typeof parent !== 'object' || parent === null || typeof key === 'symbol') continue;
    const holder = parent as Record<string | number, unknown>;
    const text = holder[key];
    if (typeof text !== 'string') continue;
    if ((issue.expected === 'number' || issue.expected === 'int') && /^-?\d+(\.\d+)?$/.test(text.trim()))
      holder[key] = Number(text);
    else if (issue.expected === 'boolean' && (text === 'true' || text === 'false'))
      holder[key] = text === 'true';
  }
  return copy;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || typeof seg === 'symbol') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** Zod's issue, worded without the value itself: it may be a secret. */
function issueMessage(issue: z.core.$ZodIssue, config: unknown): string {
  const here = valueAt(config, issue.path);
  if (issue.code === 'invalid_type') {
    return here === undefined ? 'required' : `expected ${issue.expected}, got ${kindOf(here)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_value') {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  // zod's own wording for the rest (sizes, formats, custom checks) does not quote the value
  return issue.message;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a map' : typeof v;
}
