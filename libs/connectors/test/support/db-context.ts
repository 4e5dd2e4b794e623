import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SharedResources, compileTemplate } from '@junction/engine';
import type { Bindings, OperationContext, StepLogger } from '@junction/flow';
import { DatabaseConnectionSchema, type DatabaseConnection } from '../../src/database/connection.schema.ts';

/** The test servers of this machine (see the project's test-peers notes). */
export const POSTGRES: DatabaseConnection = DatabaseConnectionSchema.parse({
  type: 'postgres',
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
  database: 'test',
});
export const MYSQL: DatabaseConnection = DatabaseConnectionSchema.parse({
  type: 'mysql',
  host: '127.0.0.1',
  port: 3306,
  user: 'root',
  database: 'test',
});

export interface DbTestContext<C> extends OperationContext<C> {
  readonly logs: string[];
  /** Closes the pools the operations opened through ctx.shared, as the runner does at its end. */
  closeShared(): Promise<void>;
}

/** An OperationContext like the engine's: its template compiler and its SharedResources. */
export function dbContext<C>(
  connection: C,
  options: { bindings?: Bindings; pageSize?: number; signal?: AbortSignal } = {},
): DbTestContext<C> {
  const bindings = options.bindings ?? { params: {}, steps: {} };
  const logs: string[] = [];
  const line =
    (level: string) =>
    (message: string): void => {
      logs.push(`${level} ${message}`);
    };
  const log: StepLogger = {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
  const resources = new SharedResources();
  return {
    stepId: 'db',
    connection,
    signal: options.signal ?? new AbortController().signal,
    log,
    bindings,
    compile: (source, compileOptions) => compileTemplate(source, bindings, compileOptions),
    pageSize: options.pageSize ?? 1000,
    logs,
    shared: (key, open, close) => resources.get(key, open, close),
    closeShared: () => resources.closeAll(),
  };
}

/** A table name no other suite (or run) uses. */
export function uniqueTable(prefix: string): string {
  return `jt_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Direct clients for setting up and checking tables, apart from the code under test. */
export async function postgresAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await client.connect();
  return client;
}

export function mysqlAdmin(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
}

export async function collectPages<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}
