import {
  ConfigError,
  ConnectorError,
  errorMessage,
  formatPath,
  type CompileFn,
  type ConnectionRef,
  type ConnectorManifest,
  type PathSegment,
} from '@junction/flow';
import { parseWithSchema } from './schema-issues.ts';
import { compileValues } from './with-input.ts';

export type ConnectionConfig = { type: string; [k: string]: unknown };
export type ConnectionLookup = (name: string) => Promise<ConnectionConfig>;

/** Named connections looked up once per run, however many steps or loop items use them. */
export class ConnectionSource {
  private readonly lookup: ConnectionLookup | undefined;
  private readonly cache = new Map<string, Promise<ConnectionConfig>>();

  constructor(lookup?: ConnectionLookup) {
    this.lookup = lookup;
  }

  named(name: string): Promise<ConnectionConfig> {
    const lookup = this.lookup;
    if (!lookup) return Promise.reject(new ConfigError('named connections are not available in this run'));
    let found = this.cache.get(name);
    if (!found) {
      found = lookup(name);
      this.cache.set(name, found);
      found.catch(() => this.cache.delete(name));
    }
    return found;
  }
}

/**
 * The connection a step's operation gets: the named or inline config (inline values may be
 * templates), checked against the types the connector accepts and parsed with its schema.
 * Errors name the step's field; they never quote connection values (they may be secrets).
 */
export async function resolveConnection(
  ref: ConnectionRef | undefined,
  connector: ConnectorManifest,
  at: readonly PathSegment[],
  source: ConnectionSource,
  compile: CompileFn,
): Promise<unknown> {
  const field = [...at, 'connection'];
  const where = formatPath(field);
  if (!connector.connection) {
    if (ref !== undefined) throw new ConfigError(`${where}: connector "${connector.id}" takes no connection`);
    return undefined;
  }
  if (ref === undefined) {
    if (connector.connectionOptional === true) return undefined;
    throw new ConfigError(
      `${where}: required: "${connector.id}" needs a connection (a name or an inline object)`,
    );
  }
  let config: Record<string, unknown>;
  let label: string;
  if (typeof ref === 'string') {
    label = `connection "${ref}"`;
    try {
      config = await source.named(ref);
    } catch (error) {
      if (error instanceof ConnectorError && !(error instanceof ConfigError)) throw error;
      throw new ConfigError(`${where}: ${label}: ${errorMessage(error)}`, { cause: error });
    }
  } else {
    label = 'the inline connection';
    config = await compileValues(ref, compile, field).evaluate();
  }
  const accepted = connector.connectionTypes ?? [connector.id];
  const type = config.type;
  if (typeof type !== 'string' || !accepted.includes(type)) {
    throw new ConfigError(
      `${typeof ref === 'string' ? where : `${where}.type`}: ${label} has type ${JSON.stringify(type)}; ` +
        `"${connector.id}" accepts ${accepted.map((t) => `"${t}"`).join(', ')}`,
    );
  }
  if (typeof ref !== 'string') return parseWithSchema(connector.connection, config, field, false);
  try {
    return parseWithSchema(connector.connection, config, [], false);
  } catch (error) {
    throw new ConfigError(`${where}: ${label}: ${errorMessage(error)}`);
  }
}
