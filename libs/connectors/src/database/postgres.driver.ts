import pg from 'pg';
import Cursor from 'pg-cursor';
import type { FlowRecord, Page, StepLogger } from '@junction/flow';
import { abortError, whenAborted } from '../shared/abort.ts';
import { describeTarget, type DatabaseConnection } from './connection.schema.ts';
import type { DatabaseDriver, StatementResult } from './driver.ts';
import { toConnectorError } from './driver-errors.ts';

const CONNECT_TIMEOUT_MS = 10_000;

export function postgresConfig(c: DatabaseConnection): pg.ClientConfig {
  const where =
    c.url !== undefined
      ? { connectionString: c.url }
      : { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database };
  const ssl =
    c.ssl === undefined || c.ssl === false
      ? {}
      : { ssl: c.ssl === true ? { rejectUnauthorized: true } : c.ssl };
  return {
    ...where,
    ...ssl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'junction',
    types: TYPES,
  };
}

const INT8_OID = 20;

/**
 * bigint (count(*), sums, int8 keys) as a number when it fits one exactly, else as text: records
 * stay plain JSON and no digit is lost. Passed per client, never set on pg's global parsers.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) => {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return format === 'binary'
      ? (pg.types.getTypeParser(oid, 'binary') as (value: string) => unknown)
      : (pg.types.getTypeParser(oid, 'text') as (value: string) => unknown);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** A leased client, destroyed rather than reused when the work on it was interrupted. */
interface Lease {
  client: pg.PoolClient;
  broken: boolean;
}

export function openPostgres(c: DatabaseConnection, log: StepLogger): DatabaseDriver {
  const config = postgresConfig(c);
  const target = describeTarget(c);
  const pool = new pg.Pool({ ...config, max: c.poolSize, idleTimeoutMillis: 30_000 });
  // An idle client whose server goes away emits here; unhandled, it would crash the process.
  pool.on('error', (e) => log.warn(`idle PostgreSQL connection to ${target} failed: ${e.message}`));

  // A leased client whose connection breaks emits 'error' besides failing its call; the pool
  // listens only while the client is idle, so listen for the rest of the time.
  const listening = new WeakSet<pg.PoolClient>();
  const connect = async (): Promise<Lease> => {
    try {
      const client = await pool.connect();
      if (!listening.has(client)) {
        client.on('error', (e) => log.debug(`PostgreSQL connection to ${target} failed: ${e.message}`));
        listening.add(client);
      }
      return { client, broken: false };
    } catch (e) {
      throw toConnectorError(e, 'postgres', target);
    }
  };

  /**
   * On abort: ask the server to cancel the running statement (a dropped socket alone would let
   * it run on) and drop the socket, so the pending call settles now.
   */
  const guard = (lease: Lease, signal: AbortSignal): Disposable =>
    whenAborted(signal, () => {
      lease.broken = true;
      const pid = (lease.client as unknown as { processID?: number }).processID;
      if (pid !== undefined) cancelBackend(config, pid, log);
      lease.client.end().catch(() => undefined);
    });

  return {
    dialect: 'postgres',
    target,

    async *stream(text, values, pageSize, signal) {
      if (signal.aborted) return;
      const lease = await connect();
      const cursor = lease.client.query(new Cursor<FlowRecord>(text, values, { types: TYPES }));
      try {
        using _abort = guard(lease, signal);
        for (;;) {
          const rows: Page = await cursor.read(pageSize);
          if (signal.aborted || rows.length === 0) return;
          yield rows;
          if (signal.aborted) return;
        }
      } catch (e) {
        if (signal.aborted) return;
        lease.broken = true;
        throw toConnectorError(e, 'postgres', target);
      } finally {
        if (!lease.broken) await cursor.close().catch(() => (lease.broken = true));
        lease.client.release(lease.broken);
      }
    },

    async run(text, values, signal, maxRows = Infinity): Promise<StatementResult> {
      if (signal.aborted) throw abortError(signal);
      const lease = await connect();
      try {
        using _abort = guard(lease, signal);
        const r = await lease.client.query<FlowRecord>({ text, values });
        const rows = r.rows ?? [];
        return {
          rowCount: r.rowCount ?? rows.length,
          rows: rows.length > maxRows ? rows.slice(0, maxRows) : rows,
        };
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        throw toConnectorError(e, 'postgres', target);
      } finally {
        lease.client.release(lease.broken);
      }
    },

    async transaction(signal, work) {
      if (signal.aborted) throw abortError(signal);
      const lease = await connect();
      const q = (text: string, values?: unknown[]) => lease.client.query(values ? { text, values } : text);
      try {
        using _abort = guard(lease, signal);
        await q('BEGIN');
        // A failed statement aborts a PostgreSQL transaction: a savepoint per attempt keeps it going.
        const result = await work({
          async attempt(text, values) {
            await q('SAVEPOINT junction_attempt');
            try {
              await q(text, values);
            } catch (e) {
              await q('ROLLBACK TO SAVEPOINT junction_attempt');
              throw toConnectorError(e, 'postgres', target);
            }
            await q('RELEASE SAVEPOINT junction_attempt');
          },
        });
        await q('COMMIT');
        return result;
      } catch (e) {
        if (!lease.broken) await q('ROLLBACK').catch(() => (lease.broken = true));
        if (signal.aborted) throw abortError(signal);
        throw toConnectorError(e, 'postgres', target);
      } finally {
        lease.client.release(lease.broken);
      }
    },

    close: () => pool.end(),
  };
}

/** Best effort: the statement may already have finished; the caller does not wait for this. */
function cancelBackend(config: pg.ClientConfig, pid: number, log: StepLogger): void {
  const client = new pg.Client(config);
  client
    .connect()
    .then(() => client.query('SELECT pg_cancel_backend($1)', [pid]))
    .catch((e: unknown) => log.debug('could not cancel the PostgreSQL statement', { error: String(e) }))
    .finally(() => void client.end().catch(() => undefined));
}

/** Opens one connection, runs `SELECT 1` and closes it: the "test connection" of the manifest. */
export async function testPostgres(c: DatabaseConnection, signal: AbortSignal): Promise<void> {
  const client = new pg.Client(postgresConfig(c));
  client.on('error', () => undefined);
  try {
    using _abort = whenAborted(signal, () => void client.end().catch(() => undefined));
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    if (signal.aborted) throw abortError(signal);
    throw toConnectorError(e, 'postgres', describeTarget(c));
  } finally {
    await client.end().catch(() => undefined);
  }
}
