import type { FlowRecord, Page } from '@junction/flow';
import type { SqlDialect } from './sql-template.ts';

export interface StatementResult {
  /** Rows affected, or returned for a query. */
  rowCount: number;
  /** Rows returned, at most the `maxRows` asked for. */
  rows: FlowRecord[];
}

/** What the operations need of a database, the same for PostgreSQL and MySQL. */
export interface DatabaseDriver {
  readonly dialect: SqlDialect;
  /** host:port, for messages. */
  readonly target: string;
  /**
   * Streams a query's rows in pages of at most `pageSize`, holding one page at a time. Stops
   * (and frees its connection) when the signal aborts or the consumer stops iterating.
   */
  stream(text: string, values: unknown[], pageSize: number, signal: AbortSignal): AsyncGenerator<Page>;
  /** Runs one statement; rejects with a ConnectorError (or the abort reason when aborted). */
  run(text: string, values: unknown[], signal: AbortSignal, maxRows?: number): Promise<StatementResult>;
  /**
   * Runs `work` in one transaction on one connection, committed if it resolves and rolled back
   * if it throws. A failed attempt undoes only itself, so the work can go on after it.
   */
  transaction<T>(signal: AbortSignal, work: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: runs `COPY ... FROM STDIN` (`text`) sending `chunks` as its data; resolves
   * to the number of rows copied. All or nothing: a bad row rejects it (with a ConnectorError
   * naming that row's problem) and nothing is copied; the connection stays usable.
   */
  copyFrom?(text: string, chunks: readonly Uint8Array[], signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export interface Transaction {
  /** Runs one statement; if it fails (with a ConnectorError), the transaction is as before it. */
  attempt(text: string, values: unknown[]): Promise<void>;
}
