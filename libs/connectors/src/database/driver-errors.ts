import { ConfigError, ConnectorError, TransientError } from '@junction/flow';
import { serverName } from './connection.schema.ts';
import type { SqlDialect } from './sql-template.ts';

/** The fields pg and mysql2 put on their errors. */
interface DriverErrorShape {
  message?: string;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  detail?: unknown;
  hostname?: unknown;
}

const NETWORK_TRANSIENT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'host name lookup failed, temporarily',
  PROTOCOL_CONNECTION_LOST: 'connection lost',
  ER_CON_COUNT_ERROR: 'too many connections',
};

const MYSQL_TRANSIENT = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_QUERY_INTERRUPTED']);
const MYSQL_CONFIG = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
]);
/** Strict-mode value errors MySQL reports without a 22/23 SQLSTATE. */
const MYSQL_ROW = new Set(['ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 'ER_NO_DEFAULT_FOR_FIELD']);

function shape(e: unknown): DriverErrorShape {
  return typeof e === 'object' && e !== null ? e : { message: String(e) };
}

/** SQLSTATE of a driver error: pg puts it in `code`, mysql2 in `sqlState`. */
function sqlState(e: DriverErrorShape, dialect: SqlDialect): string | undefined {
  const s = dialect === 'postgres' ? e.code : e.sqlState;
  return typeof s === 'string' && /^[0-9A-Z]{5}$/.test(s) ? s : undefined;
}

/**
 * Whether the error is about the data of some row (a constraint, a bad value), so that writing
 * the rows one by one isolates it; anything else (syntax, connection) fails the whole batch.
 */
export function isRowError(error: unknown, dialect: SqlDialect): boolean {
  const e = shape(error instanceof ConnectorError && error.cause !== undefined ? error.cause : error);
  const state = sqlState(e, dialect);
  if (state !== undefined && (state.startsWith('22') || state.startsWith('23'))) return true;
  // ON CONFLICT touching one row twice: two records of the batch share a key
  if (state === '21000' && dialect === 'postgres') return true;
  return dialect === 'mysql' && typeof e.code === 'string' && MYSQL_ROW.has(e.code);
}

/** Short message of a driver error: its text, the server's detail, its code; never a stack. */
export function driverMessage(error: unknown, dialect: SqlDialect): string {
  const e = shape(error);
  const text = typeof e.sqlMessage === 'string' ? e.sqlMessage : (e.message ?? '');
  const detail = typeof e.detail === 'string' ? ` (${e.detail})` : '';
  const code = typeof e.code === 'string' ? ` [${e.code}]` : '';
  return `${serverName(dialect)}: ${text || 'unknown error'}${detail}${code}`;
}

/**
 * A driver error as a ConnectorError carrying the retry decision: connection trouble, deadlocks
 * and serialization failures are transient; syntax, unknown objects and bad credentials are
 * configuration; data errors are neither.
 */
export function toConnectorError(error: unknown, dialect: SqlDialect, target: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const e = shape(error);
  const server = serverName(dialect);
  const code = typeof e.code === 'string' ? e.code : undefined;

  if (code !== undefined && code in NETWORK_TRANSIENT) {
    return new TransientError(`cannot reach ${server} at ${target}: ${NETWORK_TRANSIENT[code]}`, {
      cause: error,
    });
  }
  if (code === 'ENOTFOUND') {
    const host = typeof e.hostname === 'string' ? e.hostname : target;
    return new ConfigError(`cannot reach ${server}: host "${host}" not found`, { cause: error });
  }
  const message = driverMessage(error, dialect);
  const state = sqlState(e, dialect);
  if (dialect === 'postgres') {
    if (state === undefined && /terminated|timeout|Connection/i.test(e.message ?? ''))
      return new TransientError(`${server} at ${target}: ${e.message}`, { cause: error });
    if (state !== undefined) {
      const cls = state.slice(0, 2);
      if (['08', '53', '40'].includes(cls) || ['57P01', '57P02', '57P03'].includes(state))
        return new TransientError(message, { cause: error });
      if (['28', '42', '3D', '3F', '0A'].includes(cls)) return new ConfigError(message, { cause: error });
    }
  } else {
    if (code !== undefined && MYSQL_TRANSIENT.has(code)) return new TransientError(message, { cause: error });
    if (code !== undefined && MYSQL_CONFIG.has(code)) return new ConfigError(message, { cause: error });
    if (state !== undefined) {
      const cls = state.slice(0, 2);
      if (cls === '08' || state === '40001') return new TransientError(message, { cause: error });
      if (cls === '42' || cls === '28' || cls === '3D') return new ConfigError(message, { cause: error });
    }
  }
  return new ConnectorError(message, { retryable: false, cause: error });
}
