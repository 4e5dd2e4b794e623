import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { from as copyFromStream } from 'pg-copy-streams';
import type Cursor from 'pg-cursor';
import type { FlowRecord, Page, StepLogger } from '@junction/flow';
import { abortError, whenAborted } from '../shared/abort.ts';
import { bestEffortWithin } from '../shared/best-effort.ts';
import { lazyImport } from '../shared/lazy-import.ts';
import { connectionParts, describeTarget, type DatabaseConnection } from './connection.schema.ts';
import type { DatabaseDriver, StatementResult } from './driver.ts';
import { toConnectorError } from './driver-errors.ts';
import { fastTimestampParser } from './pg-timestamps.ts';

const CONNECT_TIMEOUT_MS = 10_000;
/** How long the clean-up after an abort waits for the server to confirm the statement stopped. */
const CANCEL_WAIT_MS = 2_000;

/** pg and pg-cursor, imported on first use so a flow without PostgreSQL never loads them. */
interface PgModules {
  pg: typeof pg;
  Cursor: typeof Cursor;
  types: pg.CustomTypesConfig;
}

const loadPg = lazyImport<PgModules>(async () => {
  const [p, c] = await Promise.all([import('pg'), import('pg-cursor')]);
  return { pg: p.default, Cursor: c.default, types: typesOf(p.default) };
});

/** pg-copy-streams, imported on the first COPY. */
const loadCopyFrom = lazyImport<typeof copyFromStream>(async () => (await import('pg-copy-streams')).from);

export function postgresConfig(c: DatabaseConnection, types: pg.CustomTypesConfig): pg.ClientConfig {
  return {
    ...connectionParts(c, 'connectionString'),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'junction',
    types,
  };
}

const INT8_OID = 20;
const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;

/**
 * bigint (count(*), sums, int8 keys) as a number when it fits one exactly, else as text: records
 * stay plain JSON and no digit is lost. Timestamps as pg's own parser reads them, only faster.
 * Passed per client, never set on pg's global parsers.
 */
function typesOf(driver: typeof pg): pg.CustomTypesConfig {
  type Parse = (value: string) => unknown;
  const text = (oid: number) => driver.types.getTypeParser(oid, 'text') as Parse;
  const timestamp = fastTimestampParser(false, text(TIMESTAMP_OID));
  const timestamptz = fastTimestampParser(true, text(TIMESTAMPTZ_OID));
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary'): Parse => {
      if (format === 'binary') return driver.types.getTypeParser(oid, 'binary') as Parse;
      if (oid === INT8_OID) return parseInt8;
      if (oid === TIMESTAMPTZ_OID) return timestamptz;
      if (oid === TIMESTAMP_OID) return timestamp;
      return text(oid);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** A leased client, destroyed rather than reused when the work on it was interrupted. */
interface Lease {
  client: pg.PoolClient;
  broken: boolean;
  /** The cancel request sent on abort; the lease is given back only once it has settled. */
  cancelling?: Promise<void>;
}

export async function openPostgres(c: DatabaseConnection, log: StepLogger): Promise<DatabaseDriver> {
  const { pg, Cursor, types } = await loadPg();
  const config = postgresConfig(c, types);
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
   * it run on) and drop the socket, so the pending call settles now. The cancel goes on in the
   * background; `release` waits for it.
   */
  const guard = (lease: Lease, signal: AbortSignal): Disposable =>
    whenAborted(signal, () => {
      lease.broken = true;
      const pid = (lease.client as unknown as { processID?: number }).processID;
      if (pid !== undefined) lease.cancelling = cancelBackend(pg, config, pid, log);
      lease.client.end().catch(() => undefined);
    });

  /**
   * Gives the client back (destroyed if broken), once a cancel sent on abort has settled: the
   * run ends only when the server has stopped the statement, so a process exiting right after a
   * cancelled run leaves nothing running.
   */
  const release = async (lease: Lease): Promise<void> => {
    if (lease.cancelling) await lease.cancelling;
    lease.client.release(lease.broken);
  };

  return {
    dialect: 'postgres',
    target,

    async *stream(text, values, pageSize, signal) {
      if (signal.aborted) return;
      const lease = await connect();
      const cursor = lease.client.query(new Cursor<FlowRecord>(text, values, { types }));
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
        await release(lease);
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
        await release(lease);
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
        await release(lease);
      }
    },

    async copyFrom(text, chunks, signal) {
      if (signal.aborted) throw abortError(signal);
      const copyFrom = await loadCopyFrom();
      const lease = await connect();
      try {
        using _abort = guard(lease, signal);
        const stream = lease.client.query(copyFrom(text));
        // pipeline() destroys the COPY stream on an error, which is what makes pg-copy-streams
        // drop the chunks it still holds rather than write them to a finished COPY.
        await pipeline(Readable.from(chunks), stream);
        return stream.rowCount;
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        throw toConnectorError(e, 'postgres', target);
      } finally {
        await release(lease);
      }
    },

    close: () => pool.end(),
  };
}

/**
 * Cancels backend `pid`'s statement from a connection of its own and waits until the server
 * shows that backend no longer active (it has stopped, or exited on the dropped socket). Best
 * effort and bounded by CANCEL_WAIT_MS: the statement may already have finished, or the server
 * may be unreachable. Never rejects.
 */
async function cancelBackend(
  driver: typeof pg,
  config: pg.ClientConfig,
  pid: number,
  log: StepLogger,
): Promise<void> {
  const client = new driver.Client({ ...config, connectionTimeoutMillis: CANCEL_WAIT_MS });
  client.on('error', () => undefined);
  const deadline = Date.now() + CANCEL_WAIT_MS;
  const cancel = async (): Promise<void> => {
    await client.connect();
    await client.query('SELECT pg_cancel_backend($1)', [pid]);
    while (Date.now() < deadline) {
      const active = await client.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
        [pid],
      );
      if (active.rowCount === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    log.debug('the PostgreSQL statement was still running after its cancel request', { pid });
  };
  try {
    await bestEffortWithin(CANCEL_WAIT_MS, cancel, log, 'cancelling the PostgreSQL statement', { pid });
  } finally {
    void client.end().catch(() => undefined);
  }
}

/** Opens one connection, runs `SELECT 1` and closes it: the "test connection" of the manifest. */
export async function testPostgres(c: DatabaseConnection, signal: AbortSignal): Promise<void> {
  const { pg, types } = await loadPg();
  const client = new pg.Client(postgresConfig(c, types));
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
