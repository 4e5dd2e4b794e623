import type mysql from 'mysql2';
import type { FlowRecord, Page, StepLogger } from '@junction/flow';
import { abortError, whenAborted } from '../shared/abort.ts';
import { bestEffortWithin } from '../shared/best-effort.ts';
import { lazyImport } from '../shared/lazy-import.ts';
import { connectionParts, describeTarget, type DatabaseConnection } from './connection.schema.ts';
import type { DatabaseDriver, StatementResult } from './driver.ts';
import { toConnectorError } from './driver-errors.ts';

const CONNECT_TIMEOUT_MS = 10_000;

/** Imported on first use, so a flow without MySQL never loads it (it is large). */
const loadMysql = lazyImport<typeof mysql>(() => import('mysql2').then((m) => m.default));

export function mysqlConfig(c: DatabaseConnection): mysql.ConnectionOptions {
  return {
    ...connectionParts(c, 'uri'),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // BIGINT as a number when it fits one exactly, else as text; DECIMAL as text: no digit lost
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
  };
}

interface Lease {
  conn: mysql.PoolConnection;
  /** Its statement may still be running, or its rows still coming: never reuse it. */
  broken: boolean;
  abandoned?: boolean;
  /** The KILL QUERY sent on abort; the lease is given back only once it has settled. */
  killing?: Promise<void>;
}

/** How long an abort waits for the server to stop the statement. */
const KILL_WAIT_MS = 2_000;

type Outcome =
  mysql.RowDataPacket[] | mysql.RowDataPacket[][] | mysql.ResultSetHeader | mysql.ResultSetHeader[];

export async function openMysql(c: DatabaseConnection, log: StepLogger): Promise<DatabaseDriver> {
  const driver = await loadMysql();
  const config = mysqlConfig(c);
  const target = describeTarget(c);
  const pool = driver.createPool({
    ...config,
    connectionLimit: c.poolSize,
    waitForConnections: true,
    maxIdle: c.poolSize,
  });

  const connect = (): Promise<Lease> =>
    new Promise((resolve, reject) =>
      pool.getConnection((err, conn) =>
        err ? reject(toConnectorError(err, 'mysql', target)) : resolve({ conn, broken: false }),
      ),
    );

  /**
   * Gives up a connection whose statement may still run: KILL QUERY stops a server busy
   * computing, and the dropped socket one blocked sending rows (mysql2's destroy() only
   * half-closes it, which the server does not notice).
   */
  const abandon = (lease: Lease): void => {
    if (lease.abandoned) return;
    lease.abandoned = true;
    // the dropped socket may surface as an 'error' event after the pool stopped listening
    lease.conn.on('error', () => undefined);
    lease.killing = killQuery(driver, config, lease.conn.threadId, log);
    lease.conn.destroy();
    (lease.conn as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  };

  /**
   * Gives the connection back (dropped if broken), once a KILL QUERY sent on abort has settled:
   * the run ends only when the server has stopped the statement, so a process exiting right
   * after a cancelled run leaves nothing running.
   */
  const release = async (lease: Lease): Promise<void> => {
    if (lease.broken) abandon(lease);
    else lease.conn.release();
    if (lease.killing) await lease.killing;
  };

  return {
    dialect: 'mysql',
    target,

    async *stream(text, values, pageSize, signal) {
      if (signal.aborted) return;
      const lease = await connect();
      // The connection pauses whenever this stream's buffer is full: rows wait on the server.
      const rows = (
        values.length > 0 ? lease.conn.execute(text, values as mysql.ExecuteValues[]) : lease.conn.query(text)
      ).stream({
        highWaterMark: Math.min(pageSize, 1000),
      });
      let finished = false;
      try {
        using _abort = whenAborted(signal, () => {
          lease.broken = true;
          abandon(lease);
          rows.destroy(); // ends the loop below, which a dropped socket alone does not
        });
        let page: Page = [];
        for await (const row of rows as AsyncIterable<FlowRecord>) {
          page.push(row);
          if (page.length >= pageSize) {
            yield page;
            page = [];
            if (signal.aborted) return;
          }
        }
        finished = true;
        if (page.length > 0 && !signal.aborted) yield page;
      } catch (e) {
        if (signal.aborted) return;
        // the statement ended with this error; the connection is fine unless the error says otherwise
        finished = true;
        if ((e as { fatal?: unknown }).fatal === true) lease.broken = true;
        throw toConnectorError(e, 'mysql', target);
      } finally {
        // Leaving early leaves unread rows on the wire: that connection cannot serve anyone else.
        if (!finished) lease.broken = true;
        rows.destroy();
        await release(lease);
      }
    },

    async run(text, values, signal, maxRows = Infinity): Promise<StatementResult> {
      if (signal.aborted) throw abortError(signal);
      const lease = await connect();
      try {
        const result = await new Promise<Outcome>((resolve, reject) => {
          const abort = whenAborted(signal, () => {
            lease.broken = true;
            abandon(lease);
            reject(abortError(signal));
          });
          const done = (err: Error | null, r: unknown): void => {
            abort[Symbol.dispose]();
            if (err) reject(err);
            else resolve(r as Outcome);
          };
          // Statements without values go as text: some (DDL, admin) cannot be prepared.
          if (values.length > 0) lease.conn.execute(text, values as mysql.ExecuteValues[], done);
          else lease.conn.query(text, done);
        });
        return summarize(result, maxRows);
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        throw toConnectorError(e, 'mysql', target);
      } finally {
        await release(lease);
      }
    },

    async transaction(signal, work) {
      if (signal.aborted) throw abortError(signal);
      const lease = await connect();
      const q = (text: string, values: unknown[] = []) =>
        new Promise<void>((resolve, reject) => {
          const done = (err: Error | null): void => (err ? reject(err) : resolve());
          if (values.length > 0) lease.conn.execute(text, values as mysql.ExecuteValues[], done);
          else lease.conn.query(text, done);
        });
      try {
        using _abort = whenAborted(signal, () => {
          lease.broken = true;
          abandon(lease);
        });
        await q('START TRANSACTION');
        // InnoDB undoes just the failed statement; the transaction goes on.
        const result = await work({
          async attempt(text, values) {
            try {
              await q(text, values);
            } catch (e) {
              throw toConnectorError(e, 'mysql', target);
            }
          },
        });
        await q('COMMIT');
        return result;
      } catch (e) {
        if (!lease.broken) await q('ROLLBACK').catch(() => (lease.broken = true));
        if (signal.aborted) throw abortError(signal);
        throw toConnectorError(e, 'mysql', target);
      } finally {
        await release(lease);
      }
    },

    close: () => new Promise<void>((resolve) => pool.end(() => resolve())),
  };
}

/** Rows of a SELECT, or the affected count of a statement; for CALL, its first result set. */
function summarize(result: Outcome, maxRows: number): StatementResult {
  if (!Array.isArray(result)) return { rowCount: result.affectedRows, rows: [] };
  const first: unknown = result[0];
  // CALL returns [resultSet..., header]
  if (Array.isArray(first)) {
    const rows = first as FlowRecord[];
    return { rowCount: rows.length, rows: rows.slice(0, maxRows) };
  }
  if (isHeader(first)) return { rowCount: first.affectedRows, rows: [] };
  const rows = result as FlowRecord[];
  return { rowCount: rows.length, rows: rows.length > maxRows ? rows.slice(0, maxRows) : rows };
}

function isHeader(v: unknown): v is mysql.ResultSetHeader {
  return typeof v === 'object' && v !== null && 'affectedRows' in v && 'insertId' in v;
}

/**
 * Stops thread `threadId`'s statement with KILL QUERY from a connection of its own and waits
 * until the server shows that thread no longer running a query. Best effort and bounded by
 * KILL_WAIT_MS: the statement may already have finished, or the server may be unreachable.
 * Never rejects.
 */
async function killQuery(
  driver: typeof mysql,
  config: mysql.ConnectionOptions,
  threadId: number | null,
  log: StepLogger,
): Promise<void> {
  if (threadId === null) return;
  const conn = driver.createConnection({ ...config, connectTimeout: KILL_WAIT_MS });
  conn.on('error', () => undefined);
  const query = (text: string, values: unknown[]) =>
    new Promise<unknown[]>((resolve, reject) =>
      conn.query(text, values, (err, rows) => (err ? reject(err) : resolve(rows as unknown[]))),
    );
  const deadline = Date.now() + KILL_WAIT_MS;
  const kill = async (): Promise<void> => {
    try {
      await query('KILL QUERY ?', [threadId]);
    } catch (e) {
      // ER_NO_SUCH_THREAD: the connection is gone already, and its statement with it
      if ((e as { code?: unknown }).code === 'ER_NO_SUCH_THREAD') return;
      throw e;
    }
    while (Date.now() < deadline) {
      const running = await query(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query'",
        [threadId],
      );
      if (running.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    log.debug('the MySQL statement was still running after KILL QUERY', { threadId });
  };
  try {
    await bestEffortWithin(KILL_WAIT_MS, kill, log, 'stopping the MySQL statement', { threadId });
  } finally {
    conn.destroy();
  }
}

/** Opens one connection, runs `SELECT 1` and closes it: the "test connection" of the manifest. */
export async function testMysql(c: DatabaseConnection, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw abortError(signal);
  const driver = await loadMysql();
  const conn = driver.createConnection(mysqlConfig(c));
  conn.on('error', () => undefined);
  try {
    using _abort = whenAborted(signal, () => conn.destroy());
    await new Promise<void>((resolve, reject) =>
      conn.query('SELECT 1', (err) => (err ? reject(err) : resolve())),
    );
  } catch (e) {
    if (signal.aborted) throw abortError(signal);
    throw toConnectorError(e, 'mysql', describeTarget(c));
  } finally {
    conn.destroy();
  }
}
