import { ConfigError, type OperationContext, type StepLogger } from '@junction/flow';
import { dialectOf, poolKey, type DatabaseConnection } from './connection.schema.ts';
import type { DatabaseDriver } from './driver.ts';
import { openMysql } from './mysql.driver.ts';
import { openPostgres } from './postgres.driver.ts';

/** Opens a pool for the connection; its driver package is imported on first use. */
export function openDriver(connection: DatabaseConnection, log: StepLogger): Promise<DatabaseDriver> {
  return dialectOf(connection) === 'postgres' ? openPostgres(connection, log) : openMysql(connection, log);
}

/** The run's pool for the step's connection, opened on first use and closed when the run ends. */
export function driverFor(ctx: OperationContext<DatabaseConnection>): Promise<DatabaseDriver> {
  const connection = ctx.connection;
  if (connection === undefined || connection === null)
    throw new ConfigError(`step "${ctx.stepId}": a database step needs a connection`);
  return ctx.shared(
    poolKey(connection),
    () => openDriver(connection, ctx.log),
    (driver) => driver.close(),
  );
}
